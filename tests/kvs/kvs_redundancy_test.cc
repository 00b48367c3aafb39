// Redundancy (Options::copies): every write lands as N consecutive slots;
// a copy whose value fails its checksum is served from another copy, a
// reclaim carries a good copy forward, and only damage to every copy makes
// a key DATA_LOSS.
#include <memory>

#include "cairn/kvs/key_value_store.h"
#include "kvs/kvs_test_util.h"

namespace cairn::kvs {
namespace {

using test::Bytes;
using test::GetString;
using test::MakeValue;
using test::Shadow;

constexpr size_t kSector = 1024;
constexpr size_t kSectors = 6;
using Kvs = KeyValueStore<16>;

class KvsRedundancyTest : public ::testing::TestWithParam<uint8_t> {
 protected:
  KvsRedundancyTest() : partition_(flash_) {}

  Options Opts() const {
    Options o;
    o.copies = GetParam();
    return o;
  }
  void Mount() {
    kvs_ = std::make_unique<Kvs>(partition_, Opts());
    ASSERT_EQ(kvs_->Init(), Status::Ok());
  }
  void Put(Key k, const std::string& v) {
    ASSERT_EQ(kvs_->Put(k, Bytes(v)), Status::Ok());
    shadow_[k] = v;
  }
  // The slots that hold `key`'s newest write: the last `copies` slots naming
  // it in the active sector (all of them are consecutive).
  std::vector<test::SlotInfo> NewestCopies(Key key) {
    std::vector<test::SlotInfo> found;
    for (uint32_t s = 0; s < kSectors; ++s) {
      for (const auto& slot : test::ScanSlots(partition_, flash_.bytes(), s)) {
        if (slot.header.key == key && !slot.header.is_void()) {
          found.push_back(slot);
        }
      }
    }
    if (found.size() > GetParam()) {
      found.erase(found.begin(), found.end() - GetParam());
    }
    return found;
  }
  void FlipValue(const test::SlotInfo& slot, size_t byte = 3) {
    flash_.FlipBit(slot.value_address + byte % slot.value_size, 5);
  }
  // Every key of the shadow reads back exactly (other keys may exist).
  ::testing::AssertionResult AllRead() {
    for (const auto& [key, value] : shadow_) {
      std::string got;
      const StatusWithSize r = GetString(*kvs_, key, got);
      if (!r.ok() || got != value) {
        return ::testing::AssertionFailure()
               << "key " << key << ": " << r.status().str();
      }
    }
    return ::testing::AssertionSuccess();
  }

