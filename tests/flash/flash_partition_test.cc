#include "cairn/flash/flash_partition.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <vector>

#include "cairn/flash/ram_flash.h"

namespace cairn {

// Readable failure messages (found by argument-dependent lookup).
[[maybe_unused]] static void PrintTo(Status status, std::ostream* os) {
  *os << status.str();
}

namespace {

using Bytes = std::vector<std::byte>;
constexpr size_t kHuge = std::numeric_limits<size_t>::max();

Bytes Fill(size_t n, uint8_t value) { return Bytes(n, std::byte{value}); }

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = std::byte{static_cast<uint8_t>((i * 131 + seed * 7 + 1) & 0x7F)};
  }
  return out;
}

// RamFlashBase on std::vector buffers: any geometry chosen at run time.
struct VectorFlash {
  VectorFlash(size_t sector_size, size_t sector_count, size_t alignment,
              uint8_t erased = 0xFF, bool mapped = true)
      : storage(sector_size * sector_count),
        programmed((storage.size() + 7) / 8),
        sector_erases(sector_count),
        lifetime(sector_count),
        flash(sector_size, sector_count, MakeConfig(alignment, erased, mapped),
              storage, programmed, sector_erases, lifetime) {}

  static RamFlashBase::Config MakeConfig(size_t alignment, uint8_t erased,
                                         bool mapped) {
    RamFlashBase::Config config;
    config.alignment = alignment;
    config.erased_value = std::byte{erased};
    config.memory_mapped = mapped;
    return config;
  }

  Bytes storage;
  std::vector<uint8_t> programmed;
  std::vector<uint32_t> sector_erases;
  std::vector<uint32_t> lifetime;
  RamFlashBase flash;
};

struct Geometry {
  size_t sector_size;
  size_t sector_count;
  size_t alignment;
};

void PrintTo(const Geometry& g, std::ostream* os) {
  *os << g.sector_size << "x" << g.sector_count << "/a" << g.alignment;
}

class PartitionGeometry : public ::testing::TestWithParam<Geometry> {
 protected:
  PartitionGeometry()
      : vf_(GetParam().sector_size, GetParam().sector_count,
            GetParam().alignment) {}

  RamFlashBase& flash() { return vf_.flash; }
  size_t sector() const { return GetParam().sector_size; }
  size_t unit() const { return GetParam().alignment; }

  VectorFlash vf_;
};

TEST_P(PartitionGeometry, WholeFlashPartitionMirrorsTheFlash) {
  FlashPartition whole(flash());
  EXPECT_EQ(whole.CheckValid(), Status::Ok());
  EXPECT_EQ(whole.first_sector(), 0u);
  EXPECT_EQ(whole.sector_count(), GetParam().sector_count);
  EXPECT_EQ(whole.sector_size(), sector());
  EXPECT_EQ(whole.size_bytes(), flash().size_bytes());
  EXPECT_EQ(whole.alignment(), unit());
  EXPECT_EQ(whole.erased_value(), std::byte{0xFF});
  EXPECT_EQ(&whole.flash(), &flash());
  EXPECT_EQ(whole.mapped_base(), flash().mapped_base());
}

