// Power-cut sweep: a mixed workload (puts, updates, deletes, batches, enough
// for several reclaims) is cut at EVERY flash operation in turn, with prefix
// and random-bit tears. After each cut the store is remounted and compared
// with a shadow model: every acknowledged operation is there, the interrupted
// one is all-old or all-new (a batch all or nothing), nothing else changed.
// A second cut during recovery (mount and the first write) is then survived
// too, and the store accepts new writes.
//
// Default: > 5,000 cut points. `kvs_power_cut_test --long` (or CAIRN_LONG=1)
// sweeps longer workloads on more geometries.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/checksum.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"
#include "kvs/kvs_test_util.h"

namespace cairn::kvs {
namespace {

bool LongMode() {
  for (const std::string& arg : ::testing::internal::GetArgvs()) {
    if (arg == "--long") return true;
  }
  const char* env = std::getenv("CAIRN_LONG");
  return env != nullptr && env[0] == '1';
}

using Model = std::map<Key, std::string>;

struct Op {
  bool batch = false;
  std::vector<std::pair<Key, std::optional<std::string>>> changes;
};

uint64_t Next(uint64_t& x) {
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x * 0x2545F4914F6CDD1Dull;
}

constexpr Key kKeys = 12;
constexpr Key kRecoveryKey = 1000;

std::vector<Op> MakeWorkload(uint64_t seed, size_t count, size_t max_len) {
  std::vector<Op> ops;
  Model model;
  uint64_t x = seed;
  auto value = [&](size_t n) {
    std::string v(Next(x) % (max_len + 1), '\0');
    for (char& c : v) c = static_cast<char>('a' + Next(x) % 26);
    v += std::to_string(n);
    return v;
  };
  for (size_t n = 0; n < count; ++n) {
    Op op;
    const uint64_t r = Next(x) % 100;
    const Key key = static_cast<Key>(Next(x) % kKeys);
    if (r < 15 && model.count(key)) {
      op.changes.push_back({key, std::nullopt});
    } else if (r < 35) {
      op.batch = true;
      const size_t k = 2 + Next(x) % 3;
      for (size_t i = 0; i < k; ++i) {
        const Key bk = static_cast<Key>(Next(x) % kKeys);
        if (Next(x) % 4 == 0 && model.count(bk)) {
          op.changes.push_back({bk, std::nullopt});
        } else {
          op.changes.push_back({bk, value(n)});
        }
      }
    } else {
      op.changes.push_back({key, value(n)});
    }
    for (const auto& [k, v] : op.changes) {
      if (v) {
        model[k] = *v;
      } else {
        model.erase(k);
      }
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

void ApplyToModel(Model& model, const Op& op) {
  for (const auto& [k, v] : op.changes) {
    if (v) {
      model[k] = *v;
    } else {
      model.erase(k);
    }
  }
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

Status Execute(Store& kvs, const Op& op) {
  if (!op.batch) {
    const auto& [k, v] = op.changes[0];
    return v ? kvs.Put(k, Bytes(*v)) : kvs.Delete(k);
  }
  Batch<8> batch;
  for (const auto& [k, v] : op.changes) {
    Status s = v ? batch.Put(k, Bytes(*v)) : batch.Delete(k);
    if (!s.ok()) return s;
  }
  return kvs.Commit(batch);
}

// Reads every key of the universe; nullopt for absent. Any other status is a
// failure of the invariants.
std::optional<Model> ReadAll(const Store& kvs, std::string& error) {
  Model out;
  for (Key k = 0; k < kKeys; ++k) {
    std::array<std::byte, 512> buf;
    StatusWithSize r = kvs.Get(k, buf);
    if (r.status().IsNotFound()) continue;
    if (!r.ok()) {
      error = "key " + std::to_string(k) + ": " + r.status().str();
      return std::nullopt;
    }
    out[k] = std::string(reinterpret_cast<const char*>(buf.data()), r.size());
  }
  return out;
}

struct Geometry {
  size_t sector_size;
  size_t sectors;
  size_t alignment;
  bool eeprom;
  uint8_t copies = 1;  // Options::copies
  bool ecc = false;    // a cut leaves unreadable ECC words (RamFlash ecc)
};

Options OptionsFor(const Geometry& g) {
  Options o;
  o.copies = g.copies;
  return o;
}

class Sweep {
 public:
  Sweep(const Geometry& g, uint64_t seed)
      : g_(g),
        storage_(g.sector_size * g.sectors),
        programmed_((storage_.size() + 7) / 8),
        erases_(g.sectors),
        lifetime_(g.sectors),
        flash_(g.sector_size, g.sectors, Config(g, seed), storage_, programmed_,
               erases_, lifetime_),
        partition_(flash_) {}

  static RamFlashBase::Config Config(const Geometry& g, uint64_t seed) {
    RamFlashBase::Config c;
    c.alignment = g.alignment;
    c.eeprom = g.eeprom;
    c.ecc = g.ecc;
    c.seed = seed;
    return c;
  }

  // Runs `ops` on a fresh store with a cut at operation `cut` (or none).
  // Returns the index of the interrupted op (ops.size() if none was).
  size_t Run(const std::vector<Op>& ops, std::optional<uint64_t> cut,
             TearMode mode, Model& acknowledged) {
    flash_.Reset();
    flash_.ClearFaults();
    flash_.PowerOn();
    KeyValueStore<32> kvs(partition_, OptionsFor(g_));
    EXPECT_TRUE(kvs.Init().ok());
    flash_.ResetCounters();
    const uint64_t base = flash_.operation_count();
    if (cut) flash_.CutPowerAt(*cut, mode);
    acknowledged.clear();
    for (size_t i = 0; i < ops.size(); ++i) {
      Status s = Execute(kvs, ops[i]);
      if (!s.ok()) {
        EXPECT_TRUE(cut.has_value()) << "op " << i << ": " << s.str();
        return i;
      }
      ApplyToModel(acknowledged, ops[i]);
    }
    total_ops_ = flash_.operation_count() - base;
    return ops.size();
  }

  uint64_t total_ops() const { return total_ops_; }
  RamFlashBase& flash() { return flash_; }
  FlashPartition& partition() { return partition_; }

 private:
  Geometry g_;
  std::vector<std::byte> storage_;
  std::vector<uint8_t> programmed_;
  std::vector<uint32_t> erases_;
  std::vector<uint32_t> lifetime_;
  RamFlashBase flash_;
  FlashPartition partition_;
  uint64_t total_ops_ = 0;
};

// Checks the remounted store against the two allowed states.
bool CheckState(const Store& kvs, const Model& before, const Model& after,
                std::string& error) {
  std::optional<Model> got = ReadAll(kvs, error);
  if (!got) return false;
  if (*got == before || *got == after) return true;
  error = "store matches neither the state before nor after the cut op";
  return false;
}

uint64_t SweepGeometry(const Geometry& g, size_t op_count, size_t max_len,
                       uint64_t seed) {
  const std::vector<Op> ops = MakeWorkload(seed, op_count, max_len);
  Sweep sweep(g, seed);
  Model full;
  EXPECT_EQ(sweep.Run(ops, std::nullopt, TearMode::kPrefix, full), ops.size());
  const uint64_t points = sweep.total_ops();
  // The workload must be big enough to reclaim several sectors.
  EXPECT_GT(sweep.flash().counters().sector_erases, 2 * g.sectors)
      << "workload too small for " << g.sector_size << " x " << g.sectors;

  uint64_t checked = 0;
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t cut = 0; cut < points; ++cut) {
      Model before;
      const size_t k = sweep.Run(ops, cut, mode, before);
      Model after = before;
      if (k < ops.size()) ApplyToModel(after, ops[k]);
      sweep.flash().PowerOn();
      sweep.flash().ClearFaults();

      // A second cut while recovering: during mount or the first write.
      const uint64_t second = (cut * 7 + 3) % 40;
      sweep.flash().CutPowerAt(second, mode);
      {
        KeyValueStore<32> kvs(sweep.partition(), OptionsFor(g));
        if (kvs.Init().ok()) {
          kvs.Put(kRecoveryKey, Bytes("recovery")).IgnoreError();
        }
      }
      sweep.flash().PowerOn();
      sweep.flash().ClearFaults();

      KeyValueStore<32> kvs(sweep.partition(), OptionsFor(g));
      Status init = kvs.Init();
      if (!init.ok()) {
        ADD_FAILURE() << "mount failed after cut " << cut << " mode "
                      << static_cast<int>(mode) << " on " << g.sector_size
                      << " x " << g.sectors << " A" << g.alignment
                      << (g.eeprom ? " eeprom" : "") << ": " << init.str();
        return checked;
      }
      std::string error;
      if (!CheckState(kvs, before, after, error)) {
        ADD_FAILURE() << "cut " << cut << " mode " << static_cast<int>(mode)
                      << " (op " << k << ") on " << g.sector_size << " x "
                      << g.sectors << " A" << g.alignment
                      << (g.eeprom ? " eeprom" : "") << " copies "
                      << int{g.copies} << ": " << error;
        return checked;
      }
      // The store still takes writes and keeps them.
      const std::string fresh = "fresh" + std::to_string(cut);
      Status put = kvs.Put(3, Bytes(fresh));
      if (!put.ok()) {
        ADD_FAILURE() << "put after recovery failed at cut " << cut << ": "
                      << put.str();
        return checked;
      }
      std::array<std::byte, 64> buf;
      StatusWithSize r = kvs.Get(3, buf);
      EXPECT_TRUE(r.ok());
      EXPECT_EQ(
          std::string(reinterpret_cast<const char*>(buf.data()), r.size()),
          fresh);
      ++checked;
    }
  }
  return checked;
}

TEST(KvsPowerCut, EveryCutPointIsSurvived) {
  uint64_t total = 0;
  total += SweepGeometry({512, 6, 4, false}, 220, 40, 0x1234);
  total += SweepGeometry({1024, 4, 16, false}, 170, 60, 0x77);
  total += SweepGeometry({512, 4, 1, true}, 200, 24, 0x99);
  // Redundancy: two copies of every write.
  total += SweepGeometry({512, 6, 4, false, 2}, 130, 24, 0x2c0);
  // Flash with ECC: what a cut leaves half written does not read at all.
  total += SweepGeometry({512, 6, 8, false, 1, true}, 240, 40, 0xecc);
  if (LongMode()) {
    total += SweepGeometry({512, 6, 8, false}, 2000, 48, 0xabc);
    total += SweepGeometry({2048, 4, 32, false}, 1500, 200, 0xdef);
    total += SweepGeometry({512, 3, 1, true}, 1500, 40, 0x5151);
    total += SweepGeometry({1024, 5, 8, false, 3}, 1000, 40, 0x3c0);
    total += SweepGeometry({1024, 4, 16, false, 1, true}, 1500, 120, 0xecc2);
    total += SweepGeometry({512, 6, 8, false, 2, true}, 1000, 40, 0xecc3);
  }
  std::cout << "power-cut sweep: " << total << " cut points checked"
            << (LongMode() ? " (long)" : "") << std::endl;
  EXPECT_GE(total, 5000u);
}

// A failed program (the store voids what the write left and carries on),
// then a power cut anywhere after it: acknowledged writes stay, a refused
// write leaves the old value, the interrupted one is all-old or all-new.
TEST(KvsPowerCut, FailedProgramThenCut) {
  const std::vector<Op> ops = MakeWorkload(0x4242, 60, 40);
  Sweep sweep({512, 6, 4, false}, 0x4242);
  RamFlashBase& flash = sweep.flash();
  uint64_t checked = 0, refused = 0, failed = 0;
  for (uint32_t fail = 0; fail < 100; fail += 3) {
    for (uint64_t cut = 0; cut < 600; cut += 11) {
      const TearMode mode = cut % 2 ? TearMode::kRandomBits : TearMode::kPrefix;
      flash.Reset();
      flash.ClearFaults();
      flash.PowerOn();
      Model before, after;
      {
        KeyValueStore<32> kvs(sweep.partition());
        ASSERT_EQ(kvs.Init(), Status::Ok());
        const uint64_t programs = flash.counters().program_calls;
        flash.FailNext(FlashOp::kProgram, fail, Status::Internal());
        flash.CutPowerAt(cut, mode);
        for (const Op& op : ops) {
          const Status s = Execute(kvs, op);
          if (flash.power_is_cut()) {
            after = before;
            ApplyToModel(after, op);
            break;
          }
          if (s.ok()) {
            ApplyToModel(before, op);
          } else {
            ++refused;
          }
        }
        if (!flash.power_is_cut()) after = before;
        failed += flash.counters().program_calls > programs + fail + 1;
      }
      flash.PowerOn();
      flash.ClearFaults();
      KeyValueStore<32> kvs(sweep.partition());
      ASSERT_EQ(kvs.Init(), Status::Ok()) << "fail " << fail << " cut " << cut;
      std::string error;
      ASSERT_TRUE(CheckState(kvs, before, after, error))
          << "fail " << fail << " cut " << cut << ": " << error;
      ASSERT_EQ(kvs.Put(3, Bytes("fresh")), Status::Ok())
          << "fail " << fail << " cut " << cut;
      ++checked;
    }
  }
  // A single failed program is absorbed: the store voids what it left and
  // writes again, so no write is refused.
  std::cout << "failed program then cut: " << checked << " cases, " << failed
            << " with the failure before the cut, " << refused
            << " writes refused" << std::endl;
  EXPECT_GT(failed, checked / 2);
  EXPECT_EQ(refused, 0u);
}

// A value whose CRC equals the CRC of an erased region of the same size: a
// cut between its header and its value must not leave the header with an
// erased value that passes the check (found by the long campaign on EEPROM,
// where it read back as 20 bytes of 0xFF).
TEST(KvsPowerCut, ValueWhoseChecksumMatchesErasedBytes) {
  constexpr Key kKey = 7;
  const std::string collider = test::ErasedCrcCollider(kKey, 20, 0x5eed);

  const std::string old = "the old value";
  RamFlash<512, 4> flash;
  FlashPartition partition(flash);
  int mounts = 0;
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t cut = 0; cut < 24; ++cut) {
      flash.Reset();
      flash.ClearFaults();
      flash.PowerOn();
      {
        KeyValueStore<8> kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        ASSERT_EQ(kvs.Put(kKey, std::as_bytes(std::span(old))), Status::Ok());
        flash.CutPowerAt(cut, mode);
        kvs.Put(kKey, std::as_bytes(std::span(collider))).IgnoreError();
      }
      flash.PowerOn();
      flash.ClearFaults();
      KeyValueStore<8> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok()) << "cut " << cut;
      std::string got(64, '\0');
      const StatusWithSize r =
          kvs.Get(kKey, std::as_writable_bytes(std::span(got)));
      ASSERT_TRUE(r.ok()) << "cut " << cut << ": " << r.status().str();
      got.resize(r.size());
      EXPECT_TRUE(got == old || got == collider)
          << "cut " << cut << " left " << got.size() << " bytes that are "
          << "neither the old nor the new value";
      ++mounts;
    }
  }
  EXPECT_EQ(mounts, 48);
}

// The same kind of value when its first program (the value, written before
// the header) fails: the bytes it left have no slot, so the store must not
// place the next value where a mount would look for it. It used to move
// its value end below them in RAM only; after a remount the retried entry
// was looked for in the failed region and read back erased bytes as OK.
TEST(KvsPowerCut, FailedValueFirstProgramIsNotAppendedOver) {
  constexpr Key kKey = 7;
  const std::string collider = test::ErasedCrcCollider(kKey, 20, 0xfee1);

  RamFlash<512, 4> flash;
  FlashPartition partition(flash);
  {
    KeyValueStore<8> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(kvs.Put(1, Bytes("one")), Status::Ok());
    flash.FailNext(FlashOp::kProgram, 0, Status::Internal());
    ASSERT_EQ(kvs.Put(kKey, Bytes(collider)), Status::Ok());
    flash.ClearFaults();
    ASSERT_EQ(kvs.Put(2, Bytes("two")), Status::Ok());
  }
  KeyValueStore<8> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  std::string got(64, '\0');
  const StatusWithSize r =
      kvs.Get(kKey, std::as_writable_bytes(std::span(got)));
  ASSERT_TRUE(r.ok()) << r.status().str();
  EXPECT_EQ(got.substr(0, r.size()), collider);
  std::array<std::byte, 8> buf;
  EXPECT_EQ(kvs.Get(2, buf).size(), 3u);
  EXPECT_EQ(kvs.Get(1, buf).size(), 3u);
}

// Mounts `partition` and checks that it reads exactly `model`; then writes
// `puts` more values (through the sector after the head, wherever that is)
// and checks a fresh mount again.
void MountMatchesAndGoesOn(FlashPartition& partition, Model& model, int puts) {
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  std::string error;
  const std::optional<Model> got = ReadAll(kvs, error);
  ASSERT_TRUE(got.has_value()) << error;
  EXPECT_EQ(*got, model);
  for (int i = 0; i < puts; ++i) {
    const Key k = static_cast<Key>(i % kKeys);
    model[k] = std::string(20 + i % 5, static_cast<char>('A' + i % 26));
    ASSERT_EQ(kvs.Put(k, Bytes(model[k])), Status::Ok()) << i;
  }
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  const std::optional<Model> after = ReadAll(again, error);
  ASSERT_TRUE(after.has_value()) << error;
  EXPECT_EQ(*after, model);
}

// Random bits torn into the activation unit of the sector being activated
// pass its CRC-16 about once in 65,536 tears and name any sequence and any
// slot count. One that names more slots than a sector holds is no real
// activation (bug 53); one within range, far ahead of the chain it follows,
// is the torn one: mount keeps the chain's head as the newest sector. Every
// key used to vanish (long campaign, 4 x 1024 B, align 16, operation
// 9,766).
TEST(KvsPowerCut, TornActivationUnitThatDecodesIsNotTheNewest) {
  for (const uint16_t prev_slots : {uint16_t{34111}, uint16_t{5}}) {
    SCOPED_TRACE(testing::Message() << "prev_slots " << prev_slots);
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    Model model;
    {
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int i = 0; i < 60; ++i) {
        const Key k = static_cast<Key>(i % kKeys);
        model[k] = std::string(30 + i % 7, static_cast<char>('a' + i % 26));
        ASSERT_EQ(kvs.Put(k, Bytes(model[k])), Status::Ok());
      }
    }
    // The active sector has the highest sequence; the one after it is free.
    const size_t unit = format::UnitSize(4);
    uint32_t top;
    const uint32_t active =
        test::NewestSector(flash.bytes(), 1024, 4, unit, top);
    ASSERT_GE(top, 3u) << "the chain must hold more than one data sector";
    const uint32_t next = (active + 1) % 4;
    const auto torn = flash.bytes().subspan(next * 1024 + unit).first<8>();
    ASSERT_TRUE(std::all_of(torn.begin(), torn.end(),
                            [](std::byte b) { return b == std::byte{0xFF}; }));
    format::EncodeActivationUnit({1497800639u, prev_slots}, torn);

    // And the store goes on: the next activation recycles that sector.
    MountMatchesAndGoesOn(partition, model, 60);
  }
}

