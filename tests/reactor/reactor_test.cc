// The loop's lifecycle: run/stop/crash, restarting, system event triggers, callWhenRunning,
// react, signals, and the process-wide instance.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "reactor/reactor.h"

namespace deft {
namespace {

class ReactorTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(ReactorTest, StopEndsRunAfterTheCurrentIteration) {
  bool afterStopInSameCallback = false;
  reactor_.callWhenRunning([&] {
    reactor_.stop();
    afterStopInSameCallback = reactor_.running();  // still running: stop takes effect later
  });
  reactor_.run(false);
  EXPECT_TRUE(afterStopInSameCallback);
  EXPECT_FALSE(reactor_.running());
}

TEST_F(ReactorTest, StopWhenNotRunningAndRunWhileRunningAreClearErrors) {
  EXPECT_THROW(reactor_.stop(), ReactorNotRunning);
  bool threw = false;
  reactor_.callWhenRunning([&] {
    try {
      reactor_.run(false);
    } catch (const ReactorAlreadyRunning&) {
      threw = true;
    }
    reactor_.stop();
    EXPECT_THROW(reactor_.stop(), ReactorNotRunning);  // already stopping
  });
  reactor_.run(false);
  EXPECT_TRUE(threw);
}

TEST_F(ReactorTest, AStoppedReactorCanRunAgain) {
  int runs = 0;
  for (int i = 0; i < 3; ++i) {
    reactor_.callWhenRunning([&] {
      ++runs;
      reactor_.stop();
    });
    reactor_.run(false);
  }
  EXPECT_EQ(runs, 3);
}

TEST_F(ReactorTest, ShutdownTriggersRunInPhaseOrderAndBeforeTriggersAreWaitedFor) {
  std::vector<std::string> log;
  Deferred<void> slowBefore;
  reactor_.addSystemEventTrigger(EventPhase::kAfter, SystemEvent::kShutdown,
                                 [&] { log.push_back("after"); });
  reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                 [&] { log.push_back("during"); });
  reactor_.addSystemEventTrigger(EventPhase::kBefore, SystemEvent::kShutdown,
                                 absl::AnyInvocable<Deferred<void>()>([&] {
                                   log.push_back("before");
                                   reactor_.callLater(absl::Milliseconds(10), [&] {
                                     log.push_back("before's Deferred fires");
                                     slowBefore.callback();
                                   });
                                   return slowBefore;
                                 }));
  reactor_.callWhenRunning([&] { reactor_.stop(); });
  reactor_.run(false);
  EXPECT_EQ(log, (std::vector<std::string>{"before", "before's Deferred fires", "during", "after"}));
}

TEST_F(ReactorTest, CrashLeavesWithoutShutdownTriggers) {
  bool shutdownRan = false;
  reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                 [&] { shutdownRan = true; });
  reactor_.callWhenRunning([&] { reactor_.crash(); });
  reactor_.run(false);
  EXPECT_FALSE(shutdownRan);
  EXPECT_FALSE(reactor_.running());
}

TEST_F(ReactorTest, RemovedTriggerDoesNotRun) {
  bool ran = false;
  auto id = reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                           [&] { ran = true; });
  reactor_.removeSystemEventTrigger(id);
  reactor_.callWhenRunning([&] { reactor_.stop(); });
  reactor_.run(false);
  EXPECT_FALSE(ran);
}

TEST_F(ReactorTest, StartupTriggersRunBeforeCallWhenRunning) {
  std::vector<std::string> log;
  reactor_.addSystemEventTrigger(EventPhase::kBefore, SystemEvent::kStartup,
                                 [&] { log.push_back("startup before"); });
  reactor_.callWhenRunning([&] {
    log.push_back("when running");
    reactor_.callWhenRunning([&] { log.push_back("already running: at once"); });
    reactor_.stop();
  });
  reactor_.run(false);
  EXPECT_EQ(log, (std::vector<std::string>{"startup before", "when running",
                                           "already running: at once"}));
}

TEST_F(ReactorTest, FailingTriggerIsReportedAndTheEventGoesOn) {
  std::vector<std::string> reported;
  auto previous = setUnhandledFailureHandler(
      [&](const Failure& f) { reported.push_back(f.getErrorMessage()); });
  bool duringRan = false;
  reactor_.addSystemEventTrigger(EventPhase::kBefore, SystemEvent::kShutdown,
                                 [] { throw std::runtime_error("trigger broke"); });
  reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                 [&] { duringRan = true; });
  reactor_.callWhenRunning([&] { reactor_.stop(); });
  reactor_.run(false);
  setUnhandledFailureHandler(std::move(previous));
  EXPECT_TRUE(duringRan);
  EXPECT_EQ(reported, (std::vector<std::string>{"trigger broke"}));
}

TEST_F(ReactorTest, AFailureOfUserCodeTheLoopCallsNamesTheLineThatHandedItOver) {
  std::vector<unsigned> lines;
  std::vector<std::string> files;
  auto previous = setUnhandledFailureHandler([&](const Failure& f) {
    lines.push_back(f.where().line());
    files.push_back(f.where().file_name());
  });
  const unsigned timerLine = std::source_location::current().line() + 1;
  reactor_.callLater(absl::ZeroDuration(), [] { throw std::runtime_error("timer"); });
  const unsigned threadLine = std::source_location::current().line() + 1;
  reactor_.callFromThread([] { throw std::runtime_error("hand-back"); });
  const unsigned triggerLine = std::source_location::current().line() + 1;
  reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                 [] { throw std::runtime_error("trigger"); });
  reactor_.callLater(absl::Milliseconds(5), [&] { reactor_.stop(); });
  reactor_.run(false);
  setUnhandledFailureHandler(std::move(previous));
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<unsigned>{timerLine, threadLine, triggerLine}));
  for (const std::string& file : files) EXPECT_NE(file.find("reactor_test.cc"), std::string::npos);
}