TEST_P(PartitionGeometry, OffsetsAreRelativeToTheFirstSector) {
  const size_t count = GetParam().sector_count;
  FlashPartition part(flash(), 1, count - 2);
  ASSERT_EQ(part.CheckValid(), Status::Ok());
  EXPECT_EQ(part.size_bytes(), (count - 2) * sector());
  EXPECT_EQ(part.mapped_base(), flash().mapped_base() + sector());

  const Bytes data = Pattern(unit(), 1);
  ASSERT_EQ(part.Program(0, data), Status::Ok());
  // Lands at the start of flash sector 1.
  EXPECT_TRUE(
      std::equal(data.begin(), data.end(),
                 vf_.storage.begin() + static_cast<ptrdiff_t>(sector())));
  Bytes out(data.size());
  ASSERT_EQ(flash().Read(sector(), out), Status::Ok());
  EXPECT_EQ(out, data);
  ASSERT_EQ(part.Read(0, out), Status::Ok());
  EXPECT_EQ(out, data);

  // Last unit of the partition = last unit before flash sector count-1.
  const size_t last = part.size_bytes() - unit();
  if (last >= data.size()) {
    ASSERT_EQ(part.Program(last, Pattern(unit(), 2)), Status::Ok());
    Bytes tail(unit());
    ASSERT_EQ(flash().Read(sector() + last, tail), Status::Ok());
    EXPECT_EQ(tail, Pattern(unit(), 2));
    Bytes beyond(1);
    ASSERT_EQ(flash().Read(sector() + part.size_bytes(), beyond), Status::Ok());
    EXPECT_EQ(beyond, Fill(1, 0xFF));
  }

  // Erasing partition sector 0 erases flash sector 1 only.
  ASSERT_EQ(part.Erase(0, 1), Status::Ok());
  EXPECT_EQ(vf_.flash.sector_erases(1), 1u);
  EXPECT_EQ(vf_.flash.sector_erases(0), 0u);
  EXPECT_EQ(vf_.flash.sector_erases(count - 1), 0u);
  ASSERT_EQ(part.Read(0, out), Status::Ok());
  EXPECT_EQ(out, Fill(out.size(), 0xFF));
  ASSERT_EQ(part.EraseAll(), Status::Ok());
  EXPECT_EQ(vf_.flash.sector_erases(1), 2u);
  EXPECT_EQ(vf_.flash.sector_erases(count - 2), count == 3 ? 2u : 1u);
  EXPECT_EQ(vf_.flash.sector_erases(count - 1), 0u);
}

TEST_P(PartitionGeometry, BoundsAreCheckedBeforeTheFlash) {
  const size_t count = GetParam().sector_count;
  FlashPartition part(flash(), 1, count - 2);
  const size_t size = part.size_bytes();
  Bytes one(1), two(2), unit_buf(unit()), big(size);

  EXPECT_EQ(part.Read(size - 1, one), Status::Ok());
  EXPECT_EQ(part.Read(size, one), Status::OutOfRange());
  EXPECT_EQ(part.Read(size - 1, two), Status::OutOfRange());
  EXPECT_EQ(part.Read(kHuge, one), Status::OutOfRange());
  EXPECT_EQ(part.Read(1, big), Status::OutOfRange());
  EXPECT_EQ(part.Read(size, {}), Status::Ok());

  EXPECT_EQ(part.Program(size, unit_buf), Status::OutOfRange());
  EXPECT_EQ(part.Program(size - unit(), Bytes(2 * unit())),
            Status::OutOfRange());
  EXPECT_EQ(part.Program(kHuge - unit() + 1, unit_buf), Status::OutOfRange());

  EXPECT_EQ(part.Erase(count - 2, 1), Status::OutOfRange());
  EXPECT_EQ(part.Erase(0, count - 1), Status::OutOfRange());
  EXPECT_EQ(part.Erase(1, kHuge), Status::OutOfRange());
  EXPECT_EQ(part.Erase(kHuge, 1), Status::OutOfRange());
  EXPECT_EQ(part.Erase(count - 2, 0), Status::Ok());

  EXPECT_EQ(part.IsErased(size - 1, 2).status(), Status::OutOfRange());
  EXPECT_EQ(part.IsErased(kHuge, 1).status(), Status::OutOfRange());

  // Nothing reached the chip outside the partition, nothing was changed.
  EXPECT_EQ(vf_.storage, Fill(vf_.storage.size(), 0xFF));
  EXPECT_EQ(vf_.flash.counters().program_calls, 0u);
  EXPECT_EQ(vf_.flash.counters().erase_calls, 0u);
}

