// The workloads the on-target test program runs, and what they share.
#pragma once

#include <cstddef>
#include <cstdint>

namespace target {

// xorshift64*, the generator the benchmarks use, so runs repeat exactly.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed == 0 ? 1 : seed) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform enough in [0, n) for test purposes.
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() >> 32) % n; }

 private:
  uint64_t state_;
};

// Stack high-water marks of the library calls (bytes below the call site).
struct StackFigures {
  size_t init = 0;
  size_t put = 0;
  size_t get = 0;
  size_t del = 0;
  size_t commit = 0;
  size_t reclaim = 0;
  size_t blob_write = 0;
  size_t blob_close = 0;
  size_t blob_read = 0;
  size_t blob_open = 0;
};
StackFigures& stack_figures();

struct KvsConfig {
  const char* name;
  size_t sector_size;
  size_t sector_count;
  size_t alignment;
  uint32_t boots;         // mounts, each followed by a full check
  uint32_t ops_per_boot;  // operations between mounts, at most
  uint64_t seed;
};

// Mixed Put/Get/Delete/Commit/Reclaim workload with power cuts at random
// flash operations (in the middle of writes, reclaims and mounts) and a
// remount plus full check against a shadow model after each. True on pass.
bool RunKvsWorkload(const KvsConfig& config);

// Blob store: write, read back, power cuts during writes, Resume, Discard,
// Erase. True on pass.
bool RunBlobWorkload(uint64_t seed);

}  // namespace target
