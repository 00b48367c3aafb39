#include "cairn/flash/flash_memory.h"

namespace cairn {

Status FlashMemory::Read(size_t address, std::span<std::byte> out) {
  CAIRN_TRY(CheckGeometry());
  if (address > size_bytes() || out.size() > size_bytes() - address) {
    return Status::OutOfRange();
  }
  if (out.empty()) return Status::Ok();
  return DoRead(address, out);
}

Status FlashMemory::Program(size_t address, std::span<const std::byte> data) {
  CAIRN_TRY(CheckGeometry());
  if (address > size_bytes() || data.size() > size_bytes() - address) {
    return Status::OutOfRange();
  }
  if (!IsAligned(address, alignment_) || !IsAligned(data.size(), alignment_)) {
    return Status::InvalidArgument();
  }
  if (data.empty()) return Status::Ok();
  return DoProgram(address, data);
}

Status FlashMemory::Erase(size_t first_sector, size_t count) {
  CAIRN_TRY(CheckGeometry());
  if (first_sector > sector_count_ || count > sector_count_ - first_sector) {
    return Status::OutOfRange();
  }
  if (count == 0) return Status::Ok();
  return DoErase(first_sector, count);
}

}  // namespace cairn
