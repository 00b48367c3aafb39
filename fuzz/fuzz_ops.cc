// Fuzz target 2: operation sequences with power cuts and bit flips, checked
// against a shadow model.
//
// One flash holds a key-value store partition and a blob partition behind
// it. Input byte 0 picks the geometry (NOR layouts also with ECC); then
// each operation is an opcode byte followed by its arguments (see Run()).
// Key-value operations touch keys 0..11; the blob store keeps its metadata
// in the same key-value store.
//
// Invariants checked after every remount:
//  - before any bit flip: the key-value store equals the model exactly, or,
//    if the last operation was interrupted (power cut) or failed, the model
//    with that operation applied in full (a batch all or nothing); the blob
//    is the acknowledged one or, for an interrupted blob operation, the old
//    blob, the new one or none; a valid-looking other blob is a failure;
//  - after a bit flip: no crash, and a value returned as OK is one that was
//    written to that key at some point (DATA_LOSS is fine). Returning an
//    older value of the key instead of DATA_LOSS is counted; with
//    CAIRN_FUZZ_STRICT_FLIPS=1 in the environment it is a failure.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key_value_store.h"
#include "fuzz_common.h"

namespace cairn::fuzz {
namespace {

using Bytes = std::vector<std::byte>;
using Model = std::map<kvs::Key, Bytes>;

constexpr kvs::Key kKeys = 12;
constexpr kvs::Key kRecoveryKey = kKeys + 1;  // written while recovering
constexpr size_t kMaxValue = 48;
constexpr size_t kMaxOps = 64;  // operations per input
constexpr size_t kBlobBuffer = 64;

struct Layout {
  Geometry geometry;
  size_t kvs_sectors;
  size_t blob_sectors;
  size_t flash_write_size;
};

Layout PickLayout(uint8_t b) {
  Layout layout;
  switch (b % 5) {
    case 0:
      layout = {{512, 8, 4, false, false}, 4, 4, 16};
      break;
    case 1:
      layout = {{1024, 6, 16, false, false}, 3, 3, 32};
      break;
    case 2:
      layout = {{256, 12, 1, false, true}, 6, 6, 16};
      break;
    case 3:
      layout = {{512, 9, 8, true, false}, 5, 4, 64};
      break;
    default:
      layout = {{256, 8, 32, false, false}, 4, 4, 32};
      break;
  }
  // One byte value in four runs the NOR layouts on flash with ECC.
  layout.geometry.ecc = (b / 5) % 4 == 3 && !layout.geometry.eeprom;
  return layout;
}

bool Trace() {
  static const bool trace = std::getenv("CAIRN_FUZZ_TRACE") != nullptr;
  return trace;
}

bool StrictFlips() {
  static const bool strict = [] {
    const char* env = std::getenv("CAIRN_FUZZ_STRICT_FLIPS");
    return env != nullptr && env[0] == '1';
  }();
  return strict;
}

class Harness {
 public:
  explicit Harness(const Layout& layout)
      : layout_(layout),
        heap_(GeometryOf(layout)),
        kvs_partition_(heap_.flash(), 0, layout.kvs_sectors),
        blob_partition_(heap_.flash(), layout.kvs_sectors,
                        layout.blob_sectors) {}

  static Geometry GeometryOf(const Layout& l) {
    Geometry g = l.geometry;
    g.sectors = l.kvs_sectors + l.blob_sectors;
    return g;
  }

  RamFlashBase& flash() { return heap_.flash(); }

  // Builds fresh store objects, as after a reboot. False if the key-value
  // store does not mount.
  Status Mount() {
    blob_.reset();
    kvs_.reset();
    kvs_.emplace(kvs_partition_);
    CAIRN_TRY(kvs_->Init());
    blob_.emplace("fz", blob_partition_, &crc_, *kvs_,
                  layout_.flash_write_size);
    return Status::Ok();
  }

  // Mounts after power returns; a mount must succeed on an undamaged flash.
  void Reboot() {
    flash().PowerOn();
    flash().ClearFaults();
    const Status s = Mount();
    if (!s.ok() && !flipped_)
      Violation("mount failed", static_cast<unsigned long>(s.code()));
    mounted_ = s.ok();
  }

  void Run(Input& in);

