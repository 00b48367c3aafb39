// Corruption and flash errors: bit flips in values, slot headers, activation
// and format units, a sector of garbage, failing reads, programs and erases.
// In every case: nothing crashes, and no Get ever returns OK with bytes that
// differ from the last acknowledged value of that key; a key may read
// DATA_LOSS or NOT_FOUND only if the damage touched it.
//
// Layout used by most tests (6 sectors x 1 KiB, A = 4: U = 8, header 16 B,
// 100-byte values = 108-byte entries, 9 per sector):
//   S0 (closed): keys 0..8, version 0          (all superseded)
//   S1 (closed): keys 0..8, version 1          (newest for keys 4..8)
//   S2 (active): keys 9..12 v0, keys 0..3 v2   (newest for 9..12 and 0..3)
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"
#include "kvs/kvs_test_util.h"

namespace cairn::kvs {
namespace {

using test::Bytes;
using test::GetString;
using test::MakeValue;
using test::Shadow;
using test::SlotInfo;

constexpr size_t kSector = 1024;
constexpr size_t kSectors = 6;
constexpr size_t kUnit = 8;
constexpr Key kUniverse = 40;  // keys 0..39 are checked everywhere

using Kvs = KeyValueStore<48>;

std::string V(Key key, int version) {
  return MakeValue(100, key * 100 + version);
}

// Every key of the universe: OK only with exactly the shadow's bytes;
// DATA_LOSS or NOT_FOUND (for a key the shadow has) only if `affected`.
::testing::AssertionResult NoWrongData(const Store& kvs, const Shadow& shadow,
                                       const std::set<Key>& affected,
                                       size_t* lost = nullptr) {
  size_t n_lost = 0;
  for (Key k = 0; k < kUniverse; ++k) {
    std::string got;
    const StatusWithSize r = GetString(kvs, k, got, 4096);
    const auto it = shadow.find(k);
    if (r.ok()) {
      if (it == shadow.end()) {
        return ::testing::AssertionFailure()
               << "key " << k << " was never written (or deleted) but reads OK";
      }
      if (got != it->second) {
        return ::testing::AssertionFailure()
               << "key " << k
               << " reads OK with WRONG bytes (stale or garbage)";
      }
      continue;
    }
    if (r.status().IsNotFound() && it == shadow.end()) continue;
    if (!r.status().IsNotFound() && !r.status().IsDataLoss()) {
      return ::testing::AssertionFailure()
             << "key " << k << ": unexpected " << r.status().str();
    }
    if (!affected.count(k)) {
      return ::testing::AssertionFailure()
             << "key " << k << " was not affected but reads "
             << r.status().str();
    }
    ++n_lost;
  }
  if (lost != nullptr) *lost = n_lost;
  return ::testing::AssertionSuccess();
}

class KvsCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(); }

  // Writes the layout above on a fresh flash.
  void Build() {
    flash_.Reset();
    flash_.ClearFaults();
    flash_.PowerOn();
    shadow_.clear();
    kvs_ = std::make_unique<Kvs>(partition_);
    ASSERT_EQ(kvs_->Init(), Status::Ok());
    for (int version = 0; version < 2; ++version) {
      for (Key k = 0; k < 9; ++k) Put(k, V(k, version));
    }
    for (Key k = 9; k < 13; ++k) Put(k, V(k, 0));
    for (Key k = 0; k < 4; ++k) Put(k, V(k, 2));
    // The layout is what the tests aim at.
    const auto s0 = Slots(0), s1 = Slots(1), s2 = Slots(2);
    ASSERT_EQ(s0.size(), 9u);
    ASSERT_EQ(s1.size(), 9u);
    ASSERT_EQ(s2.size(), 8u);
    for (Key k = 0; k < 9; ++k) {
      ASSERT_EQ(s0[k].header.key, k);
      ASSERT_EQ(s1[k].header.key, k);
    }
    ASSERT_EQ(s2[0].header.key, 9u);
    ASSERT_EQ(s2[7].header.key, 3u);
    ASSERT_TRUE(Slots(3).empty());
  }

  void Put(Key k, const std::string& v) {
    ASSERT_EQ(kvs_->Put(k, Bytes(v)), Status::Ok()) << "key " << k;
    shadow_[k] = v;
  }

  std::vector<SlotInfo> Slots(uint32_t sector) const {
    return test::ScanSlots(partition_, flash_.bytes(), sector);
  }

  // The slot of `key` in the highest-numbered sector that holds one.
  SlotInfo FindSlot(Key key) const {
    SlotInfo found{};
    for (uint32_t sector = 0; sector < kSectors; ++sector) {
      for (const SlotInfo& si : Slots(sector)) {
        if (si.header.key == key) found = si;
      }
    }
    return found;
  }

  // Commits a batch that puts keys 30, 31 and 32, then puts keys 33 to 36
  // so that the batch is not the last write.
  void CommitBatchOf30To32() {
    const std::string a = MakeValue(50, 1), b = MakeValue(50, 2),
                      c = MakeValue(50, 3);
    Batch<3> batch;
    ASSERT_EQ(batch.Put(30, Bytes(a)), Status::Ok());
    ASSERT_EQ(batch.Put(31, Bytes(b)), Status::Ok());
    ASSERT_EQ(batch.Put(32, Bytes(c)), Status::Ok());
    ASSERT_EQ(kvs_->Commit(batch), Status::Ok());
    shadow_[30] = a;
    shadow_[31] = b;
    shadow_[32] = c;
    for (Key k = 33; k < 37; ++k) Put(k, V(k, 0));
  }

  void Remount() {
    kvs_ = std::make_unique<Kvs>(partition_);
    init_ = kvs_->Init();
  }

  uint32_t Found() const { return kvs_->GetStats().corruption_found; }

  // Writes until every sector has been reclaimed at least once more, keeping
  // the shadow, then checks everything again (damaged keys stay damaged or
  // are rewritten; nothing else changes).
  void Churn(const std::set<Key>& affected, int puts = 120) {
    for (int i = 0; i < puts; ++i) {
      const Key k = 20 + static_cast<Key>(i % 6);
      const std::string v = MakeValue(60, 7000 + i);
      const Status s = kvs_->Put(k, Bytes(v));
      ASSERT_EQ(s, Status::Ok()) << "put " << i;
      shadow_[k] = v;
    }
    EXPECT_TRUE(NoWrongData(*kvs_, shadow_, affected)) << "after churn";
    Remount();
    ASSERT_EQ(init_, Status::Ok());
    EXPECT_TRUE(NoWrongData(*kvs_, shadow_, affected)) << "after churn+remount";
    // Rewriting a damaged key repairs it.
    for (Key k : affected) {
      if (k >= kUniverse) continue;
      const std::string v = MakeValue(30, 9000 + k);
      ASSERT_EQ(kvs_->Put(k, Bytes(v)), Status::Ok()) << "rewrite key " << k;
      shadow_[k] = v;
    }
    EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {}));
  }

  RamFlash<kSector, kSectors> flash_;
  FlashPartition partition_{flash_};
  std::unique_ptr<Kvs> kvs_;
  Shadow shadow_;
  Status init_;
};

// ------------------------------------------------------------ value flips

TEST_F(KvsCorruptionTest, ValueFlipInClosedSector) {
  const SlotInfo five = Slots(1)[5];
  flash_.FlipBit(five.value_address + 37, 5);
  const uint32_t before = Found();
  std::array<std::byte, 128> buf;
  EXPECT_EQ(kvs_->Get(5, buf).status(), Status::DataLoss());
  EXPECT_GT(Found(), before);
  EXPECT_EQ(kvs_->ValueSize(5).size(), 100u);  // size needs no checksum
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {5}));
  // A read at an offset checks the whole value too.
  EXPECT_EQ(kvs_->Get(5, std::span(buf).first(10), 90).status(),
            Status::DataLoss());
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  size_t lost = 0;
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {5}, &lost));
  EXPECT_EQ(lost, 1u);
  EXPECT_EQ(kvs_->Get(5, buf).status(), Status::DataLoss())
      << "never the older version from S0";
  Churn({5});
}

TEST_F(KvsCorruptionTest, ValueFlipInActiveSector) {
  const SlotInfo one = Slots(2)[5];  // key 1, not the last slot
  ASSERT_EQ(one.header.key, 1u);
  flash_.FlipBit(one.value_address, 0);
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {1}));
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  size_t lost = 0;
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {1}, &lost));
  EXPECT_EQ(lost, 1u);
  Churn({1});
}

// A damaged value inside a committed batch: only that key is lost; the
// batch's other members and everything else read right.
TEST_F(KvsCorruptionTest, ValueFlipInBatchMember) {
  ASSERT_NO_FATAL_FAILURE(CommitBatchOf30To32());
  const SlotInfo member = FindSlot(31);
  ASSERT_EQ(member.header.key, 31u);
  ASSERT_EQ(member.header.kind, format::Kind::kBatchMember);
  flash_.FlipBit(member.value_address + 10, 6);
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {31}));
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  size_t lost = 0;
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {31}, &lost));
  EXPECT_EQ(lost, 1u);
  Churn({31});
}

