// memcpy, memmove, memset and memcmp that never make an unaligned access,
// linked in place of newlib's in the strict-alignment build. newlib's
// Cortex-M3/M4 memcpy copies words from unaligned sources (legal on those
// cores unless CCR.UNALIGN_TRP is set), which would trap before the
// library's own accesses are ever tested. Compiled with -fno-builtin and
// -fno-tree-loop-distribute-patterns so the loops stay loops.
#include <cstddef>
#include <cstdint>

namespace {

bool WordAligned(const void* a, const void* b) {
  return ((reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b)) &
          3u) == 0;
}

}  // namespace

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (WordAligned(d, s)) {
    for (; n >= 4; n -= 4, d += 4, s += 4) {
      *reinterpret_cast<uint32_t*>(d) = *reinterpret_cast<const uint32_t*>(s);
    }
  }
  while (n-- > 0) *d++ = *s++;
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  while (n-- > 0) d[n] = s[n];
  return dst;
}

void* memset(void* dst, int value, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto byte = static_cast<unsigned char>(value);
  if (WordAligned(d, d)) {
    const uint32_t word = 0x01010101u * byte;
    for (; n >= 4; n -= 4, d += 4) *reinterpret_cast<uint32_t*>(d) = word;
  }
  while (n-- > 0) *d++ = byte;
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (; n > 0; --n, ++x, ++y) {
    if (*x != *y) return *x < *y ? -1 : 1;
  }
  return 0;
}

}  // extern "C"
