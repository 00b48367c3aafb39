// Status: the result of every fallible call in cairn.
#pragma once

#include <cstdint>

namespace cairn {

// Canonical status codes (a subset of the well-known canonical space).
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument = 3,
  kNotFound = 5,
  kAlreadyExists = 6,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  constexpr Status(StatusCode code) : code_(code) {}  // NOLINT: implicit

  static constexpr Status Ok() { return Status(); }
  static constexpr Status InvalidArgument() {
    return StatusCode::kInvalidArgument;
  }
  static constexpr Status NotFound() { return StatusCode::kNotFound; }
  static constexpr Status AlreadyExists() { return StatusCode::kAlreadyExists; }
  static constexpr Status ResourceExhausted() {
    return StatusCode::kResourceExhausted;
  }
  static constexpr Status FailedPrecondition() {
    return StatusCode::kFailedPrecondition;
  }
  static constexpr Status OutOfRange() { return StatusCode::kOutOfRange; }
  static constexpr Status Unimplemented() { return StatusCode::kUnimplemented; }
  static constexpr Status Internal() { return StatusCode::kInternal; }
  static constexpr Status Unavailable() { return StatusCode::kUnavailable; }
  static constexpr Status DataLoss() { return StatusCode::kDataLoss; }

  constexpr StatusCode code() const { return code_; }
  constexpr bool ok() const { return code_ == StatusCode::kOk; }
  constexpr bool IsInvalidArgument() const {
    return code_ == StatusCode::kInvalidArgument;
  }
  constexpr bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  constexpr bool IsResourceExhausted() const {
    return code_ == StatusCode::kResourceExhausted;
  }
  constexpr bool IsFailedPrecondition() const {
    return code_ == StatusCode::kFailedPrecondition;
  }
  constexpr bool IsOutOfRange() const {
    return code_ == StatusCode::kOutOfRange;
  }
  constexpr bool IsInternal() const { return code_ == StatusCode::kInternal; }
  constexpr bool IsUnavailable() const {
    return code_ == StatusCode::kUnavailable;
  }
  constexpr bool IsDataLoss() const { return code_ == StatusCode::kDataLoss; }

  // Explicitly ignores a status where dropping it is the intent.
  constexpr void IgnoreError() const {}

  // Upper-case canonical name, e.g. "DATA_LOSS". Never null.
  const char* str() const;

  friend constexpr bool operator==(Status a, Status b) {
    return a.code_ == b.code_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
};

const char* StatusCodeName(StatusCode code);
inline const char* Status::str() const { return StatusCodeName(code_); }

}  // namespace cairn

// Returns from the enclosing function if the expression is not OK.
#define CAIRN_TRY(expr)                                            \
  do {                                                             \
    if (::cairn::Status cairn_try_s = (expr); !cairn_try_s.ok()) { \
      return cairn_try_s;                                          \
    }                                                              \
  } while (0)
