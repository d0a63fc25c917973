// The process pool, with real worker processes (this test binary started again): results, FIFO
// order, a throwing task, a crashing worker replaced, cancellation queued and running, large
// arguments and results, close() and the reactor's shutdown leaving no worker behind.

#include "process/pool.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "reactor/reactor.h"
#include "tests/process/children.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::childPids;
using testing::runUntil;
using testing::wait;

void registerTasks() {
  registerPoolTask("reverse", [](std::string_view in) { return std::string(in.rbegin(), in.rend()); });
  registerPoolTask("pid", [](std::string_view) { return std::to_string(::getpid()); });
  registerPoolTask("sleep", [](std::string_view ms) {
    int millis = 0;
    (void)absl::SimpleAtoi(std::string(ms), &millis);
    std::this_thread::sleep_for(std::chrono::milliseconds(millis));
    return std::string(ms);
  });
  registerPoolTask("throw", [](std::string_view) -> std::string {
    throw std::runtime_error("the task failed");
  });
  registerPoolTask("crash", [](std::string_view) -> std::string { std::abort(); });
  registerPoolTask("print", [](std::string_view) {
    std::puts("a worker's stdout is not the pool's channel");
    std::fflush(stdout);
    return std::string("still fine");
  });
}

class PoolTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(PoolTest, TasksRunInWorkersAndAreGathered) {
  ProcessPool pool(reactor_, {.workers = 3});
  std::vector<Deferred<std::string>> calls;
  for (int i = 0; i < 12; ++i) calls.push_back(pool.callRemote("reverse", "abc" + std::to_string(i)));
  auto results = wait(reactor_, gatherResults(std::move(calls)));
  ASSERT_TRUE(results.value) << results.failure->describe();
  for (int i = 0; i < 12; ++i) {
    std::string expected = "abc" + std::to_string(i);
    std::reverse(expected.begin(), expected.end());
    EXPECT_EQ((*results.value)[i], expected);
  }
  EXPECT_LE(pool.workersStarted(), 3u);
  std::set<std::string> pids;
  for (int i = 0; i < 6; ++i) {
    auto pid = wait(reactor_, pool.callRemote("pid", ""));
    ASSERT_TRUE(pid.value);
    EXPECT_NE(*pid.value, std::to_string(::getpid())) << "ran in the parent";
    pids.insert(*pid.value);
  }
  EXPECT_LE(pids.size(), 3u);
}

TEST_F(PoolTest, TasksQueueFifoWhenEveryWorkerIsBusy) {
  ProcessPool pool(reactor_, {.workers = 1});
  std::vector<std::string> finished;
  std::vector<Deferred<std::string>> calls;
  for (const char* ms : {"30", "1", "20", "2"}) {
    calls.push_back(pool.callRemote("sleep", ms).addCallback([&finished](std::string s) {
      finished.push_back(s);
      return s;
    }));
  }
  EXPECT_EQ(pool.queuedTasks(), 3u);
  ASSERT_TRUE(wait(reactor_, gatherResults(std::move(calls))).value);
  EXPECT_EQ(finished, (std::vector<std::string>{"30", "1", "20", "2"}));
}

TEST_F(PoolTest, AThrowingTaskFailsAloneAndTheWorkerGoesOn) {
  ProcessPool pool(reactor_, {.workers = 1});
  auto before = wait(reactor_, pool.callRemote("pid", ""));
  auto thrown = wait(reactor_, pool.callRemote("throw", ""));
  ASSERT_TRUE(thrown.failure);
  ASSERT_TRUE(thrown.failure->check<RemoteTaskError>());
  EXPECT_EQ(thrown.failure->getErrorMessage(), "the task failed");
  auto unknown = wait(reactor_, pool.callRemote("no-such-task", ""));
  ASSERT_TRUE(unknown.failure);
  EXPECT_TRUE(unknown.failure->check<RemoteTaskError>());
  auto after = wait(reactor_, pool.callRemote("pid", ""));
  EXPECT_EQ(*before.value, *after.value);
  EXPECT_EQ(pool.workersStarted(), 1u);
}

