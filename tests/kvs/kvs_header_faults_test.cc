// Header-unit faults (flipped bits in activation units, torn activations,
// large rings) that must never make Init() return OK with keys missing or
// older, nor reformat a partition that held data. Found by the ninth
// session's review of the header faults (docs/reliability.md, bugs 65-67).
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
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

constexpr size_t kUnit = 8;

// Committed slots of `sector` (every non-erased slot before the first
// erased one): what the next activation names as prev_slots.
uint16_t CountSlots(std::span<const std::byte> image, size_t sector_size,
                    uint32_t sector) {
  uint16_t n = 0;
  for (size_t at = sector * sector_size + 2 * kUnit;
       at + kUnit <= (sector + 1) * sector_size; at += kUnit, ++n) {
    if (std::all_of(image.begin() + at, image.begin() + at + 8,
                    [](std::byte b) { return b == std::byte{0xFF}; })) {
      break;
    }
  }
  return n;
}

// `kvs` (mounted or formatted) holds no key, takes a write, and a mount
// reads it back.
void ExpectEmptyAndWorking(Store& kvs, FlashPartition& partition) {
  EXPECT_EQ(kvs.size(), 0u);
  ASSERT_EQ(kvs.Put(7, Bytes("seven")), Status::Ok());
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_TRUE(test::MatchesShadow(again, {{7, "seven"}}));
}

// A random-bit tear of activation unit `target`: each zero bit of the bytes
// in `bytes` (bit n: byte n) either programmed or not, the other bytes
// whole. Returns the first such tear that fails its check and whose first
// one-bit correction, in the store's order (a slot count beyond what a
// 1024-byte sector holds is no unit), is a unit for which `wanted` holds;
// that unit goes to `named`.
template <typename Wanted>
std::optional<std::array<std::byte, 8>> CorrectableTear(
    const std::array<std::byte, 8>& target, unsigned bytes, Wanted wanted,
    format::ActivationUnit& named) {
  std::vector<int> zeros;
  for (int bit = 0; bit < 64; ++bit) {
    if (((bytes >> (bit / 8)) & 1) != 0 &&
        ((std::to_integer<unsigned>(target[bit / 8]) >> (bit % 8)) & 1) == 0) {
      zeros.push_back(bit);
    }
  }
  EXPECT_LE(zeros.size(), 26u);
  for (uint32_t m = 1; m < (1u << zeros.size()); ++m) {
    std::array<std::byte, 8> t = target;
    for (size_t i = 0; i < zeros.size(); ++i) {
      if ((m >> i) & 1) t[zeros[i] / 8] |= std::byte(1 << (zeros[i] % 8));
    }
    format::ActivationUnit u;
    if (format::DecodeActivationUnit(t, std::byte{0xFF}, u) !=
        format::UnitState::kInvalid) {
      continue;  // a tear that passes outright is the known issue
    }
    for (int bit = 0; bit < 64; ++bit) {
      std::array<std::byte, 8> c = t;
      c[bit / 8] ^= std::byte(1 << (bit % 8));
      if (format::DecodeActivationUnit(c, std::byte{0xFF}, u) ==
              format::UnitState::kValid &&
          u.prev_slots <= (1024 - 16) / kUnit) {
        if (!wanted(u)) break;
        named = u;
        return t;
      }
    }
  }
  return std::nullopt;
}

// A young store (all data in sector 0) whose activation unit has two
// flipped bits (beyond one-bit repair). Nothing else is wrong, yet Init()
// found no activation at all, took the partition for "formatted but never
// activated" and formatted it again: OK, every key NOT_FOUND, and the data
// erased for good. A torn first activation never has a slot after it, so
// Init now refuses with DATA_LOSS and leaves the flash as it is (for the
// tool to read); Format() starts over.
TEST(KvsHeaderFaultTest,
     YoungStoreWithTwoFlipsInItsActivationIsNotReformatted) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  ASSERT_TRUE(test::WriteRotating(partition, shadow, 5, 1, 5, 40, 1));
  ASSERT_EQ(flash.bytes()[1024 + kUnit], std::byte{0xFF}) << "young store";
  const uint16_t slots = CountSlots(flash.bytes(), 1024, 0);
  ASSERT_GE(slots, 5u);
  flash.FlipBit(kUnit + 0, 3);  // two retention errors in the unit
  flash.FlipBit(kUnit + 5, 6);
  const std::vector<std::byte> before(flash.bytes().begin(),
                                      flash.bytes().end());

  for (const bool format_if_unusable : {false, true}) {
    KeyValueStore<16> kvs(partition,
                          {.format_if_unusable = format_if_unusable});
    EXPECT_EQ(kvs.Init(), Status::DataLoss());
    EXPECT_TRUE(std::equal(before.begin(), before.end(), flash.bytes().begin()))
        << "Init wrote to the flash";
    EXPECT_EQ(kvs.Put(1, Bytes("x")), Status::FailedPrecondition());
  }

  // The application decides: Format() erases it and starts over.
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Format(), Status::Ok());
  ExpectEmptyAndWorking(kvs, partition);
}

// The case a torn first activation leaves: the unit is garbage but nothing
// follows it. Nothing was committed, so Init formats over it as before.
TEST(KvsHeaderFaultTest, TornFirstActivationIsFormattedOver) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
  }
  format::ActivationUnit a0;
  ASSERT_EQ(format::DecodeActivationUnit(
                flash.bytes().subspan(kUnit).first<8>(), std::byte{0xFF}, a0),
            format::UnitState::kValid);
  // Tear it: the partition as a cut in the first activation leaves it.
  ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
  std::array<std::byte, 8> format_unit;
  std::copy_n(flash.bytes().begin() + 1024, 8, format_unit.begin());
  ASSERT_EQ(flash.Program(0, format_unit), Status::Ok());
  std::array<std::byte, 8> torn;
  format::EncodeActivationUnit(a0, torn);
  torn[4] = torn[5] = torn[6] = torn[7] = std::byte{0xFF};
  ASSERT_EQ(flash.Program(kUnit, torn), Status::Ok());

  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  ExpectEmptyAndWorking(kvs, partition);
}

// A young store whose only data sector's activation unit has one flipped
// bit (bug 38's case, repaired on its own), and then a power cut tears the
// activation of sector 1 (the sector being opened; nothing committed). The
// torn unit is invalid, but one bit away from a valid unit naming the next
// sequence with a wrong slot count (or a sequence further ahead). With a
// clean sector 0, bug 4/39's rule drops such a corrected unit; with sector
// 0 corrected too, bug 63's rule took the newest corrected unit, and bug
// 22's rule cannot vouch against it (no chain behind sector 0): every key
// read NOT_FOUND. Two faults: a retention error and a torn activation (a
// random-bit tear that one correction turns valid: about 48 tears in
// 65,536, far more than the known CRC-pass issue). Sector 1 holds no slot,
// and mount now takes the sector before such a unit for the newest.
TEST(KvsHeaderFaultTest, TornActivationAfterAFlippedYoungSectorIsNotTrusted) {
  int found = 0;
  for (int puts = 4; puts <= 20 && found < 3; ++puts) {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    Shadow shadow;
    ASSERT_TRUE(test::WriteRotating(partition, shadow, puts, 1, 6, 40, 100));
    ASSERT_EQ(flash.bytes()[1024 + kUnit], std::byte{0xFF}) << "young store";
    format::ActivationUnit a0;
    ASSERT_EQ(format::DecodeActivationUnit(
                  flash.bytes().subspan(kUnit).first<8>(), std::byte{0xFF}, a0),
              format::UnitState::kValid);
    const uint16_t slots = CountSlots(flash.bytes(), 1024, 0);
    std::array<std::byte, 8> target;
    format::EncodeActivationUnit({a0.sequence + 1, slots}, target);
    // Random-bit tear of the unit's last four bytes (the sequence went in
    // whole; byte 5 of a small count is 0x00 and went in whole too):
    // every zero bit of bytes 4, 6 and 7 was either programmed or not.
    format::ActivationUnit named;
    const std::optional<std::array<std::byte, 8>> torn = CorrectableTear(
        target, 0xD0,
        [&](const format::ActivationUnit& u) {
          return u.sequence > a0.sequence &&
                 (u.sequence != a0.sequence + 1 || u.prev_slots != slots);
        },
        named);
    if (!torn) continue;
    ++found;
    std::copy(torn->begin(), torn->end(), flash.bytes().begin() + 1024 + kUnit);
    flash.FlipBit(kUnit, 0);  // retention error in sector 0's unit

    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "puts " << puts;
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow))
        << "puts " << puts << ": sector 0 holds " << slots
        << " slots; the torn unit corrects to sequence " << named.sequence
        << " (sector 0 has " << a0.sequence << "), prev_slots "
        << named.prev_slots;
  }
  ASSERT_GT(found, 0) << "no tear found";
}

