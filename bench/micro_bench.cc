// Host CPU cost of the key-value store's main calls on RamFlash (geometry
// G1, the W1 configuration), with Google Benchmark. These are host times
// only: compare them with each other or across commits on one machine.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>

#include "bench_util.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"

namespace cairn::bench {
namespace {

constexpr size_t kKeys = 32;
using Flash = RamFlash<4096, 16>;
using Store = kvs::KeyValueStore<kKeys>;

struct Rig {
  explicit Rig(const kvs::Options& options = kvs::Options())
      : store(std::make_unique<Store>(partition, options)) {}
  Flash flash;
  FlashPartition partition{flash};
  std::unique_ptr<Store> store;
  XorShift64Star rng{0x1234};
  XorShift64Star fill{0x1234 ^ kFillSeedMask};
  std::array<std::byte, 16> value{};

  // Formats the flash and writes every key once.
  bool Fill() {
    if (!store->Init().ok()) return false;
    for (size_t k = 0; k < kKeys; ++k) {
      if (!Put(static_cast<kvs::Key>(k)).ok()) return false;
    }
    return true;
  }
  Status Put(kvs::Key key) {
    FillValue(fill, value);
    return store->Put(key, std::span<const std::byte>(value));
  }
  Status RandomUpdate() {
    return Put(static_cast<kvs::Key>(rng.Next() % kKeys));
  }
};

// One random update of a 16-byte value (reclaims included as they come).
void BM_Put(benchmark::State& state) {
  auto rig = std::make_unique<Rig>();
  if (!rig->Fill()) {
    state.SkipWithError("store setup failed");
    return;
  }
  for (auto _ : state) {
    if (!rig->RandomUpdate().ok()) {
      state.SkipWithError("Put failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Put);

// One random Get of a 16-byte value.
void BM_Get(benchmark::State& state) {
  auto rig = std::make_unique<Rig>();
  if (!rig->Fill()) {
    state.SkipWithError("store setup failed");
    return;
  }
  for (int i = 0; i < 2000; ++i) rig->RandomUpdate().IgnoreError();
  XorShift64Star rng(0x9abc);
  std::array<std::byte, 16> out{};
  for (auto _ : state) {
    StatusWithSize got = rig->store->Get(
        static_cast<kvs::Key>(rng.Next() % kKeys), std::span<std::byte>(out));
    benchmark::DoNotOptimize(got);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Get);

// Constructing a fresh store on the W1 flash and mounting it.
void BM_Mount(benchmark::State& state) {
  auto rig = std::make_unique<Rig>();
  if (!rig->Fill()) {
    state.SkipWithError("store setup failed");
    return;
  }
  for (int i = 0; i < 10000; ++i) rig->RandomUpdate().IgnoreError();
  for (auto _ : state) {
    Store store(rig->partition);
    if (!store.Init().ok()) {
      state.SkipWithError("Init failed");
      break;
    }
    benchmark::DoNotOptimize(static_cast<kvs::Store&>(store).size());
  }
}
BENCHMARK(BM_Mount);

// ReclaimOne() on a store whose oldest sector is full; between timed calls
// (untimed) a sector's worth of updates keeps the ring moving.
void BM_Reclaim(benchmark::State& state) {
  kvs::Options options;
  options.reclaim_on_put = false;
  auto rig = std::make_unique<Rig>(options);
  if (!rig->Fill()) {
    state.SkipWithError("store setup failed");
    return;
  }
  auto churn = [&] {
    // About one sector of 24-byte entries; a full store just stops early.
    for (int i = 0; i < 170; ++i) {
      if (!rig->RandomUpdate().ok()) break;
    }
  };
  churn();
  for (auto _ : state) {
    if (!rig->store->ReclaimOne().ok()) {
      state.SkipWithError("ReclaimOne failed");
      break;
    }
    state.PauseTiming();
    churn();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Reclaim);

}  // namespace
}  // namespace cairn::bench

BENCHMARK_MAIN();