TEST_P(PartitionGeometry, AlignmentIsChecked) {
  FlashPartition part(flash());
  if (unit() > 1) {
    EXPECT_EQ(part.Program(1, Bytes(unit())), Status::InvalidArgument());
    EXPECT_EQ(part.Program(unit() / 2, Bytes(unit())),
              Status::InvalidArgument());
    EXPECT_EQ(part.Program(0, Bytes(unit() - 1)), Status::InvalidArgument());
    EXPECT_EQ(part.Program(0, Bytes(unit() + 1)), Status::InvalidArgument());
  }
  EXPECT_EQ(part.Program(unit(), Fill(unit(), 0)), Status::Ok());
  // Unaligned reads are always fine.
  Bytes out(3);
  EXPECT_EQ(part.Read(1, out), Status::Ok());
}

TEST_P(PartitionGeometry, RaisedAlignmentIsRoundedToTheFlashUnit) {
  // Ask for 3 bytes: rounds up to a multiple of the flash unit.
  FlashPartition part(flash(), 0, GetParam().sector_count, 3);
  const size_t expected = (3 + unit() - 1) / unit() * unit();
  EXPECT_EQ(part.alignment(), expected);
  if (sector() % expected == 0) {
    EXPECT_EQ(part.CheckValid(), Status::Ok());
  } else {
    EXPECT_EQ(part.CheckValid(), Status::InvalidArgument());
    EXPECT_EQ(part.Program(0, Bytes(expected)), Status::InvalidArgument());
  }
  // Twice the flash unit: programs at odd flash units are refused.
  if (2 * unit() <= FlashMemory::kMaxAlignment &&
      sector() % (2 * unit()) == 0) {
    FlashPartition coarse(flash(), 0, GetParam().sector_count, 2 * unit());
    EXPECT_EQ(coarse.alignment(), 2 * unit());
    EXPECT_EQ(coarse.Program(unit(), Bytes(2 * unit())),
              Status::InvalidArgument());
    EXPECT_EQ(coarse.Program(0, Bytes(unit())), Status::InvalidArgument());
    EXPECT_EQ(coarse.Program(2 * unit(), Fill(2 * unit(), 0)), Status::Ok());
    EXPECT_EQ(coarse.AlignUp(1), 2 * unit());
    EXPECT_EQ(coarse.AlignUp(2 * unit()), 2 * unit());
  }
  // A smaller request keeps the flash's own unit.
  FlashPartition fine(flash(), 0, 1, 1);
  EXPECT_EQ(fine.alignment(), unit());
}

TEST_P(PartitionGeometry, ProgramPaddedPadsTheLastUnit) {
  FlashPartition part(flash());
  const size_t size = part.size_bytes();
  // A whole unit plus a partial one (just some bytes for alignment 1).
  const size_t length = unit() > 1 ? unit() + unit() / 2 + 1 : 5;
  const Bytes data = Pattern(length, 9);
  ASSERT_EQ(part.ProgramPadded(unit(), data), Status::Ok());
  Bytes out(part.AlignUp(length));
  ASSERT_EQ(part.Read(unit(), out), Status::Ok());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
  for (size_t i = length; i < out.size(); ++i) {
    EXPECT_EQ(out[i], std::byte{0xFF}) << i;
  }
  // The units around it are untouched and free.
  EXPECT_EQ(part.IsErased(0, unit()).value_or(false), true);
  const size_t next = unit() + part.AlignUp(length);
  if (next < size) {
    EXPECT_EQ(part.IsErased(next, unit()).value_or(false), true);
    EXPECT_EQ(part.ProgramPadded(next, Pattern(1, 3)), Status::Ok());
  }
  EXPECT_EQ(part.ProgramPadded(0, Pattern(unit(), 4)), Status::Ok());
  // Empty data is a no-op, even at the very end.
  EXPECT_EQ(part.ProgramPadded(size, {}), Status::Ok());
  // Unaligned address, or a padded length running past the end, fail.
  if (unit() > 1) {
    EXPECT_EQ(part.ProgramPadded(size - 2 * unit() + 1, Bytes(1)),
              Status::InvalidArgument());
  }
  EXPECT_EQ(part.ProgramPadded(size - unit(), Bytes(unit() + 1)),
            Status::OutOfRange());
  EXPECT_EQ(part.ProgramPadded(size, Bytes(1)), Status::OutOfRange());
  EXPECT_EQ(part.ProgramPadded(kHuge - 1, Bytes(1)), Status::OutOfRange());
}

