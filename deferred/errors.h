// File: deferred/errors.h
//
// The exceptions deferred/ itself raises. Each is a `deft::Error`, which knows the absl::StatusCode
// it maps to, so `Failure::toStatus()` keeps the kind of failure at a non-async boundary. Other
// packages derive their own errors from `Error` the same way (a DNS lookup failure, an HTTP
// protocol error), so code can `trap<deft::Error>()` to mean "any failure deft knows about".
//
// The names are Twisted's (`twisted.internet.defer.CancelledError`, `TimeoutError`,
// `AlreadyCalledError`, `FirstError`).

#ifndef DEFT_DEFERRED_ERRORS_H_
#define DEFT_DEFERRED_ERRORS_H_

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "deferred/error.h"
#include "deferred/failure.h"

namespace deft {

// A Deferred was cancelled: `Deferred::cancel()` found it unfired and its canceller (if any)
// did not fire it.
class CancelledError : public Error {
 public:
  explicit CancelledError(const std::string& message = "Deferred was cancelled")
      : Error(message, absl::StatusCode::kCancelled) {}
};

// An operation took longer than it was allowed: `addTimeout`, or a deadline elsewhere in deft.
class TimeoutError : public Error {
 public:
  explicit TimeoutError(const std::string& message = "operation timed out")
      : Error(message, absl::StatusCode::kDeadlineExceeded) {}
};

// `callback()` or `errback()` on a Deferred that already has a result. Thrown at the caller,
// never passed down a chain: it is a programming error in the code that fires.
class AlreadyCalledError : public Error {
 public:
  explicit AlreadyCalledError(const std::string& message)
      : Error(message, absl::StatusCode::kFailedPrecondition) {}
};

// A Deferred handle was used at a type its chain no longer has: for example a `Deferred<int>`
// copy used to add a callback after another copy moved the chain on to `std::string`. Most such
// mistakes are compile errors; this catches the ones that go through a second handle.
class DeferredTypeError : public Error {
 public:
  explicit DeferredTypeError(const std::string& message)
      : Error(message, absl::StatusCode::kFailedPrecondition) {}
};

// IDelayedCall::cancel/reset/delay on a call that has run (Twisted's error.AlreadyCalled), or
// that was cancelled (error.AlreadyCancelled).
class AlreadyCalled : public Error {
 public:
  AlreadyCalled() : Error("the delayed call has already run", absl::StatusCode::kFailedPrecondition) {}
};
class AlreadyCancelled : public Error {
 public:
  AlreadyCancelled()
      : Error("the delayed call was already cancelled", absl::StatusCode::kFailedPrecondition) {}
};

// The first failure among several Deferreds (DeferredList with fireOnOneErrback, gatherResults).
// `subFailure` is that failure, `index` its position in the input list.
class FirstError : public Error {
 public:
  FirstError(Failure subFailure, std::size_t index);

  const Failure& subFailure() const { return subFailure_; }
  std::size_t index() const { return index_; }

 private:
  Failure subFailure_;
  std::size_t index_;
};

// Every one of several Deferreds failed (race, DeferredList with fireOnOneCallback), in input
// order.
class FailureGroup : public Error {
 public:
  explicit FailureGroup(std::vector<Failure> failures);

  const std::vector<Failure>& failures() const { return failures_; }

 private:
  std::vector<Failure> failures_;
};

}  // namespace deft

#endif  // DEFT_DEFERRED_ERRORS_H_