// The same tear where the chain behind the head has no second sector to
// vouch for it: a young store whose data all lies in its first sector, and
// a store of two sectors. A unit naming more slots than a sector holds is
// dropped whatever the chain (one within range stays a documented limit
// there). Every key used to read NOT_FOUND.
TEST(KvsPowerCut, TornActivationUnitThatDecodesIsNotTheNewestInAShortChain) {
  for (const uint32_t sectors : {4u, 2u}) {
    SCOPED_TRACE(testing::Message() << sectors << " sectors");
    RamFlashBase::Config config;
    config.alignment = 4;
    test::DynFlash dyn(1024, sectors, config);
    RamFlashBase& flash = dyn.flash();
    FlashPartition partition(flash);
    Model model;
    {
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int i = 0; i < 8; ++i) {  // well inside sector 0
        const Key k = static_cast<Key>(i % kKeys);
        model[k] = std::string(30 + i, static_cast<char>('a' + i));
        ASSERT_EQ(kvs.Put(k, Bytes(model[k])), Status::Ok());
      }
    }
    const size_t unit = format::UnitSize(4);
    const auto torn = flash.bytes().subspan(1024 + unit).first<8>();
    ASSERT_TRUE(std::all_of(torn.begin(), torn.end(), [](std::byte b) {
      return b == std::byte{0xFF};
    })) << "sector 1 must be the free one";
    format::EncodeActivationUnit({1497800639u, 34111}, torn);

    MountMatchesAndGoesOn(partition, model, 80);  // past the torn sector
  }
}

