#include "cairn/flash/ram_flash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <set>
#include <vector>

namespace cairn {

// Readable failure messages (found by argument-dependent lookup).
[[maybe_unused]] static void PrintTo(Status status, std::ostream* os) {
  *os << status.str();
}

namespace {

using Bytes = std::vector<std::byte>;
using Config = RamFlashBase::Config;

constexpr size_t kSector = 256;
constexpr size_t kSectors = 4;
using Flash = RamFlash<kSector, kSectors>;

Bytes Fill(size_t n, uint8_t value) { return Bytes(n, std::byte{value}); }

Bytes Pattern(size_t n, uint64_t seed) {
  Bytes out(n);
  uint64_t x = seed | 1;
  for (std::byte& b : out) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b = std::byte{static_cast<uint8_t>((x * 0x2545F4914F6CDD1DULL) >> 56)};
  }
  return out;
}

Config MakeConfig(size_t alignment, uint8_t erased = 0xFF,
                  bool allow_reprogram = false, uint64_t seed = 1) {
  Config config;
  config.alignment = alignment;
  config.erased_value = std::byte{erased};
  config.allow_reprogram = allow_reprogram;
  config.seed = seed;
  return config;
}

Bytes ReadBack(FlashMemory& flash, size_t address, size_t n) {
  Bytes out(n);
  EXPECT_EQ(flash.Read(address, out), Status::Ok());
  return out;
}

Bytes Snapshot(const RamFlashBase& flash) {
  return Bytes(flash.bytes().begin(), flash.bytes().end());
}

// A RamFlashBase on std::vector storage, for geometries chosen at run time.
struct VectorFlash {
  VectorFlash(size_t sector_size, size_t sector_count, const Config& config)
      : storage(sector_size * sector_count),
        programmed((storage.size() + 7) / 8),
        sector_erases(sector_count),
        lifetime(sector_count),
        flash(sector_size, sector_count, config, storage, programmed,
              sector_erases, lifetime) {}
  Bytes storage;
  std::vector<uint8_t> programmed;
  std::vector<uint32_t> sector_erases;
  std::vector<uint32_t> lifetime;
  RamFlashBase flash;
};

// ------------------------------------------------------------ NOR rules

TEST(RamFlash, StartsErasedWithEitherErasedValue) {
  for (uint8_t erased : {0xFF, 0x00}) {
    Flash flash(MakeConfig(4, erased));
    EXPECT_EQ(flash.erased_value(), std::byte{erased});
    EXPECT_EQ(flash.sector_size(), kSector);
    EXPECT_EQ(flash.sector_count(), kSectors);
    EXPECT_EQ(flash.size_bytes(), kSector * kSectors);
    EXPECT_EQ(flash.alignment(), 4u);
    EXPECT_EQ(ReadBack(flash, 0, flash.size_bytes()),
              Fill(flash.size_bytes(), erased));
  }
}

TEST(RamFlash, ProgramReadRoundTrip) {
  Flash flash;
  const Bytes data = Pattern(64, 7);
  ASSERT_EQ(flash.Program(128, data), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 128, 64), data);
  EXPECT_EQ(ReadBack(flash, 0, 128), Fill(128, 0xFF));
  // Unaligned reads are fine.
  EXPECT_EQ(ReadBack(flash, 129, 3), Bytes(data.begin() + 1, data.begin() + 4));
}

TEST(RamFlash, ProgramMayOnlyClearBitsWhenErasedIsFF) {
  Flash flash(MakeConfig(1, 0xFF, /*allow_reprogram=*/true));
  ASSERT_EQ(flash.Program(0, Fill(1, 0xF0)), Status::Ok());
  EXPECT_EQ(flash.Program(0, Fill(1, 0x30)), Status::Ok());  // clears more
  EXPECT_EQ(ReadBack(flash, 0, 1), Fill(1, 0x30));
  // Setting any bit back toward erased is refused and changes nothing.
  EXPECT_EQ(flash.Program(0, Fill(1, 0x31)), Status::FailedPrecondition());
  EXPECT_EQ(flash.Program(0, Fill(1, 0xFF)), Status::FailedPrecondition());
  EXPECT_EQ(ReadBack(flash, 0, 1), Fill(1, 0x30));
  // Rewriting the same value is allowed with allow_reprogram.
  EXPECT_EQ(flash.Program(0, Fill(1, 0x30)), Status::Ok());
}

TEST(RamFlash, ProgramMayOnlySetBitsWhenErasedIs00) {
  Flash flash(MakeConfig(1, 0x00, /*allow_reprogram=*/true));
  ASSERT_EQ(flash.Program(0, Fill(1, 0x0F)), Status::Ok());
  EXPECT_EQ(flash.Program(0, Fill(1, 0x1F)), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, 1), Fill(1, 0x1F));
  EXPECT_EQ(flash.Program(0, Fill(1, 0x1E)), Status::FailedPrecondition());
  EXPECT_EQ(flash.Program(0, Fill(1, 0x00)), Status::FailedPrecondition());
  EXPECT_EQ(ReadBack(flash, 0, 1), Fill(1, 0x1F));
}

TEST(RamFlash, ABitRuleViolationAnywhereChangesNothing) {
  Flash flash(MakeConfig(4, 0xFF, /*allow_reprogram=*/true));
  ASSERT_EQ(flash.Program(8, Fill(4, 0x00)), Status::Ok());
  const Bytes before = Snapshot(flash);
  Bytes data = Fill(16, 0x00);
  data[9] = std::byte{0x01};  // inside the programmed unit at 8
  EXPECT_EQ(flash.Program(0, data), Status::FailedPrecondition());
  EXPECT_EQ(Snapshot(flash), before);
}

