// Child processes, for real: exit codes and signals, the three standard pipes, a child that
// floods stdout, descriptors mapped and none leaked, getProcessOutput and its cancellation, a
// thousand spawns leaving no zombie and no descriptor behind, and the reactor's shutdown.

#include "process/process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "process/utils.h"
#include "reactor/reactor.h"
#include "tests/deferred/unhandled_recorder.h"
#include "tests/process/children.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::childPids;
using testing::openDescriptors;
using testing::runUntil;
using testing::wait;

// What a Recorder saw, shared with the test (the Process frees its protocol after processEnded).
struct Events {
  std::string out;
  std::string err;
  std::vector<std::string> order;  // "made", "in", "out", "err", "exited", "ended"
  std::optional<Failure> exited;
  std::optional<Failure> ended;
  Process* transport = nullptr;
};

class Recorder : public ProcessProtocol {
 public:
  explicit Recorder(std::shared_ptr<Events> events) : events_(std::move(events)) {}
  void connectionMade() override {
    events_->transport = transport();
    events_->order.push_back("made");
  }
  void outReceived(std::string_view data) override { events_->out.append(data); }
  void errReceived(std::string_view data) override { events_->err.append(data); }
  void inConnectionLost() override { events_->order.push_back("in"); }
  void outConnectionLost() override { events_->order.push_back("out"); }
  void errConnectionLost() override { events_->order.push_back("err"); }
  void processExited(const Failure& reason) override {
    events_->order.push_back("exited");
    events_->exited = reason;
  }
  void processEnded(const Failure& reason) override {
    events_->order.push_back("ended");
    events_->ended = reason;
    events_->transport = nullptr;
  }

 private:
  std::shared_ptr<Events> events_;
};

