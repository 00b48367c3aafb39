// Arithmetic on program alignments (1 to 256 bytes). Nearly every part has a
// power-of-two alignment, for which these take a mask or a shift instead of a
// division: a 64-bit division costs tens of cycles on a host CPU, and every
// flash call makes a few. Other alignments divide.
#pragma once

#include <bit>
#include <cstddef>

namespace cairn {

// True for 1, 2, 4, ... (written out: std::has_single_bit may become a
// library call for a population count on targets without the instruction).
constexpr bool IsPowerOfTwo(size_t alignment) {
  return (alignment & (alignment - 1)) == 0;
}

// `n` rounded down to a multiple of `alignment` (not 0).
constexpr size_t AlignDown(size_t n, size_t alignment) {
  return IsPowerOfTwo(alignment) ? n & ~(alignment - 1)
                                 : n / alignment * alignment;
}

// `n` rounded up to a multiple of `alignment` (not 0).
constexpr size_t AlignUp(size_t n, size_t alignment) {
  return AlignDown(n + alignment - 1, alignment);
}

constexpr bool IsAligned(size_t n, size_t alignment) {
  return AlignDown(n, alignment) == n;
}

// How many whole units of `alignment` bytes `n` holds.
constexpr size_t AlignmentUnits(size_t n, size_t alignment) {
  return IsPowerOfTwo(alignment) ? n >> std::countr_zero(alignment)
                                 : n / alignment;
}

}  // namespace cairn
