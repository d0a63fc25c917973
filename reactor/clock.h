// File: reactor/clock.h
//
// Clock: a time source that moves only when told to, for testing timer logic without sleeping
// (Twisted's twisted.internet.task.Clock). It implements IReactorTime with the same TimerQueue as
// the real Reactor, so what passes here is what runs there.
//
//   Clock clock;
//   Deferred<int> d = deferLater(clock, absl::Seconds(5), [] { return 42; });
//   clock.advance(absl::Seconds(5));   // runs the call: d has fired
//
// Single-threaded. Calls run inside advance(), in due order (FIFO among equals).

#ifndef DEFT_REACTOR_CLOCK_H_
#define DEFT_REACTOR_CLOCK_H_

#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/reactor_time.h"
#include "reactor/timer_queue.h"

namespace deft {

class Clock final : public IReactorTime {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  // Starts at absl::UnixEpoch(); only differences mean anything.
  absl::Time seconds() const override { return now_; }
  using IReactorTime::callLater;  // the overload for callables that return a Deferred

  std::shared_ptr<IDelayedCall> callLater(
      absl::Duration delay, absl::AnyInvocable<void()> f,
      std::source_location where = std::source_location::current()) override {
    return calls_.schedule(now_ + std::max(delay, absl::ZeroDuration()), std::move(f), where);
  }

  // Clock::advance(amount)
  //
  // Moves time forward by `amount` and runs every call due by then, including calls that those
  // calls schedule within the new time.
  void advance(absl::Duration amount) {
    now_ += amount;
    while (calls_.runDue(now_) > 0) {
    }
  }

  // Clock::pump(timings)
  //
  // advance() by each amount in turn.
  void pump(const std::vector<absl::Duration>& timings) {
    for (absl::Duration amount : timings) advance(amount);
  }

  std::vector<std::shared_ptr<IDelayedCall>> getDelayedCalls() const { return calls_.pending(); }

 private:
  absl::Time now_ = absl::UnixEpoch();
  TimerQueue calls_{*this};
};

}  // namespace deft

#endif  // DEFT_REACTOR_CLOCK_H_