TEST(RamFlash, ReprogrammingAUnitBeforeEraseFails) {
  Flash flash(MakeConfig(4));
  ASSERT_EQ(flash.Program(4, Fill(4, 0xF0)), Status::Ok());
  const Bytes before = Snapshot(flash);
  // Even a program that only clears more bits is refused.
  EXPECT_EQ(flash.Program(4, Fill(4, 0x00)), Status::FailedPrecondition());
  // A multi-unit program touching the programmed unit fails as a whole.
  EXPECT_EQ(flash.Program(0, Fill(12, 0x00)), Status::FailedPrecondition());
  EXPECT_EQ(Snapshot(flash), before);
  // Neighbouring units are still free.
  EXPECT_EQ(flash.Program(0, Fill(4, 0x11)), Status::Ok());
  EXPECT_EQ(flash.Program(8, Fill(4, 0x22)), Status::Ok());
  // Programming erased-looking data still uses up the unit.
  EXPECT_EQ(flash.Program(12, Fill(4, 0xFF)), Status::Ok());
  EXPECT_EQ(flash.Program(12, Fill(4, 0x00)), Status::FailedPrecondition());
  // After an erase every unit is free again.
  ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
  EXPECT_EQ(flash.Program(4, Fill(4, 0x00)), Status::Ok());
  EXPECT_EQ(flash.Program(12, Fill(4, 0x00)), Status::Ok());
}

TEST(RamFlash, AllowReprogramPermitsClearingMoreBits) {
  Flash flash(MakeConfig(4, 0xFF, /*allow_reprogram=*/true));
  ASSERT_EQ(flash.Program(4, Fill(4, 0xF0)), Status::Ok());
  EXPECT_EQ(flash.Program(4, Fill(4, 0x00)), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 4, 4), Fill(4, 0x00));
}

TEST(RamFlash, EraseOnlyTouchesItsSectors) {
  Flash flash(MakeConfig(4));
  ASSERT_EQ(flash.Program(0, Fill(kSector * kSectors, 0x00)), Status::Ok());
  ASSERT_EQ(flash.Erase(1, 2), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, kSector), Fill(kSector, 0x00));
  EXPECT_EQ(ReadBack(flash, kSector, 2 * kSector), Fill(2 * kSector, 0xFF));
  EXPECT_EQ(ReadBack(flash, 3 * kSector, kSector), Fill(kSector, 0x00));
  // Units of erased sectors are free, the others still used.
  EXPECT_EQ(flash.Program(kSector, Fill(4, 0x00)), Status::Ok());
  EXPECT_EQ(flash.Program(kSector - 4, Fill(4, 0x00)),
            Status::FailedPrecondition());
  EXPECT_EQ(flash.Program(3 * kSector, Fill(4, 0x00)),
            Status::FailedPrecondition());
}

class RamFlashAlignment : public ::testing::TestWithParam<size_t> {};

TEST_P(RamFlashAlignment, AlignmentAndUnitRules) {
  const size_t unit = GetParam();
  VectorFlash vf(1024, 4, MakeConfig(unit));
  RamFlashBase& flash = vf.flash;
  ASSERT_EQ(flash.alignment(), unit);
  if (unit > 1) {
    EXPECT_EQ(flash.Program(1, Fill(unit, 0)), Status::InvalidArgument());
    EXPECT_EQ(flash.Program(0, Fill(unit - 1, 0)), Status::InvalidArgument());
    EXPECT_EQ(flash.Program(unit, Fill(unit + 1, 0)),
              Status::InvalidArgument());
    EXPECT_EQ(flash.counters().program_calls, 0u);
  }
  // Units one after another, each once.
  for (size_t u = 0; u < 8; ++u) {
    ASSERT_EQ(flash.Program(u * unit, Pattern(unit, u)), Status::Ok()) << u;
  }
  for (size_t u = 0; u < 8; ++u) {
    EXPECT_EQ(ReadBack(flash, u * unit, unit), Pattern(unit, u));
    EXPECT_EQ(flash.Program(u * unit, Fill(unit, 0)),
              Status::FailedPrecondition());
  }
  // A long program spanning a sector boundary.
  const size_t start = 3 * 1024 - 2 * unit;
  ASSERT_EQ(flash.Program(start, Fill(4 * unit, 0x5A)), Status::Ok());
  EXPECT_EQ(ReadBack(flash, start, 4 * unit), Fill(4 * unit, 0x5A));
  EXPECT_EQ(flash.Program(start + 3 * unit, Fill(unit, 0)),
            Status::FailedPrecondition());
  EXPECT_EQ(flash.Program(start + 4 * unit, Fill(unit, 0)), Status::Ok());
}

INSTANTIATE_TEST_SUITE_P(Units, RamFlashAlignment,
                         ::testing::Values(size_t{1}, size_t{2}, size_t{4},
                                           size_t{16}, size_t{256}));

TEST(RamFlash, ByteUnitTrackingAcrossBitmapBoundaries) {
  Flash flash(MakeConfig(1));
  // Program [3, 250): bytes 0..2 and 250..255 must stay programmable, the
  // rest not (exercises partial and whole bitmap bytes).
  ASSERT_EQ(flash.Program(3, Fill(247, 0x00)), Status::Ok());
  for (size_t a = 0; a < kSector; ++a) {
    const bool inside = a >= 3 && a < 250;
    EXPECT_EQ(flash.Program(a, Fill(1, 0x00)).ok(), !inside) << a;
  }
  ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
  for (size_t a = 0; a < kSector; a += 3) {
    EXPECT_EQ(flash.Program(a, Fill(1, 0x00)), Status::Ok()) << a;
  }
  // One used byte inside a long program is found wherever it sits
  // (whole bitmap bytes as well as the partial ones at either end).
  for (size_t used : {size_t{64}, size_t{67}, size_t{100}, size_t{127}}) {
    ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
    ASSERT_EQ(flash.Program(used, Fill(1, 0x00)), Status::Ok());
    EXPECT_EQ(flash.Program(64, Fill(64, 0x00)), Status::FailedPrecondition())
        << used;
    EXPECT_EQ(flash.Program(61, Fill(70, 0x00)), Status::FailedPrecondition())
        << used;
    EXPECT_EQ(flash.Program(128, Fill(64, 0x00)), Status::Ok()) << used;
  }
}

