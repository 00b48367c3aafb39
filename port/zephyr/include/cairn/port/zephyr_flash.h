// cairn::port::FlashAreaMemory: a FlashMemory over a Zephyr flash-map area
// (a fixed partition from the devicetree), e.g.
//
//   const struct flash_area* area;
//   flash_area_open(FIXED_PARTITION_ID(storage_partition), &area);
//   static cairn::port::FlashAreaMemory flash(area);
//   static cairn::FlashPartition partition(flash);
//   static cairn::kvs::KeyValueStore<64> store(partition);
//   store.Init();
//
// Geometry comes from the flash driver: the sector size is the erase-page
// size at the start of the area (CONFIG_FLASH_PAGE_LAYOUT; the pages must
// all be that size up to the end of the area), the alignment is the
// driver's write-block size and the erased value its erase_value. Pass a
// non-zero sector_size or alignment to override (e.g. without
// CONFIG_FLASH_PAGE_LAYOUT). When the area cannot be used (a null area,
// mixed page sizes, a write block above 256 bytes) the flash reports zero
// sectors and every call fails with INVALID_ARGUMENT.
#pragma once

#include <zephyr/storage/flash_map.h>

#include <cstddef>
#include <span>

#include "cairn/flash/flash_memory.h"
#include "cairn/status.h"

namespace cairn::port {

class FlashAreaMemory final : public FlashMemory {
 public:
  // `mapped_base`: where the area appears in the address space when the
  // flash is memory-mapped (internal flash: DT_REG_ADDR of the flash node
  // plus the area's offset), or nullptr.
  explicit FlashAreaMemory(const struct flash_area* area,
                           size_t sector_size = 0, size_t alignment = 0,
                           const std::byte* mapped_base = nullptr);

  const struct flash_area* area() const { return area_; }

  // The Status for a negative errno from the flash driver.
  static Status FromErrno(int error);

 private:
  Status DoRead(size_t address, std::span<std::byte> out) override;
  Status DoProgram(size_t address, std::span<const std::byte> data) override;
  Status DoErase(size_t first_sector, size_t count) override;

  const struct flash_area* area_;
};

}  // namespace cairn::port
