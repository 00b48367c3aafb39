// cairn on Zephyr: counts boots in a key-value store on the devicetree's
// storage_partition and writes two settings atomically with a batch.
#include <zephyr/kernel.h>
#include <zephyr/storage/flash_map.h>
#include <zephyr/sys/printk.h>

#include <cstdint>
#include <span>

#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/batch.h"
#include "cairn/kvs/key_value_store.h"
#include "cairn/port/zephyr_flash.h"

namespace {

constexpr cairn::kvs::Key kBootCount = cairn::kvs::KeyFromName("boot_count");
constexpr cairn::kvs::Key kLastUptime = cairn::kvs::KeyFromName("uptime_ms");

template <typename T>
std::span<const std::byte> Bytes(const T& value) {
  return std::as_bytes(std::span<const T, 1>(&value, 1));
}

template <typename T>
std::span<std::byte> WritableBytes(T& value) {
  return std::as_writable_bytes(std::span<T, 1>(&value, 1));
}

}  // namespace

int main() {
  const struct flash_area* area = nullptr;
  if (flash_area_open(FIXED_PARTITION_ID(storage_partition), &area) != 0) {
    printk("cairn: cannot open storage_partition\n");
    return 1;
  }
  static cairn::port::FlashAreaMemory flash(area);
  static cairn::FlashPartition partition(flash);
  static cairn::kvs::KeyValueStore<16> store(partition);

  if (cairn::Status s = store.Init(); !s.ok()) {
    printk("cairn: Init failed: %s\n", s.str());
    return 1;
  }

  uint32_t boots = 0;
  cairn::StatusWithSize got = store.Get(kBootCount, WritableBytes(boots));
  if (!got.ok() && !got.status().IsNotFound()) {
    printk("cairn: reading boot_count failed: %s\n", got.status().str());
  }
  ++boots;

  // Both values change together or not at all, even if power fails here.
  const uint32_t uptime = k_uptime_get_32();
  cairn::kvs::Batch<2> batch;
  batch.Put(kBootCount, Bytes(boots)).IgnoreError();
  batch.Put(kLastUptime, Bytes(uptime)).IgnoreError();
  if (cairn::Status s = store.Commit(batch); !s.ok()) {
    printk("cairn: Commit failed: %s\n", s.str());
    return 1;
  }

  const cairn::kvs::Stats stats = store.GetStats();
  printk("cairn: boot %u (%u keys, %u bytes free in %u sectors of %u bytes)\n",
         static_cast<unsigned>(boots), static_cast<unsigned>(stats.live_keys),
         static_cast<unsigned>(stats.free_bytes),
         static_cast<unsigned>(flash.sector_count()),
         static_cast<unsigned>(flash.sector_size()));
  return 0;
}
