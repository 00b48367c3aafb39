// cairn on ESP-IDF: the settings partition holds a key-value store that the
// build provisioned from settings.csv; each boot increments boot_count.
#include <esp_log.h>

#include <cstdint>
#include <span>

#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key_value_store.h"
#include "cairn/port/esp_partition_flash.h"

namespace {

constexpr const char* kTag = "cairn";
constexpr cairn::kvs::Key kBootCount = cairn::kvs::KeyFromName("boot_count");
constexpr cairn::kvs::Key kDeviceName = cairn::kvs::KeyFromName("device_name");

}  // namespace

extern "C" void app_main() {
  static cairn::port::EspPartitionFlash flash(
      cairn::port::EspPartitionFlash::Find("settings"));
  static cairn::FlashPartition partition(flash);
  static cairn::kvs::KeyValueStore<32> store(partition);
  if (cairn::Status s = store.Init(); !s.ok()) {
    ESP_LOGE(kTag, "Init: %s", s.str());
    return;
  }

  char name[32] = {};
  cairn::StatusWithSize got = store.Get(
      kDeviceName, std::as_writable_bytes(std::span(name, sizeof(name) - 1)));
  if (!got.ok()) ESP_LOGW(kTag, "device_name: %s", got.status().str());

  uint32_t boots = 0;
  got = store.Get(kBootCount, std::as_writable_bytes(std::span(&boots, 1)));
  if (!got.ok() && !got.status().IsNotFound()) {
    ESP_LOGW(kTag, "boot_count: %s", got.status().str());
  }
  ++boots;
  if (cairn::Status s =
          store.Put(kBootCount, std::as_bytes(std::span(&boots, 1)));
      !s.ok()) {
    ESP_LOGE(kTag, "Put: %s", s.str());
    return;
  }
  ESP_LOGI(kTag, "%s: boot %u (%u sectors of %u bytes)", name,
           static_cast<unsigned>(boots),
           static_cast<unsigned>(flash.sector_count()),
           static_cast<unsigned>(flash.sector_size()));
}