TEST(RamFlash, InvalidGeometryFailsEveryCall) {
  // Alignment that does not divide the sector size.
  VectorFlash bad_alignment(256, 2, MakeConfig(3));
  std::byte b;
  EXPECT_EQ(bad_alignment.flash.Read(0, std::span(&b, 1)),
            Status::InvalidArgument());
  EXPECT_EQ(bad_alignment.flash.Program(0, Fill(3, 0)),
            Status::InvalidArgument());
  EXPECT_EQ(bad_alignment.flash.Erase(0, 1), Status::InvalidArgument());
  // Alignment above the maximum.
  VectorFlash too_big(1024, 2, MakeConfig(512));
  EXPECT_EQ(too_big.flash.Erase(0, 1), Status::InvalidArgument());

  // Buffers too small for the geometry: no sectors, nothing touched.
  Bytes storage(100);
  std::vector<uint8_t> programmed(100);
  std::vector<uint32_t> erases(2), lifetime(2);
  RamFlashBase small(256, 2, Config(), storage, programmed, erases, lifetime);
  EXPECT_EQ(small.sector_count(), 0u);
  EXPECT_EQ(small.Read(0, std::span(&b, 1)), Status::InvalidArgument());
  EXPECT_EQ(small.mapped_base(), nullptr);
  EXPECT_TRUE(small.bytes().empty());
  EXPECT_EQ(small.sector_erases(0), 0u);
  EXPECT_EQ(small.lifetime_erases(5), 0u);
  small.FlipBit(0, 0);  // ignored
  small.Reset();
  EXPECT_EQ(storage, Bytes(100));  // untouched
}

// ---------------------------------------------------------------- counters

TEST(RamFlash, CountsCallsBytesAndErases) {
  Flash flash;
  Bytes buf(10);
  ASSERT_EQ(flash.Read(0, buf), Status::Ok());
  ASSERT_EQ(flash.Read(5, std::span(buf).first(3)), Status::Ok());
  ASSERT_EQ(flash.Program(0, Fill(8, 0)), Status::Ok());
  ASSERT_EQ(flash.Program(256, Fill(16, 0)), Status::Ok());
  ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
  ASSERT_EQ(flash.Erase(1, 3), Status::Ok());
  ASSERT_EQ(flash.Erase(3, 1), Status::Ok());

  const FlashCounters& c = flash.counters();
  EXPECT_EQ(c.read_calls, 2u);
  EXPECT_EQ(c.bytes_read, 13u);
  EXPECT_EQ(c.program_calls, 2u);
  EXPECT_EQ(c.bytes_programmed, 24u);
  EXPECT_EQ(c.erase_calls, 3u);
  EXPECT_EQ(c.sector_erases, 5u);
  EXPECT_EQ(flash.operation_count(), 7u);
  EXPECT_EQ(flash.sector_erases(0), 1u);
  EXPECT_EQ(flash.sector_erases(1), 1u);
  EXPECT_EQ(flash.sector_erases(2), 1u);
  EXPECT_EQ(flash.sector_erases(3), 2u);
  EXPECT_EQ(flash.sector_erases(4), 0u);  // out of range: 0, no crash
  EXPECT_EQ(flash.lifetime_erases(3), 2u);

  // Calls refused by argument checks, and empty calls, never reach the chip.
  EXPECT_EQ(flash.Read(kSector * kSectors, buf), Status::OutOfRange());
  EXPECT_EQ(flash.Program(2, Fill(4, 0)), Status::InvalidArgument());
  EXPECT_EQ(flash.Erase(0, 0), Status::Ok());
  EXPECT_EQ(flash.Read(0, {}), Status::Ok());
  EXPECT_EQ(flash.operation_count(), 7u);
  EXPECT_EQ(c.read_calls, 2u);

  flash.ResetCounters();
  EXPECT_EQ(c.read_calls, 0u);
  EXPECT_EQ(c.bytes_read, 0u);
  EXPECT_EQ(c.program_calls, 0u);
  EXPECT_EQ(c.bytes_programmed, 0u);
  EXPECT_EQ(c.erase_calls, 0u);
  EXPECT_EQ(c.sector_erases, 0u);
  EXPECT_EQ(flash.operation_count(), 0u);
  for (size_t s = 0; s < kSectors; ++s) EXPECT_EQ(flash.sector_erases(s), 0u);
  // Lifetime counts survive.
  EXPECT_EQ(flash.lifetime_erases(0), 1u);
  EXPECT_EQ(flash.lifetime_erases(3), 2u);
}

TEST(RamFlash, FailedCallsCountButFailedErasesDoNotWear) {
  Flash flash;
  flash.FailNext(FlashOp::kErase, 0, Status::Internal());
  EXPECT_EQ(flash.Erase(0, 2), Status::Internal());
  EXPECT_EQ(flash.counters().erase_calls, 1u);
  EXPECT_EQ(flash.counters().sector_erases, 0u);
  EXPECT_EQ(flash.sector_erases(0), 0u);
  EXPECT_EQ(flash.lifetime_erases(0), 0u);
  EXPECT_EQ(flash.operation_count(), 1u);
  // A rule violation reached the chip too.
  ASSERT_EQ(flash.Program(0, Fill(4, 0)), Status::Ok());
  EXPECT_EQ(flash.Program(0, Fill(4, 0)), Status::FailedPrecondition());
  EXPECT_EQ(flash.counters().program_calls, 2u);
  EXPECT_EQ(flash.operation_count(), 3u);
}

// -------------------------------------------------------- injected faults

TEST(RamFlash, FailNextReadFailsOnceAndLeavesMemory) {
  Flash flash;
  ASSERT_EQ(flash.Program(0, Fill(4, 0x12)), Status::Ok());
  flash.FailNext(FlashOp::kRead, 0, Status::DataLoss());
  Bytes out = Fill(4, 0xAA);
  EXPECT_EQ(flash.Read(0, out), Status::DataLoss());
  EXPECT_EQ(out, Fill(4, 0xAA));
  EXPECT_EQ(flash.Read(0, out), Status::Ok());
  EXPECT_EQ(out, Fill(4, 0x12));
}

