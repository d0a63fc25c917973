// File: deferred/deferred_lock.h
//
// DeferredSemaphore and DeferredLock: Twisted's ways to bound how much asynchronous work runs at
// once. Nothing blocks: acquire() gives a Deferred that fires when a token is free.
//
//   DeferredSemaphore pool(10);                    // at most 10 fetches in flight
//   for (const auto& url : urls) {
//     fetches.push_back(pool.run([url] { return getPage(url); }));
//   }
//
// Waiters are served first come, first served. Cancelling a waiting acquire() takes it out of the
// line (it errbacks with CancelledError and never gets a token). Destroying a semaphore errbacks
// whoever still waits with CancelledError. Single-threaded, like every Deferred.

#ifndef DEFT_DEFERRED_DEFERRED_LOCK_H_
#define DEFT_DEFERRED_DEFERRED_LOCK_H_

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "deferred/deferred.h"
#include "deferred/scope.h"
#include "deferred/internal/waiters.h"

namespace deft {

class DeferredSemaphore {
 public:
  // A semaphore with `tokens` tokens (at least one).
  explicit DeferredSemaphore(std::size_t tokens) : tokens_(tokens), limit_(tokens) {
    if (tokens == 0) throw std::invalid_argument("DeferredSemaphore needs at least one token");
  }
  DeferredSemaphore(const DeferredSemaphore&) = delete;
  DeferredSemaphore& operator=(const DeferredSemaphore&) = delete;
  ~DeferredSemaphore() { waiters_.failAll("DeferredSemaphore destroyed while waiting"); }

  // DeferredSemaphore::acquire()
  //
  // Takes a token: fired at once when one is free, otherwise when release() hands one over.
  Deferred<void> acquire() {
    if (tokens_ > 0) {
      --tokens_;
      return succeed();
    }
    return waiters_.wait();
  }

  // DeferredSemaphore::release()
  //
  // Gives a token back: to the first waiter if there is one (its callbacks run now), otherwise
  // to the pool. Releasing more than was acquired throws std::logic_error.
  void release() {
    if (!waiters_.empty()) {
      waiters_.pop().callback();  // the token goes straight to the waiter
      return;
    }
    if (tokens_ == limit_) throw std::logic_error("DeferredSemaphore released more than acquired");
    ++tokens_;
  }

  // DeferredSemaphore::run(f, args...)
  //
  // acquire(), then f(args...), then release() when what f returns (a value, or a Deferred) is
  // done, whether it succeeded or not. Gives f's result. Twisted's `sem.run(f, *args)`, with its
  // guarantees made explicit for C++:
  //   - f is kept alive (at one address) until the Deferred it returned has fired, so a coroutine
  //     lambda's captures stay valid while it runs: `run([url]() -> Deferred<T> { co_await ...;
  //     use(url); })` is safe. The arguments are stored by value and passed as lvalues.
  //   - Only a call that got a token gives one back: a run() whose acquire() is cancelled while
  //     it waits in line (or timed out with addTimeout) releases nothing, and f never runs.
  //   - The semaphore may be destroyed while calls are in flight: their results still reach
  //     their Deferreds, and the tokens they would give back go nowhere. Calls still waiting for a
  //     token errback with CancelledError.
  template <class F, class... Args>
  auto run(F f, Args... args) {
    using Result = decltype(maybeDeferred(std::declval<F&>(), std::declval<Args&>()...));
    using U = typename Result::ValueType;
    auto held = std::make_unique<F>(std::move(f));  // one address for f, whatever else moves
    return acquire().addCallback(
        [held = std::move(held), args = std::make_tuple(std::move(args)...),
         giveBack = scope_.bind([this] { release(); })]() mutable {
          Deferred<U> result =
              std::apply([&](Args&... a) { return maybeDeferred(*held, a...); }, args);
          return std::move(result).addBoth(
              [held = std::move(held), giveBack = std::move(giveBack)](Outcome<U> outcome) mutable {
                giveBack();
                return outcome;
              });
        });
  }

  // Free tokens now, and the total.
  std::size_t tokens() const { return tokens_; }
  std::size_t limit() const { return limit_; }

 private:
  std::size_t tokens_;
  std::size_t limit_;
  internal::Waiters<void> waiters_;
  Scope scope_;  // run()'s releases go through it: none reaches a destroyed semaphore
};

// A DeferredSemaphore with one token.
class DeferredLock {
 public:
  DeferredLock() = default;

  Deferred<void> acquire() { return semaphore_.acquire(); }
  void release() { semaphore_.release(); }
  // As DeferredSemaphore::run: f is kept alive until its Deferred fires, and only a call that
  // got the lock releases it.
  template <class F, class... Args>
  auto run(F f, Args... args) {
    return semaphore_.run(std::move(f), std::move(args)...);
  }
  bool locked() const { return semaphore_.tokens() == 0; }

 private:
  DeferredSemaphore semaphore_{1};
};

}  // namespace deft

#endif  // DEFT_DEFERRED_DEFERRED_LOCK_H_
