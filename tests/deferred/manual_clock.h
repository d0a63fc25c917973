// A minimal IReactorTime for deferred/'s own tests, which must not depend on reactor/.
// Calls run in due order (FIFO among equals) when advance() passes their time.

#ifndef DEFT_TESTS_DEFERRED_MANUAL_CLOCK_H_
#define DEFT_TESTS_DEFERRED_MANUAL_CLOCK_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/reactor_time.h"

namespace deft::testing {

class ManualClock : public IReactorTime {
 public:
  absl::Time seconds() const override { return now_; }

  std::shared_ptr<IDelayedCall> callLater(
      absl::Duration delay, absl::AnyInvocable<void()> f,
      std::source_location = std::source_location::current()) override {
    auto call = std::make_shared<Call>(this, now_ + std::max(delay, absl::ZeroDuration()), std::move(f));
    calls_.push_back(call);
    return call;
  }

  // Moves time forward, running what falls due, in order.
  void advance(absl::Duration by) {
    now_ += by;
    for (bool ran = true; ran;) {
      ran = false;
      std::shared_ptr<Call> next;
      for (auto& c : calls_) {
        if (c->active() && c->due <= now_ && (!next || c->due < next->due)) next = c;
      }
      if (next) {
        next->state = Call::kRan;
        std::move(next->f)();
        ran = true;
      }
    }
    std::erase_if(calls_, [](const auto& c) { return !c->active(); });
  }

  std::size_t pending() const {
    std::size_t n = 0;
    for (const auto& c : calls_) n += c->active();
    return n;
  }

 private:
  struct Call : IDelayedCall {
    enum State { kPending, kRan, kCancelled };
    Call(ManualClock* clock, absl::Time due, absl::AnyInvocable<void()> f)
        : clock(clock), due(due), f(std::move(f)) {}
    void cancel() override {
      state = kCancelled;
      f = nullptr;
    }
    bool active() const override { return state == kPending; }
    void reset(absl::Duration delay) override { due = clock->now_ + delay; }
    void delay(absl::Duration extra) override { due += extra; }
    absl::Time getTime() const override { return due; }
    ManualClock* clock;
    absl::Time due;
    absl::AnyInvocable<void()> f;
    State state = kPending;
  };

  absl::Time now_ = absl::UnixEpoch();
  std::vector<std::shared_ptr<Call>> calls_;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_DEFERRED_MANUAL_CLOCK_H_