TEST(RamFlash, FailNextProgramCountsOnlyPrograms) {
  Flash flash;
  flash.FailNext(FlashOp::kProgram, 2, Status::Internal());
  Bytes out(4);
  ASSERT_EQ(flash.Program(0, Fill(4, 1)), Status::Ok());
  ASSERT_EQ(flash.Read(0, out), Status::Ok());  // reads do not count
  ASSERT_EQ(flash.Erase(3, 1), Status::Ok());   // nor erases
  ASSERT_EQ(flash.Program(4, Fill(4, 2)), Status::Ok());
  const Bytes before = Snapshot(flash);
  EXPECT_EQ(flash.Program(8, Fill(4, 3)), Status::Internal());
  EXPECT_EQ(Snapshot(flash), before);
  // The unit is still free: the failed program changed nothing.
  EXPECT_EQ(flash.Program(8, Fill(4, 3)), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, 12),
            (Bytes{std::byte{1}, std::byte{1}, std::byte{1}, std::byte{1},
                   std::byte{2}, std::byte{2}, std::byte{2}, std::byte{2},
                   std::byte{3}, std::byte{3}, std::byte{3}, std::byte{3}}));
}

TEST(RamFlash, FailNextEraseLeavesData) {
  Flash flash;
  ASSERT_EQ(flash.Program(0, Fill(8, 0)), Status::Ok());
  flash.FailNext(FlashOp::kErase, 1, Status::Unavailable());
  ASSERT_EQ(flash.Erase(2, 1), Status::Ok());
  EXPECT_EQ(flash.Erase(0, 1), Status::Unavailable());
  EXPECT_EQ(ReadBack(flash, 0, 8), Fill(8, 0));
  EXPECT_EQ(flash.Erase(0, 1), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, 8), Fill(8, 0xFF));
}

TEST(RamFlash, FailNextWithOkStatusBecomesInternalAndClearFaultsCancels) {
  Flash flash;
  Bytes out(1);
  flash.FailNext(FlashOp::kRead, 0, Status::Ok());
  EXPECT_EQ(flash.Read(0, out), Status::Internal());

  flash.FailNext(FlashOp::kRead, 0, Status::DataLoss());
  flash.FailNext(FlashOp::kProgram, 0, Status::DataLoss());
  flash.FailNext(FlashOp::kErase, 0, Status::DataLoss());
  flash.CutPowerAt(0, TearMode::kPrefix);
  flash.ClearFaults();
  EXPECT_EQ(flash.Read(0, out), Status::Ok());
  EXPECT_EQ(flash.Program(0, Fill(4, 0)), Status::Ok());
  EXPECT_EQ(flash.Erase(0, 1), Status::Ok());
  EXPECT_FALSE(flash.power_is_cut());
}

TEST(RamFlash, LaterFailNextReplacesEarlier) {
  Flash flash;
  Bytes out(1);
  flash.FailNext(FlashOp::kRead, 0, Status::DataLoss());
  flash.FailNext(FlashOp::kRead, 1, Status::Internal());
  EXPECT_EQ(flash.Read(0, out), Status::Ok());
  EXPECT_EQ(flash.Read(0, out), Status::Internal());
  EXPECT_EQ(flash.Read(0, out), Status::Ok());
}

// Program tears --------------------------------------------------------

// Returns the prefix length a kPrefix tear of `data` at 0 left, checking
// that the flash holds exactly a prefix.
size_t TornPrefix(const Flash& flash, const Bytes& data) {
  const auto bytes = flash.bytes();
  size_t k = 0;
  while (k < data.size() && bytes[k] == data[k]) ++k;
  // Everything after the first difference must still be erased; the byte
  // at the boundary may coincidentally match, so scan from the end instead.
  size_t end = data.size();
  while (end > 0 && bytes[end - 1] == std::byte{0xFF}) --end;
  EXPECT_LE(end, k) << "not a prefix";
  return end;
}

TEST(RamFlash, CutDuringProgramLeavesAPrefix) {
  std::set<size_t> lengths;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Flash flash(MakeConfig(4, 0xFF, false, seed));
    Bytes data = Pattern(kSector, seed);
    for (std::byte& b : data) b &= std::byte{0x7F};  // never all-erased
    flash.CutPowerAt(0, TearMode::kPrefix);
    EXPECT_EQ(flash.Program(0, data), Status::Unavailable());
    EXPECT_TRUE(flash.power_is_cut());
    const size_t k = TornPrefix(flash, data);
    EXPECT_LT(k, data.size());
    EXPECT_EQ(Bytes(flash.bytes().begin(), flash.bytes().begin() + k),
              Bytes(data.begin(), data.begin() + k));
    EXPECT_EQ(Bytes(flash.bytes().begin() + k, flash.bytes().end()),
              Fill(flash.size_bytes() - k, 0xFF));
    lengths.insert(k);

    // The same seed tears at the same place.
    Flash again(MakeConfig(4, 0xFF, false, seed));
    again.CutPowerAt(0, TearMode::kPrefix);
    EXPECT_EQ(again.Program(0, data), Status::Unavailable());
    EXPECT_EQ(Snapshot(again), Snapshot(flash));
  }
  EXPECT_GT(lengths.size(), 20u);  // the tear point really varies
}

TEST(RamFlash, CutDuringProgramRandomBitsIsASubsetOfTheChanges) {
  for (uint8_t erased : {0xFF, 0x00}) {
    const std::byte e{erased};
    Flash flash(MakeConfig(4, erased, /*allow_reprogram=*/true, 99));
    // First program some bits of the high nibbles; the torn second program
    // (all bits) may neither undo them nor do more than asked.
    Bytes first = Pattern(kSector, 5);
    for (std::byte& b : first) b = e ^ (b & std::byte{0xF0});
    ASSERT_EQ(flash.Program(0, first), Status::Ok());
    ASSERT_EQ(flash.Erase(1, 1), Status::Ok());  // an unrelated operation
    const Bytes before = Snapshot(flash);
    const Bytes data = Fill(kSector, static_cast<uint8_t>(erased ^ 0xFF));
    flash.CutPowerAt(0, TearMode::kRandomBits);
    EXPECT_EQ(flash.Program(0, data), Status::Unavailable());
    const Bytes after = Snapshot(flash);
    size_t changed_bits = 0, intended_bits = 0;
    for (size_t i = 0; i < kSector; ++i) {
      const unsigned old_p = static_cast<unsigned>(before[i] ^ e);
      const unsigned new_p = static_cast<unsigned>(after[i] ^ e);
      const unsigned want_p = static_cast<unsigned>(data[i] ^ e);
      EXPECT_EQ(new_p & old_p, old_p) << i;           // nothing undone
      EXPECT_EQ(new_p & ~(want_p | old_p), 0u) << i;  // nothing extra
      changed_bits += static_cast<size_t>(__builtin_popcount(new_p ^ old_p));
      intended_bits += static_cast<size_t>(__builtin_popcount(want_p & ~old_p));
    }
    EXPECT_GT(changed_bits, 0u);
    EXPECT_LT(changed_bits, intended_bits);
    // Other sectors are untouched.
    EXPECT_TRUE(std::equal(before.begin() + kSector, before.end(),
                           after.begin() + kSector));
  }
}

