// W1's update loop (G1, 32 keys, 16-byte values, the W1 generators) as a
// plain program, for counting the instructions a Put executes with
// callgrind (scripts/bench.sh): `cairn_put_instructions N` fills the store
// and makes N random updates. Unlike a timing, the count is the same on
// every run of one build, so commits can be compared exactly.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "bench_util.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"

int main(int argc, char** argv) {
  using namespace cairn;
  constexpr size_t kKeys = 32;
  const long updates = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  auto flash = std::make_unique<RamFlash<4096, 16>>();
  FlashPartition partition(*flash);
  auto store = std::make_unique<kvs::KeyValueStore<kKeys>>(partition);
  if (!store->Init().ok()) return 1;
  bench::XorShift64Star rng(0x1234);
  bench::XorShift64Star fill(0x1234 ^ bench::kFillSeedMask);
  std::array<std::byte, 16> value{};
  for (long i = -static_cast<long>(kKeys); i < updates; ++i) {
    const auto key = static_cast<kvs::Key>(i < 0 ? i + static_cast<long>(kKeys)
                                                 : rng.Next() % kKeys);
    bench::FillValue(fill, value);
    if (!store->Put(key, std::span<const std::byte>(value)).ok()) {
      std::fprintf(stderr, "Put %ld failed\n", i);
      return 1;
    }
  }
  return 0;
}
