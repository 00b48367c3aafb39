#include "cairn/port/esp_partition_flash.h"

#include <sdkconfig.h>

#include <cstdint>

#ifndef CONFIG_CAIRN_ESP_ALIGNMENT
#define CONFIG_CAIRN_ESP_ALIGNMENT 4
#endif

namespace cairn::port {
namespace {

bool Usable(const esp_partition_t* p) {
  return p != nullptr && !p->encrypted && p->erase_size != 0 &&
         p->size % p->erase_size == 0;
}

size_t SectorSize(const esp_partition_t* p) {
  return Usable(p) ? p->erase_size : 0;
}

size_t SectorCount(const esp_partition_t* p) {
  return Usable(p) ? p->size / p->erase_size : 0;
}

size_t Alignment(size_t requested) {
  return requested != 0 ? requested : CONFIG_CAIRN_ESP_ALIGNMENT;
}

}  // namespace

EspPartitionFlash::EspPartitionFlash(const esp_partition_t* partition,
                                     size_t alignment)
    : FlashMemory(SectorSize(partition), SectorCount(partition),
                  Alignment(alignment), std::byte{0xFF}),
      partition_(partition) {}

const esp_partition_t* EspPartitionFlash::Find(const char* label) {
  return esp_partition_find_first(ESP_PARTITION_TYPE_DATA,
                                  ESP_PARTITION_SUBTYPE_ANY, label);
}

Status EspPartitionFlash::Map() {
  if (mapped_) return Status::Ok();
  if (!Usable(partition_)) return Status::FailedPrecondition();
  const void* base = nullptr;
  esp_partition_mmap_handle_t handle = 0;
  const esp_err_t err = esp_partition_mmap(
      partition_, 0, partition_->size, ESP_PARTITION_MMAP_DATA, &base, &handle);
  if (err != ESP_OK) return FromEspErr(err);
  mmap_handle_ = handle;
  mapped_ = true;
  set_mapped_base(static_cast<const std::byte*>(base));
  return Status::Ok();
}

void EspPartitionFlash::Unmap() {
  if (!mapped_) return;
  set_mapped_base(nullptr);
  esp_partition_munmap(mmap_handle_);
  mapped_ = false;
}

Status EspPartitionFlash::FromEspErr(esp_err_t error) {
  switch (error) {
    case ESP_OK:
      return Status::Ok();
    case ESP_ERR_INVALID_ARG:
      return Status::InvalidArgument();
    case ESP_ERR_INVALID_SIZE:
      return Status::OutOfRange();
#ifdef ESP_ERR_NOT_ALLOWED
    case ESP_ERR_NOT_ALLOWED:  // read-only partition (newer ESP-IDF)
#endif
    case ESP_ERR_NOT_SUPPORTED:
      return Status::FailedPrecondition();
    case ESP_ERR_TIMEOUT:
    case ESP_ERR_INVALID_STATE:
      return Status::Unavailable();
    default:
      return Status::Internal();
  }
}

Status EspPartitionFlash::DoRead(size_t address, std::span<std::byte> out) {
  return FromEspErr(
      esp_partition_read(partition_, address, out.data(), out.size()));
}

Status EspPartitionFlash::DoProgram(size_t address,
                                    std::span<const std::byte> data) {
  return FromEspErr(
      esp_partition_write(partition_, address, data.data(), data.size()));
}

Status EspPartitionFlash::DoErase(size_t first_sector, size_t count) {
  return FromEspErr(esp_partition_erase_range(
      partition_, first_sector * sector_size(), count * sector_size()));
}

}  // namespace cairn::port
