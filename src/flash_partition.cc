#include "cairn/flash/flash_partition.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace cairn {

// W1's RAM target counts the partition with the store (docs/benchmarks.md):
// the cross build (`make cross`) holds both to their sizes.
static_assert(sizeof(void*) != 4 || sizeof(FlashPartition) <= 12);

FlashPartition::FlashPartition(FlashMemory& flash, size_t first_sector,
                               size_t sector_count, size_t alignment)
    : flash_(&flash), first_sector_(first_sector) {
  // Out-of-range counts become 0, which CheckValid() refuses.
  sector_count_ =
      static_cast<uint16_t>(sector_count <= 0xFFFF ? sector_count : 0);
  size_t align = flash.alignment();
  if (alignment > align && align != 0) {
    align = (alignment + align - 1) / align * align;
  }
  alignment_ = static_cast<uint16_t>(align <= 0x7FFF ? align : 0);
  valid_ = CheckGeometry().ok();
}

const std::byte* FlashPartition::mapped_base() const {
  const std::byte* base = flash_->mapped_base();
  return base == nullptr ? nullptr
                         : base + first_sector_ * flash_->sector_size();
}

Status FlashPartition::CheckValid() const {
  return valid_ ? Status::Ok() : CheckGeometry();
}

Status FlashPartition::CheckGeometry() const {
  if (sector_count_ == 0 || first_sector_ > flash_->sector_count() ||
      sector_count_ > flash_->sector_count() - first_sector_) {
    return Status::OutOfRange();
  }
  if (alignment_ == 0 || alignment_ > FlashMemory::kMaxAlignment ||
      !IsAligned(sector_size(), alignment_)) {
    return Status::InvalidArgument();
  }
  return flash_->CheckGeometry();
}

Status FlashPartition::CheckRange(size_t address, size_t length) const {
  CAIRN_TRY(CheckValid());
  if (address > size_bytes() || length > size_bytes() - address) {
    return Status::OutOfRange();
  }
  return Status::Ok();
}

Status FlashPartition::Read(size_t address, std::span<std::byte> out) const {
  CAIRN_TRY(CheckRange(address, out.size()));
  if (out.empty()) return Status::Ok();
  return flash_->DoRead(first_sector_ * sector_size() + address, out);
}

Status FlashPartition::Program(size_t address,
                               std::span<const std::byte> data) const {
  CAIRN_TRY(CheckRange(address, data.size()));
  if (!IsAligned(address, alignment_) || !IsAligned(data.size(), alignment_)) {
    return Status::InvalidArgument();
  }
  return ProgramChecked(address, data);
}

// Programs `data`, whose range and alignment were checked.
Status FlashPartition::ProgramChecked(size_t address,
                                      std::span<const std::byte> data) const {
  if (data.empty()) return Status::Ok();
  return flash_->DoProgram(first_sector_ * sector_size() + address, data);
}

Status FlashPartition::ProgramPadded(size_t address,
                                     std::span<const std::byte> data) const {
  CAIRN_TRY(CheckRange(address, AlignUp(data.size())));
  if (!IsAligned(address, alignment_)) return Status::InvalidArgument();
  const size_t whole = AlignDown(data.size(), alignment_);
  CAIRN_TRY(ProgramChecked(address, data.first(whole)));
  const size_t tail = data.size() - whole;
  if (tail == 0) return Status::Ok();
  std::array<std::byte, FlashMemory::kMaxAlignment> unit;
  std::memcpy(unit.data(), data.data() + whole, tail);
  std::fill(unit.begin() + tail, unit.begin() + alignment_, erased_value());
  return ProgramChecked(address + whole, std::span(unit).first(alignment_));
}

Status FlashPartition::Erase(size_t first, size_t count) const {
  CAIRN_TRY(CheckValid());
  if (first > sector_count_ || count > sector_count_ - first) {
    return Status::OutOfRange();
  }
  if (count == 0) return Status::Ok();
  return flash_->DoErase(first_sector_ + first, count);
}

Result<bool> FlashPartition::IsErased(size_t address, size_t length) const {
  CAIRN_TRY(CheckRange(address, length));
  std::array<std::byte, 64> chunk;
  while (length > 0) {
    const size_t n = std::min(length, chunk.size());
    CAIRN_TRY(Read(address, std::span(chunk).first(n)));
    for (size_t i = 0; i < n; ++i) {
      if (chunk[i] != erased_value()) return false;
    }
    address += n;
    length -= n;
  }
  return true;
}

}  // namespace cairn