TEST_P(PartitionGeometry, IsErasedSeesOneProgrammedByte) {
  FlashPartition part(flash());
  const size_t size = part.size_bytes();
  EXPECT_EQ(part.IsErased(0, size).value_or(false), true);
  EXPECT_EQ(part.IsErased(size, 0).value_or(false), true);
  // Program one unit in the middle holding a single non-erased byte.
  const size_t at = (size / 2) / unit() * unit();
  Bytes data = Fill(unit(), 0xFF);
  data[unit() - 1] = std::byte{0x7F};
  ASSERT_EQ(part.Program(at, data), Status::Ok());
  const size_t hot = at + unit() - 1;
  EXPECT_EQ(part.IsErased(0, size).value_or(true), false);
  EXPECT_EQ(part.IsErased(hot, 1).value_or(true), false);
  EXPECT_EQ(part.IsErased(0, hot).value_or(false), true);
  EXPECT_EQ(part.IsErased(hot + 1, size - hot - 1).value_or(false), true);
  // Ranges straddling the internal read chunk.
  EXPECT_EQ(part.IsErased(hot - 63, 64).value_or(true), false);
  EXPECT_EQ(part.IsErased(hot - 64, 64).value_or(false), true);
  EXPECT_EQ(part.IsErased(hot - 100, 165).value_or(true), false);
}

// The partition calls the driver directly: empty calls must stop at the
// partition as they stop at FlashMemory, and a short padded program costs
// exactly one program call.
TEST_P(PartitionGeometry, EmptyCallsNeverReachTheChip) {
  FlashPartition part(flash(), 1, GetParam().sector_count - 1);
  EXPECT_EQ(part.Read(0, {}), Status::Ok());
  EXPECT_EQ(part.Program(unit(), {}), Status::Ok());
  EXPECT_EQ(part.ProgramPadded(0, {}), Status::Ok());
  EXPECT_EQ(part.Erase(1, 0), Status::Ok());
  EXPECT_EQ(vf_.flash.operation_count(), 0u);

  if (unit() > 1) {
    ASSERT_EQ(part.ProgramPadded(0, Pattern(unit() - 1, 5)), Status::Ok());
    EXPECT_EQ(vf_.flash.counters().program_calls, 1u);
    EXPECT_EQ(vf_.flash.counters().bytes_programmed, unit());
  }
}

TEST_P(PartitionGeometry, ReadFailuresSurfaceThroughIsErased) {
  FlashPartition part(flash());
  vf_.flash.FailNext(FlashOp::kRead, 0, Status::DataLoss());
  EXPECT_EQ(part.IsErased(0, 16).status(), Status::DataLoss());
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, PartitionGeometry,
    ::testing::Values(Geometry{256, 4, 1}, Geometry{256, 3, 16},
                      Geometry{256, 3, 256}, Geometry{512, 5, 16},
                      Geometry{4096, 4, 4}, Geometry{4096, 3, 1},
                      Geometry{2048, 3, 8}, Geometry{128 * 1024, 3, 256},
                      Geometry{128 * 1024, 3, 1}, Geometry{768, 4, 16},
                      Geometry{96, 3, 32}));

// ----------------------------------------------- invalid partitions / flash

