// FlashPartition: a contiguous range of sectors of a FlashMemory.
//
// Addresses are relative to the start of the partition. Every call checks
// bounds and alignment and returns OUT_OF_RANGE / INVALID_ARGUMENT instead of
// touching flash outside the partition. The partition's own geometry is
// checked once, when it is constructed (the flash must be constructed
// first), and a call that passes the partition's checks goes straight to the
// driver: a valid partition lies inside a valid flash, and its alignment is
// a multiple of the flash's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/flash/flash_memory.h"
#include "cairn/result.h"
#include "cairn/status.h"

namespace cairn {

class FlashPartition {
 public:
  // The whole of `flash`.
  explicit FlashPartition(FlashMemory& flash)
      : FlashPartition(flash, 0, flash.sector_count()) {}
  // Sectors [first_sector, first_sector + sector_count) of `flash`.
  // `alignment` raises the program alignment above the flash's own (it is
  // rounded up to a multiple of it); 0 keeps the flash's alignment.
  FlashPartition(FlashMemory& flash, size_t first_sector, size_t sector_count,
                 size_t alignment = 0);

  FlashMemory& flash() const { return *flash_; }
  size_t first_sector() const { return first_sector_; }
  size_t sector_size() const { return flash_->sector_size(); }
  size_t sector_count() const { return sector_count_; }
  size_t size_bytes() const { return sector_count_ * sector_size(); }
  size_t alignment() const { return alignment_; }
  std::byte erased_value() const { return flash_->erased_value(); }
  // Memory-mapped view of the partition, or nullptr.
  const std::byte* mapped_base() const;

  // OK only if the partition lies inside the flash and its alignment is valid.
  Status CheckValid() const;

  Status Read(size_t address, std::span<std::byte> out) const;
  // `address` and `data.size()` must be multiples of alignment().
  Status Program(size_t address, std::span<const std::byte> data) const;
  // Programs `data` at the aligned `address`; a final partial unit is padded
  // with the erased value, so any length is accepted.
  Status ProgramPadded(size_t address, std::span<const std::byte> data) const;
  // Erases `count` sectors starting with partition sector `first`.
  Status Erase(size_t first, size_t count) const;
  Status EraseAll() const { return Erase(0, sector_count_); }

  // True if every byte of [address, address + length) reads as erased.
  Result<bool> IsErased(size_t address, size_t length) const;

  size_t AlignUp(size_t n) const { return cairn::AlignUp(n, alignment_); }

 private:
  Status CheckGeometry() const;
  Status CheckRange(size_t address, size_t length) const;
  Status ProgramChecked(size_t address, std::span<const std::byte> data) const;

  FlashMemory* flash_;
  size_t first_sector_;
  uint16_t sector_count_;  // a partition spans at most 65,535 sectors
  // 12 bytes on a 32-bit target (part of W1's RAM budget): the result of
  // CheckGeometry() takes a bit next to the alignment.
  uint16_t alignment_ : 15;
  uint16_t valid_ : 1;
};

}  // namespace cairn