TEST(RamFlash, RandomBitTearsAreDeterministicPerSeed) {
  auto run = [](uint64_t seed) {
    Flash flash(MakeConfig(4, 0xFF, false, seed));
    flash.CutPowerAt(0, TearMode::kRandomBits);
    EXPECT_EQ(flash.Program(0, Fill(kSector, 0x00)), Status::Unavailable());
    return Snapshot(flash);
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));

  // Reseed() restarts the sequence.
  Flash flash(MakeConfig(4, 0xFF, false, 7));
  flash.Reseed(42);
  flash.CutPowerAt(0, TearMode::kRandomBits);
  EXPECT_EQ(flash.Program(0, Fill(kSector, 0x00)), Status::Unavailable());
  EXPECT_EQ(Snapshot(flash), run(42));
}

TEST(RamFlash, PowerStaysCutUntilPowerOn) {
  Flash flash;
  ASSERT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Ok());
  flash.CutPowerAt(0, TearMode::kPrefix);
  EXPECT_EQ(flash.Program(4, Fill(4, 0x00)), Status::Unavailable());
  const FlashCounters before = flash.counters();
  const uint64_t ops = flash.operation_count();
  Bytes out(4);
  EXPECT_EQ(flash.Read(0, out), Status::Unavailable());
  EXPECT_EQ(flash.Program(8, Fill(4, 0x00)), Status::Unavailable());
  EXPECT_EQ(flash.Erase(0, 1), Status::Unavailable());
  EXPECT_EQ(flash.Read(0, out), Status::Unavailable());
  // Refused calls are not operations and count nothing.
  EXPECT_EQ(flash.operation_count(), ops);
  EXPECT_EQ(flash.counters().read_calls, before.read_calls);
  EXPECT_EQ(flash.counters().program_calls, before.program_calls);
  EXPECT_EQ(flash.counters().erase_calls, before.erase_calls);
  EXPECT_EQ(ReadBack(flash, 0, 0), Bytes());  // empty reads never reach it

  flash.PowerOn();
  EXPECT_FALSE(flash.power_is_cut());
  EXPECT_EQ(flash.Read(0, out), Status::Ok());
  EXPECT_EQ(out, Fill(4, 0x00));
  EXPECT_EQ(flash.Program(8, Fill(4, 0x00)), Status::Ok());
}

TEST(RamFlash, CutCountsEveryKindOfOperation) {
  Flash flash;
  flash.CutPowerAt(3, TearMode::kPrefix);
  Bytes out(4);
  EXPECT_EQ(flash.Read(0, out), Status::Ok());               // 0
  EXPECT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Ok());  // 1
  EXPECT_EQ(flash.Erase(1, 1), Status::Ok());                // 2
  EXPECT_FALSE(flash.power_is_cut());
  EXPECT_EQ(flash.Read(0, out), Status::Unavailable());  // 3: cut
  EXPECT_TRUE(flash.power_is_cut());
  EXPECT_EQ(flash.operation_count(), 4u);
}

TEST(RamFlash, CutReadReturnsUnavailableAndChangesNothing) {
  Flash flash;
  ASSERT_EQ(flash.Program(0, Fill(4, 0x42)), Status::Ok());
  const Bytes before = Snapshot(flash);
  flash.CutPowerAt(0, TearMode::kRandomBits);
  Bytes out(4);
  EXPECT_EQ(flash.Read(0, out), Status::Unavailable());
  EXPECT_EQ(Snapshot(flash), before);
  EXPECT_TRUE(flash.power_is_cut());
}

TEST(RamFlash, CutWinsOverAFailureOnTheSameCall) {
  Flash flash;
  flash.FailNext(FlashOp::kProgram, 0, Status::DataLoss());
  flash.CutPowerAt(0, TearMode::kPrefix);
  EXPECT_EQ(flash.Program(0, Fill(4, 0)), Status::Unavailable());
  EXPECT_TRUE(flash.power_is_cut());
}

TEST(RamFlash, UnitsLeftErasedByATearCanBeProgrammedAfterPowerOn) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Flash flash(MakeConfig(4, 0xFF, false, seed));
    flash.CutPowerAt(0, TearMode::kPrefix);
    const Bytes data = Fill(kSector, 0x00);
    EXPECT_EQ(flash.Program(0, data), Status::Unavailable());
    flash.PowerOn();
    const size_t k = TornPrefix(flash, data);
    // Units the tear touched are used; units it left erased are free.
    for (size_t u = 0; u < kSector; u += 4) {
      const bool touched = u < k;
      EXPECT_EQ(flash.Program(u, Fill(4, 0x00)).ok(), !touched)
          << "seed " << seed << " unit " << u << " k " << k;
    }
  }
}

// Erase tears ----------------------------------------------------------

TEST(RamFlash, CutDuringEraseLeavesAPrefixErased) {
  std::set<size_t> lengths;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Flash flash(MakeConfig(4, 0xFF, false, seed));
    ASSERT_EQ(flash.Program(0, Fill(flash.size_bytes(), 0x00)), Status::Ok());
    flash.CutPowerAt(0, TearMode::kPrefix);
    EXPECT_EQ(flash.Erase(1, 2), Status::Unavailable());
    const Bytes after = Snapshot(flash);
    size_t k = 0;
    while (k < 2 * kSector && after[kSector + k] == std::byte{0xFF}) ++k;
    EXPECT_LT(k, 2 * kSector);
    for (size_t i = k; i < 2 * kSector; ++i) {
      ASSERT_EQ(after[kSector + i], std::byte{0x00}) << i;
    }
    EXPECT_EQ(Bytes(after.begin(), after.begin() + kSector),
              Fill(kSector, 0x00));
    EXPECT_EQ(Bytes(after.begin() + 3 * kSector, after.end()),
              Fill(kSector, 0x00));
    lengths.insert(k);
    // A torn erase does not count as an erase of the sectors.
    EXPECT_EQ(flash.sector_erases(1), 0u);
    EXPECT_EQ(flash.counters().sector_erases, 0u);
    EXPECT_EQ(flash.counters().erase_calls, 1u);

    // After power returns, the erase can be redone and the sectors used.
    flash.PowerOn();
    ASSERT_EQ(flash.Erase(1, 2), Status::Ok());
    EXPECT_EQ(flash.Program(kSector, Fill(2 * kSector, 0x00)), Status::Ok());
  }
  EXPECT_GT(lengths.size(), 15u);
}