// The last slot of the active sector is the one mount checks, because a
// torn write can only be there. A retention flip in its value after the
// write was acknowledged looks the same, and mount then rolls the key back
// to its previous value, which is wrong data returned as OK.
// Documented limitation (docs/format.md, "Corruption"): damage to the value
// of the very last entry written looks exactly like a write torn by a power
// cut, so mount rolls that key back to its previous value, as it must for a
// torn write. Before the remount the damage reads as DATA_LOSS; every other
// key stays right.
TEST_F(KvsCorruptionTest, ValueFlipInLastSlotOfActiveSector) {
  const SlotInfo three = Slots(2)[7];
  ASSERT_EQ(three.header.key, 3u);
  flash_.FlipBit(three.value_address + 50, 2);
  std::array<std::byte, 128> buf;
  EXPECT_EQ(kvs_->Get(3, buf).status(), Status::DataLoss());
  EXPECT_GT(Found(), 0u);
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  Shadow rolled_back = shadow_;
  rolled_back[3] = V(3, 1);  // the value before the damaged last write
  EXPECT_TRUE(NoWrongData(*kvs_, rolled_back, {}));
}

// --------------------------------------------------------- slot headers

// Every single bit of a slot header in a closed sector: parity (bytes 0-5)
// or the value CRC (bytes 6-7) catches it; that key and the keys of later
// slots of the sector read DATA_LOSS or their right value, never wrong bytes.
TEST_F(KvsCorruptionTest, SlotHeaderFlipInClosedSector) {
  int failures = 0;
  for (size_t byte = 0; byte < 8 && failures < 3; ++byte) {
    for (unsigned bit = 0; bit < 8 && failures < 3; ++bit) {
      Build();
      const SlotInfo six = Slots(1)[6];
      ASSERT_EQ(six.header.key, 6u);
      flash_.FlipBit(six.header_address + byte, bit);
      Remount();
      ASSERT_EQ(init_, Status::Ok()) << "byte " << byte << " bit " << bit;
      const auto r = NoWrongData(*kvs_, shadow_, {6, 7, 8});
      EXPECT_TRUE(r) << "flip in slot header byte " << byte << " bit " << bit
                     << (byte < 6 ? " (KNOWN BUG: the damaged slot's own key "
                                    "keeps its older entry from S0)"
                                  : "");
      if (!r) ++failures;
      if (byte < 6) {
        EXPECT_GT(Found(), 0u) << "parity error not counted";
      }
      // Keys whose newest entries are elsewhere are untouched.
      for (Key k : {0u, 1u, 4u, 5u, 9u, 12u}) {
        std::string got;
        ASSERT_EQ(GetString(*kvs_, k, got).status(), Status::Ok()) << k;
        EXPECT_EQ(got, shadow_[k]);
      }
    }
  }
}

// A flipped header bit in a committed batch's member, or in its end: mount
// corrects it (the value's checksum confirms the correction) and applies the
// batch, which it reads again from flash to apply it as a whole; reads
// correct the header the same way, so every key of the batch reads its new
// value. Mount used to fail with DATA_LOSS here, because the second read did
// not correct the header.
TEST_F(KvsCorruptionTest, SlotHeaderFlipInBatchIsRepaired) {
  for (const Key target : {31u, 32u}) {
    for (unsigned bit = 0; bit < 48; bit += 7) {
      Build();
      ASSERT_NO_FATAL_FAILURE(CommitBatchOf30To32());
      const SlotInfo slot = FindSlot(target);
      ASSERT_EQ(slot.header.key, target);
      flash_.FlipBit(slot.header_address + bit / 8, bit % 8);
      Remount();
      ASSERT_EQ(init_, Status::Ok()) << "key " << target << " bit " << bit;
      EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {}))
          << "key " << target << " bit " << bit;
      EXPECT_EQ(kvs_->GetStats().corruption_repaired, 1u)
          << "key " << target << " bit " << bit;
    }
  }
}

// A flipped header in the middle of the active sector is not a torn write:
// slots after it were written (and acknowledged) later, so their keys must
// not fall back to older values or vanish.
TEST_F(KvsCorruptionTest, SlotHeaderFlipInActiveSector) {
  int failures = 0;
  for (unsigned bit = 0; bit < 48 && failures < 3; bit += 5) {
    Build();
    const SlotInfo eleven = Slots(2)[2];
    ASSERT_EQ(eleven.header.key, 11u);
    flash_.FlipBit(eleven.header_address + bit / 8, bit % 8);
    Remount();
    ASSERT_EQ(init_, Status::Ok());
    const auto r = NoWrongData(*kvs_, shadow_, {11, 12, 0, 1, 2, 3});
    EXPECT_TRUE(r) << "bit " << bit
                   << " (KNOWN BUG: mount takes any undecodable slot of the "
                      "active sector for a torn last write and drops every "
                      "later slot, reviving older values)";
    if (!r) ++failures;
    for (Key k : {4u, 5u, 8u, 9u, 10u}) {
      std::string got;
      ASSERT_EQ(GetString(*kvs_, k, got).status(), Status::Ok()) << k;
      EXPECT_EQ(got, shadow_[k]);
    }
    // The store keeps taking writes after such a mount.
    ASSERT_EQ(kvs_->Put(30, Bytes("after")), Status::Ok());
    shadow_[30] = "after";
  }
}

// ------------------------------------------------------- sector headers

TEST_F(KvsCorruptionTest, ActivationUnitFlipInOldestSectorIsHarmless) {
  flash_.FlipBit(kUnit + 2, 4);  // S0: every entry there is superseded
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {}));
  Churn({});
}

TEST_F(KvsCorruptionTest, ActivationUnitFlipInMiddleDataSector) {
  flash_.FlipBit(kSector + kUnit + 1, 3);  // S1: newest for keys 4..8
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  EXPECT_GT(Found(), 0u);
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {4, 5, 6, 7, 8}))
      << "KNOWN BUG: a single flipped bit in a data sector's activation unit "
         "drops the sector and revives the older values of its keys (a CRC-16 "
         "over 6 bytes can correct one bit; the neighbours' sequence numbers "
         "prove the sector is data)";
  Churn({4, 5, 6, 7, 8});
}

// Documented limitation (docs/format.md, "Corruption"): damage to the newest
// sector's activation unit cannot be told from garbage, so that sector is
// lost like a garbled newest sector: keys 0..3 fall back to their values in
// S1, keys 9..12 (only ever in S2) are gone. Nothing else changes, and the
// store keeps what it acknowledges afterwards.
TEST_F(KvsCorruptionTest, ActivationUnitFlipInActiveSector) {
  flash_.FlipBit(2 * kSector + kUnit + 4, 0);  // S2
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  Shadow rolled_back = shadow_;
  for (Key k = 0; k < 4; ++k) rolled_back[k] = V(k, 1);
  for (Key k = 9; k < 13; ++k) rolled_back.erase(k);
  EXPECT_TRUE(NoWrongData(*kvs_, rolled_back, {}));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(kvs_->Put(30 + i, Bytes(MakeValue(100, i))), Status::Ok());
    rolled_back[30 + i] = MakeValue(100, i);
  }
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  EXPECT_TRUE(NoWrongData(*kvs_, rolled_back, {}));
}

TEST_F(KvsCorruptionTest, FormatUnitFlip) {
  for (uint32_t sector : {0u, 1u, 2u, 4u}) {
    Build();
    flash_.FlipBit(sector * kSector + 3, 1);
    Remount();
    ASSERT_EQ(init_, Status::Ok()) << "sector " << sector;
    EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {})) << "sector " << sector;
    EXPECT_GT(Found(), 0u) << "KNOWN BUG: damaged format unit of sector "
                           << sector << " is not counted in corruption_found";
    ASSERT_NO_FATAL_FAILURE(Churn({}));
    std::array<uint32_t, kSectors> counts;
    ASSERT_EQ(kvs_->ReadEraseCounts(counts), Status::Ok());
  }
}

// A deleted key whose tombstone header is damaged must not come back with
// its old value.
TEST_F(KvsCorruptionTest, SlotHeaderFlipOnTombstone) {
  int failures = 0;
  for (bool active : {false, true}) {
    for (unsigned bit = 0; bit < 48 && failures < 4; bit += 3) {
      flash_.Reset();
      shadow_.clear();
      kvs_ = std::make_unique<Kvs>(partition_);
      ASSERT_EQ(kvs_->Init(), Status::Ok());
      for (Key k = 0; k < 9; ++k) Put(k, V(k, 0));  // S0 slots 0..8
      ASSERT_EQ(kvs_->Delete(4), Status::Ok());     // S0 slot 9
      shadow_.erase(4);
      if (!active) {
        for (Key k = 9; k < 18; ++k) Put(k, V(k, 0));  // S0 closes
      }
      const auto slots = Slots(0);
      ASSERT_GE(slots.size(), 10u);
      ASSERT_TRUE(slots[9].header.is_tombstone());
      flash_.FlipBit(slots[9].header_address + bit / 8, bit % 8);
      Remount();
      ASSERT_EQ(init_, Status::Ok());
      // As the last slot of the active sector, the damaged delete looks like
      // a torn one and is rolled back (documented limitation: its bits are
      // not corrected there, see docs/format.md "Corruption").
      if (active) shadow_[4] = V(4, 0);
      const auto r = NoWrongData(*kvs_, shadow_, {4});
      EXPECT_TRUE(r) << (active ? "active" : "closed") << " sector, bit "
                     << bit;
      if (!r) ++failures;
    }
  }
}

