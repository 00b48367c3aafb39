#include "cairn/port/zephyr_flash.h"

#include <zephyr/drivers/flash.h>

#include <cerrno>
#include <cstdint>

namespace cairn::port {
namespace {

const struct device* DeviceOf(const struct flash_area* area) {
  return area == nullptr ? nullptr : flash_area_get_device(area);
}

size_t QuerySectorSize(const struct flash_area* area, size_t requested) {
  if (requested != 0 || area == nullptr) return requested;
#if defined(CONFIG_FLASH_PAGE_LAYOUT)
  const struct device* dev = DeviceOf(area);
  if (dev == nullptr || area->fa_size == 0) return 0;
  struct flash_pages_info first;
  struct flash_pages_info last;
  if (flash_get_page_info_by_offs(dev, area->fa_off, &first) != 0 ||
      flash_get_page_info_by_offs(dev, area->fa_off + area->fa_size - 1,
                                  &last) != 0) {
    return 0;
  }
  // The area must start on a page and consist of equal pages only (the
  // store erases whole sectors); anything else is refused.
  if (static_cast<off_t>(first.start_offset) != area->fa_off ||
      first.size != last.size || area->fa_size % first.size != 0) {
    return 0;
  }
  return first.size;
#else
  return 0;  // pass sector_size explicitly without CONFIG_FLASH_PAGE_LAYOUT
#endif
}

size_t SectorCount(const struct flash_area* area, size_t sector_size) {
  if (area == nullptr || sector_size == 0) return 0;
  return area->fa_size / sector_size;
}

size_t QueryAlignment(const struct flash_area* area, size_t requested) {
  if (requested != 0) return requested;
  const struct device* dev = DeviceOf(area);
  if (dev == nullptr) return 0;
  const size_t block = flash_get_write_block_size(dev);
  return block == 0 ? 1 : block;
}

std::byte QueryErasedValue(const struct flash_area* area) {
  const struct device* dev = DeviceOf(area);
  if (dev == nullptr) return std::byte{0xFF};
  const struct flash_parameters* params = flash_get_parameters(dev);
  return std::byte{params == nullptr ? uint8_t{0xFF} : params->erase_value};
}

}  // namespace

FlashAreaMemory::FlashAreaMemory(const struct flash_area* area,
                                 size_t sector_size, size_t alignment,
                                 const std::byte* mapped_base)
    : FlashMemory(QuerySectorSize(area, sector_size),
                  SectorCount(area, QuerySectorSize(area, sector_size)),
                  QueryAlignment(area, alignment), QueryErasedValue(area),
                  mapped_base),
      area_(area) {}

Status FlashAreaMemory::FromErrno(int error) {
  if (error >= 0) return Status::Ok();
  switch (-error) {
    case EINVAL:
      return Status::InvalidArgument();
    case ERANGE:
    case EFBIG:
      return Status::OutOfRange();
    case EACCES:
    case EROFS:
      return Status::FailedPrecondition();
    case EBUSY:
    case EAGAIN:
    case ETIMEDOUT:
    case ENODEV:
      return Status::Unavailable();
    default:
      return Status::Internal();
  }
}

Status FlashAreaMemory::DoRead(size_t address, std::span<std::byte> out) {
  return FromErrno(flash_area_read(area_, static_cast<off_t>(address),
                                   out.data(), out.size()));
}

Status FlashAreaMemory::DoProgram(size_t address,
                                  std::span<const std::byte> data) {
  return FromErrno(flash_area_write(area_, static_cast<off_t>(address),
                                    data.data(), data.size()));
}

Status FlashAreaMemory::DoErase(size_t first_sector, size_t count) {
  return FromErrno(
      flash_area_erase(area_, static_cast<off_t>(first_sector * sector_size()),
                       count * sector_size()));
}

}  // namespace cairn::port
