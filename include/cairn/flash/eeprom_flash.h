// EEPROM support: a byte-writable EEPROM presented as flash, so that every
// store written for NOR flash also runs on EEPROM.
//
// EepromFlash divides the device into virtual sectors of a size the caller
// chooses, programs with alignment 1 and erases by writing the erased value
// (0xFF) over a sector. An EEPROM has no bit rule: writes simply overwrite,
// which is a superset of what the stores need.
#pragma once

#include <cstddef>
#include <span>

#include "cairn/flash/flash_memory.h"
#include "cairn/status.h"

namespace cairn {

// A byte-addressed EEPROM (I2C, SPI or internal). The driver handles its own
// page boundaries and write-cycle waits; the calls are only made with ranges
// inside [0, size_bytes()).
class EepromDevice {
 public:
  EepromDevice(const EepromDevice&) = delete;
  EepromDevice& operator=(const EepromDevice&) = delete;

  virtual Status Read(size_t address, std::span<std::byte> out) = 0;
  virtual Status Write(size_t address, std::span<const std::byte> data) = 0;
  virtual size_t size_bytes() const = 0;

 protected:
  EepromDevice() = default;
  ~EepromDevice() = default;
};

class EepromFlash final : public FlashMemory {
 public:
  static constexpr std::byte kErasedValue{0xFF};
  // Bytes written per device call while erasing (a small stack buffer).
  static constexpr size_t kEraseChunk = 32;

  // Presents `device` as size_bytes() / sector_size sectors (a trailing
  // partial sector is not used). A zero sector size or a device smaller than
  // one sector gives a flash whose every call fails with INVALID_ARGUMENT.
  // With `skip_erased` set (the default), Erase() reads each chunk first and
  // leaves chunks that already read as erased alone, saving write cycles.
  EepromFlash(EepromDevice& device, size_t sector_size,
              bool skip_erased = true);

  EepromDevice& device() const { return *device_; }

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override;
  Status DoProgram(size_t address, std::span<const std::byte> data) override;
  Status DoErase(size_t first_sector, size_t count) override;

 private:
  EepromDevice* device_;
  bool skip_erased_;
};

}  // namespace cairn