// A random-bit tear of a batch's end slot (a delete, so no value checks it)
// can leave bits that one single-bit correction turns into a valid-looking
// delete of some other key: mount must not correct the last slot of the
// active sector, or it commits the torn batch. Found by the long campaign
// (CAIRN_SEED=7, 4 x 4096 B, align 8, operation 58,043): the batch's puts
// and first delete were applied, its last delete was not.
TEST(KvsPowerCut, TornBatchEndIsNotCorrectedIntoACommit) {
  RamFlash<4096, 4> flash;
  FlashPartition partition(flash);
  Model before;
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (Key k = 1; k <= 6; ++k) {
      before[k] = "old " + std::to_string(k);
      ASSERT_EQ(kvs.Put(k, Bytes(before[k])), Status::Ok());
    }
    const std::string one = "new 1", seven = "new 7";
    Batch<4> batch;  // reads the values at Commit()
    ASSERT_EQ(batch.Put(1, Bytes(one)), Status::Ok());
    ASSERT_EQ(batch.Put(7, Bytes(seven)), Status::Ok());
    ASSERT_EQ(batch.Delete(2), Status::Ok());
    ASSERT_EQ(batch.Delete(4), Status::Ok());
    ASSERT_EQ(kvs.Commit(batch), Status::Ok());
  }
  const auto slots = test::ScanSlots(partition, flash.bytes(), 0);
  ASSERT_FALSE(slots.empty());
  const test::SlotInfo end = slots.back();
  ASSERT_EQ(end.header.kind, format::Kind::kBatchEnd);
  ASSERT_EQ(end.header.key, 4u);
  // What a random-bit tear can leave (some of the header's 0 bits still 1)
  // such that one flipped bit makes a delete whose checksum matches.
  std::array<std::byte, 8> intended;
  std::copy_n(flash.bytes().begin() + end.header_address, 8, intended.begin());
  uint64_t x = 0x7043;
  std::array<std::byte, 8> torn{};
  bool found = false;
  for (int tries = 0; tries < 1000000 && !found; ++tries) {
    for (size_t i = 0; i < 8; ++i) {
      torn[i] = intended[i] | static_cast<std::byte>(Next(x) >> 56);
    }
    format::SlotHeader h;
    if (format::DecodeSlot(torn, h)) continue;
    for (int bit = 0; bit < 48 && !found; ++bit) {
      std::array<std::byte, 8> fixed = torn;
      fixed[bit / 8] ^= std::byte(1u << (bit % 8));
      found = format::DecodeSlot(fixed, h) && h.is_tombstone() &&
              h.crc == format::EntryCrcSeed(h.key, h.size_code);
    }
  }
  ASSERT_TRUE(found);
  std::copy(torn.begin(), torn.end(),
            flash.bytes().begin() + end.header_address);
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  std::string error;
  const std::optional<Model> got = ReadAll(kvs, error);
  ASSERT_TRUE(got.has_value()) << error;
  EXPECT_EQ(*got, before) << "the torn batch must not count at all";
}