 private:
  struct Pending {
    Model after;                      // the model if the operation took effect
    std::optional<Bytes> blob_after;  // blob if a blob operation took effect
    bool blob_op = false;
  };

  Bytes NewValue(size_t length) { return Pattern(length, ++counter_); }

  // Operations. Each returns whether it was acknowledged (OK) and fills
  // `pending` with the state it would leave.
  Status Put(Input& in, Pending& p);
  Status Delete(Input& in, Pending& p);
  Status Commit(Input& in, Pending& p);
  Status WriteBlob(Input& in, Pending& p, bool deferred);
  Status ClearBlob(Input& in, Pending& p);
  Status Maintain(Input& in);
  Status RunOne(uint8_t opcode, Input& in, Pending& p);
  Status Dispatch(uint8_t opcode, Input& in, Pending& p);

  void Acknowledge(const Pending& p) {
    model_ = p.after;
    if (p.blob_op) model_blob_ = p.blob_after ? *p.blob_after : Bytes();
  }

  // Reads the mounted stores and compares them with the model (and with
  // `p` when the last operation may or may not have happened).
  void Check(const Pending* p);
  std::optional<Bytes> ReadBlob(Status& status);

  Layout layout_;
  HeapFlash heap_;
  FlashPartition kvs_partition_;
  FlashPartition blob_partition_;
  Crc32Checksum crc_;
  std::optional<kvs::KeyValueStore<24>> kvs_;
  std::optional<blob::BlobStoreBuffer<kBlobBuffer>> blob_;
  bool mounted_ = false;
  bool flipped_ = false;
  uint32_t counter_ = 0;

