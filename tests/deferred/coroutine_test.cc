// inlineCallbacks as coroutines: functions returning Deferred<T> that co_await Deferreds.

#include <functional>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "tests/support/small_stack.h"

namespace deft {
namespace {

Deferred<int> addOne(Deferred<int> input) {
  int x = co_await input;
  co_return x + 1;
}

TEST(CoroutineTest, AwaitsAndReturnsThroughItsDeferred) {
  Deferred<int> input;
  int got = 0;
  addOne(input).addCallback([&](int x) {
    got = x;
    return x;
  });
  EXPECT_EQ(got, 0);
  input.callback(41);
  EXPECT_EQ(got, 42);
}

TEST(CoroutineTest, RunsEagerlyUpToTheFirstWait) {
  std::vector<std::string> log;
  Deferred<int> gate;
  auto body = [&]() -> Deferred<void> {
    log.push_back("start");
    co_await gate;
    log.push_back("after gate");
  };
  Deferred<void> d = body();
  EXPECT_EQ(log, (std::vector<std::string>{"start"}));
  gate.callback(0);
  EXPECT_EQ(log, (std::vector<std::string>{"start", "after gate"}));
  EXPECT_TRUE(d.called());
}

TEST(CoroutineTest, AwaitingAFiredDeferredDoesNotSuspend) {
  bool finishedSynchronously = false;
  auto body = [&]() -> Deferred<int> {
    int a = co_await succeed(1);
    int b = co_await succeed(2);
    finishedSynchronously = true;
    co_return a + b;
  };
  int got = 0;
  body().addCallback([&](int x) {
    got = x;
    return x;
  });
  EXPECT_TRUE(finishedSynchronously);
  EXPECT_EQ(got, 3);
}

TEST(CoroutineTest, ExceptionEscapingTheBodyErrbacksItsDeferred) {
  auto body = []() -> Deferred<int> {
    co_await succeed(0);
    throw std::runtime_error("escaped");
  };
  std::string error;
  body().addErrback([&](Failure f) {
    error = f.getErrorMessage();
    return 0;
  });
  EXPECT_EQ(error, "escaped");
}

TEST(CoroutineTest, FailureOfTheAwaitedDeferredIsThrownAtTheAwait) {
  Deferred<int> input;
  std::string caught;
  auto body = [&]() -> Deferred<int> {
    try {
      co_await input;
    } catch (const std::out_of_range& e) {
      caught = e.what();
      co_return -1;
    }
    co_return 0;
  };
  int got = 0;
  body().addCallback([&](int x) {
    got = x;
    return x;
  });
  input.errback(std::out_of_range("index"));
  EXPECT_EQ(caught, "index");
  EXPECT_EQ(got, -1);
}

TEST(CoroutineTest, FailureEscapingThroughCoAwaitKeepsItsOrigin) {
  Failure original(TimeoutError("slow upstream"));
  Deferred<int> input;
  auto body = [&]() -> Deferred<int> { co_return co_await input; };
  unsigned line = 0;
  body().addErrback([&](Failure f) {
    line = f.where().line();
    return 0;
  });
  input.errback(original);
  EXPECT_EQ(line, original.where().line());
}

TEST(CoroutineTest, FailureRethrownByCoAwaitNamesTheUsersAwaitAsWhereItEscaped) {
  Failure original(TimeoutError("slow upstream"));
  Deferred<int> input;
  unsigned awaitLine = 0;
  auto body = [&]() -> Deferred<int> {
    awaitLine = std::source_location::current().line() + 1;
    co_return co_await input;
  };
  Failure got(std::runtime_error("none"));
  body().addErrback([&](Failure f) {
    got = f;
    return 0;
  });
  input.errback(original);
  EXPECT_EQ(got.where().line(), original.where().line());  // its origin
  EXPECT_EQ(got.escapedAt().line(), awaitLine);             // and the user's co_await
  EXPECT_NE(std::string(got.escapedAt().file_name()).find("coroutine_test.cc"), std::string::npos);
  EXPECT_NE(got.describe().find("escaped the coroutine"), std::string::npos);
}

TEST(CoroutineTest, ExceptionThrownInTheBodyNamesTheUsersCodeNotDeftsHeader) {
  Deferred<int> input;
  unsigned awaitLine = 0;
  auto body = [&]() -> Deferred<int> {
    awaitLine = std::source_location::current().line() + 1;
    int x = co_await input;
    throw std::runtime_error("bad " + std::to_string(x));
  };
  Failure got(std::runtime_error("none"));
  body().addErrback([&](Failure f) {
    got = f;
    return 0;
  });
  input.callback(1);
  EXPECT_EQ(got.getErrorMessage(), "bad 1");
  EXPECT_EQ(got.where().line(), awaitLine);  // the last co_await before the throw
  EXPECT_NE(std::string(got.where().file_name()).find("coroutine_test.cc"), std::string::npos);
}

Deferred<int> throwsBeforeAwaiting() {
  throw std::runtime_error("at once");
  co_return 0;
}

TEST(CoroutineTest, ExceptionBeforeTheFirstAwaitNamesTheCoroutine) {
  Failure got(std::runtime_error("none"));
  throwsBeforeAwaiting().addErrback([&](Failure f) {
    got = f;
    return 0;
  });
  EXPECT_NE(std::string(got.where().file_name()).find("coroutine_test.cc"), std::string::npos);
  EXPECT_NE(std::string(got.where().function_name()).find("throwsBeforeAwaiting"),
            std::string::npos);
}

TEST(CoroutineTest, CoReturnAFailureFailsWithoutThrowing) {
  auto body = []() -> Deferred<int> {
    co_await succeed(0);
    co_return Failure(TimeoutError("late"));
  };
  bool timedOut = false;
  body().addErrback([&](Failure f) {
    timedOut = f.check<TimeoutError>();
    return 0;
  });
  EXPECT_TRUE(timedOut);
}

TEST(CoroutineTest, CancellingItsDeferredCancelsTheAwaitedOneAndThrowsAtTheAwait) {
  bool awaitedCancelled = false;
  Deferred<int> awaited([&](Deferred<int>&) { awaitedCancelled = true; });
  bool caughtCancelled = false;
  auto body = [&]() -> Deferred<int> {
    try {
      co_await awaited;
    } catch (const CancelledError&) {
      caughtCancelled = true;
      throw;
    }
    co_return 0;
  };
  Deferred<int> d = body();
  bool failedWithCancelled = false;
  d.addErrback([&](Failure f) {
    failedWithCancelled = f.check<CancelledError>();
    return 0;
  });
  d.cancel();
  EXPECT_TRUE(awaitedCancelled);
  EXPECT_TRUE(caughtCancelled);
  EXPECT_TRUE(failedWithCancelled);
}

TEST(CoroutineTest, CoroutineMayRecoverFromCancellationAndItsResultStands) {
  Deferred<int> first;
  Deferred<int> second;
  auto body = [&]() -> Deferred<int> {
    bool cancelled = false;
    try {
      co_await first;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    if (!cancelled) co_return 0;
    co_return co_await second;  // keeps going: Twisted's inlineCallbacks allows this
  };
  Deferred<int> d = body();
  int got = 0;
  d.addCallback([&](int x) {
    got = x;
    return x;
  });
  d.cancel();
  EXPECT_FALSE(d.called());
  second.callback(5);
  EXPECT_EQ(got, 5);
}

struct DestroyFlag {
  bool* destroyed;
  ~DestroyFlag() { *destroyed = true; }
};

TEST(CoroutineTest, AbandonedCoroutineIsFreedOnceNobodyHoldsItsDeferredNorTheAwaitedOne) {
  bool localDestroyed = false;
  auto* awaited = new Deferred<int>();
  auto body = [&]() -> Deferred<int> {
    DestroyFlag flag{&localDestroyed};
    co_await *awaited;
    co_return 0;
  };
  auto* d = new Deferred<int>(body());
  delete awaited;  // the coroutine's Deferred can still cancel it: the frame keeps it
  EXPECT_FALSE(localDestroyed);
  delete d;  // now nobody can fire, cancel or observe it
  EXPECT_TRUE(localDestroyed);
}

TEST(CoroutineTest, DroppingTheCoroutinesDeferredFirstLeavesItRunnableByTheAwaitedOne) {
  bool localDestroyed = false;
  bool finished = false;
  Deferred<int> awaited;
  auto body = [&]() -> Deferred<int> {
    DestroyFlag flag{&localDestroyed};
    co_await awaited;
    finished = true;
    co_return 0;
  };
  body();  // dropped at once: only the awaited Deferred's holder can move it on
  EXPECT_FALSE(localDestroyed);
  awaited.callback(1);
  EXPECT_TRUE(finished);
  EXPECT_TRUE(localDestroyed);
}

TEST(CoroutineTest, AbandonedBothWaysTheFrameIsFreed) {
  bool localDestroyed = false;
  auto* awaited = new Deferred<int>();
  auto body = [&]() -> Deferred<int> {
    DestroyFlag flag{&localDestroyed};
    co_await *awaited;
    co_return 0;
  };
  body();
  EXPECT_FALSE(localDestroyed);
  delete awaited;
  EXPECT_TRUE(localDestroyed);
}

// A Deferred returned by a function and awaited at once: the coroutine holds the only handle.
Deferred<int> workWithCanceller(int* cancellerRuns) {
  return Deferred<int>([cancellerRuns](Deferred<int>&) { ++*cancellerRuns; });
}

TEST(CoroutineTest, CancellingReachesTheCancellerOfADeferredOnlyTheCoroutineHolds) {
  int cancellerRuns = 0;
  bool caught = false;
  auto body = [&]() -> Deferred<int> {
    try {
      co_return co_await workWithCanceller(&cancellerRuns);
    } catch (const CancelledError&) {
      caught = true;
      throw;
    }
  };
  Deferred<int> d = body();
  bool failedWithCancelled = false;
  d.addErrback([&](Failure f) {
    failedWithCancelled = f.check<CancelledError>();
    return 0;
  });
  d.cancel();
  EXPECT_EQ(cancellerRuns, 1);
  EXPECT_TRUE(caught);
  EXPECT_TRUE(failedWithCancelled);
}

TEST(CoroutineTest, TheErrorTheCancellerFiredWithIsThrownAtTheAwait) {
  auto body = []() -> Deferred<std::string> {
    try {
      co_await Deferred<int>([](Deferred<int>& self) { self.errback(TimeoutError("gave up")); });
    } catch (const TimeoutError& e) {
      co_return std::string("translated: ") + e.what();  // the coroutine goes on
    }
    co_return std::string("not cancelled");
  };
  Deferred<std::string> d = body();
  std::string got;
  d.addCallback([&](std::string s) {
    got = s;
    return s;
  });
  d.cancel();
  EXPECT_EQ(got, "translated: gave up");
}

TEST(CoroutineTest, AnAwaitedDeferredThatFiresAfterItsCancellationResumesTheCoroutineThen) {
  Deferred<int> later;
  // The awaited work is itself a coroutine that, cancelled, winds down asynchronously.
  auto inner = [&]() -> Deferred<int> {
    try {
      co_await Deferred<int>();
    } catch (const CancelledError&) {
    }
    co_return co_await later;
  };
  auto outer = [&]() -> Deferred<int> { co_return 10 + co_await inner(); };
  Deferred<int> d = outer();
  int got = 0;
  d.addCallback([&](int x) {
    got = x;
    return x;
  });
  d.cancel();
  EXPECT_FALSE(d.called());
  later.callback(5);
  EXPECT_EQ(got, 15);
}

TEST(CoroutineTest, CallbacksRunAfterTheCoroutinesLocalsAreGone) {
  std::vector<std::string> log;
  struct Logger {
    std::vector<std::string>* log;
    ~Logger() { log->push_back("local destroyed"); }
  };
  auto body = [&]() -> Deferred<void> {
    Logger logger{&log};
    co_await succeed();
  };
  body().addCallback([&] { log.push_back("callback"); });
  EXPECT_EQ(log, (std::vector<std::string>{"local destroyed", "callback"}));
}

TEST(CoroutineTest, AwaitingAVoidDeferred) {
  Deferred<void> gate;
  int steps = 0;
  auto body = [&]() -> Deferred<int> {
    co_await gate;
    ++steps;
    co_return steps;
  };
  int got = 0;
  body().addCallback([&](int x) {
    got = x;
    return x;
  });
  gate.callback();
  EXPECT_EQ(got, 1);
}

TEST(CoroutineTest, CoroutinesAwaitEachOther) {
  Deferred<int> source;
  auto inner = [&]() -> Deferred<std::string> {
    int x = co_await source;
    co_return std::to_string(x);
  };
  auto outer = [&]() -> Deferred<std::size_t> {
    std::string s = co_await inner();
    co_return s.size();
  };
  std::size_t got = 0;
  outer().addCallback([&](std::size_t n) {
    got = n;
    return n;
  });
  source.callback(12345);
  EXPECT_EQ(got, 5u);
}

TEST(CoroutineTest, AwaitingHundredThousandFiredDeferredsDoesNotGrowTheStack) {
  long total = 0;
  testing::runOnSmallStack([&] {
    auto body = []() -> Deferred<long> {
      long sum = 0;
      for (int i = 0; i < 100'000; ++i) sum += co_await succeed(1);
      co_return sum;
    };
    body().addCallback([&](long x) {
      total = x;
      return x;
    });
  });
  EXPECT_EQ(total, 100'000);
}

// A coroutine lambda given as a callback reads its captures through the closure after its first
// co_await; the step that held the closure has run by then. The chain keeps the closure until the
// Deferred the lambda returned has fired (ASan reports a use after free otherwise).
TEST(CoroutineTest, ACapturingCoroutineCallbackKeepsItsCapturesUntilItsDeferredFires) {
  Deferred<void> page;
  auto alive = std::make_shared<int>(0);
  std::string got;
  succeed(std::string("body"))
      .addCallback([prefix = std::string(64, 'p'), alive, &page](std::string body)
                       -> Deferred<std::string> {
        co_await page;
        co_return prefix.substr(0, 3) + " " + body;  // `prefix` lives in the closure
      })
      .addCallback([&](std::string s) {
        got = s;
        return s;
      });
  EXPECT_EQ(alive.use_count(), 2);  // the closure waits with the suspended coroutine
  page.callback();
  EXPECT_EQ(got, "ppp body");
  EXPECT_EQ(alive.use_count(), 1);  // and is destroyed once its Deferred has fired
}

TEST(CoroutineTest, CapturingCoroutineErrbacksAndBothCallbacksAreKeptToo) {
  Deferred<void> later;
  std::string finished;
  fail<int>(std::runtime_error("boom"))
      .addErrback([note = std::string(64, 'e'), &later](Failure f) -> Deferred<int> {
        co_await later;
        co_return static_cast<int>(note.size() + f.describe().empty());
      })
      .addBoth([tag = std::string(64, 'b'), &later](Outcome<int> outcome) -> Deferred<std::string> {
        co_await later;  // fired by now: no suspension, the closure may go at once
        co_return tag.substr(0, 1) + std::to_string(outcome.value());
      })
      .addCallback([&](std::string s) {
        finished = s;
        return s;
      });
  EXPECT_TRUE(finished.empty());
  later.callback();
  EXPECT_EQ(finished, "b64");
}

}  // namespace
}  // namespace deft
