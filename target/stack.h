// Stack high-water measurement by painting: the reset handler fills the
// whole stack with a pattern; PaintStack() refills everything below the
// caller, and the deepest word that no longer holds the pattern tells how
// much stack ran since.
#pragma once

#include <cstddef>

namespace target {

// Fills the stack from its bottom up to just below the current frame.
void PaintStack();
// Bytes of stack used below the PaintStack() call site since that call.
size_t StackUsedSincePaint();
// Deepest stack use since reset (top of stack to the deepest touched word).
size_t StackPeak();
size_t StackSize();

// Runs `f` and raises `high_water` to the stack it used.
template <typename F>
auto Measured(size_t& high_water, F&& f) {
  PaintStack();
  auto result = f();
  const size_t used = StackUsedSincePaint();
  if (used > high_water) high_water = used;
  return result;
}

}  // namespace target