TEST_F(PoolTest, ACrashingWorkerFailsItsTaskAndIsReplaced) {
  ProcessPool pool(reactor_, {.workers = 1});
  auto first = wait(reactor_, pool.callRemote("pid", ""));
  auto crashed = wait(reactor_, pool.callRemote("crash", ""));
  ASSERT_TRUE(crashed.failure);
  const auto* terminated = crashed.failure->value<ProcessTerminated>();
  ASSERT_NE(terminated, nullptr) << crashed.failure->describe();
  EXPECT_EQ(terminated->signal(), SIGABRT);
  auto next = wait(reactor_, pool.callRemote("pid", ""));
  ASSERT_TRUE(next.value);
  EXPECT_NE(*next.value, *first.value);
  EXPECT_EQ(pool.workersStarted(), 2u);
}

TEST_F(PoolTest, CancellingARunningTaskKillsItsWorker) {
  ProcessPool pool(reactor_, {.workers = 1});
  auto pid = wait(reactor_, pool.callRemote("pid", ""));
  Deferred<std::string> slow = pool.callRemote("sleep", "30000");
  Deferred<std::string> queued = pool.callRemote("reverse", "queued");
  reactor_.iterate(absl::Milliseconds(20));
  slow.cancel();
  auto cancelled = wait(reactor_, std::move(slow));
  ASSERT_TRUE(cancelled.failure);
  EXPECT_TRUE(cancelled.failure->check<CancelledError>());
  // The queued task runs on a replacement, well before the 30 s the killed one had left.
  auto next = wait(reactor_, std::move(queued), absl::Seconds(5));
  ASSERT_TRUE(next.value);
  EXPECT_EQ(*next.value, "deueuq");
  pid_t old = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*pid.value, &old));
  ASSERT_TRUE(runUntil(reactor_, [&] {
    auto children = childPids();
    return std::find(children.begin(), children.end(), old) == children.end();
  }));
}

TEST_F(PoolTest, CancellingAQueuedTaskRemovesIt) {
  ProcessPool pool(reactor_, {.workers = 1});
  Deferred<std::string> running = pool.callRemote("sleep", "50");
  Deferred<std::string> queued = pool.callRemote("crash", "");  // would crash the worker if run
  queued.cancel();
  EXPECT_EQ(pool.queuedTasks(), 0u);
  auto cancelled = wait(reactor_, std::move(queued));
  ASSERT_TRUE(cancelled.failure);
  EXPECT_TRUE(cancelled.failure->check<CancelledError>());
  ASSERT_TRUE(wait(reactor_, std::move(running)).value);
  auto after = wait(reactor_, pool.callRemote("reverse", "ok"));
  ASSERT_TRUE(after.value);
  EXPECT_EQ(pool.workersStarted(), 1u);
}