// The size unit of an extended value (> 8189 bytes) carries a check byte: a
// single flipped bit is corrected, two are detected. Neither ever gives
// wrong bytes, reads out of bounds or hides the slot after it.
void ExtendedSizeFlips(std::initializer_list<unsigned> bits, bool correctable) {
  RamFlashBase::Config config;
  test::DynFlash flash(16384, 4, config);
  FlashPartition partition(flash.flash());
  for (unsigned bit : bits) {
    flash.flash().Reset();
    auto kvs = std::make_unique<KeyValueStore<8>>(partition);
    ASSERT_EQ(kvs->Init(), Status::Ok());
    const std::string big = MakeValue(12000, 1), small = MakeValue(20, 2);
    ASSERT_EQ(kvs->Put(1, Bytes(big)), Status::Ok());
    ASSERT_EQ(kvs->Put(2, Bytes(small)), Status::Ok());
    const auto slots = test::ScanSlots(partition, flash.flash().bytes(), 0);
    ASSERT_EQ(slots.size(), 2u);
    ASSERT_TRUE(slots[0].header.is_extended());
    // The size unit is the aligned unit right below the sector end.
    flash.flash().FlipBit(16384 - 4 + bit / 8, bit % 8);
    if (!correctable) {
      const unsigned other = (bit + 11) % 32;
      flash.flash().FlipBit(16384 - 4 + other / 8, other % 8);
    }
    for (int pass = 0; pass < 2; ++pass) {
      const std::string when =
          "bit " + std::to_string(bit) + (pass ? " after remount" : "");
      std::string got;
      const StatusWithSize r = GetString(*kvs, 1, got, 20000);
      if (correctable) {
        ASSERT_EQ(r.status(), Status::Ok()) << when;
        EXPECT_EQ(got, big) << when;
      } else {
        EXPECT_EQ(r.status(), Status::DataLoss()) << when;
      }
      // Key 2 was acknowledged: never NOT_FOUND, never wrong bytes. With
      // the size corrected it reads back; otherwise its value cannot be
      // located and it is DATA_LOSS.
      const StatusWithSize r2 = GetString(*kvs, 2, got);
      if (correctable || r2.ok()) {
        ASSERT_EQ(r2.status(), Status::Ok()) << when;
        EXPECT_EQ(got, small) << when;
      } else {
        EXPECT_EQ(r2.status(), Status::DataLoss()) << when;
      }
      kvs = std::make_unique<KeyValueStore<8>>(partition);
      ASSERT_EQ(kvs->Init(), Status::Ok()) << when;
      if (correctable) {
        EXPECT_EQ(kvs->GetStats().corruption_repaired, 1u) << when;
      }
    }
    // The store keeps working through reclaims of the damaged sector.
    for (int i = 0; i < 40; ++i) {
      ASSERT_EQ(kvs->Put(3, Bytes(MakeValue(3000, i))), Status::Ok()) << i;
    }
    std::string got;
    if (correctable) {
      ASSERT_EQ(GetString(*kvs, 1, got, 20000).status(), Status::Ok());
      EXPECT_EQ(got, big);
    }
  }
}

TEST(KvsCorruptionExtendedTest, ExtendedSizeSingleFlipIsCorrected) {
  ExtendedSizeFlips({0u, 7u, 9u, 13u, 17u, 23u, 24u, 30u, 31u}, true);
}

TEST(KvsCorruptionExtendedTest, ExtendedSizeDoubleFlipIsDataLoss) {
  ExtendedSizeFlips({0u, 7u, 9u, 13u, 17u, 23u, 24u, 30u, 31u}, false);
}

// A transient read error while a reclaim copies live entries must not turn
// into a permanent DATA_LOSS (or wrong data) for a key whose bytes are fine.
TEST_F(KvsCorruptionTest, ReadErrorDuringReclaim) {
  int bad = 0;
  for (uint32_t n = 0; n < 40 && bad < 3; ++n) {
    Build();
    // Fill the ring so the next reclaim retires S0 (and copies from it).
    for (int i = 0; i < 24; ++i) Put(20 + i % 4, MakeValue(100, 300 + i));
    flash_.FailNext(FlashOp::kRead, n, Status::Internal());
    const Status s = n % 2 ? kvs_->FullMaintenance() : kvs_->ReclaimOne();
    flash_.ClearFaults();
    (void)s;
    auto r = NoWrongData(*kvs_, shadow_, {});
    EXPECT_TRUE(r) << "read error " << n << " during reclaim";
    Remount();
    ASSERT_EQ(init_, Status::Ok());
    r = NoWrongData(*kvs_, shadow_, {});
    EXPECT_TRUE(r) << "read error " << n << " during reclaim, after remount"
                   << " (KNOWN BUG: a transient read error marks the free "
                      "sector bad (PrepareFree) or writes a kLost marker for "
                      "an intact key (CopyEntry))";
    if (!r) ++bad;
  }
}

// Random single-bit flips anywhere in the used sectors: whatever the store
// makes of them, a key never reads OK with bytes it was not last given, not
// after the flip and not after writing on and remounting.
TEST_F(KvsCorruptionTest, RandomSingleBitFlipsNeverReturnWrongData) {
  std::set<Key> all;
  for (Key k = 0; k < kUniverse; ++k) all.insert(k);
  uint64_t x = 0xF11F;
  int bad = 0, mounted = 0, lossy = 0, tried = 0;
  constexpr int kFlips = 300;
  for (int i = 0; i < kFlips; ++i, ++tried) {
    Build();
    const size_t address = test::Next(x) % (3 * kSector + 64);
    const unsigned bit = static_cast<unsigned>(test::Next(x) % 8);
    // A flip in the header or the value of the last entry written (key 3)
    // rolls that key back to its previous value, like a torn write
    // (documented limitation, see ValueFlipInLastSlotOfActiveSector);
    // nothing else may read wrong.
    const SlotInfo last = Slots(2)[7];
    if ((address >= last.value_address &&
         address < last.value_address + last.value_size) ||
        (address >= last.header_address && address < last.header_address + 8)) {
      shadow_[3] = V(3, 1);
    }
    // A flip in the newest sector's activation unit loses that sector
    // (documented limitation, see ActivationUnitFlipInActiveSector).
    if (address >= 2 * kSector + kUnit && address < 2 * kSector + 2 * kUnit) {
      for (Key k = 0; k < 4; ++k) shadow_[k] = V(k, 1);
    }
    flash_.FlipBit(address, bit);
    Remount();
    EXPECT_EQ(init_, Status::Ok())
        << "one flipped bit at " << address << " made the store unmountable";
    if (!init_.ok()) continue;
    ++mounted;
    size_t lost = 0;
    auto r = NoWrongData(*kvs_, shadow_, all, &lost);
    if (bad < 5) {
      EXPECT_TRUE(r) << "flip at " << address << " bit " << bit;
    }
    lossy += lost > 0;
    if (!r) {
      ++bad;
      continue;
    }
    for (int j = 0; j < 30; ++j) {
      const std::string v = MakeValue(90, 4000 + j);
      if (!kvs_->Put(30 + j % 4, Bytes(v)).ok()) break;
      shadow_[30 + j % 4] = v;
    }
    Remount();
    if (!init_.ok()) continue;
    r = NoWrongData(*kvs_, shadow_, all);
    if (bad < 5) {
      EXPECT_TRUE(r) << "flip at " << address << " bit " << bit
                     << ", after writes and a remount";
    }
    if (!r) ++bad;
  }
  std::cout << "random flips: " << tried << " tried, " << mounted
            << " mounted, " << lossy << " with DATA_LOSS/NOT_FOUND keys"
            << std::endl;
  EXPECT_EQ(bad, 0) << "flips that led to wrong data returned as OK";
  EXPECT_EQ(mounted, tried);
}

// ---------------------------------------------------------------- garbage

void Garble(RamFlashBase& flash, uint32_t sector, uint64_t seed) {
  uint64_t x = seed;
  for (size_t i = 0; i < kSector; ++i) {
    flash.bytes()[sector * kSector + i] =
        static_cast<std::byte>(test::Next(x) >> 56);
  }
}

TEST_F(KvsCorruptionTest, GarbageInOldestSectorIsHarmless) {
  Garble(flash_, 0, 7);
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {}));
  Churn({});
}

// Keys 9..17 lived only in the garbled sector: they may read NOT_FOUND or
// DATA_LOSS. Keys 0..8 sit in the older sector S0; the store cannot know
// that S1 held no newer versions of them, so DATA_LOSS is allowed for them
// too (never their bytes changed). Keys 18..20, written after S1, must read
// right.
TEST_F(KvsCorruptionTest, GarbageSectorWhoseKeysHaveNoOlderVersion) {
  flash_.Reset();
  shadow_.clear();
  kvs_ = std::make_unique<Kvs>(partition_);
  ASSERT_EQ(kvs_->Init(), Status::Ok());
  for (Key k = 0; k < 21; ++k) Put(k, V(k, 0));
  ASSERT_EQ(Slots(1).size(), 9u);
  ASSERT_EQ(Slots(1)[0].header.key, 9u);
  Garble(flash_, 1, 11);
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  size_t lost = 0;
  std::set<Key> affected;
  for (Key k = 0; k < 18; ++k) affected.insert(k);
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, affected, &lost));
  EXPECT_GE(lost, 9u) << "keys 9..17 cannot have survived";
  EXPECT_GT(Found(), 0u);
  Churn(affected);
}

TEST_F(KvsCorruptionTest, GarbageInMiddleDataSector) {
  Garble(flash_, 1, 13);
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  EXPECT_GT(Found(), 0u);
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {4, 5, 6, 7, 8}))
      << "KNOWN LIMITATION (format.md 'Corruption'): keys whose newest entry "
         "was in the garbled sector revive older values";
  Churn({4, 5, 6, 7, 8});
}

TEST_F(KvsCorruptionTest, GarbageInActiveSector) {
  // Documented limitation (docs/format.md, "Corruption"): a garbled newest
  // sector looks like a retired sector whose erase was cut, so its entries
  // are lost: keys 0..3 fall back to their values in S1, keys 9..12 (only
  // ever in S2) are gone. Everything else stays right.
  Garble(flash_, 2, 17);
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  Shadow rolled_back = shadow_;
  for (Key k = 0; k < 4; ++k) rolled_back[k] = V(k, 1);
  EXPECT_TRUE(NoWrongData(*kvs_, rolled_back, {9, 10, 11, 12}));
  shadow_ = rolled_back;
  Churn({9, 10, 11, 12});
}

