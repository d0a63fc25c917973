// File: process/utils.h
//
// A child's output as a Deferred (Twisted's twisted.internet.utils): run a command, get what it
// printed and how it ended, without writing a ProcessProtocol.
//
//   getProcessOutput(reactor, "git", {"git", "rev-parse", "HEAD"})
//       .addCallback([](std::string out) { ... });
//   int status = co_await getProcessValue(reactor, "/bin/false");          // 1
//   ProcessResult r = co_await getProcessOutputAndValue(reactor, "sh", {"sh", "-c", "..."});
//
// Each comes without options too: g++ 12 miscompiles a braced default argument inside co_await
// (deferred/deferred.h, "G++ 12 AND BRACED TEMPORARIES"), so the defaults are built here.
//
// The child's stdin is closed at once. Cancelling the Deferred kills the child (SIGKILL) and
// errbacks with CancelledError; the child is still reaped. A child that cannot be started
// errbacks with ProcessSpawnError. Output past ProcessOutputOptions::maxOutputBytes kills the
// child and errbacks with ProcessOutputTooLarge: nothing here grows without bound.

#ifndef DEFT_PROCESS_UTILS_H_
#define DEFT_PROCESS_UTILS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "deferred/deferred.h"
#include "process/errors.h"
#include "process/process.h"
#include "reactor/reactor.h"

namespace deft {

struct ProcessOutputOptions {
  SpawnOptions spawn = {};
  // getProcessOutput: stderr is collected with stdout instead of failing the call.
  bool errortoo = false;
  // stdout and stderr together.
  std::size_t maxOutputBytes = 64 * 1024 * 1024;
};

// What the child wrote to stderr when getProcessOutput was not asked to take it
// (Twisted's IOError("got stderr: ...")).
class ProcessStderrError : public Error {
 public:
  explicit ProcessStderrError(const std::string& stderrText)
      : Error("got stderr: " + stderrText, absl::StatusCode::kUnknown), text_(stderrText) {}
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// getProcessOutput(reactor, executable, args, options)
//
// The child's stdout once it has ended, whatever its exit status. As in Twisted, any output on
// stderr errbacks with ProcessStderrError (after the child has ended) unless `errortoo`, which
// collects stderr with stdout in the order it arrived.
Deferred<std::string> getProcessOutput(Reactor& reactor, const std::string& executable,
                                       std::vector<std::string> args, ProcessOutputOptions options);
inline Deferred<std::string> getProcessOutput(
    Reactor& reactor, const std::string& executable,
    std::vector<std::string> args = std::vector<std::string>()) {
  return getProcessOutput(reactor, executable, std::move(args), ProcessOutputOptions());
}

// getProcessValue(reactor, executable, args, options)
//
// The child's exit code (its output is discarded). A child ended by a signal errbacks with
// ProcessTerminated, whose signal() says which.
Deferred<int> getProcessValue(Reactor& reactor, const std::string& executable,
                              std::vector<std::string> args, ProcessOutputOptions options);
inline Deferred<int> getProcessValue(Reactor& reactor, const std::string& executable,
                                     std::vector<std::string> args = std::vector<std::string>()) {
  return getProcessValue(reactor, executable, std::move(args), ProcessOutputOptions());
}

struct ProcessResult {
  std::string out;
  std::string err;
  // Exactly one is set: the exit code, or the signal that ended the child. (Twisted errbacks for
  // a signal and loses the output; here it stays.)
  std::optional<int> exitCode;
  std::optional<int> signal;
};

// getProcessOutputAndValue(reactor, executable, args, options)
//
// The child's stdout, stderr and exit status.
Deferred<ProcessResult> getProcessOutputAndValue(Reactor& reactor, const std::string& executable,
                                                 std::vector<std::string> args,
                                                 ProcessOutputOptions options);
inline Deferred<ProcessResult> getProcessOutputAndValue(
    Reactor& reactor, const std::string& executable,
    std::vector<std::string> args = std::vector<std::string>()) {
  return getProcessOutputAndValue(reactor, executable, std::move(args), ProcessOutputOptions());
}

}  // namespace deft

#endif  // DEFT_PROCESS_UTILS_H_
