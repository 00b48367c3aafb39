// cairn::port::EspPartitionFlash: a FlashMemory over an ESP-IDF partition
// (esp_partition API, ESP-IDF 5.0 or later), e.g. with a partition table row
//   cairn,    data, 0x40,  ,  0x10000,
// and
//   static cairn::port::EspPartitionFlash flash(
//       cairn::port::EspPartitionFlash::Find("cairn"));
//   static cairn::FlashPartition partition(flash);
//   static cairn::kvs::KeyValueStore<64> store(partition);
//   ESP_ERROR_CHECK(store.Init().ok() ? ESP_OK : ESP_FAIL);
//
// Geometry: sectors of the partition's erase_size (4 KiB on SPI NOR),
// erased value 0xFF, program alignment from the `alignment` argument or
// CONFIG_CAIRN_ESP_ALIGNMENT (SPI NOR programs single bytes; a larger unit
// only pads entries). Encrypted partitions are refused (zero sectors):
// erased flash does not read back as 0xFF through flash encryption, and
// the store must see erased space to mount.
#pragma once

#include <esp_err.h>
#include <esp_partition.h>

#include <cstddef>
#include <span>

#include "cairn/flash/flash_memory.h"
#include "cairn/status.h"

namespace cairn::port {

class EspPartitionFlash final : public FlashMemory {
 public:
  // `partition` may be null (then the flash has zero sectors and every call
  // fails with INVALID_ARGUMENT). `alignment` 0 means
  // CONFIG_CAIRN_ESP_ALIGNMENT.
  explicit EspPartitionFlash(const esp_partition_t* partition,
                             size_t alignment = 0);
  ~EspPartitionFlash() { Unmap(); }

  // The first data partition labelled `label`, or nullptr.
  static const esp_partition_t* Find(const char* label);

  // Maps the whole partition into the data address space so that
  // BlobReader::GetMemoryMappedBlob() works. ESP-IDF invalidates the cache
  // of the written or erased range on every write and erase, so the mapping
  // stays coherent. Costs MMU pages (64 KiB each on most chips).
  Status Map();
  void Unmap();

  const esp_partition_t* partition() const { return partition_; }

  // The Status for an esp_err_t.
  static Status FromEspErr(esp_err_t error);

 private:
  Status DoRead(size_t address, std::span<std::byte> out) override;
  Status DoProgram(size_t address, std::span<const std::byte> data) override;
  Status DoErase(size_t first_sector, size_t count) override;

  const esp_partition_t* partition_;
  esp_partition_mmap_handle_t mmap_handle_ = 0;
  bool mapped_ = false;
};

}  // namespace cairn::port
