#include "cairn/flash/eeprom_flash.h"

#include <algorithm>
#include <array>

namespace cairn {
namespace {

constexpr std::array<std::byte, EepromFlash::kEraseChunk> kErasedChunk = [] {
  std::array<std::byte, EepromFlash::kEraseChunk> chunk{};
  for (std::byte& b : chunk) b = EepromFlash::kErasedValue;
  return chunk;
}();

}  // namespace

EepromFlash::EepromFlash(EepromDevice& device, size_t sector_size,
                         bool skip_erased)
    : FlashMemory(sector_size,
                  sector_size == 0 ? 0 : device.size_bytes() / sector_size,
                  /*alignment=*/1, kErasedValue),
      device_(&device),
      skip_erased_(skip_erased) {}

Status EepromFlash::DoRead(size_t address, std::span<std::byte> out) {
  return device_->Read(address, out);
}

Status EepromFlash::DoProgram(size_t address, std::span<const std::byte> data) {
  return device_->Write(address, data);
}

Status EepromFlash::DoErase(size_t first_sector, size_t count) {
  std::array<std::byte, kEraseChunk> chunk;
  size_t address = first_sector * sector_size();
  const size_t end = address + count * sector_size();
  while (address < end) {
    const size_t n = std::min(kEraseChunk, end - address);
    if (skip_erased_) {
      CAIRN_TRY(device_->Read(address, std::span(chunk).first(n)));
      if (std::equal(chunk.begin(), chunk.begin() + n, kErasedChunk.begin())) {
        address += n;
        continue;
      }
    }
    CAIRN_TRY(device_->Write(address, std::span(kErasedChunk).first(n)));
    address += n;
  }
  return Status::Ok();
}

}  // namespace cairn
