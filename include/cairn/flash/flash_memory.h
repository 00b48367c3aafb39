// FlashMemory: the interface every flash (or EEPROM) driver implements.
//
// The public calls validate their arguments and never assert: a read past the
// end returns OUT_OF_RANGE, a program whose address or length is not a
// multiple of the program alignment returns INVALID_ARGUMENT. Drivers only
// implement the Do* hooks, which are called with valid arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/flash/alignment.h"
#include "cairn/status.h"

namespace cairn {

class FlashMemory {
 public:
  static constexpr size_t kMaxAlignment = 256;

  FlashMemory(const FlashMemory&) = delete;
  FlashMemory& operator=(const FlashMemory&) = delete;

  size_t sector_size() const { return sector_size_; }
  size_t sector_count() const { return sector_count_; }
  size_t size_bytes() const { return sector_size_ * sector_count_; }
  // Program address and length must be multiples of this (1..256).
  size_t alignment() const { return alignment_; }
  // The value every byte reads after an erase (0xFF for NOR flash).
  std::byte erased_value() const { return erased_value_; }
  // Base of the memory-mapped view, or nullptr when the part is not mapped.
  const std::byte* mapped_base() const { return mapped_base_; }

  // Reads `out.size()` bytes at `address`. Any alignment is allowed.
  Status Read(size_t address, std::span<std::byte> out);
  // Programs `data` at `address` (both aligned to alignment()).
  Status Program(size_t address, std::span<const std::byte> data);
  // Erases `count` sectors starting with `first_sector`.
  Status Erase(size_t first_sector, size_t count);

 protected:
  FlashMemory(size_t sector_size, size_t sector_count, size_t alignment,
              std::byte erased_value, const std::byte* mapped_base = nullptr)
      : sector_size_(sector_size),
        sector_count_(sector_count),
        alignment_(alignment),
        erased_value_(erased_value),
        geometry_ok_(sector_size != 0 && sector_count != 0 && alignment != 0 &&
                     alignment <= kMaxAlignment &&
                     sector_size % alignment == 0 &&
                     sector_size <= SIZE_MAX / sector_count),
        mapped_base_(mapped_base) {}
  ~FlashMemory() = default;

  void set_mapped_base(const std::byte* base) { mapped_base_ = base; }

  virtual Status DoRead(size_t address, std::span<std::byte> out) = 0;
  virtual Status DoProgram(size_t address, std::span<const std::byte> data) = 0;
  virtual Status DoErase(size_t first_sector, size_t count) = 0;

 private:
  // A partition checks its calls against its own (stricter) geometry and
  // calls the Do* hooks directly.
  friend class FlashPartition;

  // INVALID_ARGUMENT for a geometry no store can use, or one whose byte size
  // does not fit size_t (a part of 4 GiB or more on a 32-bit target).
  Status CheckGeometry() const {
    return geometry_ok_ ? Status::Ok() : Status::InvalidArgument();
  }

  size_t sector_size_;
  size_t sector_count_;
  size_t alignment_;
  std::byte erased_value_;
  bool geometry_ok_;  // the geometry never changes: checked once
  const std::byte* mapped_base_;
};

}  // namespace cairn
