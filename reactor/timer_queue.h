// File: reactor/timer_queue.h
//
// The scheduled calls of one clock: what `callLater` adds to and what the loop (or
// `Clock::advance`) runs. The real Reactor and the fake Clock share this class, so timer logic
// tested on the fake clock is the logic that runs in production.
//
// Order. Calls run by due time; calls due at the same time run in the order they were scheduled
// (FIFO). Twisted's reactor uses a plain heap there, which does not keep that order.
//
// Cost. An indexed 4-ary min-heap of (due, sequence): scheduling, cancelling and rescheduling
// are O(log n) with no scan, firing pops the top. 1,000,000 pending calls are fine (Twisted's
// task.Clock re-sorts a list on every call, so 10,000 take seconds).
//
// Threads. One thread: the clock's. A DelayedCall handle may outlive its queue (a reactor torn
// down in a test): it then reports inactive and its methods throw AlreadyCancelled.

#ifndef DEFT_REACTOR_TIMER_QUEUE_H_
#define DEFT_REACTOR_TIMER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <source_location>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/reactor_time.h"

namespace deft {

class TimerQueue {
 public:
  // `clock` gives "now" for DelayedCall::reset; it must outlive the queue.
  explicit TimerQueue(const IReactorTime& clock) : clock_(clock) {}
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  // Schedules `f` at `when` (a time in the past is due at once, on the next runDue()). What `f`
  // throws is reported located at `where`, the line that scheduled it.
  std::shared_ptr<IDelayedCall> schedule(absl::Time when, absl::AnyInvocable<void()> f,
                                         std::source_location where = {});

  // When the earliest pending call is due, if any.
  std::optional<absl::Time> nextDue() const;

  // Runs, in order, the calls due at or before `now` that were scheduled before this pass began;
  // calls scheduled by the calls it runs wait for the next pass, so a chain of zero-delay calls
  // cannot starve the loop. Returns how many ran. An exception escaping a call is reported
  // through the unhandled-failure hook (deferred/failure.h) and the pass goes on.
  std::size_t runDue(absl::Time now);

  // Drops every pending call unrun (what destroying the queue does), releasing what they hold.
  // Calls scheduled while their predecessors' captures are destroyed are dropped too.
  void clear();

  std::size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

  // The pending calls, in no particular order (Twisted's getDelayedCalls).
  std::vector<std::shared_ptr<IDelayedCall>> pending() const;

 private:
  class Call;
  struct Entry {
    std::int64_t due;  // nanoseconds on the clock's time line
    std::uint64_t sequence;
    std::shared_ptr<Call> call;
  };
  static bool before(const Entry& a, const Entry& b) {
    return a.due < b.due || (a.due == b.due && a.sequence < b.sequence);
  }

  void push(Entry entry);
  Entry removeAt(std::size_t index);
  void siftUp(std::size_t index);
  void siftDown(std::size_t index);
  void place(std::size_t index, Entry&& entry);
  void reschedule(Call& call, absl::Time when);

  const IReactorTime& clock_;
  std::vector<Entry> heap_;
  std::uint64_t nextSequence_ = 0;
};

}  // namespace deft

#endif  // DEFT_REACTOR_TIMER_QUEUE_H_