TEST_F(KvsCorruptionTest, GarbageInEverySectorIsRefusedNotMisread) {
  for (uint32_t s = 0; s < kSectors; ++s) Garble(flash_, s, 100 + s);
  Remount();
  EXPECT_EQ(init_, Status::FailedPrecondition());
}

// ------------------------------------------------------------ read errors

TEST_F(KvsCorruptionTest, ReadErrorDuringGetFailsOnlyThatGet) {
  for (uint32_t n = 0; n < 4; ++n) {
    for (Key k : {0u, 5u, 10u}) {
      flash_.ClearFaults();
      flash_.FailNext(FlashOp::kRead, n, Status::Internal());
      std::string got;
      const StatusWithSize r = GetString(*kvs_, k, got, 4096);
      if (r.ok()) {
        EXPECT_EQ(got, shadow_[k]) << "n " << n << " key " << k;
      } else {
        EXPECT_TRUE(r.status().IsDataLoss() || r.status() == Status::Internal())
            << r.status().str();
      }
      flash_.ClearFaults();
      EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {})) << "n " << n << " key " << k;
    }
  }
  EXPECT_TRUE(NoWrongData(*kvs_, shadow_, {}));
}

TEST_F(KvsCorruptionTest, ReadErrorDuringInitNeverMisleads) {
  flash_.ResetCounters();
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  const uint64_t reads = flash_.counters().read_calls;
  ASSERT_GT(reads, 5u);
  std::set<Key> all;
  for (Key k = 0; k < kUniverse; ++k) all.insert(k);
  int refused = 0, degraded = 0, bad = 0;
  for (uint32_t n = 0; n < reads && bad < 3; ++n) {
    Build();
    flash_.FailNext(FlashOp::kRead, n, Status::Internal());
    Remount();
    flash_.ClearFaults();
    if (!init_.ok()) {
      ++refused;
    } else {
      size_t lost = 0;
      const auto r = NoWrongData(*kvs_, shadow_, all, &lost);
      EXPECT_TRUE(r) << "read " << n << " failed during mount";
      degraded += lost > 0;
      // The store writes on (enough to turn the ring once).
      for (int i = 0; i < 40; ++i) {
        const std::string v = MakeValue(100, 500 + i);
        if (!kvs_->Put(30 + i % 3, Bytes(v)).ok()) break;
        shadow_[30 + i % 3] = v;
      }
      if (!r) ++bad;
    }
    // A transient error must not have cost acknowledged data for good.
    Remount();
    ASSERT_EQ(init_, Status::Ok()) << "read " << n;
    const auto r = NoWrongData(*kvs_, shadow_, {});
    EXPECT_TRUE(r) << "after a transient read error at read " << n
                   << " during mount and later writes, a clean remount lost "
                      "acknowledged data";
    if (!r) ++bad;
  }
  std::cout << "mount read errors: " << reads << " points, " << refused
            << " refused, " << degraded << " mounted degraded" << std::endl;
}

// A slot header with one flipped bit in a closed sector (a retention error)
// is corrected at mount: RepairSlot tries the single-bit corrections and
// the value's checksum confirms one, so every key reads its value. But
// RepairSlot skips every candidate whose ReadSlot or CheckValue fails for
// any reason but UNAVAILABLE, so a one-off INTERNAL from the driver while it
// reads the confirming value makes the slot damage: its key and every key
// after it in that sector are marked lost (ApplyDamaged), while the damaged
// slot's own key (its header does not decode) keeps its older entry from
// sector 0: Init() returns OK and key 4 reads its previous value as OK.
// Writes that turn the ring then copy that stale entry forward, so it stays
// the newest for good (bug 92). A failed read says nothing about the slot:
// mount must fail with INTERNAL or correct the header.
TEST_F(KvsCorruptionTest,
       ReadErrorWhileRepairingAHeaderNeverServesAStaleValue) {
  Build();
  const SlotInfo four = Slots(1)[4];
  ASSERT_EQ(four.header.key, 4u);
  flash_.FlipBit(four.header_address, 0);
  flash_.ResetCounters();
  Remount();
  ASSERT_EQ(init_, Status::Ok());
  ASSERT_TRUE(NoWrongData(*kvs_, shadow_, {}));  // corrected
  const uint64_t reads = flash_.counters().read_calls;
  int failures = 0;
  for (uint32_t n = 0; n < reads; ++n) {
    Build();
    flash_.FlipBit(four.header_address, 0);
    flash_.FailNext(FlashOp::kRead, n, Status::Internal());
    Remount();
    flash_.ClearFaults();
    if (!init_.ok()) {
      EXPECT_EQ(init_, Status::Internal()) << "read " << n;
      continue;
    }
    const auto now = NoWrongData(*kvs_, shadow_, {});
    // The store writes on (enough to turn the ring once).
    for (int i = 0; i < 40; ++i) {
      const std::string v = MakeValue(100, 500 + i);
      ASSERT_EQ(kvs_->Put(30 + i % 3, Bytes(v)), Status::Ok()) << "read " << n;
      shadow_[30 + i % 3] = v;
    }
    Remount();
    ASSERT_EQ(init_, Status::Ok()) << "read " << n;
    const auto later = NoWrongData(*kvs_, shadow_, {});
    if ((!now || !later) && failures++ < 3) {
      ADD_FAILURE() << "read " << n
                    << " failed during mount: " << (now ? "" : now.message())
                    << " / after writes "
                    << "that turn the ring and a clean remount: "
                    << (later ? "" : later.message());
    }
  }
  EXPECT_EQ(failures, 0) << "of " << reads << " reads";
}

// ------------------------------------------------- program and erase errors

// A workload of puts that turns the ring about twice, with one flash call of
// kind `op` failing at call n. Every acknowledged put must survive; a refused
// put leaves the key at its previous value; reads keep working; the store
// keeps taking writes.
void FaultSweep(RamFlashBase& flash, FlashPartition& partition, FlashOp op,
                uint32_t points, int puts = 60) {
  int failed_puts = 0, bad = 0;
  uint32_t fired = 0;
  for (uint32_t n = 0; n < points && bad < 3; ++n) {
    flash.Reset();
    flash.ClearFaults();
    Shadow shadow;
    auto kvs = std::make_unique<Kvs>(partition);
    ASSERT_EQ(kvs->Init(), Status::Ok());
    for (Key k = 0; k < 6; ++k) {
      shadow[k] = MakeValue(50, k);
      ASSERT_EQ(kvs->Put(k, Bytes(shadow[k])), Status::Ok());
    }
    flash.ResetCounters();
    flash.FailNext(op, n, Status::Internal());
    for (int i = 0; i < puts; ++i) {
      const Key k = static_cast<Key>(i % 9);
      const std::string v = MakeValue(40 + i % 70, 1000 + i);
      const Status s = kvs->Put(k, Bytes(v));
      if (s.ok()) {
        shadow[k] = v;
        continue;
      }
      ++failed_puts;
      EXPECT_NE(s, Status::FailedPrecondition()) << "n " << n << " put " << i;
      // Reads still work, and show the old value.
      const auto r = NoWrongData(*kvs, shadow, {});
      EXPECT_TRUE(r) << "right after a failed put (fault at call " << n << ")";
      if (!r) ++bad;
    }
    const FlashCounters& c = flash.counters();
    const uint64_t calls = op == FlashOp::kRead      ? c.read_calls
                           : op == FlashOp::kProgram ? c.program_calls
                                                     : c.erase_calls;
    fired += calls > n;
    flash.ClearFaults();
    auto r = NoWrongData(*kvs, shadow, {});
    EXPECT_TRUE(r) << "fault at call " << n;
    if (!r) ++bad;
    const std::string last = "last";
    EXPECT_EQ(kvs->Put(35, Bytes(last)), Status::Ok()) << "n " << n;
    shadow[35] = last;
    kvs = std::make_unique<Kvs>(partition);
    ASSERT_EQ(kvs->Init(), Status::Ok()) << "n " << n;
    r = NoWrongData(*kvs, shadow, {});
    EXPECT_TRUE(r) << "after remount, fault at call " << n;
    if (!r) ++bad;
  }
  std::cout << points << " fault points, " << fired << " fired, " << failed_puts
            << " puts refused" << std::endl;
  EXPECT_EQ(fired, points) << "the workload must reach every fault point";
}

TEST_F(KvsCorruptionTest, ProgramErrorDuringPuts) {
  FaultSweep(flash_, partition_, FlashOp::kProgram, 150);
}

TEST_F(KvsCorruptionTest, EraseErrorDuringPuts) {
  FaultSweep(flash_, partition_, FlashOp::kErase, 16, 300);
}

TEST_F(KvsCorruptionTest, ReadErrorDuringPuts) {
  FaultSweep(flash_, partition_, FlashOp::kRead, 200);
}

// A flash whose program (or erase) calls fail while their call number is in
// [from, to): a burst of errors, so that a Put can fail for real (both the
// first attempt and the retry in a fresh sector).
class BurstFlash final : public FlashMemory {
 public:
  BurstFlash(RamFlashBase& inner, FlashOp op, uint64_t from, uint64_t to)
      : FlashMemory(inner.sector_size(), inner.sector_count(),
                    inner.alignment(), inner.erased_value()),
        inner_(&inner),
        op_(op),
        from_(from),
        to_(to) {}
  uint64_t failed() const { return failed_; }
  uint64_t calls() const { return calls_; }

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override {
    return inner_->Read(address, out);
  }
  Status DoProgram(size_t address, std::span<const std::byte> data) override {
    if (op_ == FlashOp::kProgram && Hit()) return Status::Internal();
    return inner_->Program(address, data);
  }
  Status DoErase(size_t first, size_t count) override {
    if (op_ == FlashOp::kErase && Hit()) return Status::Internal();
    return inner_->Erase(first, count);
  }

