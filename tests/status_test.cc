#include "cairn/status.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cairn/result.h"
#include "cairn/status_with_size.h"

namespace cairn {
namespace {

TEST(Status, DefaultIsOk) {
  constexpr Status status;
  static_assert(status.ok());
  static_assert(status.code() == StatusCode::kOk);
  static_assert(Status::Ok() == Status());
  EXPECT_STREQ(status.str(), "OK");
}

TEST(Status, EveryCodeHasItsCanonicalName) {
  const struct {
    Status status;
    StatusCode code;
    const char* name;
  } kCases[] = {
      {Status::Ok(), StatusCode::kOk, "OK"},
      {Status::InvalidArgument(), StatusCode::kInvalidArgument,
       "INVALID_ARGUMENT"},
      {Status::NotFound(), StatusCode::kNotFound, "NOT_FOUND"},
      {Status::AlreadyExists(), StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
      {Status::ResourceExhausted(), StatusCode::kResourceExhausted,
       "RESOURCE_EXHAUSTED"},
      {Status::FailedPrecondition(), StatusCode::kFailedPrecondition,
       "FAILED_PRECONDITION"},
      {Status::OutOfRange(), StatusCode::kOutOfRange, "OUT_OF_RANGE"},
      {Status::Unimplemented(), StatusCode::kUnimplemented, "UNIMPLEMENTED"},
      {Status::Internal(), StatusCode::kInternal, "INTERNAL"},
      {Status::Unavailable(), StatusCode::kUnavailable, "UNAVAILABLE"},
      {Status::DataLoss(), StatusCode::kDataLoss, "DATA_LOSS"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_STREQ(c.status.str(), c.name);
    EXPECT_STREQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ok(), c.code == StatusCode::kOk) << c.name;
    EXPECT_EQ(Status(c.code), c.status);
  }
  // The canonical numbering.
  static_assert(static_cast<int>(StatusCode::kInvalidArgument) == 3);
  static_assert(static_cast<int>(StatusCode::kNotFound) == 5);
  static_assert(static_cast<int>(StatusCode::kFailedPrecondition) == 9);
  static_assert(static_cast<int>(StatusCode::kDataLoss) == 15);
}

TEST(Status, UnknownCodesStillHaveAName) {
  const Status odd(static_cast<StatusCode>(200));
  EXPECT_FALSE(odd.ok());
  EXPECT_NE(odd.str(), nullptr);
  EXPECT_STREQ(odd.str(), "UNKNOWN");
}

TEST(Status, PredicatesAndEquality) {
  EXPECT_TRUE(Status::InvalidArgument().IsInvalidArgument());
  EXPECT_TRUE(Status::NotFound().IsNotFound());
  EXPECT_TRUE(Status::ResourceExhausted().IsResourceExhausted());
  EXPECT_TRUE(Status::FailedPrecondition().IsFailedPrecondition());
  EXPECT_TRUE(Status::OutOfRange().IsOutOfRange());
  EXPECT_TRUE(Status::Unavailable().IsUnavailable());
  EXPECT_TRUE(Status::DataLoss().IsDataLoss());
  EXPECT_FALSE(Status::DataLoss().IsNotFound());
  EXPECT_FALSE(Status::Ok().IsDataLoss());
  EXPECT_TRUE(Status::NotFound() == StatusCode::kNotFound);
  EXPECT_FALSE(Status::NotFound() == Status::DataLoss());
  EXPECT_TRUE(Status::NotFound() != Status::DataLoss());
  Status::Internal().IgnoreError();
  static_assert(sizeof(Status) == 1);
}

// ---------------------------------------------------------------- Result

struct Tracked {
  static int live;
  explicit Tracked(int v) : value(v) { ++live; }
  Tracked(const Tracked& other) : value(other.value) { ++live; }
  Tracked(Tracked&& other) : value(other.value) { ++live; }
  Tracked& operator=(const Tracked&) = default;
  ~Tracked() { --live; }
  int value;
};
int Tracked::live = 0;

TEST(Result, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.status(), Status::Ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value_or(7), 42);
  *r = 43;
  EXPECT_EQ(r.value(), 43);

  const Result<std::string> s = std::string("cairn");
  EXPECT_EQ(s->size(), 5u);
  EXPECT_EQ(*s, "cairn");
}

TEST(Result, HoldsAnError) {
  Result<int> r = Status::NotFound();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::NotFound());
  EXPECT_EQ(r.value_or(7), 7);
  Result<int> from_code = Status(StatusCode::kDataLoss);
  EXPECT_EQ(from_code.status(), Status::DataLoss());
}

TEST(Result, AnOkStatusWithoutAValueBecomesInternal) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::Internal());
}

