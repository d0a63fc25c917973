// File: deferred/scope.h
//
// Scope: asynchronous work tied to the lifetime of an owner, so that no callback runs after the
// owner has gone. What KJ's TaskSet and Canceler, and Seastar's gate, are for; Twisted needs none
// because Python's garbage collector keeps `self` alive for as long as a callback holds it. In
// C++ a callback that captures `this` and runs after `*this` was destroyed reads freed memory:
// tie the work to a Scope that the object owns, and it cannot.
//
//   class Fetcher : public Protocol {
//     void lineReceived(std::string_view url) {
//       scope().track(getPage(std::string(url)))           // cancelled if the connection goes
//           .addCallback([this](std::string body) {        // never runs after that
//             transport()->write(body);
//           });
//     }
//   };
//
// THE RULES.
//   - track(d) ties `d` to the scope and returns the Deferred to add callbacks to. Callbacks added
//     to `d` before track() (the producer's own) run as they would have; callbacks added to what
//     track() returned run only while the scope has not ended. When the scope ends, a tracked
//     Deferred that has not fired is cancelled (its canceller runs: the work stops), and the chain
//     after track() is dropped unrun, wherever it is: waiting for the result, or waiting on a
//     Deferred that one of its callbacks returned. Its result is discarded without an
//     unhandled-failure report: cutting it off was the point.
//   - A coroutine suspended on a Deferred that track() returned is destroyed where it waits
//     (locals and all) when the scope ends; its own Deferred never fires. Track the work a
//     coroutine awaits, not the coroutine from outside, when the coroutine itself holds `this`.
//   - bind(f) gives a callable that calls f only while the scope has not ended: for timers and
//     other plain callbacks (`reactor.callLater(delay, scope.bind([this] { ... }))`), and for
//     code that must know whether its owner is still there (a value-returning f gives a
//     std::optional, empty after the end).
//   - end() ends the scope (idempotent); the destructor ends it. A Scope does not start again.
//     track() after the end cancels the Deferred at once; bind() gives a callable that does
//     nothing.
//   - Cancelling what track() returned cancels the tracked Deferred, as a returned Deferred would.
//
// OWNERSHIP. The Scope does not own the tracked Deferreds: whoever fires them keeps them alive, as
// always. It owns one small heap object (made on first use), shared with what it guards, so a
// tracked Deferred or a bound callable may outlive the Scope safely. A Protocol has a Scope that
// ends right after connectionLost (protocol/protocol.h).
//
// COST. One allocation per Scope, on first use. track() adds one Deferred (one allocation) and one
// step to the tracked Deferred; callbacks added through it cost what any callback costs. bind()
// allocates nothing. Single-threaded, like every Deferred.

#ifndef DEFT_DEFERRED_SCOPE_H_
#define DEFT_DEFERRED_SCOPE_H_

#include <optional>
#include <type_traits>
#include <utility>

#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "deferred/failure.h"
#include "deferred/internal/scope_core.h"
#include "deferred/internal/state.h"

namespace deft {

namespace internal {

// The step track() leaves at the end of a tracked Deferred's chain: hands its result on to the
// guarded Deferred if the scope is still open, and drops it otherwise. Its link in the scope's
// list lives here, so it is unlinked exactly when the tracked Deferred fires or is freed unfired.
class ScopeForwardStep {
 public:
  ScopeForwardStep(ScopeCore* scope, StateBase* producer, StateBase* out)
      : scope_(scope), out_(out) {
    scope_->addRef();
    link_.producer = producer;
    link_.out = out;
    if (!scope_->ended()) scope_->link(link_);
  }
  ScopeForwardStep(const ScopeForwardStep&) = delete;
  ScopeForwardStep& operator=(const ScopeForwardStep&) = delete;
  ~ScopeForwardStep() {
    ScopeCore::unlink(link_);
    link_.producer = nullptr;
    if (out_ != nullptr) {
      out_->setCanceller(nullptr);
      out_->release();
    }
    scope_->release();
  }

  void run(StateBase& from, RunStack& stack) {
    ScopeCore::unlink(link_);
    link_.producer = nullptr;
    StateBase* out = std::exchange(out_, nullptr);
    out->setCanceller(nullptr);  // lets go of the producer
    if (scope_->ended()) {       // cut off: the result goes nowhere
      from.discardResult();
      from.setValue<Unit>();
      out->release();
      return;
    }
    from.fireFromChain(out, stack);
  }

 private:
  ScopeCore* scope_;
  StateBase* out_;
  ScopeCore::Link link_;
};

// The callable bind() returns.
template <class F>
class ScopeBound {
 public:
  ScopeBound(ScopeCore* scope, F f) : scope_(scope), f_(std::move(f)) { scope_->addRef(); }
  ScopeBound(const ScopeBound& other) : scope_(other.scope_), f_(other.f_) { scope_->addRef(); }
  ScopeBound(ScopeBound&& other) noexcept
      : scope_(std::exchange(other.scope_, nullptr)), f_(std::move(other.f_)) {}
  ScopeBound& operator=(const ScopeBound&) = delete;
  ScopeBound& operator=(ScopeBound&&) = delete;
  ~ScopeBound() {
    if (scope_ != nullptr) scope_->release();
  }

