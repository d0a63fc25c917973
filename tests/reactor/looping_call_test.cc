// LoopingCall on the fake Clock.

#include "reactor/looping_call.h"

#include <stdexcept>
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
