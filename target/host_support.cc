// Host stand-ins for the semihosting and stack-painting calls, so that the
// very same test program (main.cc and the workloads) runs on a PC for
// debugging, e.g. under gdb or the sanitizers. Stack figures read 0 there.
#include <cstdio>
#include <cstdlib>

#include "semihosting.h"
#include "stack.h"

namespace target {

void Write(const char* text) {
  std::fputs(text, stdout);
  std::fflush(stdout);
}

void Exit(int code) {
  out().Flush();
  std::exit(code);
}

void PaintStack() {}
size_t StackUsedSincePaint() { return 0; }
size_t StackPeak() { return 0; }
size_t StackSize() { return 0; }

}  // namespace target
