// Failures nobody handled are reported once, when the last handle goes.

#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "tests/deferred/unhandled_recorder.h"

namespace deft {
namespace {

class UnhandledTest : public ::testing::Test {
 protected:
  const std::vector<std::string>& reported() const { return recorder_.messages(); }

  testing::UnhandledRecorder recorder_;
};

TEST_F(UnhandledTest, ReportedWhenTheLastHandleGoes) {
  {
    Deferred<int> d;
    Deferred<int> copy = d;
    d.errback(std::runtime_error("nobody listened"));
    d = Deferred<int>();
    EXPECT_TRUE(reported().empty());  // a handle is still there: someone may add an errback
  }
  EXPECT_EQ(reported(), (std::vector<std::string>{"nobody listened"}));
}

TEST_F(UnhandledTest, NotReportedWhenAnErrbackHandledIt) {
  {
    Deferred<int> d;
    d.errback(std::runtime_error("handled"));
    d.addErrback([](Failure) { return 0; });
  }
  EXPECT_TRUE(reported().empty());
}

TEST_F(UnhandledTest, ReportedWhenTheLastErrbackRethrows) {
  {
    Deferred<int> d;
    d.addErrback([](Failure f) -> int { f.raiseException(); });
    d.errback(std::runtime_error("rethrown"));
  }
  EXPECT_EQ(reported(), (std::vector<std::string>{"rethrown"}));
}

TEST_F(UnhandledTest, ACallbackThatThrowsAtTheEndOfTheChainIsReported) {
  {
    Deferred<int> d;
    d.addCallback([](int) -> int { throw std::logic_error("bug in callback"); });
    d.callback(0);
  }
  EXPECT_EQ(reported(), (std::vector<std::string>{"bug in callback"}));
}

TEST_F(UnhandledTest, FailureHandedToAnOuterChainIsReportedOnlyThere) {
  {
    Deferred<int> inner;
    Deferred<int> outer;
    outer.addCallback([&](int) { return inner; });
    outer.callback(0);
    inner.errback(std::runtime_error("once"));
  }
  EXPECT_EQ(reported(), (std::vector<std::string>{"once"}));
}

TEST_F(UnhandledTest, UnfiredDeferredIsNotReported) {
  { Deferred<int> d; }
  EXPECT_TRUE(reported().empty());
}

TEST(UnhandledDefaultTest, DefaultHandlerWritesOneLineNamingTheOrigin) {
  ::testing::internal::CaptureStderr();
  { fail<int>(TimeoutError("too slow")); }
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("deft: Unhandled error in Deferred: TimeoutError: too slow"),
            std::string::npos);
  EXPECT_NE(out.find("unhandled_test.cc"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace
}  // namespace deft