// Two sectors of a young store, both activation units with one flipped bit
// (retention errors), the newest sector activated but still empty. With no
// unit read cleanly mount cannot tell that unit from a torn one, and takes
// the sector before it for the newest: it holds every entry, so every key
// reads its value, and the store goes on (the empty sector is recycled when
// the ring comes round to it).
TEST(KvsHeaderFaultTest, EmptyNewestSectorWithCorrectedUnitsLosesNothing) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  ASSERT_TRUE(test::WriteRotating(partition, shadow, 6, 1, 6, 40, 1));
  format::ActivationUnit a0;
  ASSERT_EQ(format::DecodeActivationUnit(
                flash.bytes().subspan(kUnit).first<8>(), std::byte{0xFF}, a0),
            format::UnitState::kValid);
  // What activating sector 1 writes, and nothing after it.
  std::array<std::byte, 8> a1;
  format::EncodeActivationUnit(
      {a0.sequence + 1, CountSlots(flash.bytes(), 1024, 0)}, a1);
  ASSERT_EQ(flash.Program(1024 + kUnit, a1), Status::Ok());
  flash.FlipBit(kUnit + 2, 4);
  flash.FlipBit(1024 + kUnit + 6, 1);

  for (int round = 0; round < 60; ++round) {  // past sector 1's recycling
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << round;
    ASSERT_TRUE(test::MatchesShadow(kvs, shadow)) << round;
    const Key k = 1 + round % 9;
    shadow[k] = MakeValue(40, 500 + round);
    ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok()) << round;
  }
}

// Bug 63 past the first 64 sectors: a ring of 70 sectors whose data lies in
// sectors 0..65, every activation unit with one flipped bit. Mount corrected
// activation units in pass 1 only for sectors 0..63, so the newest
// corrected unit it took was sector 63's; sectors 64 and 65 (corrected
// later, in SectorFacts) named sequences above it and were dropped: their
// entries were lost and the keys read older values as OK. Pass 1 now
// corrects every sector's units, and counts each correction.
TEST(KvsHeaderFaultTest, EveryDataSectorCorrectedInARingOfMoreThan64) {
  RamFlash<256, 70> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  {
    KeyValueStore<64> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (int n = 0; flash.bytes()[65 * 256 + kUnit] == std::byte{0xFF}; ++n) {
      ASSERT_LT(n, 5000);
      const Key k = n % 40;
      shadow[k] = MakeValue(24, 1000 + n);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
    for (int n = 0; n < 3; ++n) {  // a few writes into sector 65
      shadow[50 + n] = MakeValue(24, 9000 + n);
      ASSERT_EQ(kvs.Put(50 + n, Bytes(shadow[50 + n])), Status::Ok());
    }
  }
  for (size_t s = 0; s < 70; ++s) {
    if (flash.bytes()[s * 256 + kUnit] == std::byte{0xFF}) continue;
    ASSERT_LE(s, 65u);
    flash.FlipBit(s * 256 + kUnit + 4, 1);  // a bit of prev_slots
  }
  KeyValueStore<64> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  EXPECT_TRUE(test::MatchesShadow(kvs, shadow));
  EXPECT_EQ(kvs.GetStats().corruption_repaired, 66u);
}

// ---- from the review of the fixes of bugs 65-67 (rule 1: DATA_LOSS behind
// a garbage unit; rule 2: an empty corrected newest sector gives way; rule
// 3: pass 1 corrects every sector); docs/reliability.md, bugs 68-71 ----

// True if the 8 bytes at `at` are all erased (0xFF).
bool ErasedAt(std::span<const std::byte> image, size_t at) {
  return std::all_of(image.begin() + at, image.begin() + at + 8,
                     [](std::byte b) { return b == std::byte{0xFF}; });
}

// The state of `sector`'s activation unit: erased, valid (possibly after
// one-bit correction) or garbage.
format::UnitState ActivationState(std::span<const std::byte> image,
                                  size_t sector_size, uint32_t sector) {
  std::array<std::byte, 8> raw;
  std::copy_n(image.begin() + sector * sector_size + kUnit, 8, raw.begin());
  format::ActivationUnit u;
  format::UnitState st = format::DecodeActivationUnit(raw, std::byte{0xFF}, u);
  for (int bit = 0; st == format::UnitState::kInvalid && bit < 64; ++bit) {
    std::array<std::byte, 8> c = raw;
    c[bit / 8] ^= std::byte(1 << (bit % 8));
    if (format::DecodeActivationUnit(c, std::byte{0xFF}, u) ==
        format::UnitState::kValid) {
      st = format::UnitState::kValid;
    }
  }
  return st;
}

// Rule 1 looked at one garbage unit only, the last one in sector order. A
// young store fills sector 0 and a power cut tears the activation of sector
// 1 (garbage, no slot after it: nothing committed, sector 0 stays the
// newest). Later two retention errors hit sector 0's unit: this is exactly
// the young store rule 1 protects, but mount checked only sector 1's unit
// (the last garbage one), found it empty and formatted the partition,
// erasing every value. Pass 1 now notes the first garbage unit with a slot
// after it.
TEST(KvsHeaderFaultReviewTest, YoungStoreBehindTwoFlipsWithATornSector1) {
  constexpr int kKeys = 6;
  // How many puts fit sector 0: the next one opens sector 1.
  int fill = 0;
  {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    while (ErasedAt(flash.bytes(), 1024 + kUnit)) {
      ASSERT_LT(fill, 100);
      ASSERT_EQ(kvs.Put(fill % kKeys, Bytes(MakeValue(40, fill))),
                Status::Ok());
      ++fill;
    }
    --fill;
  }
  bool found = false;
  for (uint64_t cut = 0; cut < 40 && !found; ++cut) {
    for (const TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
      RamFlash<1024, 4> flash;
      FlashPartition partition(flash);
      Shadow shadow;
      {
        KeyValueStore<16> kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        for (int i = 0; i < fill; ++i) {
          shadow[i % kKeys] = MakeValue(40, i);
          ASSERT_EQ(kvs.Put(i % kKeys, Bytes(shadow[i % kKeys])), Status::Ok());
        }
        flash.CutPowerAt(cut, mode);
        kvs.Put(fill % kKeys, Bytes(MakeValue(40, fill))).IgnoreError();
        flash.ClearFaults();
        flash.PowerOn();
      }
      // A cut in sector 1's activation that left garbage and no slot.
      if (ActivationState(flash.bytes(), 1024, 1) !=
              format::UnitState::kInvalid ||
          !ErasedAt(flash.bytes(), 1024 + 2 * kUnit)) {
        continue;
      }
      {  // the power-cut state alone mounts with every key
        KeyValueStore<16> kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        ASSERT_TRUE(test::MatchesShadow(kvs, shadow));
      }
      found = true;
      const uint16_t slots = CountSlots(flash.bytes(), 1024, 0);
      flash.FlipBit(kUnit + 0, 3);  // two retention errors in sector 0's unit
      flash.FlipBit(kUnit + 5, 6);
      KeyValueStore<16> kvs(partition);
      const Status init = kvs.Init();
      EXPECT_EQ(CountSlots(flash.bytes(), 1024, 0), slots)
          << "Init erased the only data sector (it returned " << init.str()
          << ", cut " << cut << ")";
      EXPECT_EQ(init, Status::DataLoss());
      break;
    }
  }
  ASSERT_TRUE(found) << "no torn activation of sector 1 found";
}

// Rule 1 turns a state that power cuts alone leave into an Init() that
// fails. A full ring (data in sectors 0-2) opens sector 3: a reclaim copies
// sector 0's live entries into it and a cut tears its activation (sector 2
// stays the newest, sector 3 holds copies behind a garbage unit). The
// application then mounts with a smaller index (RESOURCE_EXHAUSTED) and
// calls Format(), which, with nothing mounted, erases from sector 0 on; a
// second cut before it reaches sector 3 left no activation unit but sector
// 3's garbage one with slots behind it, and every later Init() returned
// DATA_LOSS (before rule 1 it formatted the partition, which is what the
// interrupted Format() asked for). Format() now starts after the newest
// sector that the failed mount found, as it does on a mounted store, so
// sector 3 goes first.
TEST(KvsHeaderFaultReviewTest, InterruptedFormatAfterATornReclaimStillMounts) {
  // Five cold keys, then six rotating ones: put `i`.
  const auto put = [](Store& kvs, int i) {
    const Key k = i < 5 ? 100 + i : (i - 5) % 6;
    return kvs.Put(k, Bytes(MakeValue(40, i)));
  };
  const auto puts = [&](Store& kvs, int n) {
    for (int i = 0; i < n; ++i) {
      if (const Status s = put(kvs, i); !s.ok()) return s;
    }
    return Status::Ok();
  };
  // The put that opens sector 3.
  int open3 = 0;
  {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (; ErasedAt(flash.bytes(), 3 * 1024 + kUnit); ++open3) {
      ASSERT_LT(open3, 400);
      ASSERT_EQ(put(kvs, open3), Status::Ok());
    }
    --open3;
  }
  // A cut in that put which tears sector 3's activation behind its copies.
  std::optional<uint64_t> reclaim_cut;
  for (uint64_t cut = 0; cut < 200 && !reclaim_cut; ++cut) {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(puts(kvs, open3), Status::Ok());
    flash.CutPowerAt(cut, TearMode::kPrefix);
    put(kvs, open3).IgnoreError();
    if (ActivationState(flash.bytes(), 1024, 3) ==
            format::UnitState::kInvalid &&
        !ErasedAt(flash.bytes(), 3 * 1024 + 2 * kUnit)) {
      reclaim_cut = cut;
    }
  }
  ASSERT_TRUE(reclaim_cut) << "no torn reclaim activation found";

  int data_loss = 0;
  for (uint64_t cut = 0; cut < 60; ++cut) {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    {
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      ASSERT_EQ(puts(kvs, open3), Status::Ok());
      flash.CutPowerAt(*reclaim_cut, TearMode::kPrefix);
      put(kvs, open3).IgnoreError();
      flash.ClearFaults();
      flash.PowerOn();
    }
    {
      KeyValueStore<4> small(partition);  // 11 keys do not fit
      ASSERT_EQ(small.Init(), Status::ResourceExhausted());
      flash.CutPowerAt(cut, TearMode::kPrefix);
      small.Format().IgnoreError();
      flash.ClearFaults();
      flash.PowerOn();
    }
    KeyValueStore<16> kvs(partition);
    const Status init = kvs.Init();
    EXPECT_TRUE(init.ok()) << "cut " << cut << " in Format(): Init() returned "
                           << init.str();
    data_loss += init.IsDataLoss();
  }
  EXPECT_EQ(data_loss, 0);
}

// Rule 3 counted the correction of every sector's activation unit in pass
// 1, but only sectors 0-63 took the count back when the corrected unit was
// dropped (outside the chain). In a ring of 70, a flipped bit in the active
// sector's unit loses that sector (docs/format.md: a damaged active sector
// header) and was reported as repaired when the sector was 64 or above.
// Corrections past sector 63 now count when pass 2 takes the sector.
TEST(KvsHeaderFaultReviewTest, DroppedCorrectedUnitPast64IsNotCountedRepaired) {
  for (const uint32_t active : {20u, 66u}) {
    SCOPED_TRACE(testing::Message() << "active sector " << active);
    RamFlash<256, 70> flash;
    FlashPartition partition(flash);
    {
      KeyValueStore<64> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int n = 0; ErasedAt(flash.bytes(), active * 256 + kUnit); ++n) {
        ASSERT_LT(n, 5000);
        ASSERT_EQ(kvs.Put(n % 40, Bytes(MakeValue(24, n))), Status::Ok());
      }
      ASSERT_EQ(kvs.Put(77, Bytes(MakeValue(24, 1))), Status::Ok());
    }
    flash.FlipBit(active * 256 + kUnit + 4, 1);
    KeyValueStore<64> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    const Stats st = kvs.GetStats();
    EXPECT_EQ(st.corruption_found, 1u);
    EXPECT_EQ(st.corruption_repaired, 0u) << "the unit was dropped, not used";
  }
}

