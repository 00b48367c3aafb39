// Blob store workload on a RamFlash in target RAM: blobs of random sizes
// written in random chunks (buffered and deferred), read back with seeks and
// through the memory map, power cuts in the middle of writes followed by a
// reboot and either a check of what survived or a Resume(), plus Discard and
// Erase.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"
#include "semihosting.h"
#include "stack.h"
#include "workloads.h"

namespace target {
namespace {

using cairn::FlashPartition;
using cairn::RamFlashBase;
using cairn::Status;
using cairn::TearMode;
namespace blob = cairn::blob;
namespace kvs = cairn::kvs;

// One flash: a few sectors of key-value store (the blob's metadata), then
// the blob's partition.
constexpr size_t kWriteBuffer = kBlobWriteBuffer;
constexpr size_t kMaxName = 24;

// Byte `i` of the blob generated from `seed`: the content never needs to
// be stored to be checked, at any offset.
std::byte ContentByte(uint64_t seed, size_t i) {
  uint64_t z = seed + (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<std::byte>((z ^ (z >> 31)) >> 24);
}

void Fill(uint64_t seed, size_t offset, std::span<std::byte> out) {
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = ContentByte(seed, offset + i);
}

struct BlobState {
  bool valid = false;
  size_t size = 0;
  uint64_t seed = 0;
  char name[kMaxName] = {};
  size_t name_length = 0;  // 0: do not check the name
};

struct Totals {
  uint32_t written = 0;
  uint32_t deferred = 0;
  uint32_t cuts = 0;
  uint32_t survived_old = 0;
  uint32_t survived_new = 0;
  uint32_t survived_none = 0;
  uint32_t resumed = 0;
  uint32_t discards = 0;
  uint32_t erases = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_verified = 0;
};

// Resume() reports the bytes it kept.
[[maybe_unused]] size_t KeptBytes(const cairn::StatusWithSize& kept) {
  return kept.size();
}
[[maybe_unused]] size_t KeptBytes(const cairn::Result<size_t>& kept) {
  return *kept;
}

bool Fail(const char* what, Status status, uint32_t round) {
  out() << "FAIL blob: " << what << " (round " << round << ", status "
        << status.str() << ")\n";
  return false;
}

// Everything one boot of the device has: the key-value store holding the
// metadata and the blob store on top of it.
struct Device {
  FlashPartition kvs_partition;
  FlashPartition blob_partition;
  kvs::KeyValueStore<8> kvs;
  cairn::Crc32Checksum crc;
  blob::BlobStoreBuffer<kWriteBuffer> store;

  Device(RamFlashBase& flash, const BlobConfig& config)
      : kvs_partition(flash, 0, config.kvs_sectors),
        blob_partition(flash, config.kvs_sectors, config.blob_sectors),
        kvs(kvs_partition),
        store("firmware", blob_partition, &crc, kvs, kWriteBuffer) {}

  Status Init() {
    CAIRN_TRY(kvs.Init());
    return Measured(stack_figures().blob_open, [&] { return store.Init(); });
  }
};

// Reads the stored blob back (random chunks and seeks, then the memory
// map) and compares it with `expected`.
bool Verify(Device& device, const BlobState& expected, Rng& rng, Totals& totals,
            uint32_t round) {
  if (device.store.HasData() != (expected.valid && expected.size > 0)) {
    return Fail("HasData() disagrees with the model", Status::Internal(),
                round);
  }
  if (device.store.ReadableDataBytes() !=
      (expected.valid ? expected.size : 0)) {
    return Fail("ReadableDataBytes() disagrees with the model",
                Status::Internal(), round);
  }
  blob::BlobReader reader(device.store);
  Status open =
      Measured(stack_figures().blob_open, [&] { return reader.Open(); });
  if (!expected.valid) {
    if (open.ok())
      return Fail("a reader opened a blob that should not exist",
                  Status::Internal(), round);
    return true;
  }
  if (!open.ok()) return Fail("BlobReader::Open", open, round);

  if (expected.name_length > 0) {
    char name[kMaxName];
    cairn::StatusWithSize got = device.store.GetFileName(name);
    if (!got.ok() || got.size() != expected.name_length ||
        std::memcmp(name, expected.name, expected.name_length) != 0) {
      return Fail("file name differs", got.status(), round);
    }
  }

  std::byte chunk[kChunkBytes / 2];
  std::byte want[sizeof(chunk)];
  size_t offset = 0;
  if (rng.Below(2) == 0) {  // start somewhere in the middle
    offset = rng.Below(static_cast<uint32_t>(expected.size));
    if (Status s = reader.Seek(offset); !s.ok()) {
      return Fail("Seek", s, round);
    }
  }
  while (offset < expected.size) {
    const size_t n = 1 + rng.Below(sizeof(chunk));
    cairn::StatusWithSize got = Measured(stack_figures().blob_read, [&] {
      return reader.Read(std::span<std::byte>(chunk, n));
    });
    if (!got.ok() || got.size() == 0) return Fail("Read", got.status(), round);
    Fill(expected.seed, offset, std::span<std::byte>(want, got.size()));
    if (std::memcmp(chunk, want, got.size()) != 0) {
      return Fail("read bytes differ from what was written", Status::DataLoss(),
                  round);
    }
    offset += got.size();
    totals.bytes_verified += got.size();
  }
  if (reader.Read(std::span<std::byte>(chunk, 1)).status() !=
      Status::OutOfRange()) {
    return Fail("Read past the end is not OUT_OF_RANGE", Status::Internal(),
                round);
  }

  cairn::Result<std::span<const std::byte>> mapped =
      reader.GetMemoryMappedBlob();
  if (!mapped.ok()) return Fail("GetMemoryMappedBlob", mapped.status(), round);
  if (mapped->size() != expected.size) {
    return Fail("mapped blob size", Status::Internal(), round);
  }
  for (size_t i = 0; i < expected.size; ++i) {
    if ((*mapped)[i] != ContentByte(expected.seed, i)) {
      return Fail("mapped blob differs", Status::DataLoss(), round);
    }
  }
  reader.Close();
  return true;
}

// Writes bytes [from, size) of the blob `seed` through `writer` in random
// chunks. `offered` follows the end of the bytes handed to the writer
// (acknowledged or not: an interrupted Write may have programmed part of
// its bytes, and Resume() may keep them).
Status WriteContent(blob::BlobWriter& writer, bool deferred, uint64_t seed,
                    size_t from, size_t size, Rng& rng, size_t& offered) {
  std::byte chunk[kChunkBytes];
  size_t offset = from;
  while (offset < size) {
    size_t n = 1 + rng.Below(sizeof(chunk));
    if (n > size - offset) n = size - offset;
    if (deferred) {
      const size_t room = writer.ConservativeWriteLimit();
      if (room == 0) {
        auto& d = static_cast<blob::DeferredWriter&>(writer);
        CAIRN_TRY(
            Measured(stack_figures().blob_write, [&] { return d.Flush(); }));
        continue;
      }
      if (n > room) n = room;
    }
    Fill(seed, offset, std::span<std::byte>(chunk, n));
    offered = offset + n;
    CAIRN_TRY(Measured(stack_figures().blob_write, [&] {
      return writer.Write(std::span<const std::byte>(chunk, n));
    }));
    offset += n;
  }
  return Status::Ok();
}

// True if the stored blob reads back exactly as `state` (no messages).
bool Matches(Device& device, const BlobState& state) {
  blob::BlobReader reader(device.store);
  if (!reader.Open().ok()) return false;
  std::byte chunk[kChunkBytes / 2];
  size_t offset = 0;
  while (true) {
    cairn::StatusWithSize got = reader.Read(chunk);
    if (got.status().IsOutOfRange()) break;
    if (!got.ok()) return false;
    for (size_t i = 0; i < got.size(); ++i) {
      if (offset + i >= state.size ||
          chunk[i] != ContentByte(state.seed, offset + i)) {
        return false;
      }
    }
    offset += got.size();
  }
  return offset == state.size;
}

// Writes a power cut interrupted, most recent last: any of them may be the
// incomplete blob on flash (a later write that was cut before its first
// byte reached flash leaves the earlier one in place).
struct Interrupted {
  uint64_t seed;
  size_t size;
  size_t offered;  // bytes handed to the writer before the cut
};
struct InterruptedWrites {
  static constexpr size_t kMax = 8;
  Interrupted writes[kMax];
  size_t count = 0;

  void Add(const Interrupted& w) {
    if (count == kMax) {
      for (size_t i = 1; i < kMax; ++i) writes[i - 1] = writes[i];
      --count;
    }
    writes[count++] = w;
  }
  void Clear() { count = 0; }
};

// True if the first `bytes` bytes of the blob partition hold blob `seed`.
bool RawMatches(Device& device, uint64_t seed, size_t bytes) {
  std::byte chunk[kChunkBytes / 2];
  for (size_t offset = 0; offset < bytes;) {
    const size_t n =
        bytes - offset < sizeof(chunk) ? bytes - offset : sizeof(chunk);
    if (!device.blob_partition.Read(offset, std::span<std::byte>(chunk, n))
             .ok()) {
      return false;
    }
    for (size_t i = 0; i < n; ++i) {
      if (chunk[i] != ContentByte(seed, offset + i)) return false;
    }
    offset += n;
  }
  return true;
}

// Classifies what a power cut during the write of `next` over `model` left:
// no blob, the old blob or the new one, each byte for byte. Anything else
// fails the test.
bool CheckAfterCut(Device& device, BlobState& model, const BlobState& next,
                   Rng& rng, Totals& totals, uint32_t round) {
  if (!device.store.HasData()) {
    model = BlobState();
    ++totals.survived_none;
  } else if (model.valid && Matches(device, model)) {
    ++totals.survived_old;
  } else if (Matches(device, next)) {
    model = next;
    ++totals.survived_new;
  } else {
    return Fail("after a power cut the blob is neither the old nor the new",
                Status::DataLoss(), round);
  }
  return Verify(device, model, rng, totals, round);
}

bool WriteBlob(Device& device, const BlobState& next, bool deferred, Rng& rng,
               size_t& offered, Status& status) {
  offered = 0;
  // Writers with their own record buffer, big enough for a file name.
  std::byte metadata[blob::kMetadataHeaderBytes + kMaxName];
  blob::BlobWriter plain(device.store, metadata);
  blob::DeferredWriter queued(device.store, metadata);
  blob::BlobWriter& writer =
      deferred ? static_cast<blob::BlobWriter&>(queued) : plain;
  status = Measured(stack_figures().blob_open, [&] { return writer.Open(); });
  if (status.ok() && next.name_length > 0) {
    status = writer.SetFileName(std::string_view(next.name, next.name_length));
  }
  if (status.ok()) {
    status =
        WriteContent(writer, deferred, next.seed, 0, next.size, rng, offered);
  }
  if (status.ok()) {
    status =
        Measured(stack_figures().blob_close, [&] { return writer.Close(); });
  } else {
    writer.Abandon();
  }
  return status.ok();
}

}  // namespace

bool RunBlobWorkload(const BlobConfig& blob_config) {
  const size_t sectors = blob_config.kvs_sectors + blob_config.blob_sectors;
  const size_t bytes = sectors * blob_config.sector_size;
  if (bytes > kArenaBytes || sectors > kArenaSectors) {
    out() << "FAIL blob: geometry larger than the test's flash buffers\n";
    return false;
  }
  RamFlashBase::Config config;
  config.alignment = 4;
  config.seed = blob_config.seed;
  FlashArena& arena = flash_arena();
  RamFlashBase flash(
      blob_config.sector_size, sectors, config, arena.storage.first(bytes),
      arena.programmed.first((bytes + 7) / 8),
      arena.sector_erases.first(sectors), arena.lifetime_erases.first(sectors));
  const size_t blob_bytes = blob_config.blob_sectors * blob_config.sector_size;
  out() << "blob: " << blob_config.blob_sectors << " x "
        << blob_config.sector_size << " B blob partition, metadata in a "
        << blob_config.kvs_sectors << "-sector key-value store, "
        << blob_config.rounds << " rounds\n";

  Rng rng(blob_config.seed);
  Totals totals;
  BlobState model;
  InterruptedWrites interrupted;
  alignas(Device) static std::byte device_memory[sizeof(Device)];
  Device* device = new (device_memory) Device(flash, blob_config);
  if (Status s = device->Init(); !s.ok()) return Fail("Init", s, 0);

  for (uint32_t round = 0; round < blob_config.rounds; ++round) {
    const uint32_t action = rng.Below(10);
    if (action <= 1) {  // Discard or Erase, half of them cut short
      const bool erase = action == 1;
      ++(erase ? totals.erases : totals.discards);
      const bool cut = rng.Below(2) == 0;
      if (cut) {
        const uint32_t at = rng.Below(erase ? 24 : 8);
        const bool random_bits = rng.Below(2) != 0;
        flash.CutPowerAt(
            at, random_bits ? TearMode::kRandomBits : TearMode::kPrefix);
      }
      Status s;
      {
        blob::BlobWriter writer(device->store);
        s = writer.Open();
        if (s.ok()) s = erase ? writer.Erase() : writer.Discard();
        writer.Abandon();
      }
      if (flash.power_is_cut()) {
        // Afterwards the old blob is either intact or gone, never damaged.
        ++totals.cuts;
        flash.PowerOn();
        device->~Device();
        device = new (device_memory) Device(flash, blob_config);
        if (Status init = device->Init(); !init.ok()) {
          return Fail("Init after a power cut", init, round);
        }
        if (s.ok()) {
          model = BlobState();
          interrupted.Clear();
          if (!Verify(*device, model, rng, totals, round)) return false;
        } else if (!CheckAfterCut(*device, model, BlobState(), rng, totals,
                                  round)) {
          return false;
        }
        continue;
      }
      flash.ClearFaults();
      if (!s.ok()) return Fail(erase ? "Erase" : "Discard", s, round);
      model = BlobState();
      interrupted.Clear();
      if (!Verify(*device, model, rng, totals, round)) return false;
      continue;
    }

    BlobState next;
    next.valid = true;
    next.size = 1 + rng.Below(static_cast<uint32_t>(blob_bytes - 1));
    if (rng.Below(4) == 0) next.size = 1 + rng.Below(1000);  // small ones too
    next.seed = rng.Next();
    if (rng.Below(2) == 0) {
      const char* base = "image-";
      next.name_length = 0;
      for (const char* c = base; *c != '\0'; ++c) {
        next.name[next.name_length++] = *c;
      }
      next.name[next.name_length++] = static_cast<char>('a' + round % 26);
    }
    const bool deferred = rng.Below(3) == 0;
    const bool cut = rng.Below(2) == 0;
    if (cut) {
      // Somewhere in the write: roughly one flash operation per 256 bytes.
      // (Two statements: the order of the draws must not depend on the
      // compiler's argument evaluation order, so hosts repeat target runs.)
      const uint32_t at =
          rng.Below(static_cast<uint32_t>(next.size / 128 + 40));
      const bool random_bits = rng.Below(2) != 0;
      flash.CutPowerAt(at,
                       random_bits ? TearMode::kRandomBits : TearMode::kPrefix);
    }
    size_t offered = 0;
    Status status;
    const bool ok = WriteBlob(*device, next, deferred, rng, offered, status);
    ++totals.written;
    if (deferred) ++totals.deferred;
    if (ok) totals.bytes_written += next.size;

    if (!flash.power_is_cut()) {
      flash.ClearFaults();
      if (!ok) return Fail("writing a blob", status, round);
      model = next;
      interrupted.Clear();
      if (!Verify(*device, model, rng, totals, round)) return false;
      continue;
    }

    // Power cut: reboot with fresh objects, as the device would.
    ++totals.cuts;
    flash.PowerOn();
    device->~Device();
    device = new (device_memory) Device(flash, blob_config);
    if (Status s = device->Init(); !s.ok()) {
      return Fail("Init after a power cut", s, round);
    }
    if (ok) {
      // Close() returned OK before the cut struck: the blob is stored.
      model = next;
      interrupted.Clear();
      if (!Verify(*device, model, rng, totals, round)) return false;
      continue;
    }
    interrupted.Add({next.seed, next.size, offered});
    if (!device->store.HasData() && rng.Below(2) == 0) {
      // Pick the interrupted write up where it is safe to.
      blob::BlobWriterWithBuffer<kMaxName> writer(device->store);
      auto kept = writer.Resume();
      if (kept.ok()) {
        // Which interrupted write is it? Its kept bytes must be exactly
        // what that write offered.
        const size_t bytes = KeptBytes(kept);
        const Interrupted* resumed = nullptr;
        for (size_t i = interrupted.count; i-- > 0 && resumed == nullptr;) {
          const Interrupted& w = interrupted.writes[i];
          if (bytes <= w.offered && RawMatches(*device, w.seed, bytes)) {
            resumed = &w;
          }
        }
        if (resumed == nullptr) {
          out() << "  Resume() kept " << bytes << " B; this write offered "
                << offered << " B\n";
          return Fail(
              "Resume() keeps bytes that no interrupted write wrote there",
              Status::DataLoss(), round);
        }
        ++totals.resumed;
        size_t ignored = 0;
        Status s = WriteContent(writer, false, resumed->seed, bytes,
                                resumed->size, rng, ignored);
        if (s.ok()) s = writer.Close();
        if (!s.ok()) return Fail("finishing a resumed write", s, round);
        model = BlobState();
        model.valid = true;
        model.seed = resumed->seed;
        model.size = resumed->size;  // names of resumed blobs are not checked
        interrupted.Clear();
        if (!Verify(*device, model, rng, totals, round)) return false;
        continue;
      }
      if (!kept.status().IsFailedPrecondition()) {
        return Fail("Resume", kept.status(), round);
      }
    }
    if (!CheckAfterCut(*device, model, next, rng, totals, round)) return false;
    if (model.valid) interrupted.Clear();  // a complete blob replaced them
  }
  device->~Device();

  const cairn::FlashCounters& c = flash.counters();
  out() << "blob: PASS " << totals.written << " blobs written ("
        << totals.deferred << " deferred), " << totals.cuts
        << " power cuts (afterwards: " << totals.survived_old << " old, "
        << totals.survived_new << " new, " << totals.survived_none << " none; "
        << totals.resumed << " resumed), " << totals.discards << " discards, "
        << totals.erases << " erases\n";
  out() << "blob: " << totals.bytes_written << " B written, "
        << totals.bytes_verified << " B read back and compared; flash "
        << c.bytes_programmed << " B programmed, " << c.sector_erases
        << " sector erases\n";
  return true;
}

}  // namespace target
