#include "reactor/timer_queue.h"

#include <utility>

#include "deferred/errors.h"
#include "deferred/failure.h"

namespace deft {
namespace {

constexpr std::size_t kArity = 4;

std::int64_t toNanos(absl::Time t) { return absl::ToUnixNanos(t); }
absl::Time fromNanos(std::int64_t ns) { return absl::FromUnixNanos(ns); }

}  // namespace

class TimerQueue::Call final : public IDelayedCall {
 public:
  enum class State { kPending, kCalled, kCancelled };

  Call(TimerQueue* queue, absl::AnyInvocable<void()> f, std::source_location where)
      : queue_(queue), f_(std::move(f)), where_(where) {}

  void cancel() override {
    requirePending();
    state_ = State::kCancelled;
    queue_->removeAt(index_);
    f_ = nullptr;  // free the captures now, not when the last handle goes
  }
  bool active() const override { return state_ == State::kPending; }
  absl::Time getTime() const override { return fromNanos(due_); }
  void reset(absl::Duration delay) override {
    requirePending();
    queue_->reschedule(*this, queue_->clock_.seconds() + delay);
  }
  void delay(absl::Duration extra) override {
    requirePending();
    queue_->reschedule(*this, getTime() + extra);
  }

 private:
  friend class TimerQueue;

  void requirePending() const {
    if (state_ == State::kCalled) throw AlreadyCalled();
    if (state_ == State::kCancelled) throw AlreadyCancelled();
  }

  TimerQueue* queue_;  // null once the queue is gone
  absl::AnyInvocable<void()> f_;
  std::source_location where_;  // the line that scheduled it: what its failures are located at
  State state_ = State::kPending;
  std::int64_t due_ = 0;
  std::size_t index_ = 0;  // position in the heap while pending
};

TimerQueue::~TimerQueue() { clear(); }

void TimerQueue::clear() {
  // Destroying a call's captures may run user code (a Deferred errbacks), which may cancel,
  // reset or schedule calls. So each pass first detaches every call it drops, and only then
  // destroys their captures; calls scheduled meanwhile are dropped by the next pass. Not forever:
  // a capture that always schedules another would never end.
  for (int pass = 0; pass < 16 && !heap_.empty(); ++pass) {
    std::vector<Entry> dropped = std::move(heap_);
    heap_.clear();
    std::vector<absl::AnyInvocable<void()>> captures;
    captures.reserve(dropped.size());
    for (Entry& entry : dropped) {
      entry.call->state_ = Call::State::kCancelled;
      entry.call->queue_ = nullptr;
      // A handle kept elsewhere must not keep the captures alive.
      captures.push_back(std::move(entry.call->f_));
      entry.call->f_ = nullptr;
    }
    dropped.clear();
    captures.clear();  // user code may run here: every dropped call is detached already
  }
  // Still scheduling after that: detach what is left; its captures go with the last handle.
  std::vector<Entry> rest = std::move(heap_);
  heap_.clear();
  for (Entry& entry : rest) {
    entry.call->state_ = Call::State::kCancelled;
    entry.call->queue_ = nullptr;
  }
}

std::shared_ptr<IDelayedCall> TimerQueue::schedule(absl::Time when,
                                                  absl::AnyInvocable<void()> f,
                                                  std::source_location where) {
  auto call = std::make_shared<Call>(this, std::move(f), where);
  call->due_ = toNanos(when);
  push(Entry{call->due_, nextSequence_++, call});
  return call;
}

std::optional<absl::Time> TimerQueue::nextDue() const {
  if (heap_.empty()) return std::nullopt;
  return fromNanos(heap_.front().due);
}

std::size_t TimerQueue::runDue(absl::Time now) {
  const std::int64_t limit = toNanos(now);
  const std::uint64_t scheduledBefore = nextSequence_;
  std::size_t ran = 0;
  while (!heap_.empty() && heap_.front().due <= limit &&
         heap_.front().sequence < scheduledBefore) {
    std::shared_ptr<Call> call = removeAt(0).call;
    call->state_ = Call::State::kCalled;
    absl::AnyInvocable<void()> f = std::move(call->f_);
    call->f_ = nullptr;
    ++ran;
    try {
      f();
    } catch (...) {
      internal::reportUnhandledFailure(Failure::fromCurrentException(call->where_));
    }
  }
  return ran;
}

std::vector<std::shared_ptr<IDelayedCall>> TimerQueue::pending() const {
  std::vector<std::shared_ptr<IDelayedCall>> calls;
  calls.reserve(heap_.size());
  for (const Entry& entry : heap_) calls.push_back(entry.call);
  return calls;
}

void TimerQueue::reschedule(Call& call, absl::Time when) {
  Entry entry = removeAt(call.index_);
  entry.due = call.due_ = toNanos(when);
  entry.sequence = nextSequence_++;
  push(std::move(entry));
}

// --- The heap -------------------------------------------------------------------------------

void TimerQueue::place(std::size_t index, Entry&& entry) {
  entry.call->index_ = index;
  heap_[index] = std::move(entry);
}

void TimerQueue::push(Entry entry) {
  heap_.emplace_back();
  place(heap_.size() - 1, std::move(entry));
  siftUp(heap_.size() - 1);
}

TimerQueue::Entry TimerQueue::removeAt(std::size_t index) {
  Entry removed = std::move(heap_[index]);
  Entry last = std::move(heap_.back());
  heap_.pop_back();
  if (index < heap_.size()) {
    place(index, std::move(last));
    siftUp(index);
    siftDown(index);
  }
  return removed;
}

void TimerQueue::siftUp(std::size_t index) {
  Entry moving = std::move(heap_[index]);
  while (index > 0) {
    const std::size_t parent = (index - 1) / kArity;
    if (!before(moving, heap_[parent])) break;
    place(index, std::move(heap_[parent]));
    index = parent;
  }
  place(index, std::move(moving));
}

void TimerQueue::siftDown(std::size_t index) {
  const std::size_t n = heap_.size();
  Entry moving = std::move(heap_[index]);
  while (true) {
    const std::size_t first = index * kArity + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + kArity, n);
    for (std::size_t child = first + 1; child < end; ++child) {
      if (before(heap_[child], heap_[best])) best = child;
    }
    if (!before(heap_[best], moving)) break;
    place(index, std::move(heap_[best]));
    index = best;
  }
  place(index, std::move(moving));
}

}  // namespace deft