// Format() cut at any point: every key reads its last value or nothing,
// never an older one. It used to erase sector 0 first, which could be the
// newest sector: older sectors then formed the ring again, and a value
// overwritten long ago read back as OK.
TEST(KvsPowerCut, FormatCutAnywhereNeverRevivesAnOlderValue) {
  RamFlash<512, 4> flash;
  FlashPartition partition(flash);
  // `mounted` false: Format() on a store object that was never mounted (a
  // factory reset at boot), which used to erase in index order as well.
  for (const bool mounted : {true, false}) {
    int cuts = 0;
    for (uint64_t cut = 0;; ++cut) {
      flash.Reset();
      flash.ClearFaults();
      flash.PowerOn();
      std::string last2;
      {
        KeyValueStore<8> kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        ASSERT_EQ(kvs.Put(1, Bytes(std::string("old-value"))), Status::Ok());
        for (int i = 0; i < 39; ++i) {
          last2 = test::MakeValue(40, i);
          ASSERT_EQ(kvs.Put(2, Bytes(last2)), Status::Ok());
        }
        ASSERT_EQ(kvs.Put(1, Bytes(std::string("new-value"))), Status::Ok());
        if (mounted) {
          flash.CutPowerAt(cut, TearMode::kPrefix);
          kvs.Format().IgnoreError();
        }
      }
      if (!mounted) {
        KeyValueStore<8> fresh(partition);
        flash.CutPowerAt(cut, TearMode::kPrefix);
        fresh.Format().IgnoreError();
      }
      const bool was_cut = flash.power_is_cut();
      flash.PowerOn();
      flash.ClearFaults();
      KeyValueStore<8> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok()) << "cut " << cut;
      std::string got;
      StatusWithSize r = test::GetString(kvs, 1, got);
      EXPECT_TRUE(r.status().IsNotFound() || (r.ok() && got == "new-value"))
          << "mounted " << mounted << " cut " << cut << ": key 1 reads "
          << r.status().str() << " " << got;
      r = test::GetString(kvs, 2, got);
      EXPECT_TRUE(r.status().IsNotFound() || (r.ok() && got == last2))
          << "mounted " << mounted << " cut " << cut << ": key 2 reads "
          << r.status().str();
      if (!was_cut) break;
      ++cuts;
    }
    EXPECT_GT(cuts, 8);
  }
}

