// The callback chain: Twisted's path-switching rules, typed.

#include <memory>
#include <stdexcept>
#include <source_location>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "gtest/gtest.h"

namespace deft {
namespace {

TEST(ChainTest, CallbacksRunInOrderWhenFired) {
  std::vector<int> seen;
  Deferred<int> d;
  d.addCallback([&](int x) { seen.push_back(x); return x + 1; })
      .addCallback([&](int x) { seen.push_back(x); return x * 10; });
  EXPECT_TRUE(seen.empty());
  d.callback(1);
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
}

TEST(ChainTest, CallbackCanChangeTheType) {
  Deferred<int> producer;
  Deferred<int> d = producer;
  std::string seenString;
  Deferred<std::string> s = std::move(d).addCallback([](int x) { return std::to_string(x); });
  Deferred<std::size_t> n = std::move(s).addCallback([&](std::string v) {
    seenString = v;
    return v.size();
  });
  std::size_t size = 0;
  std::move(n).addCallback([&](std::size_t v) { size = v; });
  producer.callback(12345);
  EXPECT_EQ(seenString, "12345");
  EXPECT_EQ(size, 5u);
}

TEST(ChainTest, ProducerHandleFiresAChainThatChangedType) {
  Deferred<int> producer;
  std::string got;
  Deferred<int> consumer = producer;
  std::move(consumer)
      .addCallback([](int x) { return std::to_string(x * 2); })
      .addCallback([&](const std::string& s) { got = s; });
  producer.callback(21);
  EXPECT_EQ(got, "42");
}

TEST(ChainTest, CallbackThatThrowsSwitchesToTheNextErrback) {
  bool skipped = true;
  std::string error;
  Deferred<int> d;
  d.addCallback([](int) -> int { throw std::runtime_error("bad input"); })
      .addCallback([&](int x) {
        skipped = false;
        return x;
      })
      .addErrback([&](Failure f) {
        error = f.getErrorMessage();
        return -1;
      });
  d.callback(1);
  EXPECT_TRUE(skipped);
  EXPECT_EQ(error, "bad input");
}

TEST(ChainTest, CallbackReturningAFailureSwitchesWithoutThrowing) {
  bool errbackRan = false;
  Deferred<int> d;
  d.addCallback([](int) { return Failure(TimeoutError("late")); })
      .addErrback([&](Failure f) {
        errbackRan = f.check<TimeoutError>();
        return 0;
      });
  d.callback(5);
  EXPECT_TRUE(errbackRan);
}

TEST(ChainTest, ErrbackThatReturnsAValueRecoversOntoTheCallbackPath) {
  int result = 0;
  Deferred<int> d;
  d.addErrback([](Failure) { return 7; }).addCallback([&](int x) {
    result = x;
    return x;
  });
  d.errback(std::runtime_error("lost"));
  EXPECT_EQ(result, 7);
}

TEST(ChainTest, ErrbackIsSkippedOnSuccessAndCallbackOnFailure) {
  std::vector<std::string> log;
  Deferred<int> ok;
  ok.addErrback([&](Failure) {
    log.push_back("errback");
    return 0;
  });
  ok.addCallback([&](int x) {
    log.push_back("callback " + std::to_string(x));
    return x;
  });
  ok.callback(3);
  Deferred<int> bad;
  bad.addCallback([&](int x) {
    log.push_back("callback on failure");
    return x;
  });
  bad.addErrback([&](Failure) {
    log.push_back("errback on failure");
    return 0;
  });
  bad.errback(std::runtime_error("x"));
  EXPECT_EQ(log, (std::vector<std::string>{"callback 3", "errback on failure"}));
}

TEST(ChainTest, ErrbackThatRethrowsOrTrapsMissKeepsTheFailureGoing) {
  std::vector<std::string> log;
  Deferred<int> d;
  d.addErrback([&](Failure f) -> int {
     log.push_back("trap");
     f.trap<TimeoutError>();
     return 0;
   })
      .addErrback([&](Failure f) -> int {
        log.push_back("rethrow");
        f.raiseException();
      })
      .addErrback([&](Failure f) {
        log.push_back(f.getErrorMessage());
        return 1;
      });
  d.errback(std::invalid_argument("not a timeout"));
  EXPECT_EQ(log, (std::vector<std::string>{"trap", "rethrow", "not a timeout"}));
}

TEST(ChainTest, TrappedFailureKeepsItsOrigin) {
  Failure original(std::invalid_argument("x"));
  unsigned seenLine = 0;
  Deferred<int> d;
  d.addErrback([](Failure f) -> int {
     f.trap<TimeoutError>();
     return 0;
   }).addErrback([&](Failure f) {
    seenLine = f.where().line();
    return 0;
  });
  d.errback(original);
  EXPECT_EQ(seenLine, original.where().line());
}

TEST(ChainTest, ErrbackThatRethrowsKeepsTheOriginalFailure) {
  Failure original(std::out_of_range("deep"));
  unsigned line = 0;
  Deferred<int> d;
  d.addErrback([](Failure f) -> int { f.raiseException(); }).addErrback([&](Failure f) {
    line = f.where().line();
    return 0;
  });
  d.errback(original);
  EXPECT_EQ(line, original.where().line());
}

TEST(ChainTest, FailureFromAThrowingCallbackNamesWhereTheCallbackWasAdded) {
  unsigned line = 0;
  Deferred<int> d;
  const unsigned added = __LINE__ + 1;
  d.addCallback([](int) -> int { throw std::runtime_error("x"); });
  d.addErrback([&](Failure f) {
    line = f.where().line();
    return 0;
  });
  d.callback(0);
  EXPECT_EQ(line, added);
}

TEST(ChainTest, AddCallbacksRunsTheErrbackBranchOnFailure) {
  std::vector<std::string> log;
  Deferred<int> producer;
  Deferred<int> d = producer;
  std::move(d)
      .addCallbacks(
          [&](int) -> std::string {
            log.push_back("callback");
            return "";
          },
          [&](Failure f) -> std::string {
            log.push_back("errback: " + f.getErrorMessage());
            return "recovered";
          })
      .addCallback([&](std::string s) { log.push_back(s); });
  producer.errback(std::runtime_error("boom"));
  EXPECT_EQ(log, (std::vector<std::string>{"errback: boom", "recovered"}));
}

TEST(ChainTest, AddCallbacksErrbackDoesNotSeeItsOwnCallbacksFailure) {
  std::vector<std::string> log;
  Deferred<int> producer;
  Deferred<int> d = producer;
  std::move(d)
      .addCallbacks(
          [&](int) -> std::string { throw std::runtime_error("from callback"); },
          [&](Failure) -> std::string {
            log.push_back("errback of the same pair");
            return "";
          })
      .addErrback([&](Failure f) {
        log.push_back(f.getErrorMessage());
        return std::string();
      });
  producer.callback(1);
  EXPECT_EQ(log, (std::vector<std::string>{"from callback"}));
}

TEST(ChainTest, AddBothSeesSuccessAndFailure) {
  std::vector<bool> seen;
  for (bool succeedIt : {true, false}) {
    Deferred<int> d;
    d.addBoth([&](Outcome<int> o) -> Outcome<int> {
      seen.push_back(o.ok());
      return o;
    });
    d.addErrback([](Failure) { return 0; });
    if (succeedIt) d.callback(1);
    else d.errback(std::runtime_error("x"));
  }
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
}

TEST(ChainTest, OutcomeReturnLetsAnErrbackRecoverOrFailWithoutThrowing) {
  std::vector<int> results;
  for (bool timeout : {true, false}) {
    Deferred<int> d;
    d.addErrback([](Failure f) -> Outcome<int> {
       if (f.check<TimeoutError>()) return 0;
       return f;
     }).addCallbacks([&](int x) {
          results.push_back(x);
          return x;
        },
        [&](Failure) {
          results.push_back(-1);
          return -1;
        });
    if (timeout) d.errback(TimeoutError());
    else d.errback(std::runtime_error("other"));
  }
  EXPECT_EQ(results, (std::vector<int>{0, -1}));
}

TEST(ChainTest, CallbacksAddedToAFiredDeferredRunAtOnce) {
  Deferred<int> d = succeed(4);
  int seen = 0;
  d.addCallback([&](int x) {
    seen = x;
    return x;
  });
  EXPECT_EQ(seen, 4);
}

TEST(ChainTest, CallbackAddedFromInsideARunningCallbackRunsAfterItNotNested) {
  std::vector<std::string> log;
  Deferred<int> d;
  d.addCallback([&](int x) {
    d.addCallback([&](int y) {
      log.push_back("inner");
      return y;
    });
    log.push_back("outer end");
    return x;
  });
  d.addCallback([&](int x) {
    log.push_back("second");
    return x;
  });
  d.callback(1);
  EXPECT_EQ(log, (std::vector<std::string>{"outer end", "second", "inner"}));
}

TEST(ChainTest, CallbackAddedInsideARunningCallbackOfAFiredDeferredRunsAfterIt) {
  std::vector<std::string> log;
  Deferred<int> d = succeed(1);
  d.addCallback([&](int x) {
    d.addCallback([&](int y) {
      log.push_back("inner");
      return y;
    });
    log.push_back("outer end");
    return x;
  });
  EXPECT_EQ(log, (std::vector<std::string>{"outer end", "inner"}));
}

TEST(ChainTest, VoidDeferredCallbacksTakeNoArguments) {
  int calls = 0;
  Deferred<void> producer;
  Deferred<void> d = producer;
  d.addCallback([&] { ++calls; });
  Deferred<int> n = std::move(d).addCallback([&] { return ++calls; });
  int last = 0;
  std::move(n).addCallback([&](int x) { last = x; });
  EXPECT_EQ(calls, 0);
  producer.callback();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(last, 2);
}

TEST(ChainTest, FiringTwiceIsAnAlreadyCalledError) {
  Deferred<int> d;
  d.callback(1);
  EXPECT_THROW(d.callback(2), AlreadyCalledError);
  EXPECT_THROW(d.errback(std::runtime_error("x")), AlreadyCalledError);
  Deferred<void> v;
  v.errback(std::runtime_error("x"));
  v.addErrback([](Failure) {});
  EXPECT_THROW(v.callback(), AlreadyCalledError);
}

TEST(ChainTest, AlreadyCalledErrorNamesWhereTheDeferredWasMadeAndFirstFired) {
  const unsigned made = std::source_location::current().line() + 1;
  Deferred<int> d;
  const unsigned firedFirst = std::source_location::current().line() + 1;
  d.callback(1);
  std::string message;
  try {
    d.callback(2);
  } catch (const AlreadyCalledError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("created tests/deferred/chain_test.cc:" + std::to_string(made)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("first fired tests/deferred/chain_test.cc:" + std::to_string(firedFirst)),
            std::string::npos)
      << message;
}

TEST(ChainTest, DescribeSaysWhetherItFiredWhatItHoldsAndWhatItWaitsOn) {
  Deferred<int> inner;
  Deferred<std::string> d;
  EXPECT_NE(d.describe().find("chain_test.cc"), std::string::npos);
  EXPECT_NE(d.describe().find("not fired"), std::string::npos);
  d.callback("x");
  EXPECT_NE(d.describe().find("current result: std::string"), std::string::npos) << d.describe();
  Deferred<int> waiting = std::move(d).addCallback([&](std::string) { return inner; });
  EXPECT_NE(waiting.describe().find("waiting on <Deferred"), std::string::npos);
  inner.errback(TimeoutError("slow"));
  EXPECT_NE(waiting.describe().find("failure TimeoutError: slow"), std::string::npos)
      << waiting.describe();
  waiting.addErrback([](Failure) { return 0; });
  Deferred<int> moved = std::move(waiting);
  EXPECT_EQ(waiting.describe(), "<Deferred (moved from)>");  // NOLINT(bugprone-use-after-move)
}

TEST(ChainTest, CalledReportsFiring) {
  Deferred<int> d;
  EXPECT_FALSE(d.called());
  d.callback(0);
  EXPECT_TRUE(d.called());
}

TEST(ChainTest, StaleHandleAtTheOldTypeIsATypeError) {
  Deferred<int> d;
  Deferred<int> copy = d;
  Deferred<std::string> s = std::move(d).addCallback([](int x) { return std::to_string(x); });
  EXPECT_THROW(copy.addCallback([](int x) { return x; }), DeferredTypeError);
  // The copy still fires the chain: its input type is int.
  std::string got;
  std::move(s).addCallback([&](std::string v) { got = v; });
  copy.callback(9);
  EXPECT_EQ(got, "9");
}

TEST(ChainTest, MovedFromHandleIsAnErrorNotACrash) {
  Deferred<int> d;
  Deferred<int> other = std::move(d);
  EXPECT_THROW(d.callback(1), DeferredTypeError);  // NOLINT(bugprone-use-after-move): on purpose
}

TEST(ChainTest, ErrbackMayReturnAConvertibleValue) {
  std::string got;
  Deferred<std::string> d;
  d.addErrback([](Failure) { return "fallback"; }).addCallback([&](std::string s) {
    got = s;
    return s;
  });
  d.errback(std::runtime_error("x"));
  EXPECT_EQ(got, "fallback");
}

TEST(ChainTest, MoveOnlyValuesTravelTheChain) {
  Deferred<std::unique_ptr<int>> producer;
  Deferred<std::unique_ptr<int>> d = producer;
  int got = 0;
  std::move(d)
      .addCallback([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); })
      .addCallback([&](std::unique_ptr<int> p) { got = *p; });
  producer.callback(std::make_unique<int>(41));
  EXPECT_EQ(got, 42);
}

TEST(ChainTest, LargeValuesThatDoNotFitInlineWork) {
  struct Big {
    char bytes[256];
    int tag;
  };
  Deferred<Big> producer;
  Deferred<Big> d = producer;
  int tag = 0;
  std::move(d)
      .addCallback([](Big b) {
        b.tag += 1;
        return b;
      })
      .addCallback([&](const Big& b) { tag = b.tag; });
  Big b{};
  b.tag = 41;
  producer.callback(b);
  EXPECT_EQ(tag, 42);
}

TEST(ChainTest, ManyCallbacksBeyondTheInlineCapacityAllRunInOrder) {
  Deferred<int> d;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    std::string padding(static_cast<std::size_t>(i), 'x');  // varied capture sizes
    d.addCallback([&order, i, padding](int x) {
      order.push_back(i);
      return x + static_cast<int>(padding.size()) * 0;
    });
  }
  d.callback(0);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(ChainTest, SucceedAndFailGiveFiredDeferreds) {
  int x = 0;
  succeed(5).addCallback([&](int v) {
    x = v;
    return v;
  });
  EXPECT_EQ(x, 5);
  bool failed = false;
  fail<int>(std::runtime_error("no")).addErrback([&](Failure) {
    failed = true;
    return 0;
  });
  EXPECT_TRUE(failed);
}

TEST(ChainTest, MaybeDeferredWrapsValuesExceptionsAndDeferreds) {
  int value = 0;
  maybeDeferred([] { return 3; }).addCallback([&](int v) {
    value = v;
    return v;
  });
  EXPECT_EQ(value, 3);

  bool failed = false;
  maybeDeferred([]() -> int { throw std::runtime_error("sync failure"); })
      .addErrback([&](Failure f) {
        failed = f.getErrorMessage() == "sync failure";
        return 0;
      });
  EXPECT_TRUE(failed);

  Deferred<int> later;
  Deferred<int> passed = maybeDeferred([&] { return later; });
  later.callback(8);
  passed.addCallback([&](int v) {
    value = v;
    return v;
  });
  EXPECT_EQ(value, 8);

  bool ran = false;
  maybeDeferred([&] { ran = true; }).addCallback([] {});
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace deft
