// The workloads the on-target test program runs, and what they share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

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

// Sizes. CAIRN_TARGET_SMALL is the build for a 16 KiB-RAM part.
#if defined(CAIRN_TARGET_SMALL)
inline constexpr size_t kArenaBytes = 6 * 1024;  // simulated flash
inline constexpr size_t kModelKeys = 12;         // keys of the kvs workload
inline constexpr size_t kMaxValueBytes = 32;
inline constexpr size_t kBlobWriteBuffer = 128;
inline constexpr size_t kChunkBytes = 160;  // blob write/read chunks
#else
inline constexpr size_t kArenaBytes = 80 * 1024;
inline constexpr size_t kModelKeys = 24;
inline constexpr size_t kMaxValueBytes = 64;
inline constexpr size_t kBlobWriteBuffer = 256;
inline constexpr size_t kChunkBytes = 700;
#endif
inline constexpr size_t kArenaSectors = 32;

// The memory behind the simulated flash: static (no heap), and reused by
// every workload in turn.
struct FlashArena {
  std::span<std::byte> storage;       // kArenaBytes
  std::span<uint8_t> programmed;      // one bit per byte
  std::span<uint32_t> sector_erases;  // kArenaSectors
  std::span<uint32_t> lifetime_erases;
};
FlashArena& flash_arena();

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

struct BlobConfig {
  size_t sector_size;
  size_t kvs_sectors;   // the key-value store holding the metadata
  size_t blob_sectors;  // the blob's own partition
  uint32_t rounds;
  uint64_t seed;
};

// Blob store: write, read back, power cuts during writes, Resume, Discard,
// Erase. True on pass.
bool RunBlobWorkload(const BlobConfig& config);

}  // namespace target