TEST_F(PoolTest, LargeArgumentsAndResultsRoundTrip) {
  ProcessPool pool(reactor_, {.workers = 2});
  std::string big(8 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  auto reversed = wait(reactor_, pool.callRemote("reverse", big));
  ASSERT_TRUE(reversed.value);
  std::reverse(big.begin(), big.end());
  EXPECT_TRUE(*reversed.value == big);
  auto printed = wait(reactor_, pool.callRemote("print", ""));
  ASSERT_TRUE(printed.value);
  EXPECT_EQ(*printed.value, "still fine");
}

TEST_F(PoolTest, AResultOverTheLimitFailsAndTheWorkerIsReplaced) {
  ProcessPool pool(reactor_, {.workers = 1, .maxResultBytes = 1024});
  auto big = wait(reactor_, pool.callRemote("reverse", std::string(4096, 'x')));
  ASSERT_TRUE(big.failure);
  EXPECT_TRUE(big.failure->check<RemoteTaskError>()) << big.failure->describe();
  auto small = wait(reactor_, pool.callRemote("reverse", "ab"));
  ASSERT_TRUE(small.value);
  EXPECT_EQ(*small.value, "ba");
}

TEST_F(PoolTest, CloseFinishesRunningTasksFailsQueuedOnesAndEndsTheWorkers) {
  ProcessPool pool(reactor_, {.workers = 1});
  Deferred<std::string> running = pool.callRemote("sleep", "50");
  Deferred<std::string> queued = pool.callRemote("reverse", "never");
  reactor_.iterate(absl::Milliseconds(10));
  Deferred<void> closed = pool.close();
  auto late = wait(reactor_, pool.callRemote("reverse", "late"));
  ASSERT_TRUE(late.failure);
  EXPECT_TRUE(late.failure->check<PoolClosedError>());
  auto queuedResult = wait(reactor_, std::move(queued));
  ASSERT_TRUE(queuedResult.failure);
  EXPECT_TRUE(queuedResult.failure->check<CancelledError>());
  auto runningResult = wait(reactor_, std::move(running));
  ASSERT_TRUE(runningResult.value);
  ASSERT_TRUE(runUntil(reactor_, [&] { return closed.called(); }));
  EXPECT_EQ(pool.liveWorkers(), 0u);
  EXPECT_TRUE(childPids().empty());
}

TEST_F(PoolTest, TheReactorsShutdownClosesThePool) {
  {
    ReactorScope inner;
    ProcessPool pool(inner.reactor(), {.workers = 2});
    bool done = false;
    inner.reactor().callWhenRunning([&] {
      gatherResults(std::vector<Deferred<std::string>>{pool.callRemote("pid", ""), pool.callRemote("pid", "")})
          .addCallback([&](std::vector<std::string>) {
            done = true;
            inner.reactor().stop();
          });
    });
    inner.reactor().run(false);
    EXPECT_TRUE(done);
    EXPECT_EQ(pool.liveWorkers(), 0u) << "shutdown waited for close()";
  }
  EXPECT_TRUE(childPids().empty());
}

TEST_F(PoolTest, DestroyingThePoolKillsItsWorkersAndCancelsItsTasks) {
  Deferred<std::string> pending;
  {
    ProcessPool pool(reactor_, {.workers = 1});
    pending = pool.callRemote("sleep", "30000");
    reactor_.iterate(absl::Milliseconds(20));
    ASSERT_EQ(childPids().size(), 1u);
  }
  auto result = wait(reactor_, std::move(pending));
  ASSERT_TRUE(result.failure);
  EXPECT_TRUE(result.failure->check<CancelledError>());
  ASSERT_TRUE(runUntil(reactor_, [] { return childPids().empty(); }));
}

TEST_F(PoolTest, CloseKillsTasksThatOutlastItsTimeout) {
  ProcessPool pool(reactor_, {.workers = 1, .closeTimeout = absl::Milliseconds(200)});
  Deferred<std::string> endless = pool.callRemote("sleep", "30000");
  reactor_.iterate(absl::Milliseconds(20));
  Deferred<void> closed = pool.close();
  auto killed = wait(reactor_, std::move(endless), absl::Seconds(5));
  ASSERT_TRUE(killed.failure);
  ASSERT_NE(killed.failure->value<ProcessTerminated>(), nullptr) << killed.failure->describe();
  EXPECT_EQ(killed.failure->value<ProcessTerminated>()->signal(), SIGKILL);
  ASSERT_TRUE(runUntil(reactor_, [&] { return closed.called(); }));
}

TEST_F(PoolTest, DestroyingThePoolFiresWhatCloseReturned) {
  Deferred<void> closed;
  {
    ProcessPool pool(reactor_, {.workers = 1});
    Deferred<std::string> running = pool.callRemote("sleep", "30000");
    running.addErrback([](Failure) { return std::string(); });
    reactor_.iterate(absl::Milliseconds(20));
    closed = pool.close();
    EXPECT_FALSE(closed.called());
  }
  EXPECT_TRUE(closed.called());
  ASSERT_TRUE(runUntil(reactor_, [] { return childPids().empty(); }));
}

}  // namespace
}  // namespace deft

int main(int argc, char** argv) {
  deft::registerTasks();
  if (std::optional<int> code = deft::runPoolWorkerIfAsked()) return *code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