  // Returns nothing for an f that returns nothing; otherwise std::optional of what f returns,
  // empty after the end.
  template <class... Args>
  auto operator()(Args&&... args) {
    using R = std::invoke_result_t<F&, Args&&...>;
    const bool open = scope_ != nullptr && !scope_->ended();
    if constexpr (std::is_void_v<R>) {
      if (open) f_(std::forward<Args>(args)...);
    } else {
      return open ? std::optional<R>(f_(std::forward<Args>(args)...)) : std::optional<R>();
    }
  }

 private:
  ScopeCore* scope_;
  F f_;
};

}  // namespace internal

class Scope {
 public:
  Scope() = default;
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope() {
    end();
    if (core_ != nullptr) core_->release();
  }

  // Scope::track(d)
  //
  // Ties `d` to this scope (see THE RULES above) and returns the Deferred to chain on. Consumes
  // the handle: keep using the one it returns.
  template <class T>
  Deferred<T> track(Deferred<T> d) {
    using Access = internal::DeferredAccess;
    if (Access::state(d) == nullptr) throw DeferredTypeError("Scope::track of a moved-from Deferred");
    Access::state(d)->checkTail(internal::typeOps<internal::Stored<T>>(), "Scope::track");
    internal::ScopeCore* scope = core();
    Deferred<T> out;
    internal::StateBase* outState = Access::state(out);
    outState->setGuard(scope);
    // Cancelling `out` cancels the producer, so `out` holds the producer, as a Deferred holds one
    // its callback returned: a producer nobody else holds (a handler's Deferred with a canceller)
    // can still be cancelled. The cycle this makes (the producer holds `out` through its step)
    // ends when the producer fires, or at the latest when the scope ends.
    outState->setCanceller([producer = d](internal::StateBase&) mutable {
      producer.cancel();
      return true;  // the producer's result (its CancelledError, or what its canceller gave)
    });
    internal::StateBase* producer = Access::release(std::move(d));  // its reference is ours now
    outState->addRef();  // the step's
    producer->pushStep<internal::ScopeForwardStep>(scope, producer, outState);
    producer->setTailType(internal::typeOps<internal::Unit>());
    producer->runCallbacks();
    if (scope->ended()) {  // tracked after the end: stop the work at once, and let go of it
      producer->cancel();
      outState->setCanceller(nullptr);
    }
    producer->release();
    return out;
  }

  // Scope::bind(f)
  //
  // A callable (copyable if f is) that calls f with its arguments while the scope has not ended,
  // and does nothing after. For timers, triggers, cancellers and plain hooks. When f returns a
  // value, the callable returns a std::optional of it: empty once the scope has ended.
  template <class F>
  auto bind(F f) {
    return internal::ScopeBound<F>(core(), std::move(f));
  }

  // Scope::end()
  //
  // Ends the scope now: cancels every tracked Deferred that has not fired, and from here on no
  // callback added through the scope runs. Idempotent.
  void end() {
    if (core_ == nullptr) {
      endedUnused_ = true;
      return;
    }
    if (core_->ended()) return;
    core_->markEnded();
    // Each cancel may run user code (cancellers, the producers' own callbacks), which may track
    // more (cancelled at once, never linked) or fire other tracked Deferreds (which unlink). It
    // may even destroy this Scope (a dropped coroutine frame that owned its owner): from here on
    // only the core is used, and it is held.
    internal::ScopeCore* core = core_;
    core->addRef();
    while (internal::ScopeCore::Link* link = core->first()) {
      internal::StateBase* producer = link->producer;
      internal::StateBase* out = link->out;
      internal::ScopeCore::unlink(*link);
      producer->addRef();
      out->addRef();
      try {
        producer->cancel();
      } catch (...) {  // a canceller that throws: reported, and the rest are still cancelled
        internal::reportUnhandledFailure(Failure::fromCurrentException());
      }
      // If the producer did not fire, `out` lets go of it: whoever can still fire it holds it.
      out->setCanceller(nullptr);
      // Nothing may run `out`'s chain now, so drop it here rather than when the producer fires,
      // which may be never: a coroutine suspended on `out` is destroyed where it waits.
      if (!out->called()) out->dropSteps();
      out->release();
      producer->release();
    }
    core->release();
  }

  bool ended() const { return core_ != nullptr ? core_->ended() : endedUnused_; }

 private:
  internal::ScopeCore* core() {
    if (core_ == nullptr) {
      core_ = new internal::ScopeCore;
      if (endedUnused_) core_->markEnded();
    }
    return core_;
  }

  internal::ScopeCore* core_ = nullptr;  // made on first use
  bool endedUnused_ = false;             // ended before anything used it
};

}  // namespace deft

#endif  // DEFT_DEFERRED_SCOPE_H_
