#include "workloads.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"

namespace cairn::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Shadow = std::vector<std::vector<std::byte>>;

// Geometry G1 and the larger W6 flash: 4096-byte sectors, 4-byte program
// alignment, erased to 0xFF (RamFlash's default configuration).
constexpr size_t kSectorSize = 4096;
constexpr size_t kG1Sectors = 16;
constexpr size_t kW6Sectors = 256;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Describe(const char* what, Status status) {
  return std::string(what) + ": " + status.str();
}

// A flash, a whole-flash partition and a store with room for kKeys keys.
// Allocated on the heap by the callers (W6 needs more than a megabyte).
template <size_t kSectors, size_t kKeys>
struct Rig {
  RamFlash<kSectorSize, kSectors> flash;
  FlashPartition partition{flash};
  std::unique_ptr<kvs::KeyValueStore<kKeys>> store =
      std::make_unique<kvs::KeyValueStore<kKeys>>(partition);

  // Mounts the erased flash (formatting it) and zeroes the counters, so
  // formatting is never part of a figure.
  Status Format() {
    Status status = store->Init();
    flash.ResetCounters();
    return status;
  }
};

// Copies the counters of the phase that started with ResetCounters().
void TakeCounters(const RamFlashBase& flash, WorkloadResult& result) {
  const FlashCounters& c = flash.counters();
  result.bytes_programmed = c.bytes_programmed;
  result.program_calls = c.program_calls;
  result.erases = c.sector_erases;
  result.bytes_read = c.bytes_read;
  result.read_calls = c.read_calls;
  uint32_t lo = UINT32_MAX;
  uint32_t hi = 0;
  for (size_t s = 0; s < flash.sector_count(); ++s) {
    lo = std::min(lo, flash.sector_erases(s));
    hi = std::max(hi, flash.sector_erases(s));
  }
  result.erase_min = flash.sector_count() == 0 ? 0 : lo;
  result.erase_max = hi;
}

struct WriteSpec {
  size_t keys = 0;
  uint64_t seed = 0;
  uint64_t updates = 0;
  size_t fixed_length = 0;  // 0: 1 + r % 256 with a draw per value
};

// Inserts keys 0..keys-1 in order, then `updates` random updates (one draw
// for the key, key = r % keys, then one for the length if it varies).
// Every value is filled from the fill stream. Records the phase into
// `result`; returns false (with result.note) if a Put failed.
bool RunWrites(RamFlashBase& flash, kvs::Store& store, const WriteSpec& spec,
               Shadow& shadow, WorkloadResult& result) {
  XorShift64Star rng(spec.seed);
  XorShift64Star fill(spec.seed ^ kFillSeedMask);
  shadow.assign(spec.keys, {});
  WorstOp worst;
  std::array<std::byte, 512> value{};
  auto next_length = [&]() -> size_t {
    return spec.fixed_length != 0 ? spec.fixed_length : 1 + rng.Next() % 256;
  };
  auto write = [&](kvs::Key key, size_t length) {
    std::span<std::byte> v(value.data(), length);
    FillValue(fill, v);
    Status status = Measured(flash, worst, [&] {
      return store.Put(key, std::span<const std::byte>(v));
    });
    if (!status.ok()) {
      result.note = Describe("Put", status);
      return false;
    }
    shadow[key].assign(v.begin(), v.end());
    result.value_bytes += length;
    ++result.writes;
    return true;
  };

  bool ok = true;
  const Clock::time_point start = Clock::now();
  for (size_t k = 0; ok && k < spec.keys; ++k) {
    ok = write(static_cast<kvs::Key>(k), next_length());
  }
  const Clock::time_point updates_start = Clock::now();
  const std::clock_t updates_cpu_start = std::clock();
  for (uint64_t i = 0; ok && i < spec.updates; ++i) {
    const auto key = static_cast<kvs::Key>(rng.Next() % spec.keys);
    ok = write(key, next_length());
    result.updates += ok ? 1 : 0;
  }
  result.update_cpu_seconds =
      static_cast<double>(std::clock() - updates_cpu_start) / CLOCKS_PER_SEC;
  result.update_seconds = Seconds(updates_start);
  result.host_seconds = Seconds(start);
  result.worst_op = worst.worst;
  TakeCounters(flash, result);
  return ok;
}

