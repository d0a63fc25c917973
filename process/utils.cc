#include "process/utils.h"

#include <signal.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace deft {
namespace {

// Collects a child's output into a ProcessResult and fires `done` when the child has ended.
class Collector final : public ProcessProtocol {
 public:
  Collector(Deferred<ProcessResult> done, bool mergeStderr, std::size_t limit)
      : done_(std::move(done)), mergeStderr_(mergeStderr), limit_(limit) {}

  void connectionMade() override { transport()->closeStdin(); }

  void childDataReceived(int childFd, std::string_view data) override {
    if (done_.called()) return;  // cancelled, or over the limit: the child is being killed
    if (size_ + data.size() > limit_) {
      done_.errback(Failure(ProcessOutputTooLarge(
          absl::StrCat("the child wrote more than ", limit_, " bytes"))));
      kill();
      return;
    }
    size_ += data.size();
    (childFd == 2 && !mergeStderr_ ? result_.err : result_.out).append(data);
  }

  void processEnded(const Failure& reason) override {
    if (done_.called()) return;
    if (const auto* terminated = reason.value<ProcessTerminated>()) {
      result_.exitCode = terminated->exitCode();
      result_.signal = terminated->signal();
    } else {
      result_.exitCode = 0;
    }
    done_.callback(std::move(result_));
  }

  void kill() {
    try {
      transport()->signalProcess(SIGKILL);
    } catch (const ProcessExitedAlready&) {
    }
  }

 private:
  Deferred<ProcessResult> done_;
  bool mergeStderr_;
  std::size_t limit_;
  std::size_t size_ = 0;
  ProcessResult result_;
};

Deferred<ProcessResult> collect(Reactor& reactor, const std::string& executable,
                                std::vector<std::string> args, ProcessOutputOptions options,
                                bool mergeStderr) {
  auto process = std::make_shared<std::weak_ptr<Process>>();
  // Cancelling kills the child; the Deferred then fails with CancelledError, and the child is
  // reaped as ever (the Process lives on until it has ended).
  Deferred<ProcessResult> done([process](Deferred<ProcessResult>&) {
    if (std::shared_ptr<Process> p = process->lock(); p && !p->exited()) {
      static_cast<Collector*>(p->protocol())->kill();
    }
  });
  try {
    *process = spawnProcess(reactor,
                            std::make_unique<Collector>(done, mergeStderr, options.maxOutputBytes),
                            executable, std::move(args), std::move(options.spawn));
  } catch (...) {
    done.errback(Failure::fromCurrentException());
  }
  return done;
}

}  // namespace

Deferred<std::string> getProcessOutput(Reactor& reactor, const std::string& executable,
                                       std::vector<std::string> args,
                                       ProcessOutputOptions options) {
  const bool errortoo = options.errortoo;
  return collect(reactor, executable, std::move(args), std::move(options), errortoo)
      .addCallback([](ProcessResult result) -> std::string {
        if (!result.err.empty()) throw ProcessStderrError(result.err);
        return std::move(result.out);
      });
}

Deferred<int> getProcessValue(Reactor& reactor, const std::string& executable,
                              std::vector<std::string> args, ProcessOutputOptions options) {
  return collect(reactor, executable, std::move(args), std::move(options), false)
      .addCallback([](ProcessResult result) -> int {
        if (result.signal) throw ProcessTerminated(std::nullopt, result.signal);
        return *result.exitCode;
      });
}

Deferred<ProcessResult> getProcessOutputAndValue(Reactor& reactor, const std::string& executable,
                                                 std::vector<std::string> args,
                                                 ProcessOutputOptions options) {
  return collect(reactor, executable, std::move(args), std::move(options), false);
}

}  // namespace deft
