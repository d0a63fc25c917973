// A coroutine lambda handed to the reactor reads its captures through the lambda object after its
// first co_await. The reactor calls such a function once and would destroy it then; it keeps it
// until the Deferred it returned has fired instead (ASan reports a use after free otherwise).
// deferred.h, "CALLABLES THAT MAY BE COROUTINES".

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "deferred/deferred.h"
#include "reactor/clock.h"
#include "reactor/reactor.h"

namespace deft {
namespace {

// What each test's coroutine lambda captures: a long string (on the heap) and a counter of
// how many copies of the lambda are alive.
struct Captures {
  std::string text = std::string(64, 'c');
  std::shared_ptr<int> alive = std::make_shared<int>(0);
};

TEST(CoroutineCallables, CallLaterKeepsTheLambdaUntilItsDeferredFires) {
  Clock clock;
  Captures c;
  Deferred<void> page;
  std::string got;
  clock.callLater(absl::Seconds(1),
                  [text = c.text, alive = c.alive, &page, &got]() -> Deferred<void> {
                    co_await page;
                    got = text.substr(0, 2);
                  });
  clock.advance(absl::Seconds(1));  // called: suspended on `page`
  EXPECT_EQ(c.alive.use_count(), 2);
  page.callback();
  EXPECT_EQ(got, "cc");
  EXPECT_EQ(c.alive.use_count(), 1);
}

TEST(CoroutineCallables, DeferLaterKeepsTheLambdaAndGivesItsResult) {
  Clock clock;
  Captures c;
  Deferred<int> page;
  std::string got;
  deferLater(clock, absl::Seconds(1),
             [text = c.text, alive = c.alive, &page]() -> Deferred<std::string> {
               int n = co_await page;
               co_return text.substr(0, static_cast<std::size_t>(n));
             })
      .addCallback([&](std::string s) {
        got = s;
        return s;
      });
  clock.advance(absl::Seconds(1));
  EXPECT_EQ(c.alive.use_count(), 2);
  page.callback(3);
  EXPECT_EQ(got, "ccc");
  EXPECT_EQ(c.alive.use_count(), 1);
}

TEST(CoroutineCallables, CallWhenRunningAndCallFromThreadKeepTheirLambdas) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  Captures c;
  Deferred<void> first;
  Deferred<void> second;
  std::string log;
  reactor.callWhenRunning([text = c.text, alive = c.alive, &first, &log]() -> Deferred<void> {
    co_await first;
    log += text.substr(0, 1) + "1 ";
  });
  std::thread other([&] {
    reactor.callFromThread([text = c.text, alive = c.alive, &second, &log]() -> Deferred<void> {
      co_await second;
      log += text.substr(0, 1) + "2 ";
    });
  });
  other.join();
  reactor.callLater(absl::Milliseconds(10), [&] {
    first.callback();
    second.callback();
    reactor.stop();
  });
  reactor.run();
  EXPECT_EQ(log, "c1 c2 ");
  EXPECT_EQ(c.alive.use_count(), 1);
}

}  // namespace
}  // namespace deft