 private:
  bool Hit() {
    const uint64_t n = calls_++;
    const bool hit = n >= from_ && n < to_;
    failed_ += hit;
    return hit;
  }
  RamFlashBase* inner_;
  FlashOp op_;
  uint64_t from_, to_, calls_ = 0, failed_ = 0;
};

// Bursts of failing programs or erases: refused writes leave the old value,
// reads keep working right after a refused write, acknowledged data is never
// lost, and the store takes writes again once the burst is over (without
// needing a remount). Failed erases never reach the caller: the store marks
// the sector bad or tries it again.
void BurstSweep(FlashOp op, uint64_t burst, uint64_t starts, uint64_t step,
                bool expect_refusals) {
  int refused = 0, bad = 0;
  uint64_t bursts = 0;
  for (uint64_t from = 0; from < starts && bad < 3; from += step) {
    RamFlash<kSector, kSectors> flash;
    BurstFlash faulty(flash, op, from + 1000000, from + 1000000 + burst);
    FlashPartition partition(faulty);
    Shadow shadow;
    // Set up without faults (the burst window starts 1e6 calls later), then
    // move the window to `from` calls after this point.
    auto kvs = std::make_unique<Kvs>(partition);
    ASSERT_EQ(kvs->Init(), Status::Ok());
    for (Key k = 0; k < 6; ++k) {
      shadow[k] = MakeValue(50, k);
      ASSERT_EQ(kvs->Put(k, Bytes(shadow[k])), Status::Ok());
    }
    kvs.reset();
    BurstFlash burst_flash(flash, op, from, from + burst);
    FlashPartition part2(burst_flash);
    kvs = std::make_unique<Kvs>(part2);
    ASSERT_EQ(kvs->Init(), Status::Ok());
    for (int i = 0; i < 200; ++i) {
      const Key k = static_cast<Key>(i % 9);
      const std::string v = MakeValue(40 + i % 70, 1000 + i);
      const Status s = kvs->Put(k, Bytes(v));
      if (s.ok()) {
        shadow[k] = v;
        continue;
      }
      ++refused;
      // Right after a refused write: reads work and show the old values.
      const auto r = NoWrongData(*kvs, shadow, {});
      if (!r && bad < 3) {
        ADD_FAILURE() << "burst of " << burst << " from call " << from
                      << ", put " << i << " refused with " << s.str() << ": "
                      << r.message();
      }
      bad += !r;
    }
    // After the burst the store works again.
    const std::string last = "last";
    const Status put = kvs->Put(35, Bytes(last));
    const Stats st = kvs->GetStats();
    EXPECT_EQ(put, Status::Ok())
        << "burst of " << burst << " from call " << from
        << ": the store no longer takes writes (bad sectors " << st.bad_sectors
        << ", live " << st.live_bytes << " B, free " << st.free_bytes << " B)";
    if (put.ok()) shadow[35] = last;
    kvs = std::make_unique<Kvs>(part2);
    ASSERT_EQ(kvs->Init(), Status::Ok()) << "burst from " << from;
    const auto r = NoWrongData(*kvs, shadow, {});
    EXPECT_TRUE(r) << "burst of " << burst << " from call " << from
                   << ", after remount";
    bad += !r;
    EXPECT_EQ(kvs->Put(36, Bytes(last)), Status::Ok())
        << "burst from " << from << ": no writes even after a remount";
    if (from < burst_flash.calls()) {
      EXPECT_GT(burst_flash.failed(), 0u) << "burst from " << from;
      ++bursts;
    }
  }
  std::cout << bursts << " bursts of " << burst << ": " << refused
            << " puts refused" << std::endl;
  EXPECT_GT(bursts, starts / step / 2) << "most bursts came too late";
  if (expect_refusals) {
    EXPECT_GT(refused, 0) << "no burst ever made a put fail";
  } else {
    EXPECT_EQ(refused, 0) << "a burst this short reached the caller";
  }
}

// A write tries three times (the third in a fresh sector), so a burst of 3
// failed programs never reaches the caller. A long burst can condemn two
// sectors and leave no free one; the call that finds the store stuck returns
// RESOURCE_EXHAUSTED and the next one mounts again, which reopens it.
TEST(KvsFaultBurstTest, ProgramErrorBursts) {
  BurstSweep(FlashOp::kProgram, 3, 300, 7, false);
  BurstSweep(FlashOp::kProgram, 8, 300, 7, true);
}

TEST(KvsFaultBurstTest, EraseErrorBursts) {
  BurstSweep(FlashOp::kErase, 2, 16, 1, false);
  BurstSweep(FlashOp::kErase, 3, 16, 1, false);
}

// ------------------------------------------------------ markers and remounts

// One flipped bit in a seal marker (here in a closed sector) or in a void
// marker: mount corrects it from the marker's own CRC, so the slots after it
// are still found. Every later write of the sector used to read DATA_LOSS.
TEST(KvsMarkerFlipTest, SealWithAFlippedBitIsCorrected) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    shadow[1] = MakeValue(20, 1);
    shadow[1].back() = '\xFF';  // a seal follows it
    for (Key k = 1; k < 7; ++k) {
      if (k > 1) shadow[k] = MakeValue(20, k);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
    for (int i = 0; i < 40; ++i) {  // sector 0 closes
      const Key k = 10 + i % 5;
      shadow[k] = MakeValue(60, 100 + i);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
  }
  const auto slots = test::ScanSlots(partition, flash.bytes(), 0);
  ASSERT_GE(slots.size(), 3u);
  ASSERT_TRUE(format::IsSealMarker(slots[1].header));
  for (unsigned bit = 0; bit < 64; bit += 9) {
    flash.FlipBit(slots[1].header_address + bit / 8, bit % 8);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "bit " << bit;
    EXPECT_TRUE(NoWrongData(kvs, shadow, {})) << "bit " << bit;
    EXPECT_EQ(kvs.GetStats().corruption_repaired, 1u) << "bit " << bit;
    flash.FlipBit(slots[1].header_address + bit / 8, bit % 8);
  }
}

TEST(KvsMarkerFlipTest, VoidMarkerWithAFlippedBitIsCorrected) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    shadow[1] = MakeValue(20, 1);
    ASSERT_EQ(kvs.Put(1, Bytes(shadow[1])), Status::Ok());
    // The value program of this Put fails once: the store voids the slot
    // and writes the entry again after the marker.
    flash.FailNext(FlashOp::kProgram, 1, Status::Internal());
    shadow[2] = MakeValue(20, 2);
    ASSERT_EQ(kvs.Put(2, Bytes(shadow[2])), Status::Ok());
    flash.ClearFaults();
    for (Key k = 3; k < 7; ++k) {
      shadow[k] = MakeValue(20, k);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
  }
  std::optional<SlotInfo> marker;
  for (const SlotInfo& si : test::ScanSlots(partition, flash.bytes(), 0)) {
    if (format::IsVoidMarker(si.header)) marker = si;
  }
  ASSERT_TRUE(marker.has_value());
  for (unsigned bit = 0; bit < 64; bit += 9) {
    flash.FlipBit(marker->header_address + bit / 8, bit % 8);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "bit " << bit;
    EXPECT_TRUE(NoWrongData(kvs, shadow, {})) << "bit " << bit;
    flash.FlipBit(marker->header_address + bit / 8, bit % 8);
  }
}