  RamFlash<kSector, kSectors> flash_;
  FlashPartition partition_;
  std::unique_ptr<Kvs> kvs_;
  Shadow shadow_;
};

TEST_P(KvsRedundancyTest, EveryWriteLandsAsConsecutiveCopies) {
  Mount();
  Put(1, MakeValue(40, 1));
  Put(2, MakeValue(0, 2));
  const auto slots = test::ScanSlots(partition_, flash_.bytes(), 0);
  ASSERT_EQ(slots.size(), 2u * GetParam());
  for (size_t i = 0; i < slots.size(); ++i) {
    EXPECT_EQ(slots[i].header.key, i < GetParam() ? 1u : 2u) << i;
    EXPECT_EQ(slots[i].header.crc,
              slots[i / GetParam() * GetParam()].header.crc);
  }
  // The flash footprint scales with the copies.
  EXPECT_EQ(kvs_->GetStats().live_bytes, GetParam() * (2 * 8u + 40u));
}

TEST_P(KvsRedundancyTest, DamagedNewestCopyIsServedFromAnother) {
  Mount();
  for (Key k = 0; k < 6; ++k) Put(k, MakeValue(40 + k, k));
  for (Key k = 0; k < 6; ++k) {
    const auto copies = NewestCopies(k);
    ASSERT_EQ(copies.size(), GetParam());
    FlipValue(copies.back(), k);
  }
  EXPECT_TRUE(AllRead());
  // Each read served by an older copy found a damaged one and repaired it
  // (repaired is a part of found; it once counted only in repaired).
  EXPECT_EQ(kvs_->GetStats().corruption_found, 6u);
  EXPECT_EQ(kvs_->GetStats().corruption_repaired, 6u);
  // After a remount too, including the last write of the active sector,
  // whose damaged last copy must not be taken for a torn write.
  Mount();
  EXPECT_TRUE(AllRead());
}

TEST_P(KvsRedundancyTest, OnlyDamageToEveryCopyIsDataLoss) {
  Mount();
  for (Key k = 0; k < 4; ++k) Put(k, MakeValue(30, k));
  Put(9, MakeValue(30, 9));  // keeps key 3 off the active sector's tail
  for (const auto& slot : NewestCopies(3)) FlipValue(slot);
  std::string got;
  EXPECT_EQ(GetString(*kvs_, 3, got).status(), Status::DataLoss());
  shadow_.erase(3);
  EXPECT_TRUE(AllRead());
  Mount();
  EXPECT_EQ(GetString(*kvs_, 3, got).status(), Status::DataLoss());
  EXPECT_TRUE(AllRead());
}

TEST_P(KvsRedundancyTest, ReclaimCarriesAGoodCopy) {
  Mount();
  for (Key k = 0; k < 5; ++k) Put(k, MakeValue(60, k));
  std::vector<size_t> before;
  for (Key k = 0; k < 5; ++k) {
    before.push_back(NewestCopies(k).back().header_address);
    FlipValue(NewestCopies(k).back(), k);
  }
  // Updates of another key turn the ring twice: keys 0..4 move with a good
  // copy.
  for (int i = 0; i < 60; ++i) Put(15, MakeValue(100, 100 + i));
  ASSERT_TRUE(AllRead());
  for (Key k = 0; k < 5; ++k) {
    const auto copies = NewestCopies(k);
    ASSERT_EQ(copies.size(), GetParam());
    ASSERT_NE(copies.back().header_address, before[k]) << "not moved";
    // A fresh flip in any copy but one is served again.
    for (size_t c = 0; c + 1 < copies.size(); ++c) FlipValue(copies[c], k + c);
  }
  Mount();
  EXPECT_TRUE(AllRead());
}

TEST_P(KvsRedundancyTest, ChurnThroughReclaimsKeepsEverything) {
  Mount();
  uint64_t x = 7;
  for (int i = 0; i < 300; ++i) {
    const Key k = static_cast<Key>(test::Next(x) % 10);
    if (test::Next(x) % 7 == 0 && shadow_.count(k)) {
      ASSERT_EQ(kvs_->Delete(k), Status::Ok());
      shadow_.erase(k);
    } else {
      Put(k, MakeValue(test::Next(x) % 50, i));
    }
  }
  EXPECT_TRUE(AllRead());
  Mount();
  EXPECT_TRUE(AllRead());
}

TEST_P(KvsRedundancyTest, BatchWithCopiesIsAllOrNothing) {
  Mount();
  Put(1, "one");
  const std::string uno = "uno", dos = "dos";  // the batch keeps pointers
  Batch<4> batch;
  ASSERT_EQ(batch.Put(1, Bytes(uno)), Status::Ok());
  ASSERT_EQ(batch.Put(2, Bytes(dos)), Status::Ok());
  ASSERT_EQ(kvs_->Commit(batch), Status::Ok());
  shadow_[1] = "uno";
  shadow_[2] = "dos";
  Mount();
  EXPECT_TRUE(AllRead());
}

// A last copy that passes its CRC-16 but differs from the copy before it is
// a torn write that passed by chance: mount drops the write instead of
// serving those bytes. XORing the generator polynomial (0x11021) into three
// consecutive bytes keeps a CRC-CCITT unchanged, which makes such a copy.
TEST_P(KvsRedundancyTest, LastCopyThatDiffersFromTheOneBeforeIsDropped) {
  Mount();
  const std::string old = MakeValue(30, 1), fresh = MakeValue(30, 2);
  Put(4, old);
  ASSERT_EQ(kvs_->Put(4, Bytes(fresh)), Status::Ok());
  const auto copies = NewestCopies(4);
  ASSERT_EQ(copies.size(), GetParam());
  const size_t at = copies.back().value_address + 5;
  const uint8_t pattern[3] = {0x01, 0x10, 0x21};
  for (int i = 0; i < 3; ++i) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if (pattern[i] >> bit & 1) flash_.FlipBit(at + i, bit);
    }
  }
  Mount();
  std::string got;
  ASSERT_EQ(GetString(*kvs_, 4, got).status(), Status::Ok());
  EXPECT_EQ(got, old) << "the torn-looking last write is dropped";
  // The store goes on: the next write lands in a fresh sector.
  Put(4, MakeValue(30, 3));
  Mount();
  EXPECT_TRUE(AllRead());
}