TEST_F(ReactorTest, ReactReturnsZeroOnSuccessAndStops) {
  int code = react(
      [](Reactor& r) { return deferLater(r, absl::Milliseconds(5), [] {}); }, reactor_);
  EXPECT_EQ(code, 0);
  EXPECT_FALSE(reactor_.running());
}

TEST_F(ReactorTest, ReactReturnsOneAndPrintsTheFailure) {
  ::testing::internal::CaptureStderr();
  int code = react(
      [](Reactor&) -> Deferred<void> { return fail(std::runtime_error("main failed")); },
      reactor_);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("main failed"), std::string::npos);
}

TEST_F(ReactorTest, SigintStopsTheReactorWithShutdownTriggersRun) {
  bool shutdownRan = false;
  reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                 [&] { shutdownRan = true; });
  reactor_.callWhenRunning([] { ::raise(SIGINT); });
  reactor_.callLater(absl::Seconds(10), [&] { reactor_.crash(); });  // the test's own limit
  const absl::Time start = reactor_.seconds();
  reactor_.run();
  EXPECT_TRUE(shutdownRan);
  EXPECT_LT(reactor_.seconds() - start, absl::Seconds(5));
  // The process's own SIGINT disposition is back to what it was (gtest's default).
  struct sigaction now {};
  ::sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

TEST_F(ReactorTest, TheSignalThatStoppedItIsRecordedAndReactExitsWithItsCode) {
  reactor_.callLater(absl::Seconds(10), [&] { reactor_.crash(); });  // the test's own limit
  int code = react(
      [](Reactor& r) -> Deferred<void> {
        r.callLater(absl::Milliseconds(1), [] { ::raise(SIGTERM); });
        return Deferred<void>();  // never fires by itself
      },
      reactor_);
  EXPECT_EQ(reactor_.exitSignal(), SIGTERM);
  EXPECT_EQ(code, 128 + SIGTERM);
  reactor_.callWhenRunning([&] { reactor_.stop(); });
  reactor_.run();  // a run that no signal stopped forgets the old one
  EXPECT_EQ(reactor_.exitSignal(), 0);
}

TEST_F(ReactorTest, SignalHandlersRunFromTheLoopNotTheSignalHandler) {
  int seen = 0;
  reactor_.addSignalHandler(SIGUSR1, [&](int signal) {
    seen = signal;
    reactor_.stop();
  });
  reactor_.callWhenRunning([] { ::raise(SIGUSR1); });
  reactor_.callLater(absl::Seconds(10), [&] { reactor_.crash(); });
  reactor_.run();
  EXPECT_EQ(seen, SIGUSR1);
}

// Nothing user code throws gets out of the loop: each is reported, and the loop goes on to stop
// normally, with its signal handlers given back.
TEST_F(ReactorTest, ExceptionsFromUserCodeAreReportedAndTheLoopGoesOn) {
  std::vector<std::string> reported;
  auto previous = setUnhandledFailureHandler(
      [&](const Failure& f) { reported.push_back(f.getErrorMessage()); });
  reactor_.callWhenRunning([] { throw std::runtime_error("from callWhenRunning"); });
  reactor_.callLater(absl::ZeroDuration(), [] { throw std::runtime_error("from a timer"); });
  reactor_.callFromThread([] { throw std::runtime_error("from callFromThread"); });
  reactor_.addSignalHandler(SIGUSR2, [](int) { throw std::runtime_error("from a signal handler"); });
  reactor_.addSystemEventTrigger(EventPhase::kBefore, SystemEvent::kShutdown,
                                 [] { throw std::runtime_error("from a trigger"); });
  reactor_.callWhenRunning([] { ::raise(SIGUSR2); });
  reactor_.callLater(absl::Milliseconds(50), [&] { reactor_.stop(); });
  reactor_.callLater(absl::Seconds(10), [&] { reactor_.crash(); });
  reactor_.run();
  setUnhandledFailureHandler(std::move(previous));
  std::sort(reported.begin(), reported.end());
  EXPECT_EQ(reported, (std::vector<std::string>{"from a signal handler", "from a timer",
                                                "from a trigger", "from callFromThread",
                                                "from callWhenRunning"}));
  EXPECT_FALSE(reactor_.running());
  struct sigaction now {};
  ::sigaction(SIGUSR2, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

// Reports from many threads while the handler is replaced: ThreadSanitizer checks the hook.
TEST(UnhandledHookTest, ReachableFromAnyThread) {
  std::atomic<int> seen{0};
  auto previous = setUnhandledFailureHandler([&](const Failure&) { ++seen; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 200; ++i) fail<int>(Failure(std::runtime_error("dropped")));
    });
  }
  for (int i = 0; i < 50; ++i) {
    setUnhandledFailureHandler([&](const Failure&) { ++seen; });
  }
  for (std::thread& t : threads) t.join();
  setUnhandledFailureHandler(std::move(previous));
  EXPECT_EQ(seen.load(), 800);
}

TEST(ReactorInstanceTest, ScopesInstallAndRestoreTheProcessReactor) {
  Reactor& outer = reactor();
  {
    ReactorScope scope;
    EXPECT_EQ(&reactor(), &scope.reactor());
    EXPECT_NE(&reactor(), &outer);
    {
      ReactorScope inner;
      EXPECT_EQ(&reactor(), &inner.reactor());
    }
    EXPECT_EQ(&reactor(), &scope.reactor());
  }
  EXPECT_EQ(&reactor(), &outer);
}

}  // namespace
}  // namespace deft
