#include "cairn/flash/eeprom_flash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <ostream>
#include <vector>

#include "cairn/flash/flash_partition.h"

namespace cairn {

[[maybe_unused]] static void PrintTo(Status status, std::ostream* os) {
  *os << status.str();
}

namespace {

using Bytes = std::vector<std::byte>;

Bytes Fill(size_t n, uint8_t value) { return Bytes(n, std::byte{value}); }

// An EEPROM on a vector: counts device calls and can fail on demand. It
// checks that it is never called out of range.
class FakeEeprom final : public EepromDevice {
 public:
  explicit FakeEeprom(size_t size, uint8_t fill = 0xFF)
      : memory(size, std::byte{fill}) {}

  Status Read(size_t address, std::span<std::byte> out) override {
    EXPECT_LE(address + out.size(), memory.size());
    ++reads;
    if (fail_reads) return Status::DataLoss();
    std::memcpy(out.data(), memory.data() + address, out.size());
    return Status::Ok();
  }
  Status Write(size_t address, std::span<const std::byte> data) override {
    EXPECT_LE(address + data.size(), memory.size());
    ++writes;
    bytes_written += data.size();
    max_write = std::max(max_write, data.size());
    if (fail_writes) return Status::Internal();
    std::memcpy(memory.data() + address, data.data(), data.size());
    return Status::Ok();
  }
  size_t size_bytes() const override { return memory.size(); }