// A delete and a void marker whose value end equals the deleted key differ
// only in the two kind bits, which no checksum covers, and so in the parity
// bit: a delete whose kind is plain has both set, one of a batch or of a
// write with copies one. One flipped bit there makes the slot one bit from
// both. Mount used to take it for a void marker, which cancelled the write
// before it (key 7 read its older value as OK), brought the deleted key
// back and moved the value end to the key. Neither reading can be trusted:
// the write before it stands or reads DATA_LOSS, the deleted key never
// reads its old value, and a key written after it reads its value or
// DATA_LOSS (never NOT_FOUND).
TEST(KvsMarkerFlipTest, DeleteOneBitFromAVoidMarkerIsNotTakenForOne) {
  constexpr Key kGone = 512;  // a plausible value end of a 1 KiB sector
  enum Mode { kPlain, kTwoCopies, kBatch };
  for (const Mode mode : {kPlain, kTwoCopies, kBatch}) {
    for (const bool closed : {false, true}) {
      for (const unsigned bit : {45u, 46u, 47u}) {
        for (unsigned copy = 0; copy < (mode == kTwoCopies ? 2u : 1u); ++copy) {
          SCOPED_TRACE(testing::Message()
                       << "mode " << mode << ", "
                       << (closed ? "closed" : "active") << " sector, bit "
                       << bit << ", copy " << copy);
          RamFlash<1024, 4> flash;
          FlashPartition partition(flash);
          Options options;
          options.copies = mode == kTwoCopies ? 2 : 1;
          Shadow shadow;
          shadow[7] = MakeValue(20, 2);
          shadow[8] = MakeValue(20, 3);
          shadow[9] = MakeValue(20, 4);
          {
            KeyValueStore<16> kvs(partition, options);
            ASSERT_EQ(kvs.Init(), Status::Ok());
            ASSERT_EQ(kvs.Put(kGone, Bytes("gone")), Status::Ok());
            ASSERT_EQ(kvs.Put(7, Bytes(MakeValue(20, 1))), Status::Ok());
            if (mode == kBatch) {
              Batch<3> batch;
              ASSERT_EQ(batch.Put(7, Bytes(shadow[7])), Status::Ok());
              ASSERT_EQ(batch.Delete(kGone), Status::Ok());
              ASSERT_EQ(batch.Put(8, Bytes(shadow[8])), Status::Ok());
              ASSERT_EQ(kvs.Commit(batch), Status::Ok());
            } else {
              ASSERT_EQ(kvs.Put(7, Bytes(shadow[7])), Status::Ok());
              ASSERT_EQ(kvs.Delete(kGone), Status::Ok());
              ASSERT_EQ(kvs.Put(8, Bytes(shadow[8])), Status::Ok());
            }
            ASSERT_EQ(kvs.Put(9, Bytes(shadow[9])), Status::Ok());
            for (int i = 0;
                 closed && i < 40 &&  // until sector 0 closes
                 test::ScanSlots(partition, flash.bytes(), 1).empty();
                 ++i) {
              shadow[10 + i % 3] = MakeValue(60, i);
              ASSERT_EQ(kvs.Put(10 + i % 3, Bytes(shadow[10 + i % 3])),
                        Status::Ok());
            }
          }
          std::vector<SlotInfo> deletes;
          for (const SlotInfo& si :
               test::ScanSlots(partition, flash.bytes(), 0)) {
            if (si.header.is_tombstone() && si.header.key == kGone) {
              deletes.push_back(si);
            }
          }
          ASSERT_EQ(deletes.size(), options.copies);
          flash.FlipBit(deletes[copy].header_address + bit / 8, bit % 8);

          KeyValueStore<16> kvs(partition, options);
          ASSERT_EQ(kvs.Init(), Status::Ok());
          EXPECT_TRUE(NoWrongData(kvs, shadow, {7, 8, 9, 10, 11, 12}));
          std::string got;
          EXPECT_FALSE(GetString(kvs, kGone, got).ok()) << got;
          if (mode == kPlain && bit != 47) {
            // The write before it stands.
            ASSERT_EQ(GetString(kvs, 7, got).status(), Status::Ok());
            EXPECT_EQ(got, shadow[7]);
            EXPECT_GE(kvs.GetStats().corruption_found, 1u);
          }
          // The store keeps working, and a rewrite repairs a lost key.
          ASSERT_EQ(kvs.Put(kGone, Bytes("back")), Status::Ok());
          ASSERT_EQ(GetString(kvs, kGone, got).status(), Status::Ok());
          EXPECT_EQ(got, "back");
        }
      }
    }
  }
}

// A batch member damaged beyond repair (two flipped size bits: the header
// decodes but its value no longer fits) in a closed sector: whether the
// batch's end followed can no longer be told, so every key of the run reads
// DATA_LOSS. The members before the damage used to keep their older values,
// OK, although the batch had committed.
TEST(KvsMarkerFlipTest, DamageInsideABatchLosesTheWholeRun) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (Key k = 30; k < 33; ++k) {
      ASSERT_EQ(kvs.Put(k, Bytes(MakeValue(20, k))), Status::Ok());
    }
    Batch<3> batch;
    for (Key k = 30; k < 33; ++k) {
      shadow[k] = MakeValue(20, 100 + k);
      ASSERT_EQ(batch.Put(k, Bytes(shadow[k])), Status::Ok());
    }
    ASSERT_EQ(kvs.Commit(batch), Status::Ok());
    for (int i = 0;
         i < 40 && test::ScanSlots(partition, flash.bytes(), 1).empty();
         ++i) {  // sector 0 closes
      shadow[1 + i % 3] = MakeValue(60, i);
      ASSERT_EQ(kvs.Put(1 + i % 3, Bytes(shadow[1 + i % 3])), Status::Ok());
    }
  }
  const auto slots = test::ScanSlots(partition, flash.bytes(), 0);
  ASSERT_GE(slots.size(), 6u);
  ASSERT_EQ(slots[4].header.key, 31u);
  ASSERT_EQ(slots[4].header.kind, format::Kind::kBatchMember);
  flash.FlipBit(slots[4].header_address + 5, 3);  // size bit 11
  flash.FlipBit(slots[4].header_address + 5, 4);  // size bit 12
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  EXPECT_TRUE(NoWrongData(kvs, shadow, {1, 2, 3, 30, 31, 32}));
  std::string got;
  for (Key k = 30; k < 33; ++k) {
    EXPECT_EQ(GetString(kvs, k, got).status(), Status::DataLoss()) << k;
  }
}

// Format() erases every sector; one that fails to erase and then to take
// the bad-sector marker keeps its old content, activation unit included
// (here its bytes are put back after the format). Its sequence used to be
// higher than the formatted store's, which started again at 1: mount took
// it for the newest sector, the new key read NOT_FOUND and keys written
// before the format came back.
TEST(KvsFormatTest, SectorThatKeptItsOldContentIsNotTheNewest) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(kvs.Put(static_cast<Key>(i % 5), Bytes(MakeValue(40, i))),
              Status::Ok());
  }
  // The data sector with the highest sequence.
  uint32_t top;
  const uint32_t stale = test::NewestSector(flash.bytes(), 1024, 4, kUnit, top);
  ASSERT_LT(stale, 4u);
  ASSERT_NE(stale, 0u) << "the formatted store starts in sector 0";
  ASSERT_GT(top, 1u);
  const auto sector = flash.bytes().subspan(stale * 1024, 1024);
  const std::vector<std::byte> old(sector.begin(), sector.end());
  ASSERT_EQ(kvs.Format(), Status::Ok());
  ASSERT_EQ(kvs.Put(30, Bytes("new")), Status::Ok());
  std::copy(old.begin(), old.end(), sector.begin());

  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_TRUE(NoWrongData(again, {{30, "new"}}, {}));
  // The ring moves on over the stale sector.
  Shadow shadow{{30, "new"}};
  for (int i = 0; i < 100; ++i) {
    const Key k = static_cast<Key>(10 + i % 5);
    shadow[k] = MakeValue(40, 1000 + i);
    ASSERT_EQ(again.Put(k, Bytes(shadow[k])), Status::Ok()) << i;
  }
  KeyValueStore<16> third(partition);
  ASSERT_EQ(third.Init(), Status::Ok());
  EXPECT_TRUE(NoWrongData(third, shadow, {}));
}

// A write fails with INTERNAL (a read error during its reclaim), so the next
// call mounts again; one more read error during that mount must not leave
// the store refusing every call: the call after it mounts again. It used to
// return FAILED_PRECONDITION for good.
TEST(KvsRemountTest, FailedAutomaticRemountIsTriedAgain) {
  bool reached = false;
  for (uint32_t n = 0; n < 60 && !reached; ++n) {
    for (uint32_t m = 0; m < 200 && !reached; ++m) {
      RamFlash<512, 4> flash;
      FlashPartition partition(flash);
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      Shadow shadow;
      for (int i = 0; i < 24; ++i) {  // the next Puts have to reclaim
        shadow[i % 8] = MakeValue(40, i);
        ASSERT_EQ(kvs.Put(i % 8, Bytes(shadow[i % 8])), Status::Ok());
      }
      flash.FailNext(FlashOp::kRead, n, Status::Internal());
      Status first = Status::Ok();
      for (Key k = 0; k < 8 && first.ok(); ++k) {
        const std::string v = MakeValue(40, 500 + k);
        first = kvs.Put(k, Bytes(v));
        if (first.ok()) shadow[k] = v;
      }
      flash.ClearFaults();
      if (!first.IsInternal()) break;  // no later m changes this
      flash.FailNext(FlashOp::kRead, m, Status::Internal());
      const Status second = kvs.Put(3, Bytes("three"));
      flash.ClearFaults();
      if (second.ok() || kvs.initialized()) continue;
      reached = true;
      ASSERT_EQ(kvs.Put(3, Bytes("three")), Status::Ok()) << n << " " << m;
      shadow[3] = "three";
      EXPECT_TRUE(test::MatchesShadow(kvs, shadow)) << n << " " << m;
    }
  }
  EXPECT_TRUE(reached) << "no read error failed the automatic remount";
}

// A read error anywhere in a reclaim that carries an extended value (its
// size word is one more read) must not cost the key: the reclaim fails and
// the value reads back after the remount. A failed read of the size word used
// to carry the key forward as lost (DATA_LOSS for good). So must a one-off
// DATA_LOSS, on flash with ECC or not: bug 86 made it final until every
// read of stored bytes read a DATA_LOSS again before believing it.
TEST(KvsRemountTest, ReadErrorDuringReclaimNeverLosesAnExtendedValue) {
  const auto build = [](KeyValueStore<8>& kvs, Shadow& shadow) {
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (int i = 0; i < 3; ++i) {  // key 1, then key 2 fills the ring
      const Key k = i == 0 ? 1 : 2;
      shadow[k] = MakeValue(9000, i);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
  };
  uint64_t reads = 0;
  {
    RamFlash<16384, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<8> kvs(partition);
    Shadow shadow;
    build(kvs, shadow);
    flash.ResetCounters();
    ASSERT_EQ(kvs.ReclaimOne(), Status::Ok());
    ASSERT_GT(flash.counters().sector_erases, 0u) << "nothing reclaimed";
    reads = flash.counters().read_calls;
  }
  for (int variant = 0; variant < 3; ++variant) {
    RamFlashBase::Config config;
    config.alignment = 8;
    config.ecc = variant == 2;
    const Status failure =
        variant == 0 ? Status::Internal() : Status::DataLoss();
    for (uint64_t n = 0; n < reads; ++n) {
      RamFlash<16384, 4> flash(config);
      FlashPartition partition(flash);
      KeyValueStore<8> kvs(partition);
      Shadow shadow;
      build(kvs, shadow);
      flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n), failure);
      kvs.ReclaimOne().IgnoreError();
      flash.ClearFaults();
      KeyValueStore<8> again(partition);
      const std::string where = std::string(failure.str()) +
                                (config.ecc ? " (ECC)" : "") + ", read " +
                                std::to_string(n);
      ASSERT_EQ(again.Init(), Status::Ok()) << where;
      EXPECT_TRUE(test::MatchesShadow(again, shadow)) << where;
    }
  }
}