// Reads every key back and compares it with the shadow copy.
bool VerifyAll(const kvs::Store& store, const Shadow& shadow,
               std::string& note) {
  std::array<std::byte, 512> out{};
  for (size_t k = 0; k < shadow.size(); ++k) {
    StatusWithSize got =
        store.Get(static_cast<kvs::Key>(k), std::span<std::byte>(out));
    if (!got.ok() || got.size() != shadow[k].size() ||
        std::memcmp(out.data(), shadow[k].data(), got.size()) != 0) {
      if (note.empty()) {
        note = "key " + std::to_string(k) + " read back " +
               (got.ok() ? "wrong data" : got.status().str());
      }
      return false;
    }
  }
  if (store.size() != shadow.size()) {
    if (note.empty()) note = "store holds a wrong number of keys";
    return false;
  }
  return true;
}

// `count` random Gets (key = r % keys), each compared with the shadow.
// Counters are reset first; the phase's reads land in `result`.
bool RunGets(RamFlashBase& flash, const kvs::Store& store, const Shadow& shadow,
             uint64_t seed, uint64_t count, WorkloadResult& result) {
  XorShift64Star rng(seed);
  std::array<std::byte, 512> out{};
  bool ok = true;
  flash.ResetCounters();
  const Clock::time_point start = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    const size_t k = rng.Next() % shadow.size();
    StatusWithSize got =
        store.Get(static_cast<kvs::Key>(k), std::span<std::byte>(out));
    if (!got.ok() || got.size() != shadow[k].size() ||
        std::memcmp(out.data(), shadow[k].data(), got.size()) != 0) {
      if (ok && result.note.empty()) {
        result.note = "Get of key " + std::to_string(k) + " returned " +
                      (got.ok() ? "wrong data" : got.status().str());
      }
      ok = false;
    }
  }
  const double seconds = Seconds(start);
  result.has_gets = true;
  result.gets = count;
  result.get_bytes_read = flash.counters().bytes_read;
  if (result.host_seconds == 0) result.host_seconds = seconds;
  return ok;
}

// Constructs a fresh store on `partition` and mounts it, measuring the
// mount alone (counters are reset first).
template <size_t kKeys>
std::unique_ptr<kvs::KeyValueStore<kKeys>> Mount(RamFlashBase& flash,
                                                 FlashPartition& partition,
                                                 WorkloadResult& result,
                                                 Status& status) {
  flash.ResetCounters();
  const Clock::time_point start = Clock::now();
  auto store = std::make_unique<kvs::KeyValueStore<kKeys>>(partition);
  status = store->Init();
  result.mount_host_seconds = Seconds(start);
  result.has_mount = true;
  result.mount_bytes_read = flash.counters().bytes_read;
  result.mount_read_calls = flash.counters().read_calls;
  return store;
}

}  // namespace