TEST(RamFlash, CutDuringEraseRandomBitsMovesBitsTowardErased) {
  for (uint8_t erased : {0xFF, 0x00}) {
    Flash flash(MakeConfig(4, erased, false, 3));
    const uint8_t programmed = static_cast<uint8_t>(erased ^ 0xFF);
    ASSERT_EQ(flash.Program(0, Fill(flash.size_bytes(), programmed)),
              Status::Ok());
    flash.CutPowerAt(0, TearMode::kRandomBits);
    EXPECT_EQ(flash.Erase(0, 1), Status::Unavailable());
    const Bytes after = Snapshot(flash);
    size_t fully_erased = 0, untouched = 0, partial = 0;
    for (size_t i = 0; i < kSector; ++i) {
      if (after[i] == std::byte{erased}) {
        ++fully_erased;
      } else if (after[i] == std::byte{programmed}) {
        ++untouched;
      } else {
        ++partial;
      }
    }
    EXPECT_GT(partial, kSector / 2);  // bit-level, in most bytes
    EXPECT_LT(fully_erased, kSector);
    // Other sectors untouched.
    EXPECT_EQ(Bytes(after.begin() + kSector, after.end()),
              Fill(flash.size_bytes() - kSector, programmed));
    (void)untouched;
  }
}

// ------------------------------------------------------ retention / wear

TEST(RamFlash, FlipBitTogglesOneStoredBit) {
  Flash flash;
  ASSERT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Ok());
  flash.FlipBit(1, 3);
  EXPECT_EQ(ReadBack(flash, 0, 4),
            (Bytes{std::byte{0}, std::byte{0x08}, std::byte{0}, std::byte{0}}));
  flash.FlipBit(1, 3);
  EXPECT_EQ(ReadBack(flash, 0, 4), Fill(4, 0x00));
  flash.FlipBit(2, 9);  // bit modulo 8
  EXPECT_EQ(ReadBack(flash, 2, 1), Fill(1, 0x02));
  flash.FlipBit(flash.size_bytes(), 0);  // out of range: ignored
  flash.FlipBit(static_cast<size_t>(-1), 0);
  // Flips are not operations.
  EXPECT_EQ(flash.operation_count(), 4u);
}

TEST(RamFlash, WornSectorFailsPrograms) {
  Flash flash;
  flash.SetEndurance(1, 3, WearMode::kFail);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(flash.Erase(1, 1), Status::Ok());
  EXPECT_EQ(flash.Program(kSector, Fill(4, 0x00)), Status::Ok());
  ASSERT_EQ(flash.Erase(1, 1), Status::Ok());  // third erase: worn out
  EXPECT_EQ(flash.lifetime_erases(1), 3u);
  const Bytes before = Snapshot(flash);
  EXPECT_EQ(flash.Program(kSector, Fill(4, 0x00)), Status::Internal());
  // A program reaching into the worn sector fails as a whole.
  EXPECT_EQ(flash.Program(kSector - 4, Fill(8, 0x00)), Status::Internal());
  EXPECT_EQ(Snapshot(flash), before);
  // Other sectors are fine.
  EXPECT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Ok());
  EXPECT_EQ(flash.Program(2 * kSector, Fill(4, 0x00)), Status::Ok());
  // ResetCounters does not heal it; reads and erases still work.
  flash.ResetCounters();
  EXPECT_EQ(flash.Program(kSector, Fill(4, 0x00)), Status::Internal());
  EXPECT_EQ(ReadBack(flash, kSector, 4), Fill(4, 0xFF));
  EXPECT_EQ(flash.Erase(1, 1), Status::Ok());
  // Endurance 0 turns wear-out off.
  flash.SetEndurance(1, 0, WearMode::kFail);
  EXPECT_EQ(flash.Program(kSector, Fill(4, 0x00)), Status::Ok());
}

TEST(RamFlash, LatestEnduranceCallWins) {
  Flash flash;
  ASSERT_EQ(flash.Erase(0, kSectors), Status::Ok());
  flash.SetEndurance(0, 1, WearMode::kFail);
  EXPECT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Internal());
  flash.SetEndurance(2, 1, WearMode::kFail);
  EXPECT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Ok());
  EXPECT_EQ(flash.Program(2 * kSector, Fill(4, 0x00)), Status::Internal());
  flash.SetEnduranceAll(1, WearMode::kFail);
  for (size_t s = 0; s < kSectors; ++s) {
    EXPECT_EQ(flash.Program(s * kSector + 4, Fill(4, 0x00)),
              Status::Internal());
  }
  flash.SetEnduranceAll(2, WearMode::kFail);
  EXPECT_EQ(flash.Program(4, Fill(4, 0x00)), Status::Ok());
}

TEST(RamFlash, WornSectorWithBadBitsLeavesSomeBitsUnprogrammed) {
  Flash flash(MakeConfig(4, 0xFF, false, 11));
  flash.SetEnduranceAll(1, WearMode::kBadBits);
  ASSERT_EQ(flash.Erase(1, 1), Status::Ok());  // sector 1 now worn
  // A program spanning the healthy sector 0 and the worn sector 1.
  const Bytes data = Fill(2 * kSector, 0x00);
  EXPECT_EQ(flash.Program(0, data), Status::Ok());
  const Bytes after = Snapshot(flash);
  EXPECT_EQ(Bytes(after.begin(), after.begin() + kSector), Fill(kSector, 0x00));
  size_t bad = 0;
  for (size_t i = kSector; i < 2 * kSector; ++i) {
    if (after[i] != std::byte{0x00}) ++bad;
  }
  EXPECT_GT(bad, 0u);
  EXPECT_LT(bad, kSector);
}

