// Deferreds that wait on other Deferreds: returned from callbacks, chainDeferred, pause/unpause,
// and the guarantee that long chains of them run without growing the stack.

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "tests/support/small_stack.h"

namespace deft {
namespace {

TEST(ReturnedDeferredTest, PausesTheOuterChainUntilTheInnerFires) {
  Deferred<int> inner;
  std::vector<std::string> log;
  Deferred<int> producer;
  Deferred<int> chain = producer;
  std::move(chain)
      .addCallback([&](int) {
        log.push_back("returns inner");
        return inner;
      })
      .addCallback([&](int x) { log.push_back("got " + std::to_string(x)); });
  producer.callback(0);
  EXPECT_EQ(log, (std::vector<std::string>{"returns inner"}));
  inner.callback(7);
  EXPECT_EQ(log, (std::vector<std::string>{"returns inner", "got 7"}));
}

TEST(ReturnedDeferredTest, AlreadyFiredInnerIsUsedAtOnce) {
  Deferred<int> d;
  int got = 0;
  d.addCallback([](int x) { return succeed(x * 3); }).addCallback([&](int x) {
    got = x;
    return x;
  });
  d.callback(5);
  EXPECT_EQ(got, 15);
}

TEST(ReturnedDeferredTest, InnerFailureContinuesDownTheOuterErrbackPath) {
  Deferred<int> inner;
  Deferred<int> d;
  std::string error;
  d.addCallback([&](int) { return inner; }).addErrback([&](Failure f) {
    error = f.getErrorMessage();
    return 0;
  });
  d.callback(1);
  inner.errback(std::runtime_error("inner failed"));
  EXPECT_EQ(error, "inner failed");
}

TEST(ReturnedDeferredTest, ReturnedDeferredCanChangeTheType) {
  Deferred<std::string> inner;
  Deferred<int> producer;
  Deferred<int> d = producer;
  std::size_t length = 0;
  std::move(d)
      .addCallback([&](int) { return inner; })
      .addCallback([&](std::string s) { length = s.size(); });
  producer.callback(0);
  inner.callback("hello");
  EXPECT_EQ(length, 5u);
}

TEST(ReturnedDeferredTest, TheInnerNoLongerOwnsTheResult) {
  // Twisted leaves the inner Deferred with None: here it carries nothing, and using it at its
  // old type is a DeferredTypeError rather than a read of a moved-from value.
  Deferred<std::string> inner;
  Deferred<int> d;
  std::string got;
  Deferred<std::string> innerCopy = inner;
  Deferred<int> producer = d;
  std::move(d).addCallback([&](int) { return inner; }).addCallback([&](std::string s) {
    got = s;
  });
  producer.callback(0);
  inner.callback("payload");
  EXPECT_EQ(got, "payload");
  EXPECT_THROW(innerCopy.addCallback([](std::string s) { return s; }), DeferredTypeError);
}

TEST(ReturnedDeferredTest, OuterCallbacksStillRunWhenOnlyTheInnersProducerHoldsOn) {
  Deferred<int> inner;
  bool ran = false;
  {
    Deferred<int> d;
    d.addCallback([&](int) { return inner; }).addCallback([&](int x) {
      ran = true;
      return x;
    });
    d.callback(0);
  }  // the only handle on the outer Deferred is gone
  inner.callback(1);
  EXPECT_TRUE(ran);
}

TEST(ReturnedDeferredTest, CallbackReturningItsOwnDeferredFails) {
  Deferred<int> d;
  std::string error;
  d.addCallback([&](int) { return d; });
  d.addErrback([&](Failure f) {
    error = f.getErrorMessage();
    return 0;
  });
  d.callback(0);
  EXPECT_NE(error.find("returned the Deferred it was added to"), std::string::npos);
}

TEST(PauseTest, PausedChainWaitsForUnpause) {
  Deferred<int> d;
  int got = 0;
  d.pause();
  d.callback(3);
  d.addCallback([&](int x) {
    got = x;
    return x;
  });
  EXPECT_EQ(got, 0);
  EXPECT_TRUE(d.paused());
  d.unpause();
  EXPECT_EQ(got, 3);
}

TEST(PauseTest, PausesNest) {
  Deferred<int> d = succeed(1);
  int calls = 0;
  d.pause();
  d.pause();
  d.addCallback([&](int x) {
    ++calls;
    return x;
  });
  d.unpause();
  EXPECT_EQ(calls, 0);
  d.unpause();
  EXPECT_EQ(calls, 1);
}

TEST(PauseTest, UnpauseDoesNotReleaseAChainWaitingOnAnInnerDeferred) {
  // Twisted bug #12726: pause() and waiting on an inner Deferred share one counter there, so an
  // extra unpause() lets the chain run on with the inner Deferred object as its result.
  Deferred<int> inner;
  Deferred<int> d;
  std::vector<int> seen;
  d.addCallback([&](int) { return inner; }).addCallback([&](int x) {
    seen.push_back(x);
    return x;
  });
  d.callback(0);
  d.unpause();  // not paused by the user: must be a no-op
  d.pause();
  d.unpause();
  EXPECT_TRUE(seen.empty());
  inner.callback(5);
  EXPECT_EQ(seen, (std::vector<int>{5}));
}

TEST(PauseTest, PausedInnerDelaysTheOuter) {
  Deferred<int> inner = succeed(4);
  inner.pause();
  Deferred<int> d;
  int got = 0;
  d.addCallback([&](int) { return inner; }).addCallback([&](int x) {
    got = x;
    return x;
  });
  d.callback(0);
  EXPECT_EQ(got, 0);
  inner.unpause();
  EXPECT_EQ(got, 4);
}

TEST(ChainDeferredTest, OtherFiresWithTheResult) {
  Deferred<int> a;
  Deferred<int> b;
  int got = 0;
  b.addCallback([&](int x) {
    got = x;
    return x;
  });
  Deferred<int> aChain = a;
  Deferred<void> rest = std::move(aChain).chainDeferred(b);
  bool restRan = false;
  rest.addCallback([&] { restRan = true; });
  a.callback(11);
  EXPECT_EQ(got, 11);
  EXPECT_TRUE(restRan);
}

TEST(ChainDeferredTest, FailuresArePassedToo) {
  Deferred<int> a;
  Deferred<int> b;
  std::string error;
  b.addErrback([&](Failure f) {
    error = f.getErrorMessage();
    return 0;
  });
  Deferred<int> aChain = a;
  std::move(aChain).chainDeferred(b);
  a.errback(std::runtime_error("through"));
  EXPECT_EQ(error, "through");
}

TEST(ChainDeferredTest, TargetAlreadyFiredGivesAlreadyCalledErrorOnTheSource) {
  Deferred<int> a;
  Deferred<int> b = succeed(1);
  bool sawAlreadyCalled = false;
  Deferred<int> aChain = a;
  std::move(aChain).chainDeferred(b).addErrback(
      [&](Failure f) { sawAlreadyCalled = f.check<AlreadyCalledError>(); });
  a.callback(2);
  EXPECT_TRUE(sawAlreadyCalled);
}

constexpr int kLinks = 100'000;

TEST(StackDepthTest, HundredThousandReturnedDeferredsFireWithoutStackGrowth) {
  int result = 0;
  testing::runOnSmallStack([&] {
    // d[i]'s callback returns d[i+1]; each waits on the next. Firing the last releases all.
    std::vector<Deferred<int>> d(kLinks + 1);
    for (int i = 0; i < kLinks; ++i) {
      Deferred<int> next = d[static_cast<std::size_t>(i) + 1];
      d[static_cast<std::size_t>(i)].addCallback([next](int) { return next; });
    }
    d[0].addCallback([&](int x) {
      result = x;
      return x;
    });
    for (int i = 0; i < kLinks; ++i) d[static_cast<std::size_t>(i)].callback(0);
    d[kLinks].callback(42);
  });
  EXPECT_EQ(result, 42);
}

TEST(StackDepthTest, HundredThousandChainDeferredLinksFireWithoutStackGrowth) {
  int result = 0;
  testing::runOnSmallStack([&] {
    // Twisted overflows here: each chainDeferred link is a nested d.callback().
    std::vector<Deferred<int>> d(kLinks + 1);
    d[kLinks].addCallback([&](int x) {
      result = x;
      return x;
    });
    for (int i = 0; i < kLinks; ++i) {
      Deferred<int> link = d[static_cast<std::size_t>(i)];
      std::move(link).chainDeferred(d[static_cast<std::size_t>(i) + 1]);
    }
    d[0].callback(7);
  });
  EXPECT_EQ(result, 7);
}

}  // namespace
}  // namespace deft
