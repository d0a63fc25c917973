// File: deferred/deferred_queue.h
//
// DeferredQueue<T>: Twisted's queue whose get() is a Deferred. Producers put(), consumers get();
// a get() with nothing queued waits, first come first served, and put() hands its item straight
// to the longest waiter.
//
//   DeferredQueue<std::string> lines;
//   lines.get().addCallback([](std::string line) { ... });
//   lines.put("hello");   // runs the callback above, now
//
// Bounds are optional: `size` caps the items queued (put() beyond it throws QueueOverflow) and
// `backlog` caps the waiting get()s (get() beyond it throws QueueUnderflow). These are thrown at
// the caller, synchronously, as in Twisted. Cancelling a waiting get() takes it out of the line.

#ifndef DEFT_DEFERRED_DEFERRED_QUEUE_H_
#define DEFT_DEFERRED_DEFERRED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <limits>
#include <utility>

#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "deferred/internal/waiters.h"

namespace deft {

class QueueOverflow : public Error {
 public:
  QueueOverflow() : Error("DeferredQueue is full", absl::StatusCode::kResourceExhausted) {}
};

class QueueUnderflow : public Error {
 public:
  QueueUnderflow()
      : Error("DeferredQueue has too many waiting get()s", absl::StatusCode::kResourceExhausted) {}
};

template <class T>
class DeferredQueue {
  static_assert(!std::is_void_v<T>, "a DeferredQueue carries values");

 public:
  static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

  explicit DeferredQueue(std::size_t size = kUnlimited, std::size_t backlog = kUnlimited)
      : size_(size), backlog_(backlog) {}
  DeferredQueue(const DeferredQueue&) = delete;
  DeferredQueue& operator=(const DeferredQueue&) = delete;
  ~DeferredQueue() { waiters_.failAll("DeferredQueue destroyed while waiting"); }

  // DeferredQueue::put(item)
  //
  // Gives `item` to the first waiting get() (whose callbacks run now), or queues it.
  void put(T item) {
    if (!waiters_.empty()) {
      waiters_.pop().callback(std::move(item));
      return;
    }
    if (items_.size() >= size_) throw QueueOverflow();
    items_.push_back(std::move(item));
  }

  // DeferredQueue::get()
  //
  // The next item: fired at once if one is queued, otherwise when put() brings one.
  Deferred<T> get() {
    if (!items_.empty()) {
      Deferred<T> d = succeed(std::move(items_.front()));
      items_.pop_front();
      return d;
    }
    if (waiters_.size() >= backlog_) throw QueueUnderflow();
    return waiters_.wait();
  }

  // Items queued, and get()s waiting.
  std::size_t pending() const { return items_.size(); }
  std::size_t waiting() const { return waiters_.size(); }

 private:
  std::size_t size_;
  std::size_t backlog_;
  std::deque<T> items_;
  internal::Waiters<T> waiters_;
};

}  // namespace deft

#endif  // DEFT_DEFERRED_DEFERRED_QUEUE_H_