// ---- from the second review of bugs 65-72 (bugs 73-74) ----

// Bug 66's rule for corrected units passes over a torn activation only
// when its sector holds no slot. A reclaim copies the victim's live entries
// into the sector it opens before it writes that sector's activation unit,
// so a tear of that unit lies over slots. Here the ring (data in sectors
// 0-2, sector 2 the newest) opens sector 3: the copies go in and a
// random-bit cut tears the activation (some zero bits of the sequence's low
// byte, the slot count and the CRC not programmed). The power-cut state
// alone mounts with every key (the torn unit, corrected by one bit, names a
// sequence a few ahead, and the chain check drops it). With one retention
// error in each data sector's unit (bug 63's state) no unit reads cleanly,
// the torn one is the newest corrected unit, bug 22's rule does not apply
// (at most a ring ahead) and bug 66's does not either (slots behind it):
// mount took sector 3 for the newest, its walk back found no sequence that
// fits, and every key not among the copies read NOT_FOUND. A corrected
// newest unit that names slots before it (not a first activation) and is
// not exactly one ahead of the sector before it now gives way to that
// sector (bug 73). A tear naming exactly the next sequence with a smaller
// count, which cuts off sector 2's last entries, is not caught (a known
// issue in docs/reliability.md).
TEST(KvsHeaderFaultReview2Test, TornReclaimActivationOverCopiesWithFlips) {
  const auto put = [](Store& kvs, int i, Shadow* shadow) {
    const Key k = i < 5 ? 100 + i : (i - 5) % 6;
    const std::string v = MakeValue(40, i);
    const Status s = kvs.Put(k, Bytes(v));
    if (s.ok() && shadow != nullptr) (*shadow)[k] = v;
    return s;
  };
  int open3 = 0;  // the put that opens sector 3
  {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (; ErasedAt(flash.bytes(), 3 * 1024 + kUnit); ++open3) {
      ASSERT_LT(open3, 400);
      ASSERT_EQ(put(kvs, open3, nullptr), Status::Ok());
    }
    --open3;
  }
  // The cut in that put that reaches sector 3's activation (copies in).
  bool done = false;
  for (uint64_t cut = 0; cut < 200 && !done; ++cut) {
    RamFlash<1024, 4> flash;
    FlashPartition partition(flash);
    Shadow shadow;
    {
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int i = 0; i < open3; ++i) {
        ASSERT_EQ(put(kvs, i, &shadow), Status::Ok());
      }
      flash.CutPowerAt(cut, TearMode::kPrefix);
      put(kvs, open3, nullptr).IgnoreError();
      flash.ClearFaults();
      flash.PowerOn();
    }
    if (ErasedAt(flash.bytes(), 3 * 1024 + kUnit) ||
        ErasedAt(flash.bytes(), 3 * 1024 + 2 * kUnit)) {
      continue;  // not yet at the activation (or no copies)
    }
    format::ActivationUnit a2;
    ASSERT_EQ(format::DecodeActivationUnit(
                  flash.bytes().subspan(2 * 1024 + kUnit).first<8>(),
                  std::byte{0xFF}, a2),
              format::UnitState::kValid);
    const uint16_t slots2 = CountSlots(flash.bytes(), 1024, 2);
    std::array<std::byte, 8> target;
    format::EncodeActivationUnit({a2.sequence + 1, slots2}, target);
    // A random-bit tear: each zero bit of bytes 0, 4, 6 and 7 programmed or
    // not (the sequence's high bytes and a small count's high byte, 0x00,
    // went in whole). Keep one whose correction names a sequence at most a
    // ring ahead (bug 22's rule catches the others) and not the next one.
    format::ActivationUnit named;
    const std::optional<std::array<std::byte, 8>> torn = CorrectableTear(
        target, 0xD1,
        [&](const format::ActivationUnit& u) {
          const uint32_t ahead = u.sequence - a2.sequence;
          return ahead >= 2 && ahead <= 4;
        },
        named);
    ASSERT_TRUE(torn) << "no such tear";
    std::copy(torn->begin(), torn->end(),
              flash.bytes().begin() + 3 * 1024 + kUnit);
    done = true;
    {  // the power-cut state alone: sector 2 is the newest
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      ASSERT_TRUE(test::MatchesShadow(kvs, shadow));
    }
    for (uint32_t s = 0; s < 3; ++s) {  // one retention error per data unit
      ASSERT_EQ(ActivationState(flash.bytes(), 1024, s),
                format::UnitState::kValid);
      flash.FlipBit(s * 1024 + kUnit + 1, 5);
    }
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow))
        << "cut " << cut << ": sector 2 holds " << slots2 << " slots (sequence "
        << a2.sequence << "), the torn unit corrects to sequence "
        << named.sequence << ", prev_slots " << named.prev_slots;
  }
  ASSERT_TRUE(done) << "no torn reclaim activation found";
}

// Format() on a store that was never mounted learns the ring from its own
// mount; when that mount failed before it found the newest sector (a header
// read that fails on both tries: INTERNAL), `active_` and `sequence_` kept
// whatever the object held (0 on a fresh one) and Format() erased from
// sector 1 on, whatever the ring. Here the newest sector is 1 (data in 3, 0
// and 1) and sector 2's header does not read during Format(): sector 1 went
// first, and a cut right after left sectors 3 and 0, whose older values read
// as OK. Format() now returns INTERNAL without erasing anything (bug 74).
// A flash whose reads of sector `sector`'s header units fail with `status`,
// `reads` times (-1: every time).
class HeaderReadFaultFlash : public RamFlash<1024, 4> {
 public:
  int sector = -1;
  int reads = 0;
  Status status = Status::Internal();

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override {
    if (reads != 0 && address / 1024 == static_cast<size_t>(sector) &&
        address % 1024 < 2 * kUnit) {
      if (reads > 0) --reads;
      return status;
    }
    return RamFlashBase::DoRead(address, out);
  }
};

