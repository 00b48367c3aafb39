#include "semihosting.h"

namespace target {
namespace {

constexpr uint32_t kSysWrite0 = 0x04;
constexpr uint32_t kSysExitExtended = 0x20;
constexpr uint32_t kAdpStoppedApplicationExit = 0x20026;

uint32_t Call(uint32_t op, const void* arg) {
  register uint32_t r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

}  // namespace

void Write(const char* text) { Call(kSysWrite0, text); }

void Exit(int code) {
  out().Flush();
  const uint32_t block[2] = {kAdpStoppedApplicationExit,
                             static_cast<uint32_t>(code)};
  Call(kSysExitExtended, block);
  for (;;) {
  }
}

}  // namespace target
