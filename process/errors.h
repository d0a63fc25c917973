// File: process/errors.h
//
// How a child process ended (Twisted's twisted.internet.error ProcessDone / ProcessTerminated),
// and the errors of starting and signalling one. processExited and processEnded get ProcessDone
// for an exit status of 0 and ProcessTerminated otherwise; getProcessOutput and the process pool
// errback with them.

#ifndef DEFT_PROCESS_ERRORS_H_
#define DEFT_PROCESS_ERRORS_H_

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "deferred/errors.h"
#include "net/errors.h"

namespace deft {

// The child exited with status 0.
class ProcessDone : public ConnectionDone {
 public:
  ProcessDone() : ConnectionDone("A process has ended without apparent errors: process finished with exit code 0.") {}
  int exitCode() const { return 0; }
};

// The child exited with a non-zero status, or a signal ended it.
class ProcessTerminated : public ConnectionLost {
 public:
  // Exactly one of `exitCode` and `signal` is set.
  ProcessTerminated(std::optional<int> exitCode, std::optional<int> signal)
      : ConnectionLost(describe(exitCode, signal)), exitCode_(exitCode), signal_(signal) {}

  std::optional<int> exitCode() const { return exitCode_; }
  std::optional<int> signal() const { return signal_; }

 private:
  static std::string describe(std::optional<int> exitCode, std::optional<int> signal) {
    if (signal) return absl::StrCat("process ended by signal ", *signal);
    return absl::StrCat("process ended with exit code ", exitCode.value_or(-1));
  }
  std::optional<int> exitCode_;
  std::optional<int> signal_;
};

// signalProcess on a child that has already been reaped (Twisted's ProcessExitedAlready).
class ProcessExitedAlready : public Error {
 public:
  ProcessExitedAlready()
      : Error("the process has exited already", absl::StatusCode::kFailedPrecondition) {}
};

// The child could not be started: no such executable, not executable, a bad working directory,
// out of processes. The message names the executable and the reason.
class ProcessSpawnError : public Error {
 public:
  explicit ProcessSpawnError(const std::string& message)
      : Error(message, absl::StatusCode::kFailedPrecondition) {}
};

// getProcessOutput: the child wrote more than the limit asked for (it was killed).
class ProcessOutputTooLarge : public Error {
 public:
  explicit ProcessOutputTooLarge(const std::string& message)
      : Error(message, absl::StatusCode::kResourceExhausted) {}
};

}  // namespace deft

#endif  // DEFT_PROCESS_ERRORS_H_