std::vector<WorkloadResult> RunW1W3W4(const RunConfig& config) {
  std::vector<WorkloadResult> results(3);
  WorkloadResult& w1 = results[0];
  WorkloadResult& w3 = results[1];
  WorkloadResult& w4 = results[2];
  w1.name = "W1";
  w1.description = "32 keys x 16 B; insert all, then random updates";
  w3.name = "W3";
  w3.description = "mount after W1 (fresh Store, Init)";
  w4.name = "W4";
  w4.description = "random Gets after W1";
  w1.ran = w3.ran = w4.ran = true;

  auto rig = std::make_unique<Rig<kG1Sectors, 32>>();
  if (Status s = rig->Format(); !s.ok()) {
    for (auto& r : results) r.note = Describe("Init on erased flash", s);
    return results;
  }
  Shadow shadow;
  WriteSpec spec{.keys = 32,
                 .seed = 0x1234,
                 .updates = config.quick ? 3000u : 10000u,
                 .fixed_length = 16};
  const bool wrote = RunWrites(rig->flash, *rig->store, spec, shadow, w1);
  if (wrote && config.sabotage) shadow[0][0] ^= std::byte{1};
  w1.verified = wrote && VerifyAll(*rig->store, shadow, w1.note);
  if (!wrote) {
    w3.note = w4.note = "W1 failed";
    return results;
  }

  // W3: one mount of what W1 left.
  FlashPartition partition(rig->flash);
  Status status;
  auto mounted = Mount<32>(rig->flash, partition, w3, status);
  TakeCounters(rig->flash, w3);
  w3.host_seconds = w3.mount_host_seconds;
  if (!status.ok()) {
    w3.note = Describe("Init", status);
    w4.note = "W3 failed";
    return results;
  }
  w3.verified = VerifyAll(*mounted, shadow, w3.note);

  // W4: random reads on the freshly mounted store.
  const bool reads_ok = RunGets(rig->flash, *mounted, shadow, 0x9abc,
                                config.quick ? 1000u : 10000u, w4);
  TakeCounters(rig->flash, w4);
  w4.verified = reads_ok && VerifyAll(*mounted, shadow, w4.note);
  return results;
}

WorkloadResult RunW2(const RunConfig& config) {
  WorkloadResult w2;
  w2.name = "W2";
  w2.description = "64 keys x 1..256 B; insert all, then random updates";
  w2.ran = true;
  auto rig = std::make_unique<Rig<kG1Sectors, 64>>();
  if (Status s = rig->Format(); !s.ok()) {
    w2.note = Describe("Init on erased flash", s);
    return w2;
  }
  Shadow shadow;
  WriteSpec spec{.keys = 64,
                 .seed = 0x5678,
                 .updates = config.quick ? 1500u : 5000u,
                 .fixed_length = 0};
  const bool wrote = RunWrites(rig->flash, *rig->store, spec, shadow, w2);
  w2.verified = wrote && VerifyAll(*rig->store, shadow, w2.note);
  return w2;
}

WorkloadResult RunW6(const RunConfig& config) {
  WorkloadResult w6;
  w6.name = "W6";
  w6.description =
      "1 MiB (256 x 4 KiB), 4000 keys x 32 B; updates, mount, Gets";
  w6.ran = true;
  constexpr size_t kKeys = 4000;
  auto rig = std::make_unique<Rig<kW6Sectors, kKeys>>();
  if (Status s = rig->Format(); !s.ok()) {
    w6.note = Describe("Init on erased flash", s);
    return w6;
  }
  Shadow shadow;
  WriteSpec spec{.keys = kKeys,
                 .seed = 0xdef0,
                 .updates = config.quick ? 30000u : 100000u,
                 .fixed_length = 32};
  if (!RunWrites(rig->flash, *rig->store, spec, shadow, w6)) return w6;
  if (!VerifyAll(*rig->store, shadow, w6.note)) return w6;

  // The write phase's counters stay; mount and reads have their own fields.
  FlashPartition partition(rig->flash);
  Status status;
  auto mounted = Mount<kKeys>(rig->flash, partition, w6, status);
  if (!status.ok()) {
    w6.note = Describe("mount: Init", status);
    return w6;
  }
  if (!VerifyAll(*mounted, shadow, w6.note)) return w6;
  WorkloadResult reads;
  const bool reads_ok = RunGets(rig->flash, *mounted, shadow, 0x0fed,
                                config.quick ? 2000u : 10000u, reads);
  w6.has_gets = true;
  w6.gets = reads.gets;
  w6.get_bytes_read = reads.get_bytes_read;
  if (!reads_ok) {
    w6.note = reads.note;
    return w6;
  }
  w6.verified = VerifyAll(*mounted, shadow, w6.note);
  return w6;
}

HostRam MeasureHostRam() {
  HostRam ram;
  ram.kvs_object_bytes = sizeof(kvs::KeyValueStore<32>);
  ram.partition_bytes = sizeof(FlashPartition);
  ram.index_bytes_per_key = sizeof(kvs::IndexEntry);
  return ram;
}

}  // namespace cairn::bench
