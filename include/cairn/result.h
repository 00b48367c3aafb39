// Result<T>: a value or the Status that explains why there is none.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "cairn/status.h"

namespace cairn {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Holds an error. Passing an OK status is a programming error; it is
  // turned into INTERNAL so that a Result never claims a value it lacks.
  constexpr Result(Status status)  // NOLINT: implicit by design
      : status_(status.ok() ? Status::Internal() : status) {}
  constexpr Result(const T& value) : status_() {  // NOLINT: implicit
    ::new (static_cast<void*>(&value_)) T(value);
  }
  constexpr Result(T&& value) : status_() {  // NOLINT: implicit
    ::new (static_cast<void*>(&value_)) T(std::move(value));
  }
  Result(const Result& other) : status_(other.status_) {
    if (other.ok()) ::new (static_cast<void*>(&value_)) T(other.value_);
  }
  Result& operator=(const Result& other) {
    if (this != &other) {
      Reset();
      status_ = other.status_;
      if (other.ok()) ::new (static_cast<void*>(&value_)) T(other.value_);
    }
    return *this;
  }
  ~Result() { Reset(); }

  constexpr bool ok() const { return status_.ok(); }
  constexpr Status status() const { return status_; }

  // Only valid when ok().
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  T& operator*() { return value_; }
  const T& operator*() const { return value_; }

  T value_or(T fallback) const { return ok() ? value_ : fallback; }

 private:
  void Reset() {
    if (ok()) value_.~T();
  }

  Status status_;
  union {
    T value_;
  };
};

}  // namespace cairn
