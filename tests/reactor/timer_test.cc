// Timers: the TimerQueue through the fake Clock, and on the real loop.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "reactor/clock.h"
#include "reactor/reactor.h"

namespace deft {
namespace {

TEST(ClockTest, CallsRunWhenTheirTimeComes) {
  Clock clock;
  std::vector<int> ran;
  clock.callLater(absl::Seconds(2), [&] { ran.push_back(2); });
  clock.callLater(absl::Seconds(1), [&] { ran.push_back(1); });
  clock.advance(absl::Milliseconds(999));
  EXPECT_TRUE(ran.empty());
  clock.advance(absl::Milliseconds(1));
  EXPECT_EQ(ran, (std::vector<int>{1}));
  clock.advance(absl::Seconds(5));
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(ClockTest, CallsDueAtTheSameTimeRunInSchedulingOrder) {
  Clock clock;
  std::vector<int> ran;
  for (int i = 0; i < 100; ++i) clock.callLater(absl::Seconds(1), [&ran, i] { ran.push_back(i); });
  clock.advance(absl::Seconds(1));
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST(ClockTest, CancelStopsTheCallAndSecondCancelThrows) {
  Clock clock;
  bool ran = false;
  auto call = clock.callLater(absl::Seconds(1), [&] { ran = true; });
  EXPECT_TRUE(call->active());
  call->cancel();
  EXPECT_FALSE(call->active());
  EXPECT_THROW(call->cancel(), AlreadyCancelled);
  clock.advance(absl::Seconds(2));
  EXPECT_FALSE(ran);
}

TEST(ClockTest, CancelOrResetAfterRunningThrowsAlreadyCalled) {
  Clock clock;
  auto call = clock.callLater(absl::Seconds(1), [] {});
  clock.advance(absl::Seconds(1));
  EXPECT_FALSE(call->active());
  EXPECT_THROW(call->cancel(), AlreadyCalled);
  EXPECT_THROW(call->reset(absl::Seconds(1)), AlreadyCalled);
  EXPECT_THROW(call->delay(absl::Seconds(1)), AlreadyCalled);
}

TEST(ClockTest, ResetMovesTheCallFromNowAndDelayFromItsTime) {
  Clock clock;
  std::vector<std::string> ran;
  auto a = clock.callLater(absl::Seconds(5), [&] { ran.push_back("a"); });
  auto b = clock.callLater(absl::Seconds(5), [&] { ran.push_back("b"); });
  clock.advance(absl::Seconds(4));
  a->reset(absl::Seconds(3));  // due at 7
  b->delay(absl::Seconds(1));  // due at 6
  EXPECT_EQ(a->getTime(), absl::UnixEpoch() + absl::Seconds(7));
  EXPECT_EQ(b->getTime(), absl::UnixEpoch() + absl::Seconds(6));
  clock.advance(absl::Seconds(1));
  EXPECT_TRUE(ran.empty());
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(ran, (std::vector<std::string>{"b"}));
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(ran, (std::vector<std::string>{"b", "a"}));
}

TEST(ClockTest, ACallMayCancelAnotherDueInTheSamePass) {
  Clock clock;
  bool secondRan = false;
  std::shared_ptr<IDelayedCall> second;
  clock.callLater(absl::Seconds(1), [&] { second->cancel(); });
  second = clock.callLater(absl::Seconds(1), [&] { secondRan = true; });
  clock.advance(absl::Seconds(1));
  EXPECT_FALSE(secondRan);
}

TEST(ClockTest, ManyTimersCancelledAndFiredInOrder) {
  Clock clock;
  std::vector<std::shared_ptr<IDelayedCall>> calls;
  std::vector<int> ran;
  for (int i = 0; i < 10'000; ++i) {
    // Descending due times, so the heap has real work to do.
    calls.push_back(
        clock.callLater(absl::Milliseconds(10'000 - i), [&ran, i] { ran.push_back(i); }));
  }
  for (int i = 0; i < 10'000; i += 2) calls[static_cast<std::size_t>(i)]->cancel();
  EXPECT_EQ(clock.getDelayedCalls().size(), 5'000u);
  clock.advance(absl::Seconds(11));
  ASSERT_EQ(ran.size(), 5'000u);
  for (std::size_t k = 1; k < ran.size(); ++k) EXPECT_GT(ran[k - 1], ran[k]);
  for (int i : ran) EXPECT_EQ(i % 2, 1);
}

TEST(ClockTest, ExceptionInACallIsReportedAndTheRestStillRun) {
  Clock clock;
  std::vector<std::string> reported;
  auto previous = setUnhandledFailureHandler(
      [&](const Failure& f) { reported.push_back(f.getErrorMessage()); });
  bool secondRan = false;
  clock.callLater(absl::Seconds(1), [] { throw std::runtime_error("timer broke"); });
  clock.callLater(absl::Seconds(1), [&] { secondRan = true; });
  clock.advance(absl::Seconds(1));
  setUnhandledFailureHandler(std::move(previous));
  EXPECT_EQ(reported, (std::vector<std::string>{"timer broke"}));
  EXPECT_TRUE(secondRan);
}

TEST(DeferLaterTest, FiresWithTheResultAfterTheDelay) {
  Clock clock;
  int got = 0;
  deferLater(clock, absl::Seconds(3), [] { return 42; }).addCallback([&](int x) {
    got = x;
    return x;
  });
  clock.advance(absl::Seconds(2));
  EXPECT_EQ(got, 0);
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(got, 42);
}

TEST(DeferLaterTest, CancelMeansTheFunctionNeverRuns) {
  Clock clock;
  bool ran = false;
  Deferred<void> d = deferLater(clock, absl::Seconds(1), [&] { ran = true; });
  bool cancelled = false;
  d.addErrback([&](Failure f) { cancelled = f.check<CancelledError>(); });
  d.cancel();
  clock.advance(absl::Seconds(2));
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

class ReactorTimerTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(ReactorTimerTest, CallLaterRunsOnTheLoopAfterItsDelay) {
  const absl::Time start = reactor_.seconds();
  absl::Time ranAt;
  reactor_.callLater(absl::Milliseconds(20), [&] {
    ranAt = reactor_.seconds();
    reactor_.stop();
  });
  reactor_.run(/*installSignalHandlers=*/false);
  EXPECT_GE(ranAt - start, absl::Milliseconds(20));
  EXPECT_LT(ranAt - start, absl::Seconds(2));
}

TEST_F(ReactorTimerTest, ZeroDelayCallFromATimerRunsOnTheNextIterationNotTheSamePass) {
  // A timer that keeps rescheduling itself with no delay must let the loop do other things: here,
  // a thread call queued before the chain started runs before the chain gets far.
  int chain = 0;
  int chainWhenThreadCallRan = -1;
  std::function<void()> step = [&] {
    if (++chain < 1000) reactor_.callLater(absl::ZeroDuration(), step);
    else reactor_.stop();
  };
  reactor_.callLater(absl::ZeroDuration(), step);
  reactor_.callFromThread([&] { chainWhenThreadCallRan = chain; });
  reactor_.run(false);
  EXPECT_EQ(chain, 1000);
  EXPECT_GE(chainWhenThreadCallRan, 0);
  EXPECT_LE(chainWhenThreadCallRan, 1);
}

TEST_F(ReactorTimerTest, EachIterationRunsOnlyTimersScheduledBeforeIt) {
  std::vector<std::string> ran;
  reactor_.callLater(absl::ZeroDuration(), [&] {
    ran.push_back("first");
    reactor_.callLater(absl::ZeroDuration(), [&] { ran.push_back("scheduled by first"); });
  });
  reactor_.iterate();
  EXPECT_EQ(ran, (std::vector<std::string>{"first"}));
  reactor_.iterate();
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "scheduled by first"}));
}

TEST_F(ReactorTimerTest, TimersDueTogetherRunInFifoOrderOnTheLoop) {
  std::vector<int> ran;
  for (int i = 0; i < 50; ++i) reactor_.callLater(absl::Milliseconds(5), [&ran, i] { ran.push_back(i); });
  reactor_.callLater(absl::Milliseconds(30), [&] { reactor_.stop(); });
  reactor_.run(false);
  ASSERT_EQ(ran.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST(DeferLaterTest, WithoutAFunctionItIsASleep) {
  Clock clock;
  bool woke = false;
  deferLater(clock, absl::Seconds(2)).addCallback([&] { woke = true; });
  clock.advance(absl::Seconds(1));
  EXPECT_FALSE(woke);
  clock.advance(absl::Seconds(1));
  EXPECT_TRUE(woke);
  Deferred<void> cancelled = deferLater(clock, absl::Seconds(1));
  cancelled.addErrback([](Failure f) { f.trap<CancelledError>(); });
  cancelled.cancel();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

}  // namespace
}  // namespace deft
