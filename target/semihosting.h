// ARM semihosting: the debugger (here QEMU with -semihosting) services
// requests the program raises with `bkpt 0xAB`. Only what the on-target
// tests need: console output and an exit code.
#pragma once

#include <cstddef>
#include <cstdint>

namespace target {

// Writes a NUL-terminated string to the host console (SYS_WRITE0).
void Write(const char* text);
// Ends the QEMU run with `code` as its exit status (SYS_EXIT_EXTENDED with
// ADP_Stopped_ApplicationExit); never returns.
[[noreturn]] void Exit(int code);

// Tiny formatted output without printf (which would pull in newlib's stdio,
// its heap and its syscalls).
class Out {
 public:
  Out& operator<<(const char* text);
  Out& operator<<(char c);
  Out& operator<<(long long value);
  Out& operator<<(unsigned long long value);
  Out& operator<<(int value) { return *this << static_cast<long long>(value); }
  Out& operator<<(long value) { return *this << static_cast<long long>(value); }
  Out& operator<<(unsigned value) {
    return *this << static_cast<unsigned long long>(value);
  }
  Out& operator<<(unsigned long value) {
    return *this << static_cast<unsigned long long>(value);
  }
  // Flushes the line buffer (also done on '\n' and when it fills up).
  void Flush();

 private:
  char buffer_[128];
  size_t used_ = 0;
};

Out& out();

// Hexadecimal formatting: out() << Hex(x).
struct Hex {
  uint32_t value;
};
Out& operator<<(Out& o, Hex h);

}  // namespace target