// A failed read while mount looks at a blank partition (or one whose only
// written unit is a torn first format unit) fails Init with INTERNAL, like
// any other read failure of a mount, whatever status the driver gave it; a
// driver's DATA_LOSS used to come through from the blank check.
TEST(KvsRemountTest, ReadErrorOnABlankPartitionIsInternal) {
  for (const bool torn_first : {false, true}) {
    uint64_t reads = 0;
    for (uint64_t n = 0; n <= reads; ++n) {
      RamFlash<1024, 4> flash;
      FlashPartition partition(flash);
      if (torn_first) {
        const std::array<std::byte, 4> junk{std::byte{0x12}, std::byte{0x34},
                                            std::byte{0x56}, std::byte{0x78}};
        ASSERT_EQ(partition.Program(0, junk), Status::Ok());
      }
      flash.ResetCounters();
      KeyValueStore<8> kvs(partition);
      if (n == 0) {  // count the reads of a mount that succeeds
        ASSERT_EQ(kvs.Init(), Status::Ok());
        reads = flash.counters().read_calls;
        ASSERT_GT(reads, 0u);
        continue;
      }
      flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n - 1),
                     Status::DataLoss());
      const Status init = kvs.Init();
      flash.ClearFaults();
      EXPECT_TRUE(init.ok() || init.IsInternal())
          << "read " << n - 1 << (torn_first ? " (torn first unit): " : ": ")
          << init.str();
      ASSERT_EQ(kvs.Init(), Status::Ok());
      ASSERT_EQ(kvs.Put(1, Bytes("one")), Status::Ok());
    }
  }
}

// Three cold keys (they move only when the ring turns), then `puts` updates
// spread over `hot` other keys (3, 4, ...), with 40-byte values.
void BuildColdAndHot(KeyValueStore<8>& kvs, Shadow& shadow, int puts, Key hot) {
  ASSERT_EQ(kvs.Init(), Status::Ok());
  for (Key k = 0; k < 3; ++k) {
    shadow[k] = MakeValue(40, k);
    ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
  }
  for (int i = 0; i < puts; ++i) {
    const Key k = 3 + static_cast<Key>(i) % hot;
    shadow[k] = MakeValue(40, 100 + i);
    ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
  }
}

// How many updates BuildColdAndHot needs before the next Put of key `next`
// erases a sector, and which sector (-1 if none within 200).
template <size_t kSectors>
std::pair<int, int> FirstReclaimingPut(Key hot, Key next) {
  for (int p = 0; p < 200; ++p) {
    RamFlash<1024, kSectors> flash;
    FlashPartition partition(flash);
    KeyValueStore<8> kvs(partition);
    Shadow shadow;
    BuildColdAndHot(kvs, shadow, p, hot);
    flash.ResetCounters();
    if (!kvs.Put(next, Bytes(MakeValue(40, 999))).ok()) break;
    for (size_t s = 0; s < kSectors; ++s) {
      if (flash.sector_erases(s) != 0) return {p, static_cast<int>(s)};
    }
  }
  return {-1, -1};
}

// A driver may report a failed read as DATA_LOSS. During a Put, DATA_LOSS
// says the flash would not take the write, so a read failure anywhere in a
// Put that turns the ring (cold keys copied into the new sector, which the
// index then takes from flash) must come back as INTERNAL. The index update
// after the copies passed the driver's status through, so such a Put
// returned DATA_LOSS although the reclaim had committed. Since bug 84 the
// store reads again after a DATA_LOSS (a one-shot one is absorbed), so the
// same reads also fail with INTERNAL, which must make some Put fail.
TEST(KvsRemountTest, ReadErrorDuringAReclaimingPutIsNeverDataLoss) {
  const int puts = FirstReclaimingPut<4>(1, 3).first;
  ASSERT_GE(puts, 0) << "no Put reclaimed a sector";
  uint64_t reads = 0;  // of that Put
  {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<8> kvs(partition);
    Shadow shadow;
    BuildColdAndHot(kvs, shadow, puts, 1);
    flash.ResetCounters();
    ASSERT_EQ(kvs.Put(3, Bytes(MakeValue(40, 999))), Status::Ok());
    reads = flash.counters().read_calls;
  }
  int failed = 0;
  for (uint64_t i = 0; i < 2 * reads; ++i) {
    const uint64_t n = i % reads;
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<8> kvs(partition);
    Shadow shadow;
    BuildColdAndHot(kvs, shadow, puts, 1);
    const std::string value = MakeValue(40, 999);
    flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n),
                   i < reads ? Status::DataLoss() : Status::Internal());
    const Status put = kvs.Put(3, Bytes(value));
    flash.ClearFaults();
    EXPECT_TRUE(put.ok() || put.IsInternal())
        << "read " << n << ": " << put.str();
    failed += !put.ok();
    // Old or new value for key 3 (the Put may have counted), nothing else.
    KeyValueStore<8> again(partition);
    ASSERT_EQ(again.Init(), Status::Ok()) << "read " << n;
    std::string got;
    ASSERT_TRUE(GetString(again, 3, got, 64).ok()) << "read " << n;
    if (got == value) shadow[3] = value;
    EXPECT_TRUE(test::MatchesShadow(again, shadow)) << "read " << n;
  }
  EXPECT_GT(failed, 0) << "no injected read error failed the Put";
}

// When the sector a reclaim retires cannot be formatted again it is marked
// bad, and the ring has lost its free sector: the store frees its oldest
// sector at once by moving that sector's live entries into the active one.
// A read error part way through that move must not leave the store working
// on with RAM out of step with the active sector: later writes and a fresh
// mount must agree with what was acknowledged.
TEST(KvsRemountTest, ReadErrorWhileFreeingTheOldestSectorAfterARetiredOne) {
  const auto [puts, victim_sector] = FirstReclaimingPut<5>(2, 5);
  ASSERT_GE(puts, 0) << "no Put reclaimed a sector";
  const size_t victim = static_cast<size_t>(victim_sector);
  const auto wear = [&](RamFlash<1024, 5>& flash) {
    // Formatting the victim again fails: it is retired.
    flash.SetEndurance(victim, flash.lifetime_erases(victim) + 1,
                       WearMode::kFail);
  };
  uint64_t reads = 0;
  {
    RamFlash<1024, 5> flash;
    FlashPartition partition(flash);
    KeyValueStore<8> kvs(partition);
    Shadow shadow;
    BuildColdAndHot(kvs, shadow, puts, 2);
    wear(flash);
    flash.ResetCounters();
    ASSERT_EQ(kvs.Put(5, Bytes(MakeValue(40, 999))), Status::Ok());
    ASSERT_EQ(kvs.GetStats().bad_sectors, 1u);
    reads = flash.counters().read_calls;
  }
  for (uint64_t n = 0; n < reads; ++n) {
    RamFlash<1024, 5> flash;
    FlashPartition partition(flash);
    KeyValueStore<8> kvs(partition);
    Shadow shadow;
    BuildColdAndHot(kvs, shadow, puts, 2);
    wear(flash);
    flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n),
                   Status::Internal());
    kvs.Put(5, Bytes(MakeValue(40, 999))).IgnoreError();  // may count or not
    flash.ClearFaults();
    // Later writes (key 5 among them) succeed and hold, in RAM and on flash.
    for (int i = 0; i < 30; ++i) {
      const Key k = 3 + i % 3;
      const std::string v = MakeValue(40, 2000 + i);
      ASSERT_EQ(kvs.Put(k, Bytes(v)), Status::Ok()) << "read " << n << " " << i;
      shadow[k] = v;
    }
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow)) << "read " << n;
    KeyValueStore<8> again(partition);
    ASSERT_EQ(again.Init(), Status::Ok()) << "read " << n;
    EXPECT_TRUE(test::MatchesShadow(again, shadow)) << "read " << n;
  }
}

