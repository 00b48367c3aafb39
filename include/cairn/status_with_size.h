// StatusWithSize: a Status plus a byte count, for reads and writes.
#pragma once

#include <cstddef>

#include "cairn/status.h"

namespace cairn {

class [[nodiscard]] StatusWithSize {
 public:
  constexpr StatusWithSize() = default;
  constexpr explicit StatusWithSize(size_t size) : size_(size) {}
  constexpr StatusWithSize(Status status, size_t size)
      : status_(status), size_(size) {}

  constexpr Status status() const { return status_; }
  constexpr size_t size() const { return size_; }
  constexpr bool ok() const { return status_.ok(); }
  constexpr void IgnoreError() const {}

 private:
  Status status_;
  size_t size_ = 0;
};

}  // namespace cairn