INSTANTIATE_TEST_SUITE_P(Copies, KvsRedundancyTest, ::testing::Values(2, 3),
                         [](const auto& info) {
                           return std::to_string(info.param) + "copies";
                         });

// One flipped bit in the header of the newest copy: reads and reclaims
// correct it as mount does (the value's checksum confirms it), so the key
// keeps its value, also after every sector has been reclaimed. Reads used to
// fail on the header before trying another copy, and a reclaim then turned
// the key into a lost marker for good.
TEST(KvsRedundancyHeaderFlip, NewestCopyWithAFlippedHeaderBitKeepsItsValue) {
  RamFlash<kSector, kSectors> flash;
  FlashPartition partition(flash);
  Options options;
  options.copies = 2;
  const std::string seven = MakeValue(30, 7);
  {
    Kvs kvs(partition, options);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(kvs.Put(7, Bytes(seven)), Status::Ok());
    for (Key k = 0; k < 3; ++k) {
      ASSERT_EQ(kvs.Put(k, Bytes(MakeValue(30, k))), Status::Ok());
    }
  }
  const auto slots = test::ScanSlots(partition, flash.bytes(), 0);
  ASSERT_GE(slots.size(), 2u);
  ASSERT_EQ(slots[1].header.key, 7u);
  flash.FlipBit(slots[1].header_address + 1, 2);  // a key bit of copy 2
  Kvs kvs(partition, options);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  std::string got;
  ASSERT_EQ(GetString(kvs, 7, got).status(), Status::Ok());
  EXPECT_EQ(got, seven);
  ASSERT_EQ(kvs.FullMaintenance(), Status::Ok());
  ASSERT_EQ(kvs.FullMaintenance(), Status::Ok());
  Kvs again(partition, options);
  ASSERT_EQ(again.Init(), Status::Ok());
  ASSERT_EQ(GetString(again, 7, got).status(), Status::Ok());
  EXPECT_EQ(got, seven);
  for (Key k = 0; k < 3; ++k) {
    ASSERT_EQ(GetString(again, k, got).status(), Status::Ok());
    EXPECT_EQ(got, MakeValue(30, k));
  }
}

TEST(KvsRedundancyOptions, CopiesOutsideOneToThreeAreRefused) {
  RamFlash<kSector, kSectors> flash;
  FlashPartition partition(flash);
  for (uint8_t copies : {0, 4}) {
    Options o;
    o.copies = copies;
    Kvs kvs(partition, o);
    EXPECT_EQ(kvs.Init(), Status::InvalidArgument()) << int{copies};
  }
}

TEST(KvsRedundancyOptions, LargestValueShrinksWithTheCopies) {
  RamFlash<kSector, kSectors> flash;
  FlashPartition partition(flash);
  size_t single = 0;
  for (uint8_t copies : {1, 2, 3}) {
    Options o;
    o.copies = copies;
    Kvs kvs(partition, o);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    const size_t max = kvs.max_value_size();
    if (copies == 1) single = max;
    // Each copy needs its slot (8 B) and up to 4 B of alignment slack.
    EXPECT_LE(max * copies, single) << int{copies};
    EXPECT_GE(max * copies + 12u * copies, single) << int{copies};
    // The largest value fits (all copies in one sector); one more does not.
    const std::string big(max, 'x');
    EXPECT_EQ(kvs.Put(1, Bytes(big)), Status::Ok()) << int{copies};
    const std::string bigger(max + 1, 'x');
    EXPECT_EQ(kvs.Put(1, Bytes(bigger)), Status::InvalidArgument());
    std::string got;
    ASSERT_EQ(GetString(kvs, 1, got).status(), Status::Ok());
    EXPECT_EQ(got, big);
    ASSERT_EQ(kvs.Format(), Status::Ok());
  }
}

}  // namespace
}  // namespace cairn::kvs
