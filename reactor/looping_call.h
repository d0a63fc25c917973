// File: reactor/looping_call.h
//
// LoopingCall: call a function every `interval`, Twisted's twisted.internet.task.LoopingCall.
//
//   LoopingCall heartbeat(reactor(), [] { sendPing(); });
//   Deferred<void> done = heartbeat.start(absl::Seconds(30));
//   ...
//   heartbeat.stop();   // `done` fires
//
// The rules, Twisted's:
//   - start(interval, now = true) runs the function at once (or after one interval), then at
//     start + k * interval. Ticks missed because the process was busy are skipped, not bunched:
//     the next call goes to the next multiple of the interval still ahead.
//   - If the function returns a Deferred, the next tick waits for it to fire.
//   - The Deferred from start() fires when stop() is called, and errbacks (the loop stopping)
//     when the function throws or its Deferred fails.
// The LoopingCall must outlive its loop; destroying it stops it.

#ifndef DEFT_REACTOR_LOOPING_CALL_H_
#define DEFT_REACTOR_LOOPING_CALL_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/clock.h"
#include "deferred/deferred.h"

namespace deft {

class LoopingCall {
 public:
  // `f` returns void or a Deferred<void>.
  template <class F>
  LoopingCall(IReactorTime& clock, F f)
      : clock_(clock), f_([f = std::move(f)]() mutable -> Deferred<void> {
          return maybeDeferred(f);
        }) {}
  LoopingCall(const LoopingCall&) = delete;
  LoopingCall& operator=(const LoopingCall&) = delete;
  ~LoopingCall() {
    if (running_) stop();
  }

  // LoopingCall::start(interval, now)
  //
  // Starts the loop. Throws std::logic_error if it is running already, or for a negative interval.
  Deferred<void> start(absl::Duration interval, bool now = true) {
    if (running_) throw std::logic_error("LoopingCall is already running");
    if (interval < absl::ZeroDuration()) throw std::invalid_argument("negative interval");
    running_ = true;
    interval_ = interval;
    started_ = clock_.seconds();
    done_ = Deferred<void>();
    Deferred<void> done = done_;
    if (now) {
      tick();
    } else {
      schedule();
    }
    return done;
  }

  // LoopingCall::stop()
  //
  // Stops the loop and fires start()'s Deferred. Throws std::logic_error if it is not running.
  void stop() {
    if (!running_) throw std::logic_error("LoopingCall is not running");
    running_ = false;
    if (call_ && call_->active()) call_->cancel();
    call_.reset();
    ++generation_;  // a Deferred from the function still in flight no longer reschedules
    Deferred<void> done = std::move(done_);
    done.callback();
  }

  bool running() const { return running_; }
  absl::Duration interval() const { return interval_; }

 private:
  void tick() {
    call_.reset();
    const std::uint64_t generation = generation_;
    Deferred<void> result = f_();
    std::move(result).addCallbacks(
        [this, generation] {
          if (generation == generation_ && running_) schedule();
        },
        [this, generation](Failure failure) {
          if (generation != generation_ || !running_) return;
          running_ = false;
          ++generation_;
          Deferred<void> done = std::move(done_);
          done.errback(std::move(failure));
        });
  }

  // Schedules the next tick at the next multiple of the interval after now (skipping missed ones).
  void schedule() {
    const absl::Time now = clock_.seconds();
    absl::Duration delay = absl::ZeroDuration();
    if (interval_ > absl::ZeroDuration()) {
      const double elapsed = absl::FDivDuration(now - started_, interval_);
      const auto ticks = static_cast<std::int64_t>(std::floor(elapsed)) + 1;
      delay = started_ + interval_ * ticks - now;
    }
    call_ = clock_.callLater(delay, [this] { tick(); });
  }

  IReactorTime& clock_;
  absl::AnyInvocable<Deferred<void>()> f_;
  bool running_ = false;
  absl::Duration interval_;
  absl::Time started_;
  std::shared_ptr<IDelayedCall> call_;
  Deferred<void> done_;
  std::uint64_t generation_ = 0;
};

}  // namespace deft

#endif  // DEFT_REACTOR_LOOPING_CALL_H_