TEST(RamFlash, BadBitsDropAtLeastOneBitEvenForTinyPrograms) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Flash flash(MakeConfig(1, 0xFF, false, seed));
    flash.SetEndurance(0, 1, WearMode::kBadBits);
    ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
    ASSERT_EQ(flash.Program(0, Fill(1, 0xFE)), Status::Ok());
    // The only intended change (bit 0) did not take.
    EXPECT_EQ(ReadBack(flash, 0, 1), Fill(1, 0xFF)) << seed;
  }
  // Programs that change nothing stay exact.
  Flash flash;
  flash.SetEndurance(0, 1, WearMode::kBadBits);
  ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
  EXPECT_EQ(flash.Program(0, Fill(4, 0xFF)), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, 4), Fill(4, 0xFF));
}

// ---------------------------------------------------------------- EEPROM

TEST(RamFlash, EepromOverwritesFreely) {
  for (uint8_t erased : {0xFF, 0x00}) {
    Config config = MakeConfig(1, erased);
    config.eeprom = true;
    Flash flash(config);
    EXPECT_EQ(ReadBack(flash, 0, 8), Fill(8, erased));
    ASSERT_EQ(flash.Program(0, Fill(4, 0x00)), Status::Ok());
    EXPECT_EQ(flash.Program(0, Fill(4, 0xFF)), Status::Ok());
    EXPECT_EQ(ReadBack(flash, 0, 4), Fill(4, 0xFF));
    EXPECT_EQ(flash.Program(2, Fill(1, 0x5A)), Status::Ok());
    EXPECT_EQ(ReadBack(flash, 2, 1), Fill(1, 0x5A));
    ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
    EXPECT_EQ(ReadBack(flash, 0, kSector), Fill(kSector, erased));
  }
}

TEST(RamFlash, EepromTearsMixOldAndNewBits) {
  Config config = MakeConfig(1, 0xFF, false, 5);
  config.eeprom = true;
  Flash flash(config);
  const Bytes old_data = Fill(kSector, 0x0F);
  ASSERT_EQ(flash.Program(0, old_data), Status::Ok());
  flash.CutPowerAt(0, TearMode::kRandomBits);
  EXPECT_EQ(flash.Program(0, Fill(kSector, 0xF0)), Status::Unavailable());
  size_t mixed = 0;
  for (size_t i = 0; i < kSector; ++i) {
    const std::byte b = flash.bytes()[i];
    if (b != std::byte{0x0F} && b != std::byte{0xF0}) ++mixed;
  }
  EXPECT_GT(mixed, 0u);
}

// ------------------------------------------------------- mapping / reset

TEST(RamFlash, MemoryMappedViewIsTheStorage) {
  Flash mapped;
  ASSERT_NE(mapped.mapped_base(), nullptr);
  EXPECT_EQ(mapped.mapped_base(), mapped.bytes().data());
  ASSERT_EQ(mapped.Program(8, Fill(4, 0x33)), Status::Ok());
  EXPECT_EQ(mapped.mapped_base()[8], std::byte{0x33});

  Config config;
  config.memory_mapped = false;
  Flash unmapped(config);
  EXPECT_EQ(unmapped.mapped_base(), nullptr);
}

// ------------------------------------------------------------------ ECC

Config EccConfig(uint64_t seed) {
  Config config = MakeConfig(8, 0xFF, false, seed);
  config.ecc = true;
  return config;
}

// Which of the first `n` 8-byte units of `flash` read.
std::vector<bool> ReadableUnits(Flash& flash, size_t n) {
  std::vector<bool> out;
  for (size_t unit = 0; unit < n; ++unit) {
    Bytes word(8);
    const Status s = flash.Read(unit * 8, word);
    EXPECT_TRUE(s.ok() || s.IsDataLoss()) << s.str();
    out.push_back(s.ok());
  }
  return out;
}

TEST(RamFlash, EccPrefixTearLeavesTheUnitBeingProgrammedUnreadable) {
  std::set<size_t> torn_units;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Flash flash(EccConfig(seed));
    EXPECT_EQ(flash.mapped_base(), nullptr);  // reads must go through ECC
    Bytes data = Pattern(128, seed);
    for (std::byte& b : data) b &= std::byte{0x7F};  // never all-erased
    flash.CutPowerAt(0, TearMode::kPrefix);
    ASSERT_EQ(flash.Program(0, data), Status::Unavailable());
    flash.PowerOn();
    const size_t k = TornPrefix(flash, data);
    const std::vector<bool> readable = ReadableUnits(flash, kSector / 8);
    for (size_t unit = 0; unit < readable.size(); ++unit) {
      EXPECT_EQ(readable[unit], unit != k / 8) << "seed " << seed;
    }
    torn_units.insert(k / 8);
    // A read that only touches the unit fails too; the other sectors read.
    Bytes one(1);
    EXPECT_EQ(flash.Read(k, one), Status::DataLoss());
    EXPECT_EQ(flash.Read(kSector, one), Status::Ok());
    // Until the sector is erased.
    ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
    EXPECT_EQ(ReadBack(flash, 0, kSector), Fill(kSector, 0xFF));
  }
  EXPECT_GT(torn_units.size(), 8u);
}

TEST(RamFlash, EccRandomBitTearLeavesEveryUnfinishedUnitUnreadable) {
  Flash flash(EccConfig(5));
  ASSERT_EQ(flash.Program(0, Fill(16, 0x00)), Status::Ok());
  flash.CutPowerAt(0, TearMode::kRandomBits);
  ASSERT_EQ(flash.Program(32, Fill(64, 0x00)), Status::Unavailable());
  flash.PowerOn();
  const std::vector<bool> readable = ReadableUnits(flash, 16);
  // The units programmed before, and those after the range, still read.
  EXPECT_TRUE(readable[0] && readable[1] && readable[2] && readable[3]);
  for (size_t unit = 12; unit < 16; ++unit) EXPECT_TRUE(readable[unit]);
  // From the first to the last unit a tear left half changed, none reads.
  size_t unreadable = 0;
  for (size_t unit = 4; unit < 12; ++unit) unreadable += !readable[unit];
  EXPECT_GE(unreadable, 6u);
}

