// Header-unit faults (flipped bits in activation units, torn activations,
// large rings) that must never make Init() return OK with keys missing or
// older, nor reformat a partition that held data. Found by the ninth
// session's review; the store does not handle them yet, so the tests are
// disabled: docs/reliability.md ("Known issues") describes each. Remove the
// DISABLED_ prefix of a test with the fix that makes it pass.
#include <algorithm>
#include <array>
#include <cstdint>
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

// A young store (all data in sector 0) whose activation unit has two
// flipped bits (beyond one-bit repair). Nothing else is wrong, yet Init()
// finds no activation at all, takes the partition for "formatted but never
// activated" and formats it again: OK, every key NOT_FOUND, and the data
// erased for good. The promise: never a silently empty store (the keys may
// read DATA_LOSS, or Init may refuse, but the data must not be wiped).
TEST(KvsHeaderFaultTest,
     DISABLED_YoungStoreWithTwoFlipsInItsActivationIsNotReformatted) {
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  Shadow shadow;
  ASSERT_TRUE(test::WriteRotating(partition, shadow, 5, 1, 5, 40, 1));
  ASSERT_EQ(flash.bytes()[1024 + kUnit], std::byte{0xFF}) << "young store";
  const uint16_t slots = CountSlots(flash.bytes(), 1024, 0);
  ASSERT_GE(slots, 5u);
  flash.FlipBit(kUnit + 0, 3);  // two retention errors in the unit
  flash.FlipBit(kUnit + 5, 6);

  KeyValueStore<16> kvs(partition);
  const Status init = kvs.Init();
  // Whatever Init decides, the slots that held the data are still there.
  EXPECT_EQ(CountSlots(flash.bytes(), 1024, 0), slots)
      << "Init erased the only data sector (Init returned " << init.str()
      << ")";
  if (init.ok()) {
    for (const auto& [key, value] : shadow) {
      std::string got;
      const StatusWithSize r = GetString(kvs, key, got);
      EXPECT_FALSE(r.ok() && got != value) << "key " << key << ": wrong bytes";
      EXPECT_NE(r.status(), Status::NotFound())
          << "key " << key << " silently gone after Init() returned OK";
    }
  }
}

// A young store whose only data sector's activation unit has one flipped
// bit (bug 38's case, repaired on its own), and then a power cut tears the
// activation of sector 1 (the sector being opened; nothing committed). The
// torn unit is invalid, but one bit away from a valid unit naming the next
// sequence with a wrong slot count (or a sequence further ahead). With a
// clean sector 0, bug 4/39's rule drops such a corrected unit; with sector
// 0 corrected too, bug 63's rule takes the newest corrected unit, and bug
// 22's rule cannot vouch against it (no chain behind sector 0). Two faults:
// a retention error and a torn activation (a random-bit tear that one
// correction turns valid: about 48 tears in 65,536, far more than the
// known CRC-pass issue).
TEST(KvsHeaderFaultTest,
     DISABLED_TornActivationAfterAFlippedYoungSectorIsNotTrusted) {
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
    std::vector<int> zeros;
    for (int bit = 32; bit < 64; ++bit) {
      if (bit / 8 == 5) continue;
      if (((std::to_integer<unsigned>(target[bit / 8]) >> (bit % 8)) & 1) ==
          0) {
        zeros.push_back(bit);
      }
    }
    std::optional<std::array<std::byte, 8>> torn;
    format::ActivationUnit named;
    for (uint32_t m = 1; !torn && m < (1u << zeros.size()); ++m) {
      std::array<std::byte, 8> t = target;
      for (size_t i = 0; i < zeros.size(); ++i) {
        if ((m >> i) & 1) t[zeros[i] / 8] |= std::byte(1 << (zeros[i] % 8));
      }
      format::ActivationUnit u;
      if (format::DecodeActivationUnit(t, std::byte{0xFF}, u) !=
          format::UnitState::kInvalid) {
        continue;  // a tear that passes outright is the known issue
      }
      for (int bit = 0; bit < 64; ++bit) {  // the store's correction order
        std::array<std::byte, 8> c = t;
        c[bit / 8] ^= std::byte(1 << (bit % 8));
        if (format::DecodeActivationUnit(c, std::byte{0xFF}, u) ==
            format::UnitState::kValid) {
          if (u.prev_slots <= (1024 - 16) / kUnit && u.sequence > a0.sequence &&
              (u.sequence != a0.sequence + 1 || u.prev_slots != slots)) {
            torn = t;
            named = u;
          }
          break;
        }
      }
    }
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

// Bug 63 past the first 64 sectors: a ring of 70 sectors whose data lies in
// sectors 0..65, every activation unit with one flipped bit. Mount corrects
// activation units in pass 1 only for sectors 0..63, so the newest
// corrected unit it takes is sector 63's; sectors 64 and 65 (corrected
// later, in SectorFacts) name sequences above it and are dropped: their
// entries are lost and the keys read older values as OK.
TEST(KvsHeaderFaultTest, DISABLED_EveryDataSectorCorrectedInARingOfMoreThan64) {
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
}

}  // namespace
}  // namespace cairn::kvs
