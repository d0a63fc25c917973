// cancel() and addTimeout(): Twisted's rules.

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "tests/deferred/manual_clock.h"

namespace deft {
namespace {

TEST(CancelTest, UnfiredWithoutCancellerErrbacksWithCancelledError) {
  Deferred<int> d;
  bool cancelled = false;
  d.addErrback([&](Failure f) {
    cancelled = f.check<CancelledError>();
    return 0;
  });
  d.cancel();
  EXPECT_TRUE(cancelled);
}

TEST(CancelTest, WithoutCancellerTheOneLaterFiringIsAbsorbed) {
  Deferred<int> d;
  d.addErrback([](Failure) { return 0; });
  d.cancel();
  EXPECT_NO_THROW(d.callback(1));                        // the interrupted work finishing: absorbed
  EXPECT_THROW(d.callback(2), AlreadyCalledError);       // only once
}

TEST(CancelTest, WithoutCancellerALaterErrbackIsAbsorbedToo) {
  Deferred<int> d;
  d.addErrback([](Failure) { return 0; });
  d.cancel();
  EXPECT_NO_THROW(d.errback(std::runtime_error("late")));
}

TEST(CancelTest, CancellerRunsWithTheDeferred) {
  int cancellerCalls = 0;
  Deferred<int> d([&](Deferred<int>&) { ++cancellerCalls; });
  d.addErrback([](Failure) { return 0; });
  d.cancel();
  EXPECT_EQ(cancellerCalls, 1);
}

TEST(CancelTest, CancellerThatFiresDecidesTheResultAndNothingIsAbsorbed) {
  Deferred<int> d([](Deferred<int>& self) { self.errback(TimeoutError("gave up")); });
  std::string error;
  d.addErrback([&](Failure f) {
    error = f.check<TimeoutError>() ? "timeout" : "other";
    return 0;
  });
  d.cancel();
  EXPECT_EQ(error, "timeout");
  EXPECT_THROW(d.callback(1), AlreadyCalledError);
}

TEST(CancelTest, CancellerThatDoesNotFireLeavesCancelledErrorAndNoAbsorption) {
  Deferred<int> d([](Deferred<int>&) {});
  bool cancelled = false;
  d.addErrback([&](Failure f) {
    cancelled = f.check<CancelledError>();
    return 0;
  });
  d.cancel();
  EXPECT_TRUE(cancelled);
  EXPECT_THROW(d.callback(1), AlreadyCalledError);  // the canceller should have stopped the work
}

TEST(CancelTest, CancellingAFiredDeferredDoesNothing) {
  int cancellerCalls = 0;
  Deferred<int> d([&](Deferred<int>&) { ++cancellerCalls; });
  d.callback(3);
  int got = 0;
  d.cancel();
  d.addCallback([&](int x) {
    got = x;
    return x;
  });
  EXPECT_EQ(cancellerCalls, 0);
  EXPECT_EQ(got, 3);
}

TEST(CancelTest, CancellingADeferredWaitingOnAnInnerCancelsTheInner) {
  bool innerCancelled = false;
  Deferred<int> inner([&](Deferred<int>&) { innerCancelled = true; });
  Deferred<int> d;
  bool sawCancelled = false;
  d.addCallback([&](int) { return inner; }).addErrback([&](Failure f) {
    sawCancelled = f.check<CancelledError>();
    return 0;
  });
  d.callback(0);
  d.cancel();
  EXPECT_TRUE(innerCancelled);
  EXPECT_TRUE(sawCancelled);
}

TEST(CancelTest, CancellationPropagatesThroughNestedWaits) {
  bool innermostCancelled = false;
  Deferred<int> innermost([&](Deferred<int>&) { innermostCancelled = true; });
  Deferred<int> middle;
  middle.addCallback([&](int) { return innermost; });
  middle.callback(0);
  Deferred<int> outer;
  outer.addCallback([&](int) { return middle; });
  outer.callback(0);
  outer.addErrback([](Failure) { return 0; });
  outer.cancel();
  EXPECT_TRUE(innermostCancelled);
}

TEST(CancelTest, ACancellerThatThrowsThrowsToTheCallerAndTheDeferredStaysCancellable) {
  int attempts = 0;
  Deferred<int> d([&](Deferred<int>&) {
    if (++attempts == 1) throw std::runtime_error("canceller broke");
  });
  EXPECT_THROW(d.cancel(), std::runtime_error);  // as Twisted's cancel() raises it
  EXPECT_FALSE(d.called());
  bool cancelled = false;
  d.addErrback([&](Failure f) {
    cancelled = f.check<CancelledError>();
    return 0;
  });
  d.cancel();  // the canceller is still there, and this time it works
  EXPECT_EQ(attempts, 2);
  EXPECT_TRUE(cancelled);
}

TEST(CancelTest, CancellerMayDropTheLastOtherHandle) {
  auto* holder = new Deferred<int>();
  Deferred<int> d([&](Deferred<int>&) {
    delete holder;
    holder = nullptr;
  });
  *holder = d;
  d.addErrback([](Failure) { return 0; });
  d.cancel();
  EXPECT_EQ(holder, nullptr);
}

TEST(TimeoutTest, FiresInTimeAndTheTimerIsCancelled) {
  testing::ManualClock clock;
  Deferred<int> d;
  int got = 0;
  d.addTimeout(absl::Seconds(5), clock).addCallback([&](int x) {
    got = x;
    return x;
  });
  EXPECT_EQ(clock.pending(), 1u);
  clock.advance(absl::Seconds(1));
  d.callback(9);
  EXPECT_EQ(got, 9);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(TimeoutTest, TimesOutWithTimeoutError) {
  testing::ManualClock clock;
  Deferred<int> d;
  std::string error;
  d.addTimeout(absl::Seconds(5), clock).addErrback([&](Failure f) {
    error = f.check<TimeoutError>() ? f.getErrorMessage() : "wrong type";
    return 0;
  });
  clock.advance(absl::Seconds(4));
  EXPECT_TRUE(error.empty());
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(error, "Deferred timed out after 5s");
  EXPECT_NO_THROW(d.callback(1));  // the late result is absorbed (no canceller)
}

TEST(TimeoutTest, CancellerThatFiresWithItsOwnErrorIsNotTurnedIntoTimeout) {
  testing::ManualClock clock;
  Deferred<int> d([](Deferred<int>& self) { self.errback(std::runtime_error("closed")); });
  std::string error;
  d.addTimeout(absl::Seconds(1), clock).addErrback([&](Failure f) {
    error = f.getErrorMessage();
    return 0;
  });
  clock.advance(absl::Seconds(2));
  EXPECT_EQ(error, "closed");
}

TEST(TimeoutTest, ExplicitCancelIsStillACancelledError) {
  testing::ManualClock clock;
  Deferred<int> d;
  bool cancelled = false;
  d.addTimeout(absl::Seconds(1), clock).addErrback([&](Failure f) {
    cancelled = f.check<CancelledError>();
    return 0;
  });
  d.cancel();
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(TimeoutTest, OnTimeoutCancelDecidesTheResultOfATimedOutDeferred) {
  testing::ManualClock clock;
  Deferred<std::string> d;
  std::string got;
  absl::Duration sawTimeout;
  d.addTimeout(absl::Seconds(3), clock,
               [&](Outcome<std::string> outcome, absl::Duration timeout) -> Outcome<std::string> {
                 sawTimeout = timeout;
                 return outcome.ok() ? outcome : Outcome<std::string>("fallback page");
               })
      .addCallback([&](std::string s) {
        got = s;
        return s;
      });
  clock.advance(absl::Seconds(3));
  EXPECT_EQ(got, "fallback page");
  EXPECT_EQ(sawTimeout, absl::Seconds(3));
}

TEST(TimeoutTest, OnTimeoutCancelIsNotCalledWhenItFiresInTime) {
  testing::ManualClock clock;
  Deferred<int> d;
  bool called = false;
  int got = 0;
  d.addTimeout(absl::Seconds(3), clock, [&](Outcome<int> outcome, absl::Duration) {
    called = true;
    return outcome;
  });
  d.addCallback([&](int x) {
    got = x;
    return x;
  });
  d.callback(4);
  clock.advance(absl::Seconds(5));
  EXPECT_FALSE(called);
  EXPECT_EQ(got, 4);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(TimeoutTest, TimeoutCancelsTheDeferredItWaitsOn) {
  testing::ManualClock clock;
  bool innerCancelled = false;
  Deferred<int> inner([&](Deferred<int>&) { innerCancelled = true; });
  Deferred<int> d;
  d.addCallback([&](int) { return inner; });
  d.callback(0);
  bool timedOut = false;
  d.addTimeout(absl::Seconds(1), clock).addErrback([&](Failure f) {
    timedOut = f.check<TimeoutError>();
    return 0;
  });
  clock.advance(absl::Seconds(1));
  EXPECT_TRUE(innerCancelled);
  EXPECT_TRUE(timedOut);
}

}  // namespace
}  // namespace deft