// Fills a store until sector 1 holds the newest activation after the ring
// wrapped (data in sectors 3, 0 and 1), then runs Format() on a fresh store
// object while sector 2's header reads fail `reads` times with `status`,
// with a power cut at each point in turn: afterwards no key may read an
// older value.
void ExpectFormatAfterAFailedMountRevivesNothing(Status status, int reads) {
  int revived = 0;
  for (uint64_t cut = 0; cut < 40; ++cut) {
    HeaderReadFaultFlash flash;
    FlashPartition partition(flash);
    Shadow shadow;
    {
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int i = 0;; ++i) {
        ASSERT_LT(i, 2000);
        const Key k = i % 6;
        shadow[k] = MakeValue(40, i);
        ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
        format::ActivationUnit u0, u1;
        if (i > 100 && ErasedAt(flash.bytes(), 2 * 1024 + kUnit) &&
            format::DecodeActivationUnit(
                flash.bytes().subspan(kUnit).first<8>(), std::byte{0xFF}, u0) ==
                format::UnitState::kValid &&
            format::DecodeActivationUnit(
                flash.bytes().subspan(1024 + kUnit).first<8>(), std::byte{0xFF},
                u1) == format::UnitState::kValid &&
            u1.sequence > u0.sequence &&
            CountSlots(flash.bytes(), 1024, 1) > 3) {
          break;
        }
      }
    }
    {
      KeyValueStore<16> fresh(partition);
      flash.sector = 2;
      flash.reads = reads;
      flash.status = status;
      flash.CutPowerAt(cut, TearMode::kPrefix);
      fresh.Format().IgnoreError();
      flash.reads = 0;
      flash.ClearFaults();
      flash.PowerOn();
    }
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok()) << "cut " << cut;
    for (const auto& [k, v] : shadow) {
      std::string got;
      const StatusWithSize r = GetString(kvs, k, got);
      if (r.status().IsNotFound() || (r.ok() && got == v)) continue;
      ++revived;
      ADD_FAILURE() << "cut " << cut << ": key " << k << " reads "
                    << r.status().str() << (r.ok() ? " (an older value)" : "");
      break;
    }
  }
  EXPECT_EQ(revived, 0);
}

TEST(KvsHeaderFaultReview2Test, FormatAfterAFailedMountErasesTheNewestFirst) {
  ExpectFormatAfterAFailedMountRevivesNothing(Status::Internal(), -1);
}

// ---- from the third review (bugs 75-76) ----

// Bug 73's rule with a dead sector: sector 0 of three can neither be erased
// nor programmed, so it keeps an old activation (sequence K) and the store
// runs on sectors 1 and 2. With two usable sectors every activation retires
// the other one (its live entries copied into the new sector), so whenever
// sector 1 is the newest (sequence N, copies in it, prev_slots != 0) the
// only other unit on flash is the stale one in sector 0, right before it,
// with K < N - 1: the two newest units are separated by sequences that were
// used and then erased. With one retention error in each activation unit
// no unit reads cleanly, the rule finds sector 1 "not exactly one ahead" of
// sector 0 and mounted the stale sector 0: keys read older values as OK
// (the rule before bug 73, empty newest sector only, kept sector 1). The
// rule now also needs the sector before the newest to head a chain or to
// be the store's first (bug 76).
class DeadSector0Flash : public RamFlash<1024, 3> {
 public:
  bool dead = false;

 protected:
  Status DoProgram(size_t address, std::span<const std::byte> data) override {
    if (dead && address < 1024) return Status::Internal();
    return RamFlashBase::DoProgram(address, data);
  }
  Status DoErase(size_t first, size_t count) override {
    if (dead && first == 0 && count > 0) return Status::Internal();
    return RamFlashBase::DoErase(first, count);
  }
};

TEST(KvsHeaderFaultReview3Test, DeadSectorBeforeTheNewestWithFlips) {
  DeadSector0Flash flash;
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  Shadow shadow;
  int i = 0;
  const auto put = [&] {
    const Key k = static_cast<Key>(i % 4);
    shadow[k] = MakeValue(60, i++);
    return kvs.Put(k, Bytes(shadow[k]));
  };
  for (int n = 0; n < 60; ++n) ASSERT_EQ(put(), Status::Ok());
  flash.dead = true;
  int checked = 0;
  uint32_t last = 0;  // the newest sequence checked last
  for (int n = 0; n < 600 && checked < 3; ++n) {
    ASSERT_EQ(put(), Status::Ok()) << n;
    format::ActivationUnit a0, a1;
    if (format::DecodeActivationUnit(flash.bytes().subspan(kUnit).first<8>(),
                                     std::byte{0xFF},
                                     a0) != format::UnitState::kValid ||
        format::DecodeActivationUnit(
            flash.bytes().subspan(1024 + kUnit).first<8>(), std::byte{0xFF},
            a1) != format::UnitState::kValid ||
        !ErasedAt(flash.bytes(), 2 * 1024 + kUnit) || a1.prev_slots == 0 ||
        a1.sequence == a0.sequence + 1 || a1.sequence == last) {
      continue;
    }
    // Sector 0: stale (sequence K); sector 1: the newest (N > K + 1), with
    // slots; sector 2: free. Mount the image with one retention error in
    // each activation unit.
    ++checked;
    last = a1.sequence;
    RamFlash<1024, 3> copy;
    std::copy(flash.bytes().begin(), flash.bytes().end(), copy.bytes().begin());
    FlashPartition copy_partition(copy);
    {
      KeyValueStore<16> again(copy_partition);
      ASSERT_EQ(again.Init(), Status::Ok());
      ASSERT_TRUE(test::MatchesShadow(again, shadow)) << "clean units";
    }
    copy.FlipBit(kUnit + 1, 5);
    copy.FlipBit(1024 + kUnit + 1, 5);
    KeyValueStore<16> again(copy_partition);
    ASSERT_EQ(again.Init(), Status::Ok());
    EXPECT_TRUE(test::MatchesShadow(again, shadow))
        << "stale sector 0 (sequence " << a0.sequence
        << ") mounted instead of sector 1 (sequence " << a1.sequence
        << ", prev_slots " << a1.prev_slots << ")";
  }
  EXPECT_GT(checked, 0) << "never reached the state";
}

// Flash with ECC (porting.md: the driver returns DATA_LOSS for an
// uncorrectable ECC error on read): a program cut by a power loss leaves an
// ECC word that fails every read until its sector is erased. Here the word
// at `ecc_bad` (8 bytes) reads DATA_LOSS until its sector is erased.
template <size_t kSector>
class WordEccFlash : public RamFlash<kSector, 4> {
 public:
  static constexpr size_t kNone = ~size_t{0};
  explicit WordEccFlash(
      const RamFlashBase::Config& config = RamFlashBase::Config())
      : RamFlash<kSector, 4>(config) {}
  size_t ecc_bad = kNone;

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override {
    if (ecc_bad != kNone && address < ecc_bad + 8 &&
        ecc_bad < address + out.size()) {
      return Status::DataLoss();
    }
    return RamFlashBase::DoRead(address, out);
  }
  Status DoErase(size_t first, size_t count) override {
    const Status s = RamFlashBase::DoErase(first, count);
    if (s.ok() && ecc_bad != kNone && first <= ecc_bad / kSector &&
        ecc_bad / kSector < first + count) {
      ecc_bad = kNone;
    }
    return s;
  }
};
using EccFlash = WordEccFlash<1024>;

// Fills a 4-sector store until the ring has wrapped; returns the sector
// holding the newest activation.
uint32_t FillWrapped(RamFlash<1024, 4>& flash, FlashPartition& partition) {
  KeyValueStore<16> kvs(partition);
  EXPECT_EQ(kvs.Init(), Status::Ok());
  for (int i = 0; i < 120; ++i) {
    EXPECT_EQ(kvs.Put(static_cast<Key>(i % 6), Bytes(MakeValue(40, i))),
              Status::Ok());
  }
  uint32_t sequence;
  return test::NewestSector(flash.bytes(), 1024, 4, kUnit, sequence);
}

// Bug 74's fix returned INTERNAL from Format() for any INTERNAL of its own
// mount, also one from pass 2, after the newest sector was found (where
// erasing from the sector after it is the safe order, as for
// RESOURCE_EXHAUSTED). Here the first slot of the newest sector is an ECC
// word that does not read: Init() returned INTERNAL every time (bug 80),
// and so did Format(), for good. Format() now refuses only when its mount
// failed before it found the newest sector (bug 75), and since bug 80 the
// unreadable header is damage like any garbage header: Init() mounts, the
// keys of the slots behind it read DATA_LOSS, the others their values.
TEST(KvsHeaderFaultReview3Test, AnUnreadableSlotIsDamageAndFormatStartsOver) {
  EccFlash flash;
  FlashPartition partition(flash);
  const uint32_t newest = FillWrapped(flash, partition);
  ASSERT_FALSE(ErasedAt(flash.bytes(), newest * 1024 + 2 * kUnit));
  flash.ecc_bad = newest * 1024 + 2 * kUnit;  // slot 0's header
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    int lost = 0;
    for (Key k = 0; k < 6; ++k) {
      std::string got;
      const StatusWithSize r = test::GetString(kvs, k, got, 64);
      if (r.status().IsDataLoss()) {
        ++lost;
        continue;
      }
      ASSERT_EQ(r.status(), Status::Ok()) << "key " << k;
      EXPECT_EQ(got, MakeValue(40, 114 + k)) << "key " << k;
    }
    EXPECT_GT(lost, 0) << "the damaged sector's keys";
    EXPECT_EQ(kvs.Put(7, Bytes(MakeValue(40, 7))), Status::Ok());
  }
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  ASSERT_EQ(kvs.Format(), Status::Ok());
  KeyValueStore<16> again(partition);
  EXPECT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(again.size(), 0u);
}