// A cut anywhere in the first Init() of a blank partition (the formatting
// it does), prefix or random-bit tear: the next Init() mounts an empty
// store that takes writes. A torn first format unit, with everything else
// still erased, used to make the partition look foreign (FAILED_PRECONDITION)
// or newer (UNIMPLEMENTED) for good.
TEST(KvsPowerCut, CutDuringTheFirstFormatOfABlankPartition) {
  RamFlash<512, 4> flash;
  FlashPartition partition(flash);
  uint64_t total = 0;
  {
    KeyValueStore<8> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    total = flash.operation_count();
  }
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      for (uint64_t cut = 0; cut < total; ++cut) {
        flash.Reset();
        flash.ClearFaults();
        flash.PowerOn();
        flash.Reseed(seed * 1000 + cut);
        {
          KeyValueStore<8> kvs(partition);
          flash.CutPowerAt(cut, mode);
          kvs.Init().IgnoreError();
        }
        flash.PowerOn();
        flash.ClearFaults();
        KeyValueStore<8> kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok())
            << "cut " << cut << " of " << total << " mode " << int(mode)
            << " seed " << seed;
        EXPECT_TRUE(kvs.empty());
        ASSERT_EQ(kvs.Put(1, Bytes(std::string("x"))), Status::Ok());
      }
      if (mode == TearMode::kPrefix) break;  // prefix tears need no seeds
    }
  }
}

