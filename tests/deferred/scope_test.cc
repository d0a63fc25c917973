// Scope: work tied to an owner's lifetime. Each test would read freed memory (ASan) or run a
// callback after its owner ended if the scope let anything through.

#include "deferred/scope.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "tests/deferred/unhandled_recorder.h"

namespace deft {
namespace {

// An owner whose callbacks capture `this`, the way a Protocol's do.
struct Owner {
  Scope scope;
  std::vector<std::string> seen;
  void watch(Deferred<std::string> d) {
    scope.track(std::move(d)).addCallback([this](std::string s) { seen.push_back(s); });
  }
};

TEST(ScopeTest, CallbacksRunWhileTheScopeIsOpen) {
  Owner owner;
  Deferred<std::string> d;
  owner.watch(d);
  d.callback("page");
  EXPECT_EQ(owner.seen, std::vector<std::string>{"page"});
}

TEST(ScopeTest, OwnerDestroyedFirstCancelsTheWorkAndNoCallbackTouchesIt) {
  bool cancelled = false;
  Deferred<std::string> d([&](Deferred<std::string>&) { cancelled = true; });
  testing::UnhandledRecorder unhandled;
  {
    auto owner = std::make_unique<Owner>();
    owner->watch(d);
  }  // the owner is freed here: its callback must never run (ASan would see it write freed memory)
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(d.called());  // CancelledError, consumed by the scope
  EXPECT_TRUE(unhandled.messages().empty());
}

TEST(ScopeTest, ProducersOwnCallbacksStillRunWhenTheScopeEnds) {
  // The work's own clean-up (a semaphore release, a timer cancel) sits before track(): it runs.
  Deferred<int> work;
  bool producerSawIt = false;
  Deferred<int> produced = work;
  produced.addErrback([&](Failure f) -> int {
    producerSawIt = f.check<CancelledError>();
    f.raiseException();
  });
  bool consumerRan = false;
  {
    Scope scope;
    scope.track(std::move(produced)).addBoth([&](Outcome<int>) { consumerRan = true; return 0; });
  }
  EXPECT_TRUE(producerSawIt);
  EXPECT_FALSE(consumerRan);
}

TEST(ScopeTest, ChainWaitingOnAReturnedDeferredIsCutOffToo) {
  Deferred<int> first;
  Deferred<int> second;
  int steps = 0;
  testing::UnhandledRecorder unhandled;
  {
    Scope scope;
    scope.track(Deferred<int>(first))
        .addCallback([&](int) {
          ++steps;
          return second;  // the chain now waits on `second`
        })
        .addCallback([&](int) { ++steps; });
    first.callback(1);
    EXPECT_EQ(steps, 1);
  }
  second.errback(std::runtime_error("after the end"));  // nobody left to see it, nobody runs
  EXPECT_EQ(steps, 1);
  EXPECT_TRUE(unhandled.messages().empty());
}

TEST(ScopeTest, WorkNobodyElseHoldsStaysCancellable) {
  // A handler's Deferred with a canceller, returned and held by nobody but the scope's chain.
  int cancels = 0;
  int ran = 0;
  Scope scope;
  Deferred<int> guarded = scope.track(Deferred<int>([&](Deferred<int>&) { ++cancels; }));
  bool sawCancel = false;
  guarded.addErrback([&](Failure f) { sawCancel = f.check<CancelledError>(); return 0; });
  guarded.cancel();  // reaches the producer's canceller; the producer then errbacks (Twisted)
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(sawCancel);
  // A second one, never fired and never cancelled by hand: the scope's end cancels it, and
  // nothing stays behind (LeakSanitizer).
  scope.track(Deferred<int>([&](Deferred<int>&) { ++cancels; })).addCallback([&](int) { ++ran; });
  scope.end();
  EXPECT_EQ(cancels, 2);
  EXPECT_EQ(ran, 0);
  Scope ended;
  ended.end();
  ended.track(Deferred<int>([&](Deferred<int>&) { ++cancels; }));
  EXPECT_EQ(cancels, 3);
}

TEST(ScopeTest, CallbacksAddedAfterTheEndNeverRun) {
  Scope scope;
  Deferred<int> guarded = scope.track(succeed(5));
  int got = 0;
  guarded.addCallback([&](int x) { got = x; return x; });
  EXPECT_EQ(got, 5);
  scope.end();
  guarded.addCallback([&](int x) { got = x + 1; return x; });
  EXPECT_EQ(got, 5);
}

TEST(ScopeTest, TrackAfterTheEndCancelsAtOnce) {
  Scope scope;
  scope.end();
  bool cancelled = false;
  Deferred<int> d([&](Deferred<int>&) { cancelled = true; });
  bool ran = false;
  scope.track(d).addBoth([&](Outcome<int>) { ran = true; return 0; });
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(ran);
}

TEST(ScopeTest, CancellingTheTrackedHandleCancelsTheWork) {
  Scope scope;
  bool cancelled = false;
  Deferred<int> d([&](Deferred<int>&) { cancelled = true; });
  Deferred<int> guarded = scope.track(d);
  bool sawCancel = false;
  guarded.addErrback([&](Failure f) { sawCancel = f.check<CancelledError>(); return 0; });
  guarded.cancel();
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(sawCancel);
}

TEST(ScopeTest, FailuresGoThroughWhileOpen) {
  Scope scope;
  Deferred<int> d;
  std::string error;
  scope.track(d).addErrback([&](Failure f) { error = f.getErrorMessage(); return 0; });
  d.errback(std::runtime_error("boom"));
  EXPECT_EQ(error, "boom");
}

Deferred<int> awaitThrough(Scope& scope, Deferred<int> d, bool* resumed,
                           std::shared_ptr<int> local) {
  int v = co_await scope.track(std::move(d));
  *resumed = true;
  co_return v + *local;
}

TEST(ScopeTest, CoroutineWaitingThroughAnEndedScopeIsDestroyedWhereItWaits) {
  Scope scope;
  Deferred<int> d;
  bool resumed = false;
  auto local = std::make_shared<int>(1);
  std::weak_ptr<int> frameHolds = local;
  Deferred<int> result = awaitThrough(scope, d, &resumed, std::move(local));
  EXPECT_FALSE(frameHolds.expired());
  scope.end();
  EXPECT_TRUE(frameHolds.expired());  // the frame, and its locals, are gone
  EXPECT_FALSE(resumed);
  EXPECT_FALSE(result.called());
}

TEST(ScopeTest, BoundCallableDoesNothingAfterTheEndAndMayOutliveTheScope) {
  int calls = 0;
  std::function<void(int)> later;
  {
    Scope scope;
    auto bound = scope.bind([&](int n) { calls += n; });
    bound(2);
    later = bound;  // copyable, outlives the scope
    later(3);
  }
  later(100);
  EXPECT_EQ(calls, 5);
}

TEST(ScopeTest, ACancellerThatThrowsIsReportedAndTheRestAreStillCancelled) {
  testing::UnhandledRecorder unhandled;
  bool secondCancelled = false;
  Deferred<int> first([](Deferred<int>&) { throw std::runtime_error("canceller broke"); });
  Deferred<int> second([&](Deferred<int>&) { secondCancelled = true; });
  {
    Scope scope;
    scope.track(first);
    scope.track(second);
  }  // ~Scope must not let the exception out (it would terminate)
  EXPECT_TRUE(secondCancelled);
  EXPECT_EQ(unhandled.messages(), (std::vector<std::string>{"canceller broke"}));
  first.callback(1);  // still unfired: its canceller failed; its chain after track() is gone
}

TEST(ScopeTest, EndingTwiceAndManyTrackedAreFine) {
  Scope scope;
  int cancelled = 0;
  int ran = 0;
  std::vector<Deferred<int>> pending;
  for (int i = 0; i < 100; ++i) {
    pending.emplace_back([&](Deferred<int>&) { ++cancelled; });
    scope.track(pending.back()).addBoth([&](Outcome<int>) { ++ran; return 0; });
  }
  pending[7].callback(7);  // one fires first: it runs, and is no longer tracked
  EXPECT_EQ(ran, 1);
  scope.end();
  scope.end();
  EXPECT_EQ(cancelled, 99);
  EXPECT_EQ(ran, 1);
  for (auto& d : pending) EXPECT_TRUE(d.called());
  // A handle kept on a tracked Deferred cannot add callbacks behind the scope's step.
  EXPECT_THROW(pending[0].addCallback([](int x) { return x; }), DeferredTypeError);
}

}  // namespace
}  // namespace deft
