// Formatted console output over Write(); kept apart from the semihosting
// calls so that the workloads also build on a host for debugging.
#include "semihosting.h"

namespace target {

Out& out() {
  static Out instance;
  return instance;
}

void Out::Flush() {
  if (used_ == 0) return;
  buffer_[used_] = '\0';
  Write(buffer_);
  used_ = 0;
}

Out& Out::operator<<(char c) {
  buffer_[used_++] = c;
  if (c == '\n' || used_ == sizeof(buffer_) - 1) Flush();
  return *this;
}

Out& Out::operator<<(const char* text) {
  while (*text != '\0') *this << *text++;
  return *this;
}

Out& Out::operator<<(unsigned long long value) {
  char digits[21];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *this << digits[--n];
  return *this;
}

Out& Out::operator<<(long long value) {
  if (value < 0) {
    *this << '-';
    return *this << static_cast<unsigned long long>(-(value + 1)) + 1;
  }
  return *this << static_cast<unsigned long long>(value);
}

Out& operator<<(Out& o, Hex h) {
  o << "0x";
  for (int shift = 28; shift >= 0; shift -= 4) {
    o << "0123456789abcdef"[(h.value >> shift) & 0xF];
  }
  return o;
}

}  // namespace target