TEST(FlashPartition, InvalidPartitionsFailEveryCall) {
  VectorFlash vf(256, 4, 4);
  Bytes buf(4);
  for (auto [first, count] : {std::pair<size_t, size_t>{4, 1},
                              {3, 2},
                              {0, 5},
                              {0, 0},
                              {5, 0},
                              {kHuge, 2},
                              {1, kHuge}}) {
    FlashPartition part(vf.flash, first, count);
    EXPECT_EQ(part.CheckValid(), Status::OutOfRange()) << first << "+" << count;
    EXPECT_EQ(part.Read(0, buf), Status::OutOfRange());
    EXPECT_EQ(part.Program(0, buf), Status::OutOfRange());
    EXPECT_EQ(part.ProgramPadded(0, buf), Status::OutOfRange());
    EXPECT_EQ(part.Erase(0, 0), Status::OutOfRange());
    EXPECT_EQ(part.EraseAll(), Status::OutOfRange());
    EXPECT_EQ(part.IsErased(0, 0).status(), Status::OutOfRange());
  }
  // Alignment beyond the maximum, or not dividing the sector size.
  FlashPartition too_coarse(vf.flash, 0, 4, 512);
  EXPECT_EQ(too_coarse.CheckValid(), Status::InvalidArgument());
  EXPECT_EQ(too_coarse.Read(0, buf), Status::InvalidArgument());
  FlashPartition not_dividing(vf.flash, 0, 4, 12);
  EXPECT_EQ(not_dividing.alignment(), 12u);
  EXPECT_EQ(not_dividing.CheckValid(), Status::InvalidArgument());
  EXPECT_EQ(vf.flash.operation_count(), 0u);
  EXPECT_EQ(vf.storage, Fill(vf.storage.size(), 0xFF));
}

TEST(FlashPartition, UnmappedFlashGivesNoMappedBase) {
  VectorFlash vf(256, 4, 4, 0xFF, /*mapped=*/false);
  EXPECT_EQ(FlashPartition(vf.flash, 1, 2).mapped_base(), nullptr);
}

TEST(FlashPartition, ErasedValueZero) {
  VectorFlash vf(256, 2, 4, 0x00);
  FlashPartition part(vf.flash, 1, 1);
  EXPECT_EQ(part.erased_value(), std::byte{0x00});
  EXPECT_EQ(part.IsErased(0, 256).value_or(false), true);
  ASSERT_EQ(part.ProgramPadded(0, Fill(5, 0x81)), Status::Ok());
  Bytes out(8);
  ASSERT_EQ(part.Read(0, out), Status::Ok());
  EXPECT_EQ(out, (Bytes{std::byte{0x81}, std::byte{0x81}, std::byte{0x81},
                        std::byte{0x81}, std::byte{0x81}, std::byte{0},
                        std::byte{0}, std::byte{0}}));
  EXPECT_EQ(part.IsErased(0, 8).value_or(true), false);
  EXPECT_EQ(part.IsErased(8, 248).value_or(false), true);
}

TEST(FlashMemory, PublicCallsValidateAndNeverAssert) {
  VectorFlash vf(512, 4, 16);
  FlashMemory& flash = vf.flash;
  const size_t size = flash.size_bytes();
  Bytes buf(16);
  EXPECT_EQ(flash.Read(size - 16, buf), Status::Ok());
  EXPECT_EQ(flash.Read(size - 15, buf), Status::OutOfRange());
  EXPECT_EQ(flash.Read(kHuge, buf), Status::OutOfRange());
  EXPECT_EQ(flash.Read(kHuge - 8, buf), Status::OutOfRange());
  EXPECT_EQ(flash.Read(size, {}), Status::Ok());
  EXPECT_EQ(flash.Read(size + 1, {}), Status::OutOfRange());

  EXPECT_EQ(flash.Program(size, buf), Status::OutOfRange());
  EXPECT_EQ(flash.Program(kHuge - 15, buf), Status::OutOfRange());
  EXPECT_EQ(flash.Program(8, buf), Status::InvalidArgument());
  EXPECT_EQ(flash.Program(0, Bytes(8)), Status::InvalidArgument());
  EXPECT_EQ(flash.Program(16, {}), Status::Ok());

  EXPECT_EQ(flash.Erase(4, 1), Status::OutOfRange());
  EXPECT_EQ(flash.Erase(2, 3), Status::OutOfRange());
  EXPECT_EQ(flash.Erase(1, kHuge), Status::OutOfRange());
  EXPECT_EQ(flash.Erase(4, 0), Status::Ok());
  EXPECT_EQ(flash.Erase(5, 0), Status::OutOfRange());

  // Only the in-range non-empty read reached the chip.
  EXPECT_EQ(vf.flash.operation_count(), 1u);
}