// The same with the header: a reclaim's activation cut on flash with ECC
// leaves the free sector's activation unit unreadable until that sector is
// erased. Init() returned INTERNAL every time, and since bug 74's fix so
// did Format(): the store was stuck for good. Mount now takes a header
// that reads DATA_LOSS for garbage (a torn unit), so Init() mounts every
// key, the write that opens that sector erases it, and Format() works.
TEST(KvsHeaderFaultReview3Test, FormatAfterAnUnreadableActivationStartsOver) {
  EccFlash flash;
  FlashPartition partition(flash);
  const uint32_t newest = FillWrapped(flash, partition);
  const uint32_t free_sector = (newest + 1) % 4;
  ASSERT_TRUE(ErasedAt(flash.bytes(), free_sector * 1024 + kUnit));
  flash.ecc_bad = free_sector * 1024 + kUnit;  // its activation unit
  Shadow shadow;
  for (int i = 100; i < 120; ++i) shadow[i % 6] = MakeValue(40, i);
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    EXPECT_TRUE(test::MatchesShadow(kvs, shadow));
    for (int i = 0; flash.ecc_bad != EccFlash::kNone; ++i) {
      ASSERT_LT(i, 100) << "the sector was never erased";
      shadow[i % 6] = MakeValue(40, 500 + i);
      ASSERT_EQ(kvs.Put(i % 6, Bytes(shadow[i % 6])), Status::Ok());
    }
  }
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_TRUE(test::MatchesShadow(again, shadow));
  flash.ecc_bad = free_sector * 1024 + kUnit;
  EXPECT_EQ(again.Format(), Status::Ok());
}

// ---- from the fourth review (bugs 77-78) ----

// Bug 75's fix took a header read that returns DATA_LOSS for two garbage
// units, whichever ECC word failed: one read covers both units, so an
// uncorrectable error in either word (a retention error on flash with ECC,
// the analogue of bug 65's two flipped bits) dropped both. In a young store
// (every key in sector 0, no other activation) the format unit no longer
// counted as valid, so the "slot behind a garbled activation" rule (bug 65:
// DATA_LOSS, nothing written) never fired: mount took the partition for
// "formatted but never activated" and formatted it again. Each unit is now
// read alone after such a read, and only the one that fails counts as
// garbage (bug 77).
TEST(KvsHeaderFaultReview4Test, YoungStoreWithAnUnreadableHeaderWordIsKept) {
  for (const size_t word : {kUnit, size_t{0}}) {  // activation, format unit
    EccFlash flash;
    FlashPartition partition(flash);
    Shadow shadow;
    {
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int i = 0; i < 5; ++i) {
        shadow[i] = MakeValue(40, i);
        ASSERT_EQ(kvs.Put(i, Bytes(shadow[i])), Status::Ok());
      }
    }
    ASSERT_TRUE(ErasedAt(flash.bytes(), 1024 + kUnit)) << "young store";
    flash.ecc_bad = word;
    const std::vector<std::byte> before(flash.bytes().begin(),
                                        flash.bytes().end());
    KeyValueStore<16> kvs(partition);
    const Status init = kvs.Init();
    EXPECT_TRUE(std::equal(before.begin(), before.end(), flash.bytes().begin()))
        << "word " << word << ": Init() returned " << init.str()
        << " and erased the data";
    if (init.ok()) {
      EXPECT_TRUE(test::MatchesShadow(kvs, shadow))
          << "word " << word << ": Init() OK with " << kvs.size() << " keys";
    }
  }
}

// A power cut in the very first program that formatting a blank partition
// makes (sector 0's format unit) leaves, on flash with ECC, a word that
// reads DATA_LOSS until sector 0 is erased. Without ECC the torn unit is
// caught by the "only the first unit is not erased" rule and the partition
// is formatted. With ECC ReadUnits filled both units as garbage: sector 0's
// activation unit counted as kInvalid (not erased), the blank-partition
// rule no longer applied, and with no magic and no valid unit the
// partition was taken for foreign: Init() returned FAILED_PRECONDITION on
// every call (a power-cut-only state that never recovers). Fixed with bug
// 77: the activation unit reads alone, erased.
TEST(KvsHeaderFaultReview4Test, CutFirstFormatUnitOnEccFlashIsNotForeign) {
  bool reached = false;
  for (uint64_t cut = 0; cut < 5000 && !reached; ++cut) {
    EccFlash flash;
    FlashPartition partition(flash);
    {
      KeyValueStore<16> kvs(partition);
      flash.CutPowerAt(cut, TearMode::kPrefix);
      kvs.Init().IgnoreError();
      flash.ClearFaults();
      flash.PowerOn();
    }
    if (flash.counters().program_calls == 0) continue;  // cut before it
    reached = true;
    ASSERT_EQ(flash.counters().program_calls, 1u) << "cut " << cut;
    ASSERT_TRUE(std::all_of(flash.bytes().begin() + kUnit, flash.bytes().end(),
                            [](std::byte b) { return b == std::byte{0xFF}; }));
    flash.ecc_bad = 0;  // the torn format unit of sector 0
    for (int tries = 0; tries < 2; ++tries) {
      KeyValueStore<16> kvs(partition);
      EXPECT_EQ(kvs.Init(), Status::Ok()) << "try " << tries;
    }
  }
  EXPECT_TRUE(reached);
}

// Bug 74's fix (and bug 75's, which keys it on `data_sectors_ == 0`)
// refused Format() only when its own mount failed with INTERNAL. A header
// read that returns UNAVAILABLE (porting.md: a busy or timed-out device,
// "the caller may retry") also ends the mount before the newest sector is
// found (ReadUnits does not retry it), yet Format() went on and erased from
// the sector after whatever `active_` held (0 on a fresh object): here the
// newest sector 1 went first, and a power cut right after left sectors 3
// and 0, whose older values read as OK. Format() now returns UNAVAILABLE
// then too, and erases nothing (bug 78).
TEST(KvsHeaderFaultReview4Test, FormatAfterABusyMountErasesTheNewestFirst) {
  // One timed-out read, then the device answers.
  ExpectFormatAfterAFailedMountRevivesNothing(Status::Unavailable(), 1);
}

// ---- from the fifth review (of bugs 77-78; bug 79) ----

// Flash with ECC where a power cut interrupts an erase (porting.md, rule 4:
// the sector may be left "anywhere between its old contents and erased,
// including bits that read inconsistently"). Armed, the next erase of a
// sector that holds a valid activation is cut: the sector keeps its old
// bytes, its activation word and the word of its first slot read DATA_LOSS
// until it is erased, and every call fails with UNAVAILABLE until PowerOn.
class EccEraseCutFlash : public RamFlash<1024, 4> {
 public:
  bool arm = false;
  bool dead = false;
  std::vector<size_t> bad_words;  // 8-byte words that read DATA_LOSS

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override {
    if (dead) return Status::Unavailable();
    for (const size_t w : bad_words) {
      if (address < w + 8 && w < address + out.size()) {
        return Status::DataLoss();
      }
    }
    return RamFlashBase::DoRead(address, out);
  }
  Status DoProgram(size_t address, std::span<const std::byte> data) override {
    if (dead) return Status::Unavailable();
    return RamFlashBase::DoProgram(address, data);
  }
  Status DoErase(size_t first, size_t count) override {
    if (dead) return Status::Unavailable();
    format::ActivationUnit u;
    if (arm && count == 1 &&
        format::DecodeActivationUnit(
            bytes().subspan(first * 1024 + kUnit).first<8>(), std::byte{0xFF},
            u) == format::UnitState::kValid) {
      arm = false;
      dead = true;
      bad_words = {first * 1024 + kUnit, first * 1024 + 2 * kUnit};
      return Status::Unavailable();
    }
    const Status s = RamFlashBase::DoErase(first, count);
    if (s.ok()) {
      std::erase_if(bad_words, [&](size_t w) {
        return first <= w / 1024 && w / 1024 < first + count;
      });
    }
    return s;
  }
};

