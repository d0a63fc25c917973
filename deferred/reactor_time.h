// File: deferred/reactor_time.h
//
// The time interface deferred/ needs and defines, so that it depends on nothing in reactor/:
// `Deferred::addTimeout` and `deferLater` take an IReactorTime. The reactor implements it on its
// monotonic clock, and `deft::Clock` (reactor/clock.h, Twisted's `task.Clock`) implements it on a
// clock that only moves when a test calls `advance()`.
//
// Names are Twisted's: `IReactorTime.callLater`, `IReactorTime.seconds`, `IDelayedCall`.

#ifndef DEFT_DEFERRED_REACTOR_TIME_H_
#define DEFT_DEFERRED_REACTOR_TIME_H_

#include <memory>
#include <source_location>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/internal/callbacks.h"

namespace deft {

// A call scheduled with IReactorTime::callLater.
class IDelayedCall {
 public:
  virtual ~IDelayedCall() = default;

  // Stops the call from happening. Throws AlreadyCalled / AlreadyCancelled (errors.h) when it has
  // run or was cancelled already, as Twisted does; check active() first when unsure.
  virtual void cancel() = 0;

  // Whether the call is still to happen: neither run nor cancelled.
  virtual bool active() const = 0;

  // When it is due, on the clock's own time line (IReactorTime::seconds()).
  virtual absl::Time getTime() const = 0;

  // Reschedules it `delay` from now (Twisted's reset), or `extra` later than it was due (delay).
  // It then runs after calls already due at its new time. Throw as cancel() does when inactive.
  virtual void reset(absl::Duration delay) = 0;
  virtual void delay(absl::Duration extra) = 0;
};

class IReactorTime {
 public:
  virtual ~IReactorTime() = default;

  // The clock's current time. Monotonic: only its differences mean anything.
  virtual absl::Time seconds() const = 0;

  // Calls `f` once, on the clock's thread, `delay` from now (a negative delay counts as zero).
  // Never calls it synchronously from inside callLater. The returned handle may be dropped: the
  // call still happens. What `f` throws is reported as an unhandled failure located at `where`
  // (the callLater line): the nearest C++ can come to where a timer's exception was thrown.
  virtual std::shared_ptr<IDelayedCall> callLater(
      absl::Duration delay, absl::AnyInvocable<void()> f,
      std::source_location where = std::source_location::current()) = 0;

  // An implementation that overrides callLater writes `using IReactorTime::callLater;` so that
  // this overload stays visible through it (reactor/clock.h does).
  //
  // callLater(delay, f) for an f that returns a Deferred, a coroutine lambda say (Twisted's
  // `callLater(1, someInlineCallbacksFunction)`): f is kept alive until that Deferred fires, since
  // a coroutine lambda reads its captures through the lambda. The Deferred is dropped; use
  // deferLater to wait for it.
  template <internal::ReturnsDeferred F>
  std::shared_ptr<IDelayedCall> callLater(
      absl::Duration delay, F f, std::source_location where = std::source_location::current()) {
    return callLater(delay, absl::AnyInvocable<void()>(internal::droppingResult(std::move(f))),
                     where);
  }
};

}  // namespace deft

#endif  // DEFT_DEFERRED_REACTOR_TIME_H_
