// File: reactor/internal/fail_if_dropped.h
//
// A Deferred held by work the reactor may drop unrun: a thread's hand-back or a timer still
// pending when the reactor is destroyed. If the holder goes while its Deferred has not fired, the
// Deferred errbacks with ReactorDestroyed, so whoever waits on it (a coroutine, a DeferredList)
// learns why instead of waiting forever.

#ifndef DEFT_REACTOR_INTERNAL_FAIL_IF_DROPPED_H_
#define DEFT_REACTOR_INTERNAL_FAIL_IF_DROPPED_H_

#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "deferred/deferred.h"
#include "deferred/errors.h"

namespace deft {

// Work the reactor owned was dropped unrun because the reactor was destroyed. A CancelledError:
// code that traps cancellation handles it too.
class ReactorDestroyed : public CancelledError {
 public:
  explicit ReactorDestroyed(const std::string& what)
      : CancelledError("the reactor was destroyed before " + what) {}
};

namespace internal {

// Moves between threads (deferToThread's closures) but touches its Deferred only on the thread
// that made it: a Deferred's reference count belongs to that thread.
template <class T>
class FailIfDropped {
 public:
  // `what` completes "the reactor was destroyed before ...". A string literal: kept by pointer.
  FailIfDropped(Deferred<T> d, const char* what)
      : d_(std::move(d)), what_(what), owner_(std::this_thread::get_id()) {}
  FailIfDropped(FailIfDropped&& other) noexcept
      : d_(std::exchange(other.d_, std::nullopt)), what_(other.what_), owner_(other.owner_) {}
  FailIfDropped& operator=(FailIfDropped&&) = delete;
  ~FailIfDropped() {
    if (!d_) return;
    if (std::this_thread::get_id() != owner_) {
      // Dropped on another thread (only when handing it back failed, out of memory): its
      // reference cannot be released here without a data race, so it is leaked instead.
      new Deferred<T>(std::move(*d_));
      return;
    }
    if (!d_->called()) d_->errback(Failure(ReactorDestroyed(what_)));
  }

  // Whether it still holds its Deferred, and the Deferred, to fire (the holder lets go of it).
  bool holds() const { return d_.has_value(); }
  Deferred<T> take() { return std::move(*std::exchange(d_, std::nullopt)); }

 private:
  std::optional<Deferred<T>> d_;
  const char* what_;
  std::thread::id owner_;
};

}  // namespace internal
}  // namespace deft

#endif  // DEFT_REACTOR_INTERNAL_FAIL_IF_DROPPED_H_