// Bug 77's fix reads each unit alone after a header read that returns
// DATA_LOSS. A reclaim's erase of the retired sector, cut on flash with
// ECC, can leave its format word readable (old contents) and its
// activation word and first slot unreadable. Before the fix both units
// counted as garbage; now the format unit counts as valid beside a garbage
// activation unit, so pass 1 asks whether a slot follows (bug 65's
// "garbled" check), that read of slot 0 returns DATA_LOSS, and mount fails
// with INTERNAL before it found the newest sector: every Init() failed,
// and Format() (which refuses for exactly that case) failed for good too.
// The retired sector holds nothing the store needs; a cut alone. A slot
// that reads DATA_LOSS now counts as written (bug 79).
TEST(KvsHeaderFaultReview5Test, CutEraseOfARetiredSectorOnEccFlashMounts) {
  EccEraseCutFlash flash;
  FlashPartition partition(flash);
  FillWrapped(flash, partition);
  Shadow shadow;
  for (int i = 114; i < 120; ++i) shadow[i % 6] = MakeValue(40, i);
  Key cut_key = 0;
  std::string cut_value;
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    flash.arm = true;
    for (int i = 200; !flash.dead; ++i) {
      ASSERT_LT(i, 400) << "no reclaim erased a retired sector";
      cut_key = static_cast<Key>(i % 6);
      cut_value = MakeValue(40, i);
      const Status put = kvs.Put(cut_key, Bytes(cut_value));
      if (flash.dead) break;
      ASSERT_EQ(put, Status::Ok());
      shadow[cut_key] = cut_value;
    }
  }
  flash.dead = false;  // power back on
  ASSERT_EQ(flash.bad_words.size(), 2u);
  for (int tries = 0; tries < 2; ++tries) {
    KeyValueStore<16> kvs(partition);
    const Status init = kvs.Init();
    EXPECT_EQ(init, Status::Ok()) << "try " << tries;
    if (!init.ok()) continue;
    for (const auto& [k, v] : shadow) {
      std::string got;
      ASSERT_TRUE(GetString(kvs, k, got).ok()) << "key " << k;
      EXPECT_TRUE(got == v || (k == cut_key && got == cut_value))
          << "key " << k;
    }
  }
  KeyValueStore<16> kvs(partition);
  Status formatted = Status::Internal();
  for (int tries = 0; tries < 5 && !formatted.ok(); ++tries) {
    formatted = kvs.Format();
  }
  EXPECT_EQ(formatted, Status::Ok()) << "Format() never recovers";
}

// Found with the fifth review: a copy into the free sector cut by a power
// loss leaves, on flash with ECC, a word that reads DATA_LOSS until that
// sector is erased. The check that a sector is erased before it is used
// failed every write that opened it with INTERNAL, until Format(). Bytes
// that do not read now count as not erased, so the sector is erased first
// (bug 79).
TEST(KvsHeaderFaultReview5Test, UnreadableWordInTheFreeSectorIsErased) {
  EccFlash flash;
  FlashPartition partition(flash);
  const uint32_t newest = FillWrapped(flash, partition);
  const uint32_t free_sector = (newest + 1) % 4;
  const size_t slot0 = free_sector * 1024 + 2 * kUnit;
  ASSERT_TRUE(ErasedAt(flash.bytes(), slot0));
  const std::array<std::byte, 8> copy{std::byte{0x12}, std::byte{0x34}};
  ASSERT_EQ(flash.Program(slot0, copy), Status::Ok());
  flash.ecc_bad = slot0;
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  Shadow shadow;
  for (int i = 114; i < 120; ++i) shadow[i % 6] = MakeValue(40, i);
  ASSERT_TRUE(test::MatchesShadow(kvs, shadow));
  for (int i = 0; flash.ecc_bad != EccFlash::kNone; ++i) {
    ASSERT_LT(i, 100) << "the free sector was never erased";
    shadow[i % 6] = MakeValue(40, 700 + i);
    ASSERT_EQ(kvs.Put(i % 6, Bytes(shadow[i % 6])), Status::Ok()) << i;
  }
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_TRUE(test::MatchesShadow(again, shadow));
}

// Bug 81: on flash with ECC, a committed value whose word stops reading (a
// retention error) reads DATA_LOSS, as it should; but the reclaim that
// had to move it failed with INTERNAL, every time, so the store took no
// more writes. The copy now leaves the unreadable bytes erased: it fails
// its checksum as the original did, and the key still reads DATA_LOSS.
TEST(KvsEccTest, AnUnreadableValueDoesNotStopReclaims) {
  EccFlash flash;
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  ASSERT_EQ(kvs.Put(100, Bytes(MakeValue(40, 1))), Status::Ok());
  uint32_t sequence;
  const uint32_t sector =
      test::NewestSector(flash.bytes(), 1024, 4, kUnit, sequence);
  flash.ecc_bad = sector * 1024 + 1024 - 24;  // inside the value's 40 bytes
  std::string got;
  ASSERT_EQ(test::GetString(kvs, 100, got, 64).status(), Status::DataLoss());
  test::Shadow shadow;
  for (int i = 0; i < 200; ++i) {
    const Key key = static_cast<Key>(i % 5);
    shadow[key] = MakeValue(40, i);
    ASSERT_EQ(kvs.Put(key, Bytes(shadow[key])), Status::Ok()) << "put " << i;
  }
  ASSERT_EQ(flash.ecc_bad, EccFlash::kNone) << "its sector was never reclaimed";
  EXPECT_EQ(test::GetString(kvs, 100, got, 64).status(), Status::DataLoss());
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(again.size(), shadow.size() + 1);
  for (const auto& [key, value] : shadow) {
    ASSERT_EQ(test::GetString(again, key, got, 64).status(), Status::Ok());
    EXPECT_EQ(got, value) << "key " << key;
  }
  EXPECT_EQ(test::GetString(again, 100, got, 64).status(), Status::DataLoss());
}

// ---- from the review of the ECC mode (bugs 83, 84) ----

RamFlashBase::Config EccConfig(size_t alignment) {
  RamFlashBase::Config config;
  config.alignment = alignment;
  config.ecc = true;
  return config;
}

// Options::format_if_unusable replaces a foreign image: every sector is
// erased first (bug 36), then formatted. On flash with ECC a power cut in
// the erase of the last sector, with a prefix of it erased past the header
// units, leaves every header unit of the partition erased and one word of
// the old content in that sector that reads DATA_LOSS until it is erased.
// The next mount takes the partition for "every header unit erased" and
// asks whether the rest is erased too: IsErased() returns DATA_LOSS, which
// mount turns into INTERNAL, every time. Format() refuses too (its mount
// failed before it found a newest sector, bug 74), so nothing but an
// outside erase brought the partition back (bug 83). Without ECC the same
// cut reads as "not blank", and the replacement is simply done again; with
// ECC, bytes that do not read now count as not blank too.
TEST(KvsEccReviewTest, ReplacementCutInTheLastEraseStillMounts) {
  Options replace;
  replace.format_if_unusable = true;
  int hit = 0;
  for (uint64_t cut = 0; cut < 12; ++cut) {
    RamFlash<1024, 4> flash(EccConfig(8));
    FlashPartition partition(flash);
    // Foreign content (not a cairn image): every byte 0x5A.
    std::fill(flash.bytes().begin(), flash.bytes().end(), std::byte{0x5A});
    flash.Reseed(cut + 1);
    flash.CutPowerAt(cut, TearMode::kPrefix);
    uint64_t erases_before = 0;
    {
      KeyValueStore<8> kvs(partition, replace);
      kvs.Init().IgnoreError();
      erases_before = flash.counters().erase_calls;
    }
    flash.PowerOn();
    flash.ClearFaults();
    // Only the cuts in the erase of the last sector are the case here.
    const bool last_erase_cut =
        erases_before == 4 && flash.counters().sector_erases == 3;
    if (!last_erase_cut) continue;
    ++hit;
    KeyValueStore<8> kvs(partition, replace);
    const Status init = kvs.Init();
    EXPECT_EQ(init, Status::Ok()) << "cut " << cut;
    if (!init.ok()) {
      KeyValueStore<8> plain(partition);
      EXPECT_EQ(plain.Format(), Status::Ok())
          << "cut " << cut << ": Format() does not recover it either";
    }
  }
  EXPECT_GT(hit, 0);
}

// ---- from the second review of the ECC mode (bugs 85-87) ----

// A 4 x 16 KiB flash (extended values) whose unit at `ecc_bad` (alignment 8)
// reads DATA_LOSS until its sector is erased: an uncorrectable ECC error in
// a committed value (a retention error).
struct BigEccFlash : WordEccFlash<16384> {
  BigEccFlash() : WordEccFlash<16384>(EccConfig(8)) {}
};