TEST(Result, CopiesAndAssignmentsManageTheValueLifetime) {
  Tracked::live = 0;
  {
    Result<Tracked> a = Tracked(1);
    EXPECT_EQ(Tracked::live, 1);
    Result<Tracked> b = a;
    EXPECT_EQ(Tracked::live, 2);
    EXPECT_EQ(b->value, 1);
    Result<Tracked> e = Status::DataLoss();
    EXPECT_EQ(Tracked::live, 2);
    b = e;  // value -> error destroys the value
    EXPECT_EQ(Tracked::live, 1);
    EXPECT_EQ(b.status(), Status::DataLoss());
    e = a;  // error -> value constructs one
    EXPECT_EQ(Tracked::live, 2);
    EXPECT_EQ(e->value, 1);
    Result<Tracked>& same = e;  // (through a reference: no self-assign warning)
    e = same;                   // self-assignment is harmless
    EXPECT_EQ(Tracked::live, 2);
    Result<Tracked> copy_of_error = b;
    EXPECT_FALSE(copy_of_error.ok());
    EXPECT_EQ(Tracked::live, 2);
  }
  EXPECT_EQ(Tracked::live, 0);
}

Result<int> ParseDigit(char c) {
  if (c < '0' || c > '9') return Status::InvalidArgument();
  return c - '0';
}

TEST(Result, AsAReturnType) {
  EXPECT_EQ(ParseDigit('7').value_or(-1), 7);
  EXPECT_EQ(ParseDigit('x').status(), Status::InvalidArgument());
}

// ---------------------------------------------------------- StatusWithSize

TEST(StatusWithSize, Forms) {
  constexpr StatusWithSize none;
  static_assert(none.ok() && none.size() == 0);
  constexpr StatusWithSize some(12);
  static_assert(some.ok() && some.size() == 12);
  constexpr StatusWithSize partial(Status::ResourceExhausted(), 5);
  static_assert(!partial.ok());
  static_assert(partial.size() == 5);
  static_assert(partial.status() == Status::ResourceExhausted());
  partial.IgnoreError();
}

// ---------------------------------------------------------------- CAIRN_TRY

int g_calls = 0;
Status Step(Status result) {
  ++g_calls;
  return result;
}

Status TwoSteps(Status first, Status second, bool* reached_end) {
  *reached_end = false;
  CAIRN_TRY(Step(first));
  CAIRN_TRY(Step(second));
  *reached_end = true;
  return Status::Ok();
}

TEST(CairnTry, ReturnsTheFirstError) {
  bool end = false;
  g_calls = 0;
  EXPECT_EQ(TwoSteps(Status::Ok(), Status::Ok(), &end), Status::Ok());
  EXPECT_TRUE(end);
  EXPECT_EQ(g_calls, 2);

  g_calls = 0;
  EXPECT_EQ(TwoSteps(Status::NotFound(), Status::DataLoss(), &end),
            Status::NotFound());
  EXPECT_FALSE(end);
  EXPECT_EQ(g_calls, 1);  // evaluated once, stopped at once

  g_calls = 0;
  EXPECT_EQ(TwoSteps(Status::Ok(), Status::DataLoss(), &end),
            Status::DataLoss());
  EXPECT_FALSE(end);
  EXPECT_EQ(g_calls, 2);
}

Result<int> TryInResult(Status status) {
  CAIRN_TRY(status);  // a Status converts into an error Result
  return 5;
}

TEST(CairnTry, WorksInFunctionsReturningResult) {
  EXPECT_EQ(TryInResult(Status::Ok()).value_or(0), 5);
  EXPECT_EQ(TryInResult(Status::Unavailable()).status(), Status::Unavailable());
}

Status TryAsIfBody(bool take_if, Status status, bool* reached_else) {
  *reached_else = false;
  // Usable as the body of an unbraced if/else.
  if (take_if)
    CAIRN_TRY(status);
  else
    *reached_else = true;
  return Status::Ok();
}

TEST(CairnTry, IsASingleStatement) {
  bool reached_else = false;
  EXPECT_EQ(TryAsIfBody(true, Status::NotFound(), &reached_else),
            Status::NotFound());
  EXPECT_FALSE(reached_else);
  EXPECT_EQ(TryAsIfBody(false, Status::NotFound(), &reached_else),
            Status::Ok());
  EXPECT_TRUE(reached_else);
}

}  // namespace
}  // namespace cairn
