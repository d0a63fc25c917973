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
//     the next call goes to the next multiple of the interval still ahead. withCount() makes a
//     LoopingCall whose function is told how many intervals passed since its last call.
//   - If the function returns a Deferred, the next tick waits for it to fire.
//   - The Deferred from start() fires when the loop stops: at stop(), or, when stop() is called
//     while the function's Deferred is pending (or from inside the function), once that Deferred
//     fires. It errbacks (the loop stopping) when the function throws or its Deferred fails, even
//     if the function called stop() first.
//   - reset() skips the next call and starts the intervals again from now.
//
// LIFETIME. Destroying a running LoopingCall stops it (start()'s Deferred fires) and cancels a
// Deferred its function returned that is still pending: nothing calls back into a destroyed
// LoopingCall (its Scope, deferred/scope.h).

#ifndef DEFT_REACTOR_LOOPING_CALL_H_
#define DEFT_REACTOR_LOOPING_CALL_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/reactor_time.h"
#include "deferred/deferred.h"
#include "deferred/scope.h"

namespace deft {

class LoopingCall {
 public:
  // `f` returns void or a Deferred<void>. `clock` (the reactor, or a Clock in tests) must outlive
  // this LoopingCall.
  template <class F>
  LoopingCall(IReactorTime& clock, F f)
      : clock_(clock), f_([f = std::move(f)]() mutable -> Deferred<void> {
          return maybeDeferred(f);
        }) {}
  LoopingCall(const LoopingCall&) = delete;
  LoopingCall& operator=(const LoopingCall&) = delete;
  ~LoopingCall() {
    scope_.end();      // cancels the function's pending Deferred; nothing calls back after this
    finishStopping();  // start()'s Deferred fires, if it has not
  }

  // LoopingCall::withCount(clock, f)
  //
  // Twisted's LoopingCall.withCount: `f(count)` is told how many intervals have passed since it
  // last ran (1 normally; more when the process was too busy to run it on time). Never called
  // with 0: a tick that lands in the same interval as the last call is skipped.
  template <class F>
    requires std::invocable<F&, std::int64_t>
  static std::unique_ptr<LoopingCall> withCount(IReactorTime& clock, F f) {
    std::unique_ptr<LoopingCall> loop(new LoopingCall(clock));
    loop->f_ = [self = loop.get(), f = std::move(f)]() mutable -> Deferred<void> {
      std::optional<std::int64_t> count = self->countSinceLastCall();
      if (!count) return succeed();
      return maybeDeferred(f, *count);
    };
    return loop;
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
    runAtStart_ = now;
    lastCall_.reset();
    done_ = Deferred<void>();
    donePending_ = true;
    Deferred<void> done = done_;
    if (now) {
      tick();
    } else {
      scheduleFrom(started_);
    }
    return done;
  }

  // LoopingCall::stop()
  //
  // Stops the loop. start()'s Deferred fires now, or, if the function's Deferred is pending (or
  // stop() is called from inside the function), when that one fires. Throws std::logic_error if
  // it is not running.
  void stop() {
    if (!running_) throw std::logic_error("LoopingCall is not running");
    running_ = false;
    if (call_) {  // between calls: nothing of the function's is pending
      cancelTimer();
      finishStopping();
    }
  }

  // LoopingCall::reset()
  //
  // Skips the next call and starts counting intervals again from now. Throws std::logic_error if
  // it is not running.
  void reset() {
    if (!running_) throw std::logic_error("LoopingCall is not running");
    if (!call_) return;  // the function's Deferred is pending: the next call is scheduled after it
    cancelTimer();
    started_ = clock_.seconds();
    scheduleFrom(started_);
  }

  bool running() const { return running_; }
  absl::Duration interval() const { return interval_; }

 private:
  explicit LoopingCall(IReactorTime& clock) : clock_(clock) {}  // withCount sets f_

  void tick() {
    call_.reset();
    scope_.track(f_())  // f_ wraps f in maybeDeferred: it never throws
        .addCallbacks(
            [this] {
              if (running_) {
                scheduleFrom(clock_.seconds());
              } else {
                finishStopping();  // stop() was called while the function ran
              }
            },
            [this](Failure failure) {
              running_ = false;
              cancelTimer();
              donePending_ = false;
              Deferred<void> done = std::move(done_);
              done.errback(std::move(failure));
            });
  }

  void finishStopping() {
    running_ = false;
    cancelTimer();
    if (!donePending_) return;
    donePending_ = false;
    Deferred<void> done = std::move(done_);
    done.callback();
  }

  void cancelTimer() {
    if (call_ && call_->active()) call_->cancel();
    call_.reset();
  }

  // Schedules the next call at the next multiple of the interval after `from` (skipping missed
  // ones).
  void scheduleFrom(absl::Time from) {
    absl::Duration delay = absl::ZeroDuration();
    if (interval_ > absl::ZeroDuration()) {
      const std::int64_t ticks = intervalsSinceStart(from) + 1;
      delay = started_ + interval_ * ticks - clock_.seconds();
    }
    call_ = clock_.callLater(delay, scope_.bind([this] { tick(); }));
  }

  std::int64_t intervalsSinceStart(absl::Time t) const {
    return static_cast<std::int64_t>(std::floor(absl::FDivDuration(t - started_, interval_)));
  }

  // withCount's count: intervals between the last call (or the start) and now.
  std::optional<std::int64_t> countSinceLastCall() {
    const absl::Time now = clock_.seconds();
    if (interval_ <= absl::ZeroDuration()) {
      lastCall_ = now;
      return 1;
    }
    absl::Time last = lastCall_.value_or(runAtStart_ ? started_ - interval_ : started_);
    const std::int64_t count = intervalsSinceStart(now) - intervalsSinceStart(last);
    if (count <= 0) return std::nullopt;
    lastCall_ = now;
    return count;
  }

  IReactorTime& clock_;
  absl::AnyInvocable<Deferred<void>()> f_;
  bool running_ = false;
  bool runAtStart_ = true;
  absl::Duration interval_;
  absl::Time started_;
  std::optional<absl::Time> lastCall_;  // withCount: when the function last ran
  std::shared_ptr<IDelayedCall> call_;  // the next call, between calls
  Deferred<void> done_;
  bool donePending_ = false;  // start()'s Deferred has not fired yet
  Scope scope_;  // what the function returned, and the timer, call back through it
};

}  // namespace deft

#endif  // DEFT_REACTOR_LOOPING_CALL_H_
