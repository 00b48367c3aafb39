// Shared pieces of the benchmark programs: the xorshift64* generator, how
// value bytes are filled, and counter snapshots around single operations.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/flash/ram_flash.h"

namespace cairn::bench {

// xorshift64* exactly as the workloads specify it (the state must not be 0).
class XorShift64Star {
 public:
  explicit XorShift64Star(uint64_t seed) : x_(seed == 0 ? 1 : seed) {}
  uint64_t Next() {
    x_ ^= x_ >> 12;
    x_ ^= x_ << 25;
    x_ ^= x_ >> 27;
    return x_ * 0x2545F4914F6CDD1DULL;
  }

 private:
  uint64_t x_;
};

// Value bytes come from a second xorshift64* stream (the "fill" stream,
// seeded with the workload seed XOR kFillSeedMask): every value starts a
// fresh draw and takes its bytes little-endian, 8 per draw.
inline constexpr uint64_t kFillSeedMask = 0xA5A5A5A5A5A5A5A5ULL;

inline void FillValue(XorShift64Star& fill, std::span<std::byte> out) {
  size_t i = 0;
  while (i < out.size()) {
    uint64_t r = fill.Next();
    for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<std::byte>(r >> (8 * b));
    }
  }
}

// Cost of one operation: counter deltas taken around it.
struct OpCost {
  uint64_t bytes_read = 0;
  uint64_t bytes_programmed = 0;
  uint64_t erases = 0;
};

// Running per-metric maximum over single operations.
struct WorstOp {
  OpCost worst;
  void Add(const OpCost& cost) {
    worst.bytes_read = std::max(worst.bytes_read, cost.bytes_read);
    worst.bytes_programmed =
        std::max(worst.bytes_programmed, cost.bytes_programmed);
    worst.erases = std::max(worst.erases, cost.erases);
  }
};

// Measures the counters of `flash` across one call of `op`.
template <typename Op>
auto Measured(const RamFlashBase& flash, WorstOp& worst, Op&& op) {
  const FlashCounters before = flash.counters();
  auto result = op();
  const FlashCounters& after = flash.counters();
  worst.Add(OpCost{after.bytes_read - before.bytes_read,
                   after.bytes_programmed - before.bytes_programmed,
                   after.sector_erases - before.sector_erases});
  return result;
}

}  // namespace cairn::bench
