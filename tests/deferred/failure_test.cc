#include "deferred/failure.h"

#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "gtest/gtest.h"

namespace deft {
namespace {

TEST(FailureTest, CarriesTheExceptionWithoutThrowing) {
  Failure f(TimeoutError("slow"));
  EXPECT_TRUE(f.check<TimeoutError>());
  EXPECT_EQ(f.getErrorMessage(), "slow");
  EXPECT_EQ(f.type(), typeid(TimeoutError));
}

TEST(FailureTest, CheckMatchesBaseClassesAndAnyOfSeveralTypes) {
  Failure f(TimeoutError("slow"));
  EXPECT_TRUE(f.check<Error>());
  EXPECT_TRUE(f.check<std::runtime_error>());
  EXPECT_TRUE((f.check<CancelledError, TimeoutError>()));
  EXPECT_FALSE(f.check<CancelledError>());
  EXPECT_FALSE(f.check<std::logic_error>());
}

TEST(FailureTest, TrapReturnsOnMatchAndRethrowsTheSameFailureOtherwise) {
  Failure f(std::invalid_argument("bad"));
  EXPECT_NO_THROW(f.trap<std::logic_error>());
  try {
    f.trap<TimeoutError>();
    FAIL() << "trap did not throw";
  } catch (...) {
    Failure thrown = Failure::fromCurrentException();  // what a Deferred chain does
    EXPECT_TRUE(thrown.check<std::invalid_argument>());
    EXPECT_EQ(thrown.where().line(), f.where().line());
  }
}

TEST(FailureTest, RecordsWhereItWasCreated) {
  const int line = __LINE__ + 1;
  Failure f{CancelledError()};
  EXPECT_EQ(f.where().line(), static_cast<unsigned>(line));
  EXPECT_NE(std::string(f.where().file_name()).find("failure_test.cc"), std::string::npos);
  EXPECT_NE(f.describe().find("CancelledError: Deferred was cancelled"), std::string::npos);
  EXPECT_NE(f.describe().find("failure_test.cc"), std::string::npos);
}

TEST(FailureTest, RaiseExceptionThrowsTheOriginalType) {
  Failure f(std::out_of_range("index 7"));
  EXPECT_THROW(f.raiseException(), std::out_of_range);
  EXPECT_THROW(std::rethrow_exception(f.exceptionPtr()), std::out_of_range);
}

TEST(FailureTest, WrapsACaughtExceptionOfAnyType) {
  try {
    throw 42;
  } catch (...) {
    Failure f = Failure::fromCurrentException();
    EXPECT_TRUE(f.check<int>());
    ASSERT_NE(f.value<int>(), nullptr);
    EXPECT_EQ(*f.value<int>(), 42);
    EXPECT_FALSE(f.check<std::exception>());
    EXPECT_NE(f.getErrorMessage().find("int"), std::string::npos);
  }
  try {
    throw std::length_error("too long");
  } catch (...) {
    Failure f = Failure::fromCurrentException();
    EXPECT_TRUE(f.check<std::logic_error>());
    EXPECT_EQ(f.getErrorMessage(), "too long");
    EXPECT_EQ(f.type(), typeid(std::length_error));
  }
}

TEST(FailureTest, ValueGivesTheExceptionObject) {
  Failure f(FirstError(Failure(TimeoutError("inner")), 3));
  const FirstError* first = f.value<FirstError>();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->index(), 3u);
  EXPECT_TRUE(first->subFailure().check<TimeoutError>());
  EXPECT_EQ(f.value<CancelledError>(), nullptr);
}

TEST(FailureTest, ToStatusKeepsTheKindOfDeftErrors) {
  EXPECT_EQ(Failure(CancelledError()).toStatus().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(Failure(TimeoutError()).toStatus().code(), absl::StatusCode::kDeadlineExceeded);
  absl::Status other = Failure(std::runtime_error("boom")).toStatus();
  EXPECT_EQ(other.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(other.message().find("boom"), std::string_view::npos);
}

TEST(FailureTest, TrapRethrowsTheOriginalExceptionObject) {
  Failure failure(std::invalid_argument("bad value"));
  const std::exception* original = nullptr;
  try {
    failure.raiseException();
  } catch (const std::exception& e) {
    original = &e;
  }
  try {
    failure.trap<std::out_of_range>();
    FAIL() << "trap let nothing through";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(&e, original);  // the same object, not a copy, not a Failure
  }
  // In a chain, what trap() let through is still the same Failure, origin and all.
  Deferred<int> d;
  Failure seen(std::runtime_error("unset"));
  d.addErrback([](Failure f) -> int { f.trap<std::out_of_range>(); return 0; })
      .addErrback([&](Failure f) { seen = f; return 1; });
  d.errback(failure);
  EXPECT_TRUE(seen.check<std::invalid_argument>());
  EXPECT_EQ(seen.getErrorMessage(), "bad value");
  EXPECT_EQ(seen.where().line(), failure.where().line());
}

TEST(FailureTest, SucceedWithAStringLiteralCarriesAString) {
  Deferred<std::string> d = succeed("text");
  std::string got;
  d.addCallback([&](std::string s) { got = s; return s; });
  EXPECT_EQ(got, "text");
}

}  // namespace
}  // namespace deft