// A program reaches flash but reading it back fails, where the store can no
// longer cancel the write with a void marker (the seal after a value ending
// in 0xFF; with two copies, the second copy). The write may then count at
// the next mount, so the store must not report it as "nothing changed": it
// returns the failure and mounts again on its next call, after which it
// agrees with a fresh mount (old or new value, as after a power cut). It used
// to return RESOURCE_EXHAUSTED and keep the old value in RAM while a reboot
// showed the new one.
TEST(KvsRemountTest, WriteThatCouldNotBeCancelledIsSettledByARemount) {
  for (const uint8_t copies : {uint8_t{1}, uint8_t{2}}) {
    int reached = 0;
    for (uint32_t n = 0; n < 40; ++n) {
      RamFlash<512, 4> flash;
      FlashPartition partition(flash);
      Options options;
      options.copies = copies;
      options.reclaim_on_put = false;
      KeyValueStore<16> kvs(partition, options);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      Shadow shadow;
      for (int i = 0;; ++i) {
        const std::string v = MakeValue(20, i);
        const Status s = kvs.Put(i % 6, Bytes(v));
        if (s.IsResourceExhausted()) break;
        ASSERT_EQ(s, Status::Ok());
        shadow[i % 6] = v;
      }
      ASSERT_EQ(kvs.ReclaimOne(), Status::Ok());
      std::string fresh = MakeValue(10, 777);
      fresh.back() = '\xFF';
      flash.FailNext(FlashOp::kRead, n, Status::Internal());
      const Status put = kvs.Put(0, Bytes(fresh));
      flash.ClearFaults();
      if (put.ok()) continue;
      KeyValueStore<16> reboot(partition, options);
      ASSERT_EQ(reboot.Init(), Status::Ok());
      std::string after_reboot;
      ASSERT_EQ(GetString(reboot, 0, after_reboot).status(), Status::Ok());
      if (after_reboot == shadow[0]) continue;  // the write did not count
      ++reached;
      EXPECT_EQ(after_reboot, fresh);
      EXPECT_FALSE(put.IsResourceExhausted())
          << "copies " << int(copies) << ": reported as nothing changed";
      // The next write call mounts again and then agrees with the reboot.
      Status next = kvs.Put(5, Bytes("five"));
      if (next.IsResourceExhausted()) {
        ASSERT_EQ(kvs.ReclaimOne(), Status::Ok());
        next = kvs.Put(5, Bytes("five"));
      }
      ASSERT_EQ(next, Status::Ok());
      std::string now;
      ASSERT_EQ(GetString(kvs, 0, now).status(), Status::Ok());
      EXPECT_EQ(now, fresh) << "copies " << int(copies) << ", n " << n;
    }
    EXPECT_GT(reached, 0) << "copies " << int(copies);
  }
}

// A read error while the store counts its live bytes (the first write after
// a mount) must not be cached as a damaged entry: the write fails, and the
// next one counts again. The entry used to count as a bare slot, the delete
// then subtracted its full size, and the count wrapped below zero: every
// later Put was RESOURCE_EXHAUSTED until a remount. (With 64 KiB sectors
// an index location has no room left for the size of a value, so the count
// reads the entries.)
TEST(KvsRemountTest, ReadErrorWhileCountingLiveBytesIsNotCached) {
  RamFlash<64 * 1024, 3> flash;
  FlashPartition partition(flash);
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(kvs.Put(1, Bytes(std::string(16, 'a'))), Status::Ok());
  }
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  flash.FailNext(FlashOp::kRead, 0, Status::Internal());
  EXPECT_EQ(kvs.Delete(1), Status::Internal());
  flash.ClearFaults();
  ASSERT_EQ(kvs.Delete(1), Status::Ok());
  EXPECT_EQ(kvs.GetStats().live_bytes, 0u);
  ASSERT_EQ(kvs.Put(2, Bytes("two")), Status::Ok());
  EXPECT_EQ(kvs.GetStats().live_bytes, 8u + 4u);
}

// Mounts `partition` after activation units were corrected (`repaired` of
// them, each with bit `bit` flipped): every key of `shadow` reads back, the
// store writes on over several turns of the ring (keys from `first_key`),
// and a fresh mount agrees.
void ExpectRepairedMountWritesOn(FlashPartition& partition, Shadow& shadow,
                                 uint32_t repaired, Key first_key,
                                 unsigned bit) {
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "bit " << bit;
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow)) << "bit " << bit;
    EXPECT_EQ(kvs.GetStats().corruption_repaired, repaired) << "bit " << bit;
    for (int i = 0; i < 60; ++i) {
      const Key k = first_key + i % 3;
      shadow[k] = MakeValue(50, i);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok()) << "bit " << bit;
    }
  }
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok()) << "bit " << bit;
  EXPECT_TRUE(test::MatchesShadow(again, shadow)) << "bit " << bit;
}

// A young store (everything in its first sector, so no other activation
// unit to check a corrected one against) with one flipped bit in that
// sector's activation unit: every key reads back, and the store goes on
// across sectors. The corrected unit used to be discarded as untrusted, the
// only data sector then counted as destroyed and every key read NOT_FOUND.
TEST(KvsActivationFlipTest, YoungStoreKeepsEveryKey) {
  for (unsigned bit = 0; bit < 64; ++bit) {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    Shadow shadow;
    ASSERT_TRUE(test::WriteRotating(partition, shadow, 3, 1, 3, 20, 1));
    flash.FlipBit(8 + bit / 8, bit % 8);  // sector 0, unit 2
    ExpectRepairedMountWritesOn(partition, shadow, 1, 4, bit);
  }
}

// One flipped bit in the activation unit of a closed data sector is
// corrected at mount, past the 64 sectors whose headers mount keeps as well
// (it used to count as a destroyed sector there: every older key read
// DATA_LOSS).
TEST(KvsLargeRingTest, ActivationUnitFlipIsCorrectedAtAnySector) {
  for (const uint32_t flipped : {40u, 65u}) {
    RamFlash<256, 70> flash;
    FlashPartition partition(flash);
    Shadow shadow;
    {
      KeyValueStore<64> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (Key k = 0; k < 60; ++k) {
        shadow[k] = MakeValue(24, k);
        ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
      }
      // Until sector 67 is activated, so that 65 is a closed data sector.
      for (int n = 0; flash.bytes()[67 * 256 + 8] == std::byte{0xFF}; ++n) {
        ASSERT_LT(n, 2000);
        shadow[100] = MakeValue(24, 1000 + n);
        ASSERT_EQ(kvs.Put(100, Bytes(shadow[100])), Status::Ok());
      }
    }
    flash.FlipBit(flipped * 256 + 8, 0);  // bit 0 of the sequence
    KeyValueStore<64> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "sector " << flipped;
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow)) << "sector " << flipped;
  }
}

// A torn activation unit that passes its CRC-16 and names a sequence far
// ahead is told apart by the chain behind the active sector: the sector
// before it must hold the sequence one lower. When that sector's own
// activation unit had a flipped bit, mount trusted the corrected unit for
// the first 64 sectors but not beyond (it had not yet settled the chain
// that corrected units are checked against), so there the torn unit was
// taken for the newest sector and every key read NOT_FOUND.
TEST(KvsLargeRingTest, TornActivationIsFoundBehindACorrectedUnit) {
  for (const uint32_t before : {40u, 65u}) {
    RamFlash<256, 70> flash;
    FlashPartition partition(flash);
    Shadow shadow;
    const uint32_t active = before + 1, torn = before + 2;
    {
      KeyValueStore<64> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (Key k = 0; k < 60; ++k) {
        shadow[k] = MakeValue(24, k);
        ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
      }
      for (int n = 0; flash.bytes()[active * 256 + kUnit] == std::byte{0xFF};
           ++n) {
        ASSERT_LT(n, 2000);
        shadow[100] = MakeValue(24, 1000 + n);
        ASSERT_EQ(kvs.Put(100, Bytes(shadow[100])), Status::Ok());
      }
    }
    format::ActivationUnit act;
    ASSERT_EQ(format::DecodeActivationUnit(
                  flash.bytes().subspan(active * 256 + kUnit).first<8>(),
                  std::byte{0xFF}, act),
              format::UnitState::kValid);
    act.sequence += 1000;  // random bits: far ahead of the ring
    act.prev_slots = 3;
    const auto unit = flash.bytes().subspan(torn * 256 + kUnit).first<8>();
    ASSERT_TRUE(std::all_of(unit.begin(), unit.end(),
                            [](std::byte b) { return b == std::byte{0xFF}; }));
    format::EncodeActivationUnit(act, unit);
    flash.FlipBit(before * 256 + kUnit, 0);  // bit 0 of its sequence

    KeyValueStore<64> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "before " << before;
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow)) << "before " << before;
    for (int n = 0; n < 300; ++n) {  // on past the torn unit's sector
      shadow[101] = MakeValue(24, 5000 + n);
      ASSERT_EQ(kvs.Put(101, Bytes(shadow[101])), Status::Ok()) << n;
    }
    KeyValueStore<64> again(partition);
    ASSERT_EQ(again.Init(), Status::Ok()) << "before " << before;
    EXPECT_TRUE(test::MatchesShadow(again, shadow)) << "before " << before;
  }
}

// No activation unit reads cleanly: every data sector has one flipped bit
// in its activation unit (retention errors). The corrected units are all
// the evidence there is, and they form a chain, so every key reads back.
// With two or more such sectors, mount used to drop every corrected unit
// (none continued a chain of clean ones) and report OK with no keys at all.
TEST(KvsActivationFlipTest, EveryDataSectorCorrectedKeepsEveryKey) {
  for (const int puts : {30, 45}) {  // two and three data sectors
    for (unsigned bit = 0; bit < 64; ++bit) {
      RamFlash<1024, 4> flash;
      FlashPartition partition(flash);
      Shadow shadow;
      ASSERT_TRUE(test::WriteRotating(partition, shadow, puts, 1, 10, 40, 0));
      uint32_t flipped = 0;
      for (size_t s = 0; s < 4; ++s) {
        std::array<std::byte, 8> unit;
        ASSERT_EQ(partition.Read(s * 1024 + 8, unit), Status::Ok());
        if (unit[0] == std::byte{0xFF}) continue;  // free: no activation
        flash.FlipBit(s * 1024 + 8 + bit / 8, bit % 8);
        ++flipped;
      }
      ASSERT_EQ(flipped, puts == 30 ? 2u : 3u) << "the workload changed";
      ExpectRepairedMountWritesOn(partition, shadow, flipped, 11, bit);
    }
  }
}

}  // namespace
}  // namespace cairn::kvs
