// DeferredLock, DeferredSemaphore, DeferredQueue.

#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "deferred/deferred_lock.h"
#include "deferred/deferred_queue.h"
#include "gtest/gtest.h"
#include "tests/deferred/manual_clock.h"

namespace deft {
namespace {

TEST(DeferredLockTest, SecondAcquireWaitsForRelease) {
  DeferredLock lock;
  std::vector<std::string> log;
  lock.acquire().addCallback([&] { log.push_back("first"); });
  EXPECT_TRUE(lock.locked());
  lock.acquire().addCallback([&] { log.push_back("second"); });
  EXPECT_EQ(log, (std::vector<std::string>{"first"}));
  lock.release();
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(lock.locked());  // handed straight to the waiter
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(DeferredLockTest, RunReleasesWhenTheReturnedDeferredFiresEvenOnFailure) {
  DeferredLock lock;
  Deferred<int> work;
  Deferred<int> result = lock.run([&] { return work; });
  EXPECT_TRUE(lock.locked());
  bool failed = false;
  result.addErrback([&](Failure) {
    failed = true;
    return 0;
  });
  work.errback(std::runtime_error("work failed"));
  EXPECT_TRUE(failed);
  EXPECT_FALSE(lock.locked());
}

TEST(DeferredSemaphoreTest, WaitersAreServedFirstComeFirstServed) {
  DeferredSemaphore semaphore(2);
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) semaphore.acquire().addCallback([&order, i] { order.push_back(i); });
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(semaphore.tokens(), 0u);
  semaphore.release();
  semaphore.release();
  semaphore.release();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(DeferredSemaphoreTest, RunBoundsConcurrency) {
  DeferredSemaphore semaphore(2);
  std::vector<Deferred<int>> work(5);
  int running = 0;
  int maxRunning = 0;
  std::vector<Deferred<int>> results;
  for (auto& w : work) {
    results.push_back(semaphore.run([&, w] {
      ++running;
      maxRunning = std::max(maxRunning, running);
      return Deferred<int>(w).addBoth([&](Outcome<int> o) {
        --running;
        return o;
      });
    }));
  }
  for (auto& w : work) w.callback(1);
  EXPECT_EQ(maxRunning, 2);
  EXPECT_EQ(semaphore.tokens(), 2u);
}

TEST(DeferredSemaphoreTest, CancelledWaiterLeavesTheLineAndGetsNoToken) {
  DeferredSemaphore semaphore(1);
  semaphore.acquire();
  Deferred<void> cancelled = semaphore.acquire();
  bool nextGotIt = false;
  semaphore.acquire().addCallback([&] { nextGotIt = true; });
  bool sawCancelled = false;
  cancelled.addErrback([&](Failure f) { sawCancelled = f.check<CancelledError>(); });
  cancelled.cancel();
  EXPECT_TRUE(sawCancelled);
  semaphore.release();
  EXPECT_TRUE(nextGotIt);
}

TEST(DeferredSemaphoreTest, ReleasingMoreThanAcquiredIsAnError) {
  DeferredSemaphore semaphore(1);
  EXPECT_THROW(semaphore.release(), std::logic_error);
  EXPECT_THROW(DeferredSemaphore(0), std::invalid_argument);
}

TEST(DeferredSemaphoreTest, DestroyingItErrbacksWaiters) {
  Deferred<void> waiter;
  {
    DeferredSemaphore semaphore(1);
    semaphore.acquire();
    waiter = semaphore.acquire();
  }
  bool cancelled = false;
  waiter.addErrback([&](Failure f) { cancelled = f.check<CancelledError>(); });
  EXPECT_TRUE(cancelled);
}

TEST(DeferredSemaphoreTest, CancelledQueuedRunReleasesNoTokenItNeverHad) {
  DeferredSemaphore sem(1);
  Deferred<int> first;
  Deferred<int> running = sem.run([&] { return first; });
  bool secondRan = false;
  Deferred<int> queued = sem.run([&] { secondRan = true; return 2; });
  queued.addErrback([](Failure f) { f.trap<CancelledError>(); return 0; });
  queued.cancel();  // leaves the line: must not give back a token it never had
  EXPECT_EQ(sem.tokens(), 0u);
  Deferred<int> third = sem.run([] { return 3; });
  EXPECT_FALSE(third.called());  // the one token is still the first call's
  first.callback(1);
  EXPECT_TRUE(third.called());
  EXPECT_FALSE(secondRan);
  EXPECT_EQ(sem.tokens(), 1u);
}

TEST(DeferredSemaphoreTest, TimedOutQueuedRunReleasesNoToken) {
  testing::ManualClock clock;
  DeferredSemaphore sem(1);
  Deferred<void> hold = sem.acquire();
  Deferred<int> queued = sem.run([] { return 1; });
  bool timedOut = false;
  queued.addTimeout(absl::Seconds(1), clock).addErrback([&](Failure f) {
    timedOut = f.check<TimeoutError>();
    return 0;
  });
  clock.advance(absl::Seconds(2));
  EXPECT_TRUE(timedOut);
  sem.release();
  EXPECT_EQ(sem.tokens(), 1u);
  EXPECT_THROW(sem.release(), std::logic_error);  // it was the only token out
}

// The natural way to bound concurrent coroutines: the lambda's captures must outlive the
// coroutine, which keeps using them after its first co_await (ASan reports the read otherwise).
TEST(DeferredSemaphoreTest, RunKeepsACapturingCoroutineLambdaAlive) {
  DeferredSemaphore sem(2);
  std::vector<Deferred<std::string>> pages(3);
  std::vector<Deferred<std::string>> results;
  for (int i = 0; i < 3; ++i) {
    std::string url = "http://example.test/" + std::to_string(i);
    results.push_back(sem.run([url, &pages, i]() -> Deferred<std::string> {
      std::string body = co_await pages[i];
      co_return url + " " + body;  // `url` lives in the lambda, not in the frame
    }));
  }
  for (int i = 0; i < 3; ++i) pages[i].callback("body" + std::to_string(i));
  for (int i = 0; i < 3; ++i) {
    std::string got;
    results[i].addCallback([&](std::string s) { got = s; return s; });
    EXPECT_EQ(got, "http://example.test/" + std::to_string(i) + " body" + std::to_string(i));
  }
  EXPECT_EQ(sem.tokens(), 2u);
}

TEST(DeferredLockTest, RunKeepsACapturingCoroutineLambdaAliveWhileItHoldsTheLock) {
  DeferredLock lock;
  Deferred<std::string> first;
  Deferred<std::string> second;
  std::vector<std::string> log;
  for (auto* page : {&first, &second}) {
    std::string name = page == &first ? "first" : "second";
    lock.run([name, page, &log]() -> Deferred<void> {
      std::string body = co_await *page;
      log.push_back(name + " " + body);  // `name` lives in the lambda, kept until the end
    });
  }
  EXPECT_TRUE(lock.locked());
  second.callback("b");  // the second waits for the lock: nothing runs yet
  EXPECT_TRUE(log.empty());
  first.callback("a");   // the first finishes and releases; the second runs, then releases
  EXPECT_EQ(log, (std::vector<std::string>{"first a", "second b"}));
  EXPECT_FALSE(lock.locked());
}

TEST(DeferredSemaphoreTest, RunPassesArguments) {
  DeferredLock lock;
  int sum = 0;
  lock.run([&](int a, const std::string& b) { sum = a + static_cast<int>(b.size()); }, 40,
           std::string("ab"));
  EXPECT_EQ(sum, 42);
  EXPECT_FALSE(lock.locked());
}

TEST(DeferredSemaphoreTest, DestroyedWithWorkInFlightIsSafe) {
  Deferred<int> work;
  Deferred<int> result;
  Deferred<int> waiting;
  {
    DeferredSemaphore sem(1);
    result = sem.run([&] { return work; });
    waiting = sem.run([] { return 2; });
  }
  std::string waitingError;
  waiting.addErrback([&](Failure f) {
    waitingError = f.check<CancelledError>() ? "cancelled" : "other";
    return 0;
  });
  EXPECT_EQ(waitingError, "cancelled");
  work.callback(7);  // its release() would reach the destroyed semaphore
  int got = 0;
  result.addCallback([&](int x) { got = x; return x; });
  EXPECT_EQ(got, 7);
}

TEST(DeferredQueueTest, GetBeforePutWaitsAndPutAfterGetIsHandedOver) {
  DeferredQueue<std::string> queue;
  std::vector<std::string> got;
  queue.get().addCallback([&](std::string s) {
    got.push_back(s);
    return s;
  });
  queue.get().addCallback([&](std::string s) {
    got.push_back(s);
    return s;
  });
  EXPECT_EQ(queue.waiting(), 2u);
  queue.put("one");
  queue.put("two");
  queue.put("three");
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(queue.pending(), 1u);
  queue.get().addCallback([&](std::string s) {
    got.push_back(s);
    return s;
  });
  EXPECT_EQ(got.back(), "three");
}

TEST(DeferredQueueTest, BoundsAreEnforced) {
  DeferredQueue<int> queue(/*size=*/1, /*backlog=*/1);
  queue.put(1);
  EXPECT_THROW(queue.put(2), QueueOverflow);
  queue.get();
  queue.get();
  EXPECT_THROW(queue.get(), QueueUnderflow);
}

TEST(DeferredQueueTest, CancelledGetLeavesTheLine) {
  DeferredQueue<int> queue;
  Deferred<int> first = queue.get();
  int second = 0;
  queue.get().addCallback([&](int x) {
    second = x;
    return x;
  });
  first.addErrback([](Failure) { return 0; });
  first.cancel();
  queue.put(7);
  EXPECT_EQ(second, 7);
}

}  // namespace
}  // namespace deft
