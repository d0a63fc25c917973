// Threads: callFromThread hand-off, the thread pool, deferToThread. Run under --config=tsan too.

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "reactor/reactor.h"

namespace deft {
namespace {

class ThreadTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(ThreadTest, CallsFromManyThreadsAllRunOnTheReactorThreadInPerThreadOrder) {
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 10'000;
  std::vector<std::vector<int>> seen(kThreads);
  std::atomic<int> ready{0};
  const std::thread::id reactorThread = std::this_thread::get_id();
  bool allOnReactorThread = true;
  int total = 0;
  std::vector<std::thread> threads;
  reactor_.callWhenRunning([&] {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCallsEach; ++i) {
          reactor_.callFromThread([&, t, i] {
            allOnReactorThread &= std::this_thread::get_id() == reactorThread;
            seen[static_cast<std::size_t>(t)].push_back(i);
            if (++total == kThreads * kCallsEach) reactor_.stop();
          });
        }
        ready.fetch_add(1);
      });
    }
  });
  reactor_.callLater(absl::Seconds(30), [&] { reactor_.crash(); });
  reactor_.run(false);
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(allOnReactorThread);
  EXPECT_EQ(total, kThreads * kCallsEach);
  for (const auto& calls : seen) {
    ASSERT_EQ(calls.size(), static_cast<std::size_t>(kCallsEach));
    for (int i = 0; i < kCallsEach; ++i) EXPECT_EQ(calls[static_cast<std::size_t>(i)], i);
  }
}

TEST_F(ThreadTest, CallFromThreadQueuedBeforeRunRunsWhenItRuns) {
  bool ran = false;
  std::thread([&] { reactor_.callFromThread([&] { ran = true; }); }).join();
  reactor_.callWhenRunning([&] { reactor_.callLater(absl::Milliseconds(1), [&] { reactor_.stop(); }); });
  reactor_.run(false);
  EXPECT_TRUE(ran);
}

TEST_F(ThreadTest, DeferToThreadRunsOffTheReactorThreadAndFiresOnIt) {
  const std::thread::id reactorThread = std::this_thread::get_id();
  std::thread::id workerThread;
  std::thread::id callbackThread;
  int got = 0;
  reactor_.callWhenRunning([&] {
    reactor_
        .deferToThread([&] {
          workerThread = std::this_thread::get_id();
          return 6 * 7;
        })
        .addCallback([&](int x) {
          callbackThread = std::this_thread::get_id();
          got = x;
          reactor_.stop();
          return x;
        });
  });
  reactor_.run(false);
  EXPECT_EQ(got, 42);
  EXPECT_NE(workerThread, reactorThread);
  EXPECT_EQ(callbackThread, reactorThread);
}

TEST_F(ThreadTest, DeferToThreadCarriesTheExceptionToTheErrback) {
  std::string error;
  reactor_.callWhenRunning([&] {
    reactor_.deferToThread([]() -> std::string { throw std::invalid_argument("blocking call failed"); })
        .addErrback([&](Failure f) {
          error = f.getErrorMessage();
          reactor_.stop();
          return std::string();
        });
  });
  reactor_.run(false);
  EXPECT_EQ(error, "blocking call failed");
}

TEST_F(ThreadTest, PoolRunsUpToItsSizeAtOnce) {
  reactor_.suggestThreadPoolSize(3);
  std::atomic<int> running{0};
  std::atomic<int> maxRunning{0};
  std::vector<Deferred<void>> jobs;
  reactor_.callWhenRunning([&] {
    for (int i = 0; i < 12; ++i) {
      jobs.push_back(reactor_.deferToThread([&] {
        const int now = ++running;
        int seen = maxRunning.load();
        while (now > seen && !maxRunning.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --running;
      }));
    }
    gatherResults(std::move(jobs)).addCallback([&] { reactor_.stop(); });
  });
  reactor_.run(false);
  EXPECT_EQ(maxRunning.load(), 3);
}

TEST_F(ThreadTest, ShutdownJoinsThePoolAfterQueuedWorkFinishes) {
  std::atomic<int> finished{0};
  reactor_.callWhenRunning([&] {
    for (int i = 0; i < 20; ++i) {
      reactor_.callInThread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++finished;
      });
    }
    reactor_.stop();
  });
  reactor_.run(false);
  EXPECT_EQ(finished.load(), 20);  // run() returned only after the pool drained and joined
}

#ifndef NDEBUG
TEST(ThreadDeathTest, FiringADeferredOffTheReactorThreadIsAClearErrorInDebugBuilds) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        ReactorScope scope;
        Reactor& reactor = scope.reactor();
        Deferred<int> d;
        reactor.callWhenRunning([&] {
          std::thread([&] { d.callback(1); }).join();  // wrong: not the reactor thread
          reactor.stop();
        });
        reactor.run(false);
      },
      "fired on thread .* but Deferreds belong to the reactor thread");
}
#endif

}  // namespace
}  // namespace deft