  Model model_;
  Bytes model_blob_;  // empty: no blob
  std::map<kvs::Key, std::set<Bytes>> history_;
  std::set<Bytes> blob_history_;
};

Status Harness::Put(Input& in, Pending& p) {
  const kvs::Key key = in.U8() % kKeys;
  Bytes value = NewValue(in.U8() % (kMaxValue + 1));
  history_[key].insert(value);
  p.after[key] = value;
  return kvs_->Put(key, value);
}

Status Harness::Delete(Input& in, Pending& p) {
  const kvs::Key key = in.U8() % kKeys;
  p.after.erase(key);
  return kvs_->Delete(key);
}

Status Harness::Commit(Input& in, Pending& p) {
  kvs::Batch<6> batch;
  std::array<Bytes, 6> values;
  const size_t count = 1 + in.U8() % 6;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t b = in.U8();
    const kvs::Key key = b % kKeys;
    if (b & 0x80) {
      p.after.erase(key);
      if (!batch.Delete(key).ok()) Violation("batch full");
    } else {
      values[i] = NewValue(in.U8() % (kMaxValue + 1));
      history_[key].insert(values[i]);
      p.after[key] = values[i];
      if (!batch.Put(key, values[i]).ok()) Violation("batch full");
    }
  }
  return kvs_->Commit(batch);
}

Status Harness::WriteBlob(Input& in, Pending& p, bool deferred) {
  const size_t capacity = blob_partition_.size_bytes();
  const size_t size = in.U16() % (capacity + 1);
  // A deferred write larger than the buffer can never be queued.
  const size_t chunk = 1 + in.U8() % (deferred ? kBlobBuffer : 200);
  const uint8_t flags = in.U8();
  Bytes data = NewValue(size);
  p.blob_op = true;
  p.blob_after = data.empty() ? std::optional<Bytes>(model_blob_) : data;
  blob_history_.insert(data);

  blob::DeferredWriterWithBuffer<8> dw(*blob_);
  blob::BlobWriterWithBuffer<8> bw(*blob_);
  blob::BlobWriter& w = deferred ? static_cast<blob::BlobWriter&>(dw) : bw;
  CAIRN_TRY(w.Open());
  if (flags & 1) {
    const Status s = w.SetFileName("fz.bin");
    if (!s.ok()) {
      w.Abandon();
      return s;
    }
  }
  std::span<const std::byte> rest(data);
  size_t writes = 0;
  while (!rest.empty()) {
    const size_t n = std::min(chunk, rest.size());
    Status s = w.Write(rest.first(n));
    if (deferred && s.IsResourceExhausted()) {
      s = dw.Flush();
      if (s.ok()) s = w.Write(rest.first(n));
    }
    if (deferred && (flags >> 1) != 0 && ++writes % (flags >> 1) == 0 &&
        s.ok()) {
      s = dw.Flush();
    }
    if (!s.ok()) {
      // Closing now would store the bytes so far as a complete blob.
      w.Abandon();
      p.blob_after.reset();
      return s;
    }
    rest = rest.subspan(n);
  }
  if (flags & 0x40) {
    // Abandon instead of closing: the old blob may be gone already.
    w.Abandon();
    p.blob_after.reset();
    return Status::Unavailable();  // not an acknowledgement
  }
  return w.Close();
}

Status Harness::ClearBlob(Input& in, Pending& p) {
  const bool erase = in.U8() & 1;
  p.blob_op = true;
  p.blob_after.reset();
  blob::BlobWriter w(*blob_);
  CAIRN_TRY(w.Open());
  Status s = erase ? w.Erase() : w.Discard();
  const Status close = w.Close();
  if (s.ok()) s = close;
  return s;
}

Status Harness::Maintain(Input& in) {
  return in.U8() & 1 ? kvs_->FullMaintenance() : kvs_->ReclaimOne();
}

Status Harness::RunOne(uint8_t opcode, Input& in, Pending& p) {
  p.after = model_;
  p.blob_after.reset();
  p.blob_op = false;
  const Status s = Dispatch(opcode, in, p);
  if (Trace()) {
    std::fprintf(stderr, "  kind %d -> %s\n", opcode % 8, s.str());
  }
  return s;
}

Status Harness::Dispatch(uint8_t opcode, Input& in, Pending& p) {
  switch (opcode % 8) {
    case 0:
    case 1:
      return Put(in, p);
    case 2:
      return Delete(in, p);
    case 3:
      return Commit(in, p);
    case 4:
      return WriteBlob(in, p, false);
    case 5:
      return WriteBlob(in, p, true);
    case 6:
      return ClearBlob(in, p);
    default:
      return Maintain(in);
  }
}

std::optional<Bytes> Harness::ReadBlob(Status& status) {
  status = blob_->Init();
  if (!status.ok()) return std::nullopt;
  blob::BlobReader reader(*blob_);
  status = reader.Open();
  if (status.IsNotFound()) {
    status = Status::Ok();
    return Bytes();
  }
  if (!status.ok()) return std::nullopt;
  Bytes out;
  std::array<std::byte, 97> piece;
  while (true) {
    const StatusWithSize got = reader.Read(piece);
    if (got.status().IsOutOfRange()) break;
    if (!got.ok()) {
      status = got.status();
      return std::nullopt;
    }
    out.insert(out.end(), piece.begin(), piece.begin() + got.size());
    if (out.size() > blob_partition_.size_bytes()) Violation("blob too long");
  }
  if (out.empty()) Violation("empty blob read as stored");
  return out;
}

void Harness::Check(const Pending* p) {
  if (!mounted_) return;
  std::array<std::byte, kMaxValue + 8> buffer;
  Model seen;
  std::set<kvs::Key> lost;
  for (kvs::Key key = 0; key < kKeys; ++key) {
    const StatusWithSize got = kvs_->Get(key, buffer);
    if (got.ok()) {
      Bytes value(buffer.begin(), buffer.begin() + got.size());
      if (!history_[key].count(value)) Violation("never-written value", key);
      seen[key] = value;
    } else if (got.status().IsNotFound()) {
      continue;
    } else if (!flipped_) {
      Violation("read failed without corruption", key,
                static_cast<unsigned long>(got.status().code()));
    } else {
      lost.insert(key);
    }
  }
  // Iteration sees the same keys (plus the blob's metadata record).
  size_t iterated = 0, visits = 0;
  for (const kvs::Store::Item item : *kvs_) {
    const kvs::Key key = item.key();
    if (key != blob_->metadata_key() && key != kRecoveryKey) {
      if (key >= kKeys) {
        // Only a damaged header can name a key nobody wrote; it must not
        // read back as data.
        if (!flipped_) Violation("unknown key", key);
        std::array<std::byte, 8> small;
        if (item.Get(small).ok()) Violation("unknown key reads OK", key);
      } else {
        ++iterated;
      }
    }
    if (++visits > 4 * kKeys + 8) Violation("iteration runs away");
  }
  if (!flipped_ && iterated != seen.size()) {
    Violation("iteration and Get disagree", iterated, seen.size());
  }

  Status blob_status;
  std::optional<Bytes> blob = ReadBlob(blob_status);
  if (blob && !blob->empty() && !blob_history_.count(*blob)) {
    Violation("a blob that was never written", blob->size());
  }

  if (!flipped_) {
    const bool kv_ok = seen == model_ || (p != nullptr && seen == p->after);
    if (!kv_ok) Violation("key-value state is neither before nor after");
    if (!blob) {
      Violation("blob unreadable without corruption",
                static_cast<unsigned long>(blob_status.code()));
    }
    bool blob_ok = *blob == model_blob_;
    if (p != nullptr && p->blob_op) {
      blob_ok |= blob->empty() || (p->blob_after && *blob == *p->blob_after);
    }
    if (!blob_ok) Violation("blob is not an allowed state", blob->size());
  } else {
    // Damaged flash: only values that were written, but count stale ones.
    for (kvs::Key key = 0; key < kKeys; ++key) {
      if (lost.count(key)) continue;
      const auto m = model_.find(key);
      const auto s = seen.find(key);
      const bool same = (m == model_.end()) == (s == seen.end()) &&
                        (m == model_.end() || m->second == s->second);
      const bool as_after = p != nullptr &&
                            ((p->after.count(key) == 0) == (s == seen.end())) &&
                            (s == seen.end() || p->after.at(key) == s->second);
      if (!same && !as_after && StrictFlips()) {
        Violation("stale value after a bit flip instead of DATA_LOSS", key);
      }
    }
  }
  model_ = seen;
  for (kvs::Key key : lost) model_.erase(key);
  if (blob) model_blob_ = *blob;
}

void Harness::Run(Input& in) {
  if (!Mount().ok()) Violation("fresh mount failed");
  mounted_ = true;
  for (size_t op = 0; op < kMaxOps && !in.empty(); ++op) {
    if (!mounted_) {
      Reboot();
      if (!mounted_) return;  // damaged beyond mounting: fine after flips
      Check(nullptr);
    }
    const uint8_t opcode = in.U8();
    if (Trace()) std::fprintf(stderr, "op %zu: opcode 0x%02x\n", op, opcode);
    Pending p;
    switch (opcode >> 5) {
      case 0:
      case 1:
      case 2:
      case 3: {  // a plain operation
        const Status s = RunOne(opcode, in, p);
        if (s.ok()) {
          Acknowledge(p);
        } else if (s.IsResourceExhausted() && !p.blob_op) {
          // Nothing changed; checked at the next remount.
        } else {
          // Failed: either outcome is allowed; settle it by remounting.
          Reboot();
          Check(&p);
        }
        break;
      }
      case 4:
      case 5: {  // the next operation, cut at flash operation n
        const uint32_t n = in.U16() % 3000;
        const TearMode mode =
            opcode & 1 ? TearMode::kRandomBits : TearMode::kPrefix;
        const uint8_t next = in.U8();
        flash().CutPowerAt(n, mode);
        const Status s = RunOne(next, in, p);
        const bool cut = flash().power_is_cut();
        if (s.ok()) Acknowledge(p);
        if (opcode & 2) {  // a second cut, during recovery
          flash().PowerOn();
          flash().ClearFaults();
          flash().CutPowerAt(in.U8() % 64, mode);
          if (Mount().ok()) {
            kvs_->Put(kRecoveryKey, Pattern(4, 1)).IgnoreError();
          }
        }
        Reboot();
        Check(cut || !s.ok() ? &p : nullptr);
        break;
      }
      case 6: {  // flip a bit (a retention error)
        const uint32_t address = in.U32() % flash().size_bytes();
        const unsigned bit = in.U8() % 8;
        if (Trace()) std::fprintf(stderr, "  flip 0x%x bit %u\n", address, bit);
        flash().FlipBit(address, bit);
        flipped_ = true;
        break;
      }
      default:  // clean remount
        Reboot();
        Check(nullptr);
        break;
    }
  }
  Reboot();
  Check(nullptr);
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cairn::fuzz::Input in(data, size);
  const cairn::fuzz::Layout layout = cairn::fuzz::PickLayout(in.U8());
  cairn::fuzz::Harness harness(layout);
  harness.Run(in);
  return 0;
}