class ProcessTest : public ::testing::Test {
 protected:
  std::shared_ptr<Events> spawn(const std::string& executable, std::vector<std::string> args,
                                SpawnOptions options = {}) {
    auto events = std::make_shared<Events>();
    spawnProcess(reactor_, std::make_unique<Recorder>(events), executable, std::move(args),
                 std::move(options));
    return events;
  }
  bool ended(const std::shared_ptr<Events>& events) {
    return runUntil(reactor_, [&] { return events->ended.has_value(); });
  }

  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(ProcessTest, ExitStatusZeroIsProcessDone) {
  auto events = spawn("true", {});
  ASSERT_TRUE(ended(events));
  EXPECT_TRUE(events->ended->check<ProcessDone>()) << events->ended->describe();
  EXPECT_TRUE(events->exited->check<ProcessDone>());
  EXPECT_EQ(events->order.front(), "made");
  EXPECT_EQ(events->order.back(), "ended");
}

TEST_F(ProcessTest, ANonZeroExitIsProcessTerminatedWithTheCode) {
  auto events = spawn("/bin/sh", {"sh", "-c", "exit 3"});
  ASSERT_TRUE(ended(events));
  const auto* terminated = events->ended->value<ProcessTerminated>();
  ASSERT_NE(terminated, nullptr) << events->ended->describe();
  EXPECT_EQ(terminated->exitCode(), 3);
  EXPECT_FALSE(terminated->signal().has_value());
}

TEST_F(ProcessTest, ASignalEndsTheChildAndIsReported) {
  auto events = spawn("sleep", {"sleep", "30"});
  ASSERT_TRUE(runUntil(reactor_, [&] { return events->transport != nullptr; }));
  Process* process = events->transport;
  EXPECT_GT(process->pid(), 0);
  process->signalProcess(SIGTERM);
  ASSERT_TRUE(ended(events));
  const auto* terminated = events->ended->value<ProcessTerminated>();
  ASSERT_NE(terminated, nullptr);
  EXPECT_EQ(terminated->signal(), SIGTERM);
  EXPECT_FALSE(terminated->exitCode().has_value());
}

TEST_F(ProcessTest, SignallingAReapedChildThrows) {
  auto events = std::make_shared<Events>();
  auto process = spawnProcess(reactor_, std::make_unique<Recorder>(events), "true");
  ASSERT_TRUE(ended(events));
  EXPECT_TRUE(process->exited());
  EXPECT_EQ(process->pid(), 0);
  EXPECT_EQ(process->exitCode(), 0);
  EXPECT_THROW(process->signalProcess(SIGTERM), ProcessExitedAlready);
}

TEST_F(ProcessTest, StdinStdoutAndStderrArePipesOnTheLoop) {
  auto events = spawn("/bin/sh", {"sh", "-c", "cat; echo done >&2"});
  ASSERT_TRUE(runUntil(reactor_, [&] { return events->transport != nullptr; }));
  events->transport->write("hello, ");
  events->transport->write("child\n");
  events->transport->closeStdin();
  ASSERT_TRUE(ended(events));
  EXPECT_EQ(events->out, "hello, child\n");
  EXPECT_EQ(events->err, "done\n");
  EXPECT_TRUE(events->ended->check<ProcessDone>());
  for (const char* event : {"in", "out", "err", "exited"}) {
    EXPECT_NE(std::find(events->order.begin(), events->order.end(), event), events->order.end())
        << event;
  }
}

TEST_F(ProcessTest, ALargeInputIsWrittenAsTheChildReads) {
  std::string input(4 << 20, '\0');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>('a' + i % 26);
  auto events = spawn("cat", {"cat"});
  ASSERT_TRUE(runUntil(reactor_, [&] { return events->transport != nullptr; }));
  events->transport->write(input);
  EXPECT_GT(events->transport->bufferedBytes(), 0u) << "a pipe does not take 4 MiB at once";
  events->transport->closeStdin();
  ASSERT_TRUE(ended(events));
  EXPECT_EQ(events->out.size(), input.size());
  EXPECT_TRUE(events->out == input);
}

// `yes` writes as fast as it can. Paused, the pipe fills and `yes` blocks: what arrives stops
// growing. Closing its stdout then ends it with SIGPIPE, the default disposition the child got
// back at exec, whatever the parent ignores.
TEST_F(ProcessTest, AChildThatFloodsStdoutIsPausedNotBuffered) {
  class Flood : public ProcessProtocol {
   public:
    explicit Flood(std::shared_ptr<Events> events) : events_(std::move(events)) {}
    void connectionMade() override { events_->transport = transport(); }
    void outReceived(std::string_view data) override {
      events_->out.append(data.size() > 0 ? "x" : "");
      received += data.size();
      if (received > (1 << 20) && !pausedOnce) {
        pausedOnce = true;
        transport()->pauseProducing();  // stderr too: resumeProducing is what reads it again
      }
    }
    bool pausedOnce = false;
    void processEnded(const Failure& reason) override { events_->ended = reason; }
    std::size_t received = 0;

   private:
    std::shared_ptr<Events> events_;
  };
  auto events = std::make_shared<Events>();
  auto owned = std::make_unique<Flood>(events);
  Flood* flood = owned.get();
  auto process = spawnProcess(reactor_, std::move(owned), "yes", {"yes", "flood"});
  ASSERT_TRUE(runUntil(reactor_, [&] { return flood->received > (1 << 20); }));
  const std::size_t atPause = flood->received;
  for (int i = 0; i < 20; ++i) reactor_.iterate(absl::Milliseconds(10));
  EXPECT_EQ(flood->received, atPause) << "read while paused";
  EXPECT_FALSE(process->exited());
  process->resumeProducing();
  ASSERT_TRUE(runUntil(reactor_, [&] { return flood->received > atPause; }));
  process->closeStdout();
  ASSERT_TRUE(runUntil(reactor_, [&] { return events->ended.has_value(); }));
  EXPECT_EQ(process->exitSignal(), SIGPIPE);
}

TEST_F(ProcessTest, DescriptorsAreMappedAsAskedAndNoOtherReachesTheChild) {
  // A descriptor without close-on-exec, as a careless library would leave one, numbered above
  // any the child is given.
  const int opened = ::open("/dev/null", O_RDONLY);
  const int leaky = ::fcntl(opened, F_DUPFD, 50);
  ::close(opened);
  ASSERT_GE(leaky, 50);
  int side[2];
  ASSERT_EQ(::pipe2(side, O_CLOEXEC), 0);
  SpawnOptions options;
  options.childFDs = {{0, ChildFd::pipeToChild()},
                      {1, ChildFd::pipeFromChild()},
                      {3, ChildFd::inherit(side[1])}};
  auto events = spawn("/bin/sh", {"sh", "-c", "echo three >&3; ls /proc/self/fd"}, options);
  ASSERT_TRUE(ended(events));
  ::close(side[1]);
  char buffer[64] = {};
  ASSERT_EQ(::read(side[0], buffer, sizeof buffer), 6);
  EXPECT_STREQ(buffer, "three\n");
  ::close(side[0]);
  // ls sees 0, 1, 3 and the directory it opened (which takes the lowest free number, 2, since 2
  // was not mapped): not `leaky`, nor anything else of the parent's.
  EXPECT_EQ(events->out, "0\n1\n2\n3\n") << events->out;
  ::close(leaky);
}

TEST_F(ProcessTest, ChildDescriptorsMaySwap) {
  SpawnOptions options;
  int toOut[2];
  int toErr[2];
  ASSERT_EQ(::pipe2(toOut, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(toErr, O_CLOEXEC), 0);
  options.childFDs = {{1, ChildFd::inherit(toErr[1])}, {2, ChildFd::inherit(toOut[1])}};
  auto events = spawn("/bin/sh", {"sh", "-c", "echo to-one; echo to-two >&2"}, options);
  ASSERT_TRUE(ended(events));
  ::close(toOut[1]);
  ::close(toErr[1]);
  char buffer[32] = {};
  ASSERT_GT(::read(toErr[0], buffer, sizeof buffer), 0);
  EXPECT_STREQ(buffer, "to-one\n");
  std::fill(std::begin(buffer), std::end(buffer), '\0');
  ASSERT_GT(::read(toOut[0], buffer, sizeof buffer), 0);
  EXPECT_STREQ(buffer, "to-two\n");
  ::close(toOut[0]);
  ::close(toErr[0]);
}

TEST_F(ProcessTest, EnvironmentAndWorkingDirectory) {
  SpawnOptions options;
  options.env = std::map<std::string, std::string>{{"GREETING", "bonjour"}};
  options.path = "/tmp";
  auto events = spawn("/bin/sh", {"sh", "-c", "echo $GREETING; pwd; echo ${HOME:-no home}"},
                      options);
  ASSERT_TRUE(ended(events));
  EXPECT_EQ(events->out, "bonjour\n/tmp\nno home\n");
}

TEST_F(ProcessTest, WhatCannotStartIsASpawnErrorNamingIt) {
  try {
    spawn("/nonexistent/program", {});
    FAIL() << "spawned a missing program";
  } catch (const ProcessSpawnError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/program"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  SpawnOptions badDirectory;
  badDirectory.path = "/nonexistent/dir";
  EXPECT_THROW(spawn("true", {}, badDirectory), ProcessSpawnError);
  EXPECT_TRUE(childPids().empty());
}

TEST_F(ProcessTest, WritingToAChildThatStoppedReadingDoesNotKillTheParent) {
  auto events = spawn("true", {});
  ASSERT_TRUE(runUntil(reactor_, [&] { return events->exited.has_value(); }));
  if (events->transport != nullptr) events->transport->write(std::string(1 << 20, 'x'));
  ASSERT_TRUE(ended(events));
  EXPECT_NE(std::find(events->order.begin(), events->order.end(), "in"), events->order.end());
}

TEST_F(ProcessTest, AProtocolThatThrowsIsReportedAndItsPipesClosed) {
  class Thrower : public ProcessProtocol {
   public:
    explicit Thrower(std::shared_ptr<Events> events) : events_(std::move(events)) {}
    void outReceived(std::string_view) override { throw std::runtime_error("bad output"); }
    void processEnded(const Failure& reason) override { events_->ended = reason; }

   private:
    std::shared_ptr<Events> events_;
  };
  testing::UnhandledRecorder unhandled;
  auto events = std::make_shared<Events>();
  // `yes` would write forever: it ends only because its stdout is closed.
  spawnProcess(reactor_, std::make_unique<Thrower>(events), "yes");
  ASSERT_TRUE(ended(events));
  ASSERT_FALSE(unhandled.messages().empty());
  EXPECT_EQ(unhandled.messages()[0], "bad output");
  EXPECT_EQ(events->ended->value<ProcessTerminated>()->signal(), SIGPIPE);
}

TEST_F(ProcessTest, GetProcessOutputAndFriends) {
  auto out = wait(reactor_, getProcessOutput(reactor_, "/bin/sh", {"sh", "-c", "echo hi; exit 4"}));
  ASSERT_TRUE(out.value) << out.failure->describe();
  EXPECT_EQ(*out.value, "hi\n");

  auto stderrText = wait(reactor_, getProcessOutput(reactor_, "/bin/sh", {"sh", "-c", "echo oops >&2"}));
  ASSERT_TRUE(stderrText.failure);
  ASSERT_NE(stderrText.failure->value<ProcessStderrError>(), nullptr);
  EXPECT_EQ(stderrText.failure->value<ProcessStderrError>()->text(), "oops\n");

  auto both = wait(reactor_, getProcessOutput(reactor_, "/bin/sh", {"sh", "-c", "echo a; echo b >&2"},
                                              {.errortoo = true}));
  ASSERT_TRUE(both.value);
  EXPECT_EQ(*both.value, "a\nb\n");

  auto value = wait(reactor_, getProcessValue(reactor_, "/bin/sh", {"sh", "-c", "exit 7"}));
  ASSERT_TRUE(value.value);
  EXPECT_EQ(*value.value, 7);

  auto killed = wait(reactor_, getProcessValue(reactor_, "/bin/sh", {"sh", "-c", "kill -9 $$"}));
  ASSERT_TRUE(killed.failure);
  EXPECT_EQ(killed.failure->value<ProcessTerminated>()->signal(), SIGKILL);

  auto all = wait(reactor_, getProcessOutputAndValue(reactor_, "/bin/sh",
                                                     {"sh", "-c", "echo o; echo e >&2; exit 2"}));
  ASSERT_TRUE(all.value);
  EXPECT_EQ(all.value->out, "o\n");
  EXPECT_EQ(all.value->err, "e\n");
  EXPECT_EQ(all.value->exitCode, 2);

  auto missing = wait(reactor_, getProcessOutput(reactor_, "/nonexistent/program"));
  ASSERT_TRUE(missing.failure);
  EXPECT_TRUE(missing.failure->check<ProcessSpawnError>());
}

TEST_F(ProcessTest, OutputPastTheLimitKillsTheChild) {
  auto flood = wait(reactor_, getProcessOutput(reactor_, "yes", {}, {.maxOutputBytes = 1 << 20}));
  ASSERT_TRUE(flood.failure);
  EXPECT_TRUE(flood.failure->check<ProcessOutputTooLarge>()) << flood.failure->describe();
  ASSERT_TRUE(runUntil(reactor_, [] { return childPids().empty(); }));
}

TEST_F(ProcessTest, CancellingGetProcessOutputKillsTheChild) {
  Deferred<std::string> output = getProcessOutput(reactor_, "sleep", {"sleep", "30"});
  ASSERT_EQ(childPids().size(), 1u);
  std::optional<Failure> failure;
  output.addErrback([&](Failure f) -> std::string {
    failure = f;
    return "";
  });
  output.cancel();
  ASSERT_TRUE(failure.has_value());
  EXPECT_TRUE(failure->check<CancelledError>());
  // Killed and reaped: no child left, not even a zombie.
  ASSERT_TRUE(runUntil(reactor_, [] { return childPids().empty(); }, absl::Seconds(5)));
  EXPECT_EQ(reactor_.trackedCount(), 0u);
}

TEST_F(ProcessTest, AThousandSpawnsLeaveNoZombieAndNoDescriptor) {
  const int descriptorsBefore = openDescriptors();
  constexpr int kSpawns = 1000;
  constexpr int kAtOnce = 16;
  int done = 0;
  int failed = 0;
  for (int started = 0; started < kSpawns; started += kAtOnce) {
    std::vector<Deferred<int>> batch;
    for (int i = 0; i < kAtOnce && started + i < kSpawns; ++i) {
      batch.push_back(getProcessValue(reactor_, "/bin/true"));
    }
    auto codes = wait(reactor_, gatherResults(std::move(batch)));
    ASSERT_TRUE(codes.value) << codes.failure->describe();
    for (int code : *codes.value) (code == 0 ? done : failed) += 1;
  }
  EXPECT_EQ(done, kSpawns);
  EXPECT_EQ(failed, 0);
  EXPECT_TRUE(childPids().empty());
  EXPECT_EQ(openDescriptors(), descriptorsBefore);
  // The Processes themselves are gone too.
  reactor_.iterate();
  EXPECT_EQ(reactor_.trackedCount(), 0u);
}

TEST_F(ProcessTest, TheReactorsShutdownKillsAndReapsItsChildren) {
  auto events = std::make_shared<Events>();
  {
    ReactorScope inner;
    spawnProcess(inner.reactor(), std::make_unique<Recorder>(events), "sleep", {"sleep", "30"});
    ASSERT_EQ(childPids().size(), 1u);
  }
  EXPECT_TRUE(childPids().empty());
  ASSERT_TRUE(events->ended.has_value());
  EXPECT_EQ(events->ended->value<ProcessTerminated>()->signal(), SIGKILL);
}

}  // namespace
}  // namespace deft