// An extended value (9,000 bytes: a value region of 9,008 bytes, its size
// word in the last 8) with an ECC error in its last value word, the word
// right before the size word. Mount reads only the size word, so the sector
// scans fine and only that key reads DATA_LOSS. The reclaim that retires
// the sector copies the value in 256-byte chunks (kCopyChunk), and
// CopyValue fills a whole chunk that does not read with erased bytes: the
// last chunk (48 bytes here) holds the bad word and the size word, so the
// copy's size word is erased. The copy's header no longer decodes to a region
// (ReadSlot: invalid size word): the index update after the activation
// (ApplyRun) fails, the Put that ran the reclaim returns DATA_LOSS, and the
// remount takes that slot for damage, so every slot after it in its sector is
// lost: here key 4, copied right after key 1 into the new sector, read
// DATA_LOSS for good (keys 2 and 3 went into the old active sector). Bug 85:
// the copy now leaves only the units that do not read erased.
TEST(KvsEcc2ReviewTest, UnreadableEndOfAnExtendedValueDoesNotCostOtherKeys) {
  BigEccFlash flash;
  FlashPartition partition(flash);
  Shadow shadow;
  {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(kvs.Put(1, Bytes(MakeValue(9000, 1))), Status::Ok());
    for (Key k = 2; k <= 4; ++k) {
      shadow[k] = MakeValue(40, k);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    }
  }
  // Key 1 is the first entry of sector 0: its region is the sector's last
  // 9,008 bytes; its last value word is 16 bytes before the sector's end.
  flash.ecc_bad = 16384 - 16;
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  std::string got;
  ASSERT_EQ(GetString(kvs, 1, got).status(), Status::DataLoss());
  for (int i = 0; flash.ecc_bad != BigEccFlash::kNone; ++i) {
    ASSERT_LT(i, 3000) << "sector 0 was never reclaimed";
    const Key k = static_cast<Key>(10 + i % 6);
    const std::string v = MakeValue(200, 100 + i);
    const Status put = kvs.Put(k, Bytes(v));
    // The reclaim itself may fail here (its copies do not read back).
    EXPECT_EQ(put, Status::Ok()) << "put " << i;
    if (put.ok()) shadow[k] = v;
  }
  // A few more writes land after the copies.
  for (int i = 0; i < 6; ++i) {
    const Key k = static_cast<Key>(10 + i);
    shadow[k] = MakeValue(200, 5000 + i);
    ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok()) << "put " << i;
  }
  KeyValueStore<16> again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(GetString(again, 1, got).status(), Status::DataLoss());
  for (const auto& [key, value] : shadow) {
    const Status s = GetString(again, key, got).status();
    EXPECT_EQ(s, Status::Ok()) << "key " << key;
    if (s.ok()) {
      EXPECT_EQ(got, value) << "key " << key;
    }
  }
}

// A one-off DATA_LOSS from the driver during a mount (the read fails once,
// the next read of the same bytes succeeds). Before bug 80's fix every such
// failure made Init() return INTERNAL, and the next Init() read the store
// as it is. After it, mount kept DATA_LOSS from the reads of stored bytes
// and tried none of them again (bug 87, fixed as bug 86): on the size word of
// an extended entry in an older sector the slot is damage, so every key after
// it in that sector is marked lost (and a reclaim then writes lost markers for
// them); on the value or tail byte of the active sector's last entry, an
// acknowledged write is taken for a torn one and the sector is closed behind
// the older value. Init() must return INTERNAL or mount the store as it is;
// either way, after a write and a clean remount every key must read its value.
TEST(KvsEcc2ReviewTest, OneOffDataLossDuringMountLosesNothing) {
  const auto build = [](FlashPartition& partition, Shadow& shadow) {
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    int i = 0;
    auto put = [&](Key k, size_t size) {
      shadow[k] = MakeValue(size, 7 * k + i++);
      ASSERT_EQ(kvs.Put(k, Bytes(shadow[k])), Status::Ok());
    };
    // Sector 0: an extended value, then three small keys after it.
    put(1, 9000);
    for (Key k = 2; k <= 4; ++k) put(k, 40);
    put(5, 9000);  // does not fit: opens sector 1
    for (int n = 0; n < 4; ++n) put(static_cast<Key>(6 + n % 2), 100);
  };
  uint64_t reads = 0;
  {
    RamFlash<16384, 4> flash(EccConfig(8));
    FlashPartition partition(flash);
    Shadow shadow;
    build(partition, shadow);
    flash.ResetCounters();
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_TRUE(test::MatchesShadow(kvs, shadow));
    reads = flash.counters().read_calls;
  }
  int failures = 0;
  for (uint64_t n = 0; n < reads; ++n) {
    RamFlash<16384, 4> flash(EccConfig(8));
    FlashPartition partition(flash);
    Shadow shadow;
    build(partition, shadow);
    {
      KeyValueStore<16> kvs(partition);
      flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n),
                     Status::DataLoss());
      const Status init = kvs.Init();
      flash.ClearFaults();
      EXPECT_TRUE(init.ok() || init.IsInternal()) << init.str();
      if (init.ok()) {
        const auto now = test::MatchesShadow(kvs, shadow);
        if (!now && failures < 3) {
          ADD_FAILURE() << "read " << n
                        << ", right after Init: " << now.message();
        }
        shadow[20] = "twenty";
        const Status put = kvs.Put(20, Bytes(shadow[20]));
        EXPECT_EQ(put, Status::Ok()) << "read " << n;
        if (!put.ok()) shadow.erase(20);
        EXPECT_EQ(kvs.FullMaintenance(), Status::Ok()) << "read " << n;
      }
    }
    KeyValueStore<16> again(partition);
    ASSERT_EQ(again.Init(), Status::Ok()) << "read " << n;
    const auto match = test::MatchesShadow(again, shadow);
    if (!match && failures++ < 3) {
      ADD_FAILURE() << "read " << n
                    << ", after a write and a remount: " << match.message();
    }
  }
  EXPECT_EQ(failures, 0) << "of " << reads << " reads";
}

// ---- from the third review of the ECC mode (bugs 89-91) ----

// A one-off INTERNAL from the driver (a read that fails once, the next read
// of the same bytes succeeds) during a format: the first Init() of a blank
// partition, or Format() of a mounted store. FormatAll() writes each
// sector's format unit with WriteFormat(), whose read-back (ProgramVerified,
// through ReadAt) returns INTERNAL for the failed read; FormatAll() takes
// every failure other than UNAVAILABLE for a failed erase or program and
// calls MarkBad(): a healthy sector is marked bad on flash, and every later
// mount skips it (a quarter of this store's room) until the next Format()
// (bug 89). A read failure says nothing about the program (AsReadFailure):
// the format must fail with INTERNAL or succeed, with no sector marked bad.
TEST(KvsEcc3ReviewTest, OneOffReadFailureDuringFormatMarksNoSectorBad) {
  for (const bool ecc : {true, false}) {
    for (const bool blank : {true, false}) {
      // Reads of the operation without a fault.
      uint64_t reads = 0;
      {
        RamFlash<1024, 4> flash(EccConfig(8));
        FlashPartition partition(flash);
        KeyValueStore<16> kvs(partition);
        if (!blank) {
          ASSERT_EQ(kvs.Init(), Status::Ok());
        }
        flash.ResetCounters();
        ASSERT_EQ(blank ? kvs.Init() : kvs.Format(), Status::Ok());
        reads = flash.counters().read_calls;
      }
      for (uint64_t n = 0; n < reads; ++n) {
        RamFlashBase::Config config = EccConfig(8);
        config.ecc = ecc;
        RamFlash<1024, 4> flash(config);
        FlashPartition partition(flash);
        KeyValueStore<16> kvs(partition);
        if (!blank) {
          ASSERT_EQ(kvs.Init(), Status::Ok());
          ASSERT_EQ(kvs.Put(1, Bytes("one")), Status::Ok());
        }
        flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n),
                       Status::Internal());
        const Status s = blank ? kvs.Init() : kvs.Format();
        flash.ClearFaults();
        const std::string where = std::string(blank ? "Init" : "Format") +
                                  (ecc ? " (ECC)" : "") + ", read " +
                                  std::to_string(n);
        EXPECT_TRUE(s.ok() || s.IsInternal()) << where << ": " << s.str();
        EXPECT_EQ(kvs.GetStats().bad_sectors, 0u) << where;
        KeyValueStore<16> again(partition);
        ASSERT_EQ(again.Init(), Status::Ok()) << where;
        EXPECT_EQ(again.GetStats().bad_sectors, 0u)
            << where << ": a healthy sector stays marked bad";
      }
    }
  }
}