TEST(FlashMemory, InvalidGeometriesFailEveryCall) {
  Bytes buf(4);
  for (size_t alignment : {size_t{0}, size_t{3}, size_t{512}, size_t{24}}) {
    VectorFlash vf(1024, 2, alignment);
    FlashMemory& flash = vf.flash;
    EXPECT_EQ(flash.Read(0, buf), Status::InvalidArgument()) << alignment;
    EXPECT_EQ(flash.Program(0, buf), Status::InvalidArgument());
    EXPECT_EQ(flash.Erase(0, 1), Status::InvalidArgument());
    FlashPartition part(flash);
    EXPECT_NE(part.CheckValid(), Status::Ok());
    EXPECT_NE(part.Read(0, buf), Status::Ok());
  }
  // Zero sectors.
  Bytes storage(1);
  std::vector<uint8_t> programmed(1);
  std::vector<uint32_t> counts(1), lifetime(1);
  RamFlashBase empty(256, 0, RamFlashBase::Config(), storage, programmed,
                     counts, lifetime);
  EXPECT_EQ(empty.Read(0, {}), Status::InvalidArgument());
  EXPECT_EQ(FlashPartition(empty).CheckValid(), Status::OutOfRange());
}

// A driver whose hooks only record what reaches them.
class RecordingFlash final : public FlashMemory {
 public:
  RecordingFlash(size_t sector_size, size_t sector_count)
      : FlashMemory(sector_size, sector_count, 4, std::byte{0xFF}) {}
  size_t calls = 0;

 protected:
  Status DoRead(size_t, std::span<std::byte>) override {
    ++calls;
    return Status::Ok();
  }
  Status DoProgram(size_t, std::span<const std::byte>) override {
    ++calls;
    return Status::Ok();
  }
  Status DoErase(size_t, size_t) override {
    ++calls;
    return Status::Ok();
  }
};

// A part whose byte size does not fit size_t (4 GiB or more on a 32-bit
// target): absolute addresses would wrap, and a partition, which calls the
// driver directly, programmed near address 0 instead of inside itself (found
// by review). Such a flash is refused, and so is every partition of it.
TEST(FlashMemory, ByteSizeBeyondSizeTIsRefused) {
  constexpr size_t kSector = size_t{1} << (sizeof(size_t) * 8 - 2);
  RecordingFlash flash(kSector, 8);
  Bytes data(4);
  EXPECT_EQ(flash.Program(4 * kSector, data), Status::InvalidArgument());
  EXPECT_EQ(flash.Read(0, data), Status::InvalidArgument());
  FlashPartition part(flash, 4, 1);
  EXPECT_NE(part.CheckValid(), Status::Ok());
  EXPECT_NE(part.Program(0, data), Status::Ok());
  EXPECT_NE(part.ProgramPadded(0, Bytes(3)), Status::Ok());
  EXPECT_NE(part.Read(0, data), Status::Ok());
  EXPECT_NE(part.Erase(0, 1), Status::Ok());
  EXPECT_EQ(flash.calls, 0u);
  // Three sectors of that size still fit.
  RecordingFlash largest(kSector, 3);
  EXPECT_EQ(largest.Program(2 * kSector, data), Status::Ok());
  EXPECT_EQ(FlashPartition(largest, 2, 1).Program(0, data), Status::Ok());
  EXPECT_EQ(largest.calls, 2u);
}

}  // namespace
}  // namespace cairn
