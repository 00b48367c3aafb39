// Shared helpers of the cairn fuzz targets: an input reader that never runs
// out (missing bytes read as zero), a simulated flash with heap storage and
// any geometry, and a byte pattern generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "cairn/flash/ram_flash.h"

namespace cairn::fuzz {

// Reads the fuzz input front to back; past the end every read returns 0, so
// a short input is still a complete (if boring) program.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | U8() << 8); }
  uint32_t U32() {
    return static_cast<uint32_t>(U16() | uint32_t{U16()} << 16);
  }
  bool empty() const { return pos_ >= size_; }
  // The rest of the input (possibly empty), consumed.
  std::span<const uint8_t> Rest() {
    std::span<const uint8_t> rest(data_ + pos_, size_ - std::min(pos_, size_));
    pos_ = size_;
    return rest;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Geometry {
  size_t sector_size = 512;
  size_t sectors = 4;
  size_t alignment = 4;
  bool erased_zero = false;
  bool eeprom = false;
  bool ecc = false;  // cuts leave unreadable ECC words (RamFlash ecc)
};

// A RamFlashBase with its buffers on the heap.
class HeapFlash {
 public:
  explicit HeapFlash(const Geometry& g, uint64_t seed = 1)
      : storage_(g.sector_size * g.sectors),
        programmed_((storage_.size() + 7) / 8),
        erases_(g.sectors),
        lifetime_(g.sectors),
        flash_(g.sector_size, g.sectors, Config(g, seed), storage_, programmed_,
               erases_, lifetime_) {}

  static RamFlashBase::Config Config(const Geometry& g, uint64_t seed) {
    RamFlashBase::Config c;
    c.alignment = g.alignment;
    c.erased_value = g.erased_zero ? std::byte{0x00} : std::byte{0xFF};
    c.eeprom = g.eeprom;
    c.ecc = g.ecc;
    c.seed = seed;
    return c;
  }

  RamFlashBase& flash() { return flash_; }

 private:
  std::vector<std::byte> storage_;
  std::vector<uint8_t> programmed_;
  std::vector<uint32_t> erases_;
  std::vector<uint32_t> lifetime_;
  RamFlashBase flash_;
};

// Deterministic value bytes: `length` bytes derived from `seed`.
inline std::vector<std::byte> Pattern(size_t length, uint32_t seed) {
  std::vector<std::byte> out(length);
  uint32_t x = seed * 2654435761u + 0x9E3779B9u;
  for (std::byte& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x >> 24);
  }
  return out;
}

// A violated invariant: print and abort so libFuzzer (or the replay driver)
// records the input.
[[noreturn]] inline void Violation(const char* what, unsigned long a = 0,
                                   unsigned long b = 0) {
  std::fprintf(stderr, "cairn fuzz invariant violated: %s (%lu, %lu)\n", what,
               a, b);
  std::abort();
}

#define CAIRN_FUZZ_CHECK(cond, ...)                              \
  do {                                                           \
    if (!(cond)) ::cairn::fuzz::Violation(#cond, ##__VA_ARGS__); \
  } while (0)

}  // namespace cairn::fuzz
