// LoopingCall on the fake Clock.

#include "reactor/looping_call.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "reactor/clock.h"

namespace deft {
namespace {

TEST(LoopingCallTest, RunsNowAndThenEveryInterval) {
  Clock clock;
  int calls = 0;
  LoopingCall loop(clock, [&] { ++calls; });
  loop.start(absl::Seconds(1));
  EXPECT_EQ(calls, 1);
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(calls, 2);
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(calls, 3);
}

TEST(LoopingCallTest, StartWithoutNowWaitsOneInterval) {
  Clock clock;
  int calls = 0;
  LoopingCall loop(clock, [&] { ++calls; });
  loop.start(absl::Seconds(1), /*now=*/false);
  EXPECT_EQ(calls, 0);
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(calls, 1);
}

TEST(LoopingCallTest, StopFiresTheStartDeferredAndNoMoreCalls) {
  Clock clock;
  int calls = 0;
  LoopingCall loop(clock, [&] { ++calls; });
  bool done = false;
  loop.start(absl::Seconds(1)).addCallback([&] { done = true; });
  loop.stop();
  EXPECT_TRUE(done);
  clock.advance(absl::Seconds(5));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(LoopingCallTest, MissedTicksAreSkippedNotBunched) {
  Clock clock;
  std::vector<absl::Duration> at;
  LoopingCall loop(clock, [&] { at.push_back(clock.seconds() - absl::UnixEpoch()); });
  loop.start(absl::Seconds(1));
  clock.advance(absl::Milliseconds(3500));  // busy for 3.5 intervals: one late call, not three
  clock.advance(absl::Milliseconds(500));
  EXPECT_EQ(at, (std::vector<absl::Duration>{absl::ZeroDuration(), absl::Milliseconds(3500),
                                             absl::Seconds(4)}));
}

TEST(LoopingCallTest, WaitsForAReturnedDeferredBeforeTheNextTick) {
  Clock clock;
  int calls = 0;
  Deferred<void> pending;
  LoopingCall loop(clock, [&]() -> Deferred<void> {
    ++calls;
    return pending;
  });
  loop.start(absl::Seconds(1));
  clock.advance(absl::Seconds(3));
  EXPECT_EQ(calls, 1);  // still waiting on the first call's Deferred
  pending.callback();
  pending = Deferred<void>();
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(calls, 2);
}

TEST(LoopingCallTest, ExceptionStopsTheLoopWithAnErrback) {
  Clock clock;
  int calls = 0;
  LoopingCall loop(clock, [&] {
    if (++calls == 2) throw std::runtime_error("tick failed");
  });
  std::string error;
  loop.start(absl::Seconds(1)).addErrback([&](Failure f) { error = f.getErrorMessage(); });
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(error, "tick failed");
  EXPECT_FALSE(loop.running());
  clock.advance(absl::Seconds(5));
  EXPECT_EQ(calls, 2);
}

TEST(LoopingCallTest, DestroyedWhileTheFunctionsDeferredIsPendingTouchesNothing) {
  Clock clock;
  Deferred<void> pending;
  bool cancelled = false;
  pending = Deferred<void>([&](Deferred<void>&) { cancelled = true; });
  bool stopped = false;
  {
    LoopingCall loop(clock, [&]() -> Deferred<void> { return pending; });
    loop.start(absl::Seconds(1)).addCallback([&] { stopped = true; });
  }  // freed with the function's Deferred pending: it is cancelled, and start()'s fires
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(pending.called());
  clock.advance(absl::Seconds(5));  // no timer left behind
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(LoopingCallTest, DestroyedWhileAHandleStillFiresLaterTouchesNothing) {
  Clock clock;
  Deferred<void> pending;  // no canceller: cancel() absorbs the later firing
  {
    LoopingCall loop(clock, [&]() -> Deferred<void> { return pending; });
    loop.start(absl::Seconds(1));
  }
  pending.callback();  // absorbed; were the loop's callbacks still there, they would use freed memory
  clock.advance(absl::Seconds(5));
}

TEST(LoopingCallTest, StopThenThrowErrbacksWithThatError) {
  // Twisted's test_task: a function that calls stop() and then raises fails start()'s Deferred.
  Clock clock;
  std::unique_ptr<LoopingCall> loop;
  loop = std::make_unique<LoopingCall>(clock, [&] {
    loop->stop();
    throw std::runtime_error("after stop");
  });
  std::string error;
  bool succeeded = false;
  loop->start(absl::Seconds(1)).addCallbacks([&] { succeeded = true; },
                                             [&](Failure f) { error = f.getErrorMessage(); });
  EXPECT_FALSE(succeeded);
  EXPECT_EQ(error, "after stop");
  EXPECT_FALSE(loop->running());
}

TEST(LoopingCallTest, StopWhileTheFunctionsDeferredIsPendingFiresWhenItFires) {
  Clock clock;
  Deferred<void> pending;
  LoopingCall loop(clock, [&]() -> Deferred<void> { return pending; });
  bool stopped = false;
  loop.start(absl::Seconds(1)).addCallback([&] { stopped = true; });
  loop.stop();
  EXPECT_FALSE(stopped);  // Twisted: the loop ends when the call in flight does
  pending.callback();
  EXPECT_TRUE(stopped);
}

TEST(LoopingCallTest, ResetSkipsTheNextCallAndCountsFromNow) {
  Clock clock;
  int calls = 0;
  LoopingCall loop(clock, [&] { ++calls; });
  loop.start(absl::Seconds(2));
  EXPECT_EQ(calls, 1);
  clock.advance(absl::Seconds(1));
  loop.reset();  // the call due at 2 s moves to 3 s
  clock.advance(absl::Milliseconds(1500));
  EXPECT_EQ(calls, 1);
  clock.advance(absl::Milliseconds(500));
  EXPECT_EQ(calls, 2);
  clock.advance(absl::Seconds(2));
  EXPECT_EQ(calls, 3);
}

TEST(LoopingCallTest, WithCountReportsTheIntervalsThatPassed) {
  // Twisted's test_countLengthyIntervalCounts: a busy process sees counts above one.
  Clock clock;
  std::vector<std::int64_t> counts;
  auto loop = LoopingCall::withCount(clock, [&](std::int64_t n) { counts.push_back(n); });
  loop->start(absl::Seconds(1));
  clock.advance(absl::Seconds(1));
  clock.advance(absl::Milliseconds(3500));  // three intervals pass before the next call runs
  clock.advance(absl::Milliseconds(500));
  EXPECT_EQ(counts, (std::vector<std::int64_t>{1, 1, 3, 1}));
  loop->stop();
  loop->start(absl::Seconds(1), /*now=*/false);
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(counts.back(), 1);
}

TEST(LoopingCallTest, StartTwiceIsAnError) {
  Clock clock;
  LoopingCall loop(clock, [] {});
  loop.start(absl::Seconds(1));
  EXPECT_THROW(loop.start(absl::Seconds(1)), std::logic_error);
  loop.stop();
  EXPECT_THROW(loop.stop(), std::logic_error);
}

}  // namespace
}  // namespace deft