  Bytes memory;
  size_t reads = 0;
  size_t writes = 0;
  size_t bytes_written = 0;
  size_t max_write = 0;
  bool fail_reads = false;
  bool fail_writes = false;
};

TEST(EepromFlash, Geometry) {
  FakeEeprom eeprom(1000);
  EepromFlash flash(eeprom, 128);
  EXPECT_EQ(flash.sector_size(), 128u);
  EXPECT_EQ(flash.sector_count(), 7u);  // the partial eighth is unused
  EXPECT_EQ(flash.size_bytes(), 896u);
  EXPECT_EQ(flash.alignment(), 1u);
  EXPECT_EQ(flash.erased_value(), std::byte{0xFF});
  EXPECT_EQ(flash.mapped_base(), nullptr);
  EXPECT_EQ(&flash.device(), &eeprom);
}

TEST(EepromFlash, ReadsAndWritesPassThrough) {
  FakeEeprom eeprom(512, 0x00);
  EepromFlash flash(eeprom, 64);
  const Bytes data = {std::byte{1}, std::byte{2}, std::byte{3}};
  ASSERT_EQ(flash.Program(5, data), Status::Ok());
  EXPECT_EQ(eeprom.memory[5], std::byte{1});
  EXPECT_EQ(eeprom.memory[7], std::byte{3});
  Bytes out(3);
  ASSERT_EQ(flash.Read(5, out), Status::Ok());
  EXPECT_EQ(out, data);
  // No bit rule: writes simply overwrite.
  ASSERT_EQ(flash.Program(5, Fill(3, 0xFF)), Status::Ok());
  ASSERT_EQ(flash.Program(5, Fill(1, 0x42)), Status::Ok());
  ASSERT_EQ(flash.Read(5, out), Status::Ok());
  EXPECT_EQ(out, (Bytes{std::byte{0x42}, std::byte{0xFF}, std::byte{0xFF}}));
}

TEST(EepromFlash, EraseWritesErasedValueOverItsSectorsOnly) {
  FakeEeprom eeprom(512, 0x00);
  EepromFlash flash(eeprom, 100);  // 5 sectors, 12 bytes never used
  ASSERT_EQ(flash.Erase(1, 2), Status::Ok());
  for (size_t i = 0; i < eeprom.memory.size(); ++i) {
    const bool inside = i >= 100 && i < 300;
    EXPECT_EQ(eeprom.memory[i], std::byte{inside ? uint8_t{0xFF} : uint8_t{0}})
        << i;
  }
  EXPECT_LE(eeprom.max_write, EepromFlash::kEraseChunk);
  EXPECT_EQ(eeprom.bytes_written, 200u);
}

TEST(EepromFlash, EraseSkipsChunksThatAreAlreadyErased) {
  FakeEeprom eeprom(1024);  // starts erased
  EepromFlash flash(eeprom, 256);
  ASSERT_EQ(flash.Erase(0, 4), Status::Ok());
  EXPECT_EQ(eeprom.writes, 0u);
  EXPECT_GT(eeprom.reads, 0u);
  // Dirty two bytes in different chunks: only those chunks are written.
  ASSERT_EQ(flash.Program(3, Fill(1, 0)), Status::Ok());
  ASSERT_EQ(flash.Program(200, Fill(1, 0)), Status::Ok());
  eeprom.writes = eeprom.bytes_written = 0;
  ASSERT_EQ(flash.Erase(0, 1), Status::Ok());
  EXPECT_EQ(eeprom.writes, 2u);
  EXPECT_EQ(eeprom.bytes_written, 2 * EepromFlash::kEraseChunk);
  EXPECT_EQ(eeprom.memory, Fill(1024, 0xFF));
}

TEST(EepromFlash, EraseCanAlwaysWrite) {
  FakeEeprom eeprom(1024);
  EepromFlash flash(eeprom, 256, /*skip_erased=*/false);
  ASSERT_EQ(flash.Erase(1, 2), Status::Ok());
  EXPECT_EQ(eeprom.reads, 0u);
  EXPECT_EQ(eeprom.bytes_written, 512u);
  EXPECT_EQ(eeprom.writes, 512u / EepromFlash::kEraseChunk);
}

TEST(EepromFlash, DeviceErrorsPropagate) {
  FakeEeprom eeprom(256, 0x00);
  EepromFlash flash(eeprom, 64);
  Bytes out(4);
  eeprom.fail_reads = true;
  EXPECT_EQ(flash.Read(0, out), Status::DataLoss());
  EXPECT_EQ(flash.Erase(0, 1), Status::DataLoss());
  eeprom.fail_reads = false;
  eeprom.fail_writes = true;
  EXPECT_EQ(flash.Program(0, out), Status::Internal());
  EXPECT_EQ(flash.Erase(0, 1), Status::Internal());
  EXPECT_EQ(eeprom.writes, 2u);  // stopped at the first failing chunk
}

TEST(EepromFlash, OutOfRangeCallsNeverReachTheDevice) {
  FakeEeprom eeprom(300);
  EepromFlash flash(eeprom, 100);
  Bytes out(2);
  EXPECT_EQ(flash.Read(299, out), Status::OutOfRange());
  EXPECT_EQ(flash.Program(299, out), Status::OutOfRange());
  EXPECT_EQ(flash.Erase(3, 1), Status::OutOfRange());
  EXPECT_EQ(eeprom.reads + eeprom.writes, 0u);
}

TEST(EepromFlash, UnusableGeometriesFail) {
  FakeEeprom eeprom(100);
  Bytes out(1);
  EepromFlash zero(eeprom, 0);
  EXPECT_EQ(zero.sector_count(), 0u);
  EXPECT_EQ(zero.Read(0, out), Status::InvalidArgument());
  EepromFlash too_big(eeprom, 128);
  EXPECT_EQ(too_big.Read(0, out), Status::InvalidArgument());
  EXPECT_EQ(too_big.Erase(0, 1), Status::InvalidArgument());
  EXPECT_EQ(eeprom.reads + eeprom.writes, 0u);
}

TEST(EepromFlash, WorksUnderAPartition) {
  FakeEeprom eeprom(4096, 0x5A);
  EepromFlash flash(eeprom, 512);
  FlashPartition part(flash, 2, 4);
  ASSERT_EQ(part.CheckValid(), Status::Ok());
  ASSERT_EQ(part.EraseAll(), Status::Ok());
  EXPECT_EQ(part.IsErased(0, part.size_bytes()).value_or(false), true);
  EXPECT_EQ(eeprom.memory[1023], std::byte{0x5A});
  EXPECT_EQ(eeprom.memory[1024], std::byte{0xFF});
  EXPECT_EQ(eeprom.memory[3071], std::byte{0xFF});
  EXPECT_EQ(eeprom.memory[3072], std::byte{0x5A});
  ASSERT_EQ(part.ProgramPadded(7, Fill(3, 0x11)), Status::Ok());
  EXPECT_EQ(eeprom.memory[1024 + 7], std::byte{0x11});
  EXPECT_EQ(eeprom.memory[1024 + 10], std::byte{0xFF});
  EXPECT_EQ(part.IsErased(0, 16).value_or(true), false);
  // A partition can still ask for a coarser unit than the EEPROM's byte.
  FlashPartition coarse(flash, 0, 2, 16);
  EXPECT_EQ(coarse.alignment(), 16u);
  EXPECT_EQ(coarse.Program(8, Fill(16, 0)), Status::InvalidArgument());
}

}  // namespace
}  // namespace cairn