// With Options::copies = 2, a key whose newest copy has an ECC word that
// does not read (a retention error: DATA_LOSS on every read until the
// sector is erased) still reads its older copy, and a reclaim carries that
// good copy forward (CopyEntry -> ReadGoodCopy). But ReadGoodCopy gives up
// on the older copy whenever ReadEntry() of it fails, and a one-off INTERNAL
// from the driver while reading the older copy's header makes ReadEntry
// fail: ReadGoodCopy returns the newest copy's DATA_LOSS, CopyEntry takes
// that for "no good copy" and copies the damaged copy forward twice, and the
// reclaim erases the sector with the good copy. The key reads DATA_LOSS for
// good, from one failed read (and NOT_FOUND after a remount here, as the
// damaged copies are the last entry of the active sector: see
// UnreadableValueCopiedLastStillReadsDataLoss). A failed read says nothing
// about the older copy: the reclaim must fail (INTERNAL) or carry the good
// copy (bug 90).
TEST(KvsEcc3ReviewTest, OneOffReadFailureInAReclaimNeverDropsTheGoodCopy) {
  Options options;
  options.copies = 2;
  options.reclaim_on_put = false;
  const std::string one = MakeValue(40, 1);
  const auto build = [&](EccFlash& flash, KeyValueStore<16>& kvs) {
    ASSERT_EQ(kvs.Init(), Status::Ok());
    // Key 1 first: copies in slots 0 and 1 of sector 0; the newest copy's
    // value is the second region from the sector's end.
    ASSERT_EQ(kvs.Put(1, Bytes(one)), Status::Ok());
    for (int i = 0;; ++i) {
      ASSERT_LT(i, 200);
      const Status put =
          kvs.Put(static_cast<Key>(2 + i % 4), Bytes(MakeValue(40, 100 + i)));
      if (put.IsResourceExhausted()) break;
      ASSERT_EQ(put, Status::Ok());
    }
    flash.ecc_bad = 1024 - 80;  // the newest copy's first value word
    std::string got;
    ASSERT_EQ(GetString(kvs, 1, got).status(), Status::Ok());
    ASSERT_EQ(got, one);
  };
  uint64_t reads = 0;
  {
    EccFlash flash;
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition, options);
    build(flash, kvs);
    flash.ResetCounters();
    ASSERT_EQ(kvs.ReclaimOne(), Status::Ok());
    ASSERT_EQ(flash.ecc_bad, EccFlash::kNone) << "sector 0 not reclaimed";
    reads = flash.counters().read_calls;
  }
  int failures = 0;
  for (uint64_t n = 0; n < reads; ++n) {
    EccFlash flash;
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition, options);
    build(flash, kvs);
    flash.FailNext(FlashOp::kRead, static_cast<uint32_t>(n),
                   Status::Internal());
    const Status reclaim = kvs.ReclaimOne();
    flash.ClearFaults();
    EXPECT_TRUE(reclaim.ok() || reclaim.IsInternal()) << reclaim.str();
    // The store that ran the reclaim, then a remount.
    std::string got;
    const Status now = GetString(kvs, 1, got).status();
    const bool now_ok = now.ok() && got == one;
    KeyValueStore<16> again(partition, options);
    ASSERT_EQ(again.Init(), Status::Ok()) << "read " << n;
    const Status later = GetString(again, 1, got).status();
    if ((!now_ok || !later.ok() || got != one) && failures++ < 3) {
      ADD_FAILURE() << "read " << n << " (reclaim " << reclaim.str()
                    << "): key 1 reads " << now.str() << " right after it, "
                    << later.str() << " after a remount";
    }
  }
  EXPECT_EQ(failures, 0) << "of " << reads << " reads";
}

// Key 1 first (slot 0 of sector 0, its value the sector's last 40 bytes),
// then other keys until the ring is full; `damage` harms key 1's value,
// which then reads DATA_LOSS. A reclaim of sector 0 copies key 1 last into
// the sector that becomes active: after it, and after a remount, key 1
// still reads DATA_LOSS and every other key its value.
void ExpectDamagedValueCopiedLastReadsDataLoss(
    RamFlash<1024, 4>& flash, const std::function<void()>& damage) {
  FlashPartition partition(flash);
  Options options;
  options.reclaim_on_put = false;
  KeyValueStore<16> kvs(partition, options);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  ASSERT_EQ(kvs.Put(1, Bytes(MakeValue(40, 1))), Status::Ok());
  Shadow shadow;
  for (int i = 0;; ++i) {
    ASSERT_LT(i, 200);
    const Key k = static_cast<Key>(2 + i % 4);
    const std::string v = MakeValue(40, 100 + i);
    const Status put = kvs.Put(k, Bytes(v));
    if (put.IsResourceExhausted()) break;
    ASSERT_EQ(put, Status::Ok());
    shadow[k] = v;
  }
  damage();
  std::string got;
  ASSERT_EQ(GetString(kvs, 1, got).status(), Status::DataLoss());
  ASSERT_EQ(kvs.ReclaimOne(), Status::Ok());
  ASSERT_EQ(test::ScanSlots(partition, flash.bytes(), 0).size(), 0u)
      << "sector 0 was not reclaimed";
  EXPECT_EQ(GetString(kvs, 1, got).status(), Status::DataLoss());
  KeyValueStore<16> again(partition, options);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(GetString(again, 1, got).status(), Status::DataLoss())
      << "the damaged key vanished at the remount";
  for (const auto& [key, value] : shadow) {
    ASSERT_EQ(GetString(again, key, got).status(), Status::Ok()) << key;
    EXPECT_EQ(got, value) << "key " << key;
  }
}

// Bug 81's fix copies a value whose ECC word does not read with that word
// left erased, "so it fails its checksum as the original did and the key
// still reads DATA_LOSS". But when the reclaim's copy is the last entry of
// the sector that becomes active (here the only live entry of the retired
// sector, copied into the new one), the next mount holds that last entry to
// its checksum (ScanSector: the active sector's last slot counts only if
// its value checks), takes the failed checksum for a torn write and rolls
// it back, and the original is gone with its erased sector: the key reads
// NOT_FOUND, as if it had never been written, from a single ECC error and
// no power cut (bug 91: such a copy is now sealed).
TEST(KvsEcc3ReviewTest, UnreadableValueCopiedLastStillReadsDataLoss) {
  EccFlash flash;
  // Key 1's first value word stops reading.
  ExpectDamagedValueCopiedLastReadsDataLoss(
      flash, [&flash] { flash.ecc_bad = 1024 - 40; });
}

// ---- from the fourth review of the ECC mode (bugs 93, 94) ----

// Bug 91's fix seals a reclaim copy only when some of its units did not
// read (CopyValue: DATA_LOSS left erased). A value that reads cleanly but
// fails its checksum (a retention error that flipped a bit, or on flash
// with ECC the erased word an earlier reclaim left for a word that did not
// read) is copied byte for byte with its own, non-erased tail byte, so no
// seal follows it. Copied last into the sector that becomes active, it is
// the active sector's last entry, and the next mount holds that entry to
// its checksum (ScanSector), takes the failed checksum for a torn write and
// rolls it back; the original went with the retired sector: the key reads
// NOT_FOUND instead of DATA_LOSS after a plain reboot, as if it had never
// been written (bug 93: the copy now checks the value's checksum on the
// bytes it copies, and seals a copy that fails it).
TEST(KvsEcc4ReviewTest, DamagedButReadableValueCopiedLastStillReadsDataLoss) {
  RamFlash<1024, 4> flash;
  // A retention error in key 1's value.
  ExpectDamagedValueCopiedLastReadsDataLoss(
      flash, [&flash] { flash.FlipBit(1024 - 40 + 3, 5); });
}

// A sector whose erase always fails (worn out) and a one-off failed
// program. When the retire of a full ring cannot recycle its victim (here
// sector 0, whose erase fails), ActivateOrRemount() marks the victim bad and
// calls FreeOldest() to make a free sector again. FreeOldest() recycles the
// oldest data sector once and marks it bad on any failure but UNAVAILABLE
// and INTERNAL: a single failed program of its format unit (a glitch that
// ActivateOrRemount gives a second chance everywhere else: the victim's
// Recycle() is tried twice, a new sector is erased again before it is
// condemned) marks a healthy sector bad on flash for good, and the store
// loses a second sector of room (bug 94). A one-off failure must not condemn
// a sector.
class WornSectorFlash : public RamFlash<1024, 5> {
 public:
  uint32_t worn = 99;  // this sector's erases fail

 protected:
  Status DoErase(size_t first, size_t count) override {
    if (first <= worn && worn < first + count) return Status::DataLoss();
    return RamFlashBase::DoErase(first, count);
  }
};

TEST(KvsEcc4ReviewTest, OneOffProgramFailureInFreeOldestMarksNoSectorBad) {
  const auto value = [](int i) {
    return MakeValue(20 + (i * 7) % 50, 1000 + i);
  };
  const auto key = [](int i) { return static_cast<Key>(1 + i % 5); };
  int failures = 0;
  for (int p = 50; p < 120; ++p) {
    for (uint32_t n = 0; n < 40; ++n) {
      WornSectorFlash flash;
      FlashPartition partition(flash);
      KeyValueStore<16> kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok());
      for (int i = 0; i < p; ++i) {
        if (i == 50) flash.worn = 0;
        ASSERT_EQ(kvs.Put(key(i), Bytes(value(i))), Status::Ok()) << i;
      }
      const size_t bad_before = kvs.GetStats().bad_sectors;
      flash.ResetCounters();
      flash.FailNext(FlashOp::kProgram, n, Status::DataLoss());
      kvs.Put(key(p), Bytes(value(p))).IgnoreError();
      const bool fired = flash.counters().program_calls > n;
      flash.ClearFaults();
      if (!fired) break;
      // Sector 0 may be marked bad (its erase does fail); no other.
      const size_t bad = kvs.GetStats().bad_sectors;
      KeyValueStore<16> again(partition);
      ASSERT_EQ(again.Init(), Status::Ok());
      bool healthy_marked = bad > 1;
      for (uint32_t sec = 1; sec < 5; ++sec) {
        healthy_marked |=
            std::all_of(flash.bytes().begin() + sec * 1024,
                        flash.bytes().begin() + sec * 1024 + 8,
                        [](std::byte b) { return b == std::byte{0}; });
      }
      if (healthy_marked && failures++ < 3) {
        ADD_FAILURE() << "put " << p << ", program " << n << ": " << bad_before
                      << " bad before, " << bad
                      << " after; a healthy sector is marked bad on flash";
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace cairn::kvs