TEST(RamFlash, EccEraseTearsLeaveTheirSectorsUnreadableUntilErased) {
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    Flash flash(EccConfig(11));
    ASSERT_EQ(flash.Program(0, Fill(flash.size_bytes(), 0x00)), Status::Ok());
    flash.CutPowerAt(0, mode);
    ASSERT_EQ(flash.Erase(1, 2), Status::Unavailable());
    flash.PowerOn();
    Bytes sector(kSector);
    EXPECT_EQ(flash.Read(0, sector), Status::Ok());
    EXPECT_EQ(flash.Read(3 * kSector, sector), Status::Ok());
    const bool first = flash.Read(kSector, sector).ok();
    const bool second = flash.Read(2 * kSector, sector).ok();
    EXPECT_FALSE(first && second);
    if (mode == TearMode::kRandomBits) {
      EXPECT_FALSE(first || second);
    }
    // Erasing one sector clears only what the tear left in it.
    ASSERT_EQ(flash.Erase(1, 1), Status::Ok());
    EXPECT_EQ(flash.Read(kSector, sector), Status::Ok());
    EXPECT_EQ(flash.Read(2 * kSector, sector).ok(), second);
    ASSERT_EQ(flash.Erase(2, 1), Status::Ok());
    EXPECT_EQ(flash.Read(2 * kSector, sector), Status::Ok());
  }
}

TEST(RamFlash, EccUnreadableUnitsStayUnreadableWhenProgrammedAgain) {
  Flash flash(EccConfig(2));
  flash.CutPowerAt(0, TearMode::kPrefix);
  ASSERT_EQ(flash.Program(64, Fill(8, 0x00)), Status::Unavailable());
  flash.PowerOn();
  Bytes word(8);
  ASSERT_EQ(flash.Read(64, word), Status::DataLoss());
  // Whatever a program does to the unit, its code no longer matches.
  flash.Program(64, Fill(8, 0x00)).IgnoreError();
  EXPECT_EQ(flash.Read(64, word), Status::DataLoss());
  flash.Reset();
  EXPECT_EQ(flash.Read(64, word), Status::Ok());
}

// On flash with ECC, a unit where a program into worn cells left bits
// unprogrammed reads DATA_LOSS (its code does not match), the others read.
TEST(RamFlash, EccWornCellsReadAsDataLoss) {
  Flash flash(EccConfig(4));
  flash.SetEnduranceAll(1, WearMode::kBadBits);
  ASSERT_EQ(flash.Erase(1, 1), Status::Ok());  // sector 1 now worn
  // One bit to program per unit, so that some units take it all.
  Bytes data = Fill(kSector, 0xFF);
  for (size_t unit = 0; unit < kSector / 8; ++unit)
    data[unit * 8] = std::byte{0xFE};
  ASSERT_EQ(flash.Program(kSector, data), Status::Ok());
  const Bytes after = Snapshot(flash);
  size_t unreadable = 0;
  for (size_t unit = 0; unit < kSector / 8; ++unit) {
    Bytes word(8);
    const bool took = after[kSector + unit * 8] == std::byte{0xFE};
    EXPECT_EQ(flash.Read(kSector + unit * 8, word),
              took ? Status::Ok() : Status::DataLoss());
    unreadable += !took;
  }
  EXPECT_GT(unreadable, 0u);
  EXPECT_LT(unreadable, kSector / 8);
}

// The map of unreadable units shares the `programmed` buffer (one bit per
// byte), so ECC needs an alignment of at least 2 with that buffer.
TEST(RamFlash, EccNeedsRoomForItsMapOfUnreadableUnits) {
  Config config = MakeConfig(1);
  config.ecc = true;
  VectorFlash byte_units(kSector, 2, config);
  EXPECT_EQ(byte_units.flash.sector_count(), 0u);
  Bytes one(1);
  EXPECT_EQ(byte_units.flash.Read(0, one), Status::InvalidArgument());
  config.alignment = 2;
  VectorFlash word_units(kSector, 2, config);
  EXPECT_EQ(word_units.flash.sector_count(), 2u);
  EXPECT_EQ(word_units.flash.Read(0, one), Status::Ok());
}

TEST(RamFlash, WithoutEccTearsNeverReadAsDataLoss) {
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    Flash flash(MakeConfig(8));
    flash.CutPowerAt(0, mode);
    ASSERT_EQ(flash.Program(0, Fill(128, 0x00)), Status::Unavailable());
    flash.PowerOn();
    Bytes all(flash.size_bytes());
    EXPECT_EQ(flash.Read(0, all), Status::Ok());
  }
}

TEST(RamFlash, ResetErasesAndForgetsProgrammedUnits) {
  Flash flash;
  ASSERT_EQ(flash.Program(0, Fill(kSector * kSectors, 0x00)), Status::Ok());
  ASSERT_EQ(flash.Erase(1, 1), Status::Ok());
  const uint64_t ops = flash.operation_count();
  flash.Reset();
  EXPECT_EQ(Snapshot(flash), Fill(kSector * kSectors, 0xFF));
  EXPECT_EQ(flash.operation_count(), ops);  // not an operation
  EXPECT_EQ(flash.sector_erases(1), 1u);    // counters kept
  EXPECT_EQ(flash.Program(0, Fill(kSector * kSectors, 0x00)), Status::Ok());
}

TEST(RamFlash, LargeSectorsOnVectorStorage) {
  VectorFlash vf(128 * 1024, 2, MakeConfig(256));
  RamFlashBase& flash = vf.flash;
  const Bytes data = Pattern(128 * 1024, 3);
  ASSERT_EQ(flash.Program(0, data), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, data.size()), data);
  ASSERT_EQ(flash.Erase(0, 2), Status::Ok());
  EXPECT_EQ(ReadBack(flash, 0, 1000), Fill(1000, 0xFF));
  EXPECT_EQ(flash.Program(0, data), Status::Ok());
}

}  // namespace
}  // namespace cairn
