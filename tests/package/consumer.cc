// The consumer's firmware: a settings store on a simulated flash. Exits 0
// when a value survives a remount.
#include <cstdint>
#include <cstdio>
#include <span>

#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"

int main() {
  cairn::RamFlash<4096, 4> flash;
  cairn::FlashPartition partition(flash);
  constexpr cairn::kvs::Key kBootCount = cairn::kvs::KeyFromName("boot_count");
  {
    cairn::kvs::KeyValueStore<8> store(partition);
    if (!store.Init().ok()) return 1;
    const uint32_t boots = 41;
    if (!store.Put(kBootCount, std::as_bytes(std::span(&boots, 1))).ok()) {
      return 2;
    }
  }
  cairn::kvs::KeyValueStore<8> store(partition);
  if (!store.Init().ok()) return 3;
  uint32_t boots = 0;
  const cairn::StatusWithSize got =
      store.Get(kBootCount, std::as_writable_bytes(std::span(&boots, 1)));
  if (!got.ok() || got.size() != sizeof(boots) || boots != 41) return 4;
  std::printf("consumer: boot_count %u after remount\n",
              static_cast<unsigned>(boots));
  return 0;
}