// The activation write of the next sector torn in its slot count: one bit
// away from a valid unit that names exactly the next sequence but one slot
// fewer before it. Mount must not trust such a correction (it cannot tell
// it from a flipped bit), or the active sector's last entry is dropped. A
// rule that trusted it was tried in the fifth session; the long campaign
// found it (CAIRN_SEED=14, EEPROM geometry) and it was removed.
TEST(KvsPowerCut, TornActivationCorrectedIntoTheNextSequenceIsNotTrusted) {
  RamFlash<512, 6> flash;
  FlashPartition partition(flash);
  test::Shadow shadow;
  {
    KeyValueStore<8> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    // Until sector 1 is active and holds three entries.
    for (int i = 0; flash.bytes()[512 + 16 + 2 * 8] == std::byte{0xFF}; ++i) {
      ASSERT_LT(i, 100);
      const Key k = static_cast<Key>(i % 4);
      shadow[k] = test::MakeValue(30, i);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
  }
  ASSERT_EQ(flash.bytes()[2 * 512 + 8], std::byte{0xFF});  // 2 is free
  format::ActivationUnit act;
  ASSERT_EQ(format::DecodeActivationUnit(std::span<const std::byte, 8>(
                                             flash.bytes().data() + 512 + 8, 8),
                                         std::byte{0xFF}, act),
            format::UnitState::kValid);
  uint16_t slots = 0;
  while (flash.bytes()[512 + 16 + slots * 8] != std::byte{0xFF}) ++slots;
  ASSERT_EQ(slots, 3u);
  std::array<std::byte, 8> unit;
  format::EncodeActivationUnit({act.sequence + 1, uint16_t(slots - 1)}, unit);
  unit[7] ^= std::byte{0x10};  // one bit away from that unit
  std::copy(unit.begin(), unit.end(), flash.bytes().begin() + 2 * 512 + 8);
  KeyValueStore<8> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  EXPECT_TRUE(test::MatchesShadow(kvs, shadow));
  for (int i = 0; i < 40; ++i) {
    shadow[5] = test::MakeValue(30, 500 + i);
    ASSERT_EQ(kvs.Put(5, Bytes(shadow[5])), Status::Ok());
  }
  KeyValueStore<8> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_TRUE(test::MatchesShadow(again, shadow));
}

}  // namespace
}  // namespace cairn::kvs
