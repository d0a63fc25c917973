// File: deferred/deferred.h
//
// Deferred<T>: a result that is not there yet, and the chain of callbacks that will process it.
// This is Twisted's `twisted.internet.defer.Deferred` with its exact semantics, typed: each
// callback receives what the previous one returned, and a chain that is wired wrong does not
// compile.
//
//   Deferred<std::string> page = getPage("http://example.com/");
//   Deferred<std::size_t> length =
//       std::move(page)
//           .addCallback([](std::string body) { return body.size(); })
//           .addErrback([](Failure f) -> std::size_t {
//             f.trap<TimeoutError>();   // other failures continue down the errback path
//             return 0;                 // a timeout recovers as an empty page
//           });
//
// Or, as a coroutine (Twisted's inlineCallbacks):
//
//   Deferred<std::size_t> pageLength(std::string url) {
//     std::string body = co_await getPage(url);   // a failure is thrown here
//     co_return body.size();
//   }
//
// THE CHAIN. A Deferred holds a list of (callback, errback) pairs and, once fired, a result: a
// value or a Failure. Each pair gets the current result: a value goes to the callback, a Failure
// to the errback, and what that returns becomes the next result. So:
//   - a callback that throws (or returns a Failure) moves the chain to the next errback;
//   - an errback that returns a value recovers: the chain continues with the next callback;
//   - a callback that returns a Deferred<U> pauses the chain until that Deferred fires, then
//     continues with its result (see callbacks.h for every return type a callback may use).
//
// WHEN CALLBACKS RUN. Synchronously, on the thread that makes them runnable:
//   - callback()/errback() runs the whole chain before returning;
//   - adding a callback to a Deferred that has fired (and is not paused or waiting) runs it
//     before addCallback returns;
//   - a callback added from inside a running callback of the same Deferred runs after the
//     current one returns, never nested inside it.
// Chains that hand results to each other (returned Deferreds, chainDeferred) are run by one loop
// with an explicit stack, so 100,000 linked Deferreds do not grow the C++ stack.
//
// THREADS. A Deferred belongs to one thread: create, fire and chain it there. In a program with a
// reactor that is the reactor thread; other threads hand results over with
// `Reactor::callFromThread` or `deferToThread`.
//
// TYPES AND HANDLES. A Deferred<T> is a cheap handle (one pointer) to a shared, reference-counted
// state; copies are handles on the same Deferred, as Twisted programs pass the same object around.
// Adding a callback that keeps T returns the same handle (`d.addCallback(f)` works as in Twisted).
// Adding one that changes the type consumes the handle: call it on an rvalue
// (`std::move(d).addCallback(f)`, or on a temporary) and use the Deferred<U> it returns. Calling it
// on an lvalue is a compile error that says so. A second copy of the old handle used after the
// chain moved on throws DeferredTypeError (the compiler cannot see through copies).
//
// OWNERSHIP. Whoever may fire a Deferred keeps a handle to it; that keeps the chain alive. A
// Deferred nobody can fire any more is freed with its callbacks unrun. A Deferred that is freed
// with a Failure as its result reports it once through the unhandled-failure hook (failure.h).
//
// CALLBACKS THAT CAPTURE `this`. A callback runs whenever the Deferred fires, which may be after
// the object it captured is gone (a connection closed, a client destroyed). Python's garbage
// collector hides this; C++ does not. Tie such work to a Scope the object owns (deferred/scope.h):
//
//   scope_.track(getPage(url)).addCallback([this](std::string body) { ... });
//
// When the scope ends (the object's destructor, or a Protocol's connectionLost), the tracked work
// is cancelled and no callback added through the scope runs. Code in deft itself follows the same
// rule: no callback it registers captures a raw `this` outside a scope.
//
// CALLABLES THAT MAY BE COROUTINES. A coroutine lambda's captures live in the lambda object, not
// in the coroutine frame: the coroutine reads them through the lambda's address after its first
// co_await. So every API of deft that calls a function once and would then destroy it keeps a
// function that returns a Deferred (and has captures) alive, at one address, until that Deferred
// has fired: callbacks, errbacks and addBoth functions, deferLater, callLater, callWhenRunning,
// callFromThread; and the APIs that wait for the Deferred a function returns
// (DeferredSemaphore::run, DeferredLock::run, LoopingCall, a server's handlers, a streamed
// response) hold it until then too. So these are safe:
//
//   d.addCallback([url](Page page) -> Deferred<Row> { co_await store(page); co_return row(url); });
//   sem.run([url]() -> Deferred<T> { co_await ...; use(url); });
//
// G++ 12 AND BRACED TEMPORARIES. Inside a co_await, g++ 12 copies a braced temporary of an
// aggregate (`co_await f(url, {.timeout = t})`, or a parameter's `= {}` default) bitwise into the
// frame, skipping its copy constructor: a std::string member then points into the temporary and
// the program aborts in free(). Pass such options as a named variable. deft's own option types
// that are passed in co_await expressions are not aggregates, so the bad form does not compile
// (tests/deferred/coroutine_compiler_test.cc pins the bug, to see when a compiler lifts it).
// A braced list for a container parameter (`co_await f({a, b})`) does not compile there either
// ("array used as initializer"): name it too.
//
// CANCELLATION. See cancel(). TIMEOUTS. See addTimeout().

#ifndef DEFT_DEFERRED_DEFERRED_H_
#define DEFT_DEFERRED_DEFERRED_H_

#include <concepts>
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "deferred/reactor_time.h"
#include "deferred/errors.h"
#include "deferred/failure.h"
#include "deferred/internal/callbacks.h"
#include "deferred/internal/state.h"
#include "deferred/outcome.h"

namespace deft {

namespace internal {
template <class T>
class CoroutinePromise;
template <class T>
class Awaiter;
}  // namespace internal

// static_assert needs a literal; #undef'd at the end of this file.
#define DEFT_TYPE_CHANGE_ON_LVALUE_                                                     \
  "this callback changes the Deferred's type, which consumes the handle: write "        \
  "std::move(d).addCallback(...) (or chain on a temporary) and use the Deferred<U> it " \
  "returns"

template <class T = void>
class Deferred {
  static_assert(!internal::kIsDeferred<std::remove_cv_t<T>>,
                "Deferred<Deferred<U>> is never needed: a callback that returns a Deferred<U> "
                "makes the chain carry U");
  static_assert(!std::is_reference_v<T>, "Deferred<T&> is not supported: carry a value");
  using Stored = internal::Stored<T>;

 public:
  using ValueType = T;
  using promise_type = internal::CoroutinePromise<T>;  // a Deferred<T> function may be a coroutine

  // Deferred::Deferred()
  //
  // A new Deferred with no result and no callbacks. `where` (the caller) is named by
  // AlreadyCalledError and describe().
  Deferred(std::source_location where = std::source_location::current())
      : state_(new internal::StateBase(internal::typeOps<Stored>(), where)) {}

  // Deferred::Deferred(canceller)
  //
  // A new Deferred whose cancel() calls `canceller(d)` first (see cancel()). The canceller should
  // stop the work that would fire `d`, and may fire `d` itself (for example with an errback that
  // says more than CancelledError).
  template <class F>
    requires std::invocable<F&, Deferred<T>&>
  explicit Deferred(F canceller, std::source_location where = std::source_location::current())
      : Deferred(where) {
    state_->setCanceller([canceller = std::move(canceller)](internal::StateBase& state) mutable {
      state.addRef();
      Deferred<T> self(&state, AdoptTag{});
      canceller(self);
      return false;
    });
  }

  Deferred(const Deferred& other) : state_(other.state_) {
    if (state_ != nullptr) state_->addRef();
  }
  Deferred(Deferred&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  Deferred& operator=(const Deferred& other) {
    Deferred(other).swap(*this);
    return *this;
  }
  Deferred& operator=(Deferred&& other) noexcept {
    Deferred(std::move(other)).swap(*this);
    return *this;
  }
  ~Deferred() {
    if (state_ != nullptr) state_->release();
  }
  void swap(Deferred& other) noexcept { std::swap(state_, other.state_); }

  // --- Firing ---------------------------------------------------------------------------------

  // Deferred::callback(value)
  //
  // Gives the Deferred its result and runs the callback chain, synchronously, before returning.
  // A Deferred fires once: a second callback()/errback() throws AlreadyCalledError (except the one
  // firing a cancelled Deferred absorbs; see cancel()).
  void callback(Stored value, std::source_location where = std::source_location::current())
    requires(!std::is_void_v<T>)
  {
    internal::StateBase* state = requireState();
    state->checkInput(internal::typeOps<Stored>());
    if (!state->beginFire(where)) return;
    state->setValue<Stored>(std::move(value));
    state->finishFire();
  }
  void callback(std::source_location where = std::source_location::current())
    requires std::is_void_v<T>
  {
    internal::StateBase* state = requireState();
    state->checkInput(internal::typeOps<Stored>());
    if (!state->beginFire(where)) return;
    state->setValue<Stored>();
    state->finishFire();
  }

  // Deferred::errback(failure)
  //
  // Fires the Deferred with a Failure: the chain continues at the first errback.
  // `d.errback(TimeoutError("..."))` works too (a Failure is made from the exception, unthrown).
  void errback(Failure failure, std::source_location where = std::source_location::current()) {
    requireState()->errback(std::move(failure), where);
  }

  // Twisted's `called`: whether callback() or errback() has happened.
  bool called() const { return requireState()->called(); }

  // Deferred::describe()
  //
  // One line for a log or a debugger, as Twisted's repr: where it was made, whether it has fired,
  // the type of its current result (or its failure), what it is waiting on, whether it is paused.
  //   "<Deferred at 0x6020.. created app.cc:12, waiting on <Deferred at 0x6030.., not fired>>"
  std::string describe() const {
    return state_ == nullptr ? "<Deferred (moved from)>" : state_->describe();
  }

  // --- Chaining -------------------------------------------------------------------------------
  // Each add* has two forms. On an lvalue handle it keeps the chain's type and returns the
  // handle; on an rvalue (std::move(d) or a temporary) it may change the type and returns the
  // new Deferred<U>. `where` records the caller, for failures a callback throws.

  // Deferred::addCallback(f)
  //
  // f(T) runs when the result is a value; a Failure passes by untouched.
  template <class F>
  Deferred& addCallback(F f, std::source_location where = std::source_location::current()) & {
    checkCallback<F>();
    using U = CallbackCarries<F>;
    static_assert(std::is_same_v<U, T>, DEFT_TYPE_CHANGE_ON_LVALUE_);
    appendStep<internal::CallbacksStep<T, U, F, internal::PassFailure>>(
        "addCallback", std::move(f), internal::PassFailure{}, where);
    return *this;
  }
  template <class F>
  auto addCallback(F f, std::source_location where = std::source_location::current()) && {
    checkCallback<F>();
    using U = CallbackCarries<F>;
    return std::move(*this)
        .template appendStepAndMove<U, internal::CallbacksStep<T, U, F, internal::PassFailure>>(
            "addCallback", std::move(f), internal::PassFailure{}, where);
  }

  // Deferred::addErrback(f)
  //
  // f(Failure) runs when the result is a Failure. It recovers by returning a T (or a Deferred<T>,
  // or an Outcome<T>), or passes a failure on by throwing, returning a Failure, or f.trap<E>().
  // A value passes by untouched, so the chain's type stays T.
  template <class F>
  Deferred& addErrback(F f, std::source_location where = std::source_location::current()) & {
    checkErrback<F>();
    appendStep<internal::CallbacksStep<T, T, internal::PassValue, F>>(
        "addErrback", internal::PassValue{}, std::move(f), where);
    return *this;
  }
  template <class F>
  Deferred addErrback(F f, std::source_location where = std::source_location::current()) && {
    addErrback(std::move(f), where);
    return std::move(*this);
  }

  // Deferred::addCallbacks(callback, errback)
  //
  // One step with both branches: exactly one of them runs, and what it returns goes to the next
  // step. (Unlike addCallback(cb).addErrback(eb), a failure thrown by `callback` does not reach
  // `errback`.) Both must leave the same type.
  template <class F, class G>
  Deferred& addCallbacks(F callback, G errback,
                         std::source_location where = std::source_location::current()) & {
    checkCallback<F>();
    static_assert(std::invocable<G&, Failure&&>, "an errback must be callable with a Failure");
    using U = PairCarries<F, G>;
    checkPair<G, U>();
    static_assert(std::is_same_v<U, T>, DEFT_TYPE_CHANGE_ON_LVALUE_);
    appendStep<internal::CallbacksStep<T, U, F, G>>("addCallbacks", std::move(callback),
                                                    std::move(errback), where);
    return *this;
  }
  template <class F, class G>
  auto addCallbacks(F callback, G errback,
                    std::source_location where = std::source_location::current()) && {
    checkCallback<F>();
    static_assert(std::invocable<G&, Failure&&>, "an errback must be callable with a Failure");
    using U = PairCarries<F, G>;
    checkPair<G, U>();
    return std::move(*this).template appendStepAndMove<U, internal::CallbacksStep<T, U, F, G>>(
        "addCallbacks", std::move(callback), std::move(errback), where);
  }

  // Deferred::addBoth(f)
  //
  // f(Outcome<T>) runs whatever the result: Twisted's addBoth, for clean-up and for code that
  // looks at success and failure together.
  template <class F>
  Deferred& addBoth(F f, std::source_location where = std::source_location::current()) & {
    checkBoth<F>();
    using U = BothCarries<F>;
    static_assert(std::is_same_v<U, T>, DEFT_TYPE_CHANGE_ON_LVALUE_);
    appendStep<internal::BothStep<T, U, F>>("addBoth", std::move(f), where);
    return *this;
  }
  template <class F>
  auto addBoth(F f, std::source_location where = std::source_location::current()) && {
    checkBoth<F>();
    using U = BothCarries<F>;
    return std::move(*this).template appendStepAndMove<U, internal::BothStep<T, U, F>>(
        "addBoth", std::move(f), where);
  }

  // Deferred::chainDeferred(other)
  //
  // When this chain reaches this point, `other` fires with the result (value or Failure), and
  // this chain continues with nothing (Twisted leaves None): it consumes this handle and returns
  // the rest of the chain as a Deferred<void>. `other` must not have fired; if it has, this chain
  // continues with an AlreadyCalledError failure, as in Twisted.
  // Unlike Twisted, a long line of chained Deferreds fires without recursion.
  Deferred<void> chainDeferred(Deferred<T> other) && {
    internal::StateBase* state = takeForChaining("chainDeferred");
    state->chainTo(other.requireState());
    return internal::DeferredAccess::adopt<void>(state);
  }
  void chainDeferred(Deferred<T> other) & {
    static_assert(std::is_void_v<T>,
                  "chainDeferred leaves this chain carrying nothing, which changes its type: "
                  "write std::move(d).chainDeferred(other)");
    internal::StateBase* state = requireState();
    state->checkTail(internal::typeOps<Stored>(), "chainDeferred");
    state->chainTo(other.requireState());
  }

  // --- Flow control ---------------------------------------------------------------------------

  // Deferred::pause() / unpause()
  //
  // While paused (pause() called more often than unpause()), callbacks do not run; unpause()
  // runs what accumulated. This is the user-visible pause only: waiting on a returned Deferred is
  // tracked separately, so unpause() never releases a chain that still waits on one (Twisted bug
  // #12726 shares one counter between them).
  void pause() { requireState()->pause(); }
  void unpause() { requireState()->unpause(); }
  bool paused() const { return requireState()->paused(); }

  // Deferred::cancel()
  //
  // Twisted's rules:
  //   - not fired yet: the canceller (if any) runs; if the Deferred is still unfired after it,
  //     it errbacks with CancelledError. Without a canceller, the one callback()/errback() that
  //     the interrupted work may still make later is silently absorbed; with a canceller that did
  //     not fire it, such a late firing is an AlreadyCalledError (the canceller should have
  //     stopped that work);
  //   - fired, but waiting on a Deferred one of its callbacks returned: cancels that one (the
  //     chain then usually continues with its CancelledError);
  //   - fired: nothing happens.
  // A coroutine's Deferred cancels the Deferred the coroutine is awaiting, which throws
  // CancelledError at the co_await.
  void cancel() { requireState()->cancel(); }

  // Deferred::addTimeout(timeout, clock)
  // Deferred::addTimeout(timeout, clock, onTimeoutCancel)
  //
  // Cancels this Deferred if it has not fired `timeout` from now on `clock`. If it fires in time,
  // the timer is cancelled. If the timeout cancelled it, `onTimeoutCancel(outcome, timeout)`
  // decides the result (Twisted's onTimeoutCancel); the default turns the CancelledError into
  // TimeoutError and leaves any other result (a canceller's own error) as it is. The chain's type
  // does not change. `clock` must outlive the timer (the reactor does).
  Deferred& addTimeout(absl::Duration timeout, IReactorTime& clock,
                       std::source_location where = std::source_location::current()) & {
    return addTimeout(timeout, clock, &cancelledToTimeoutError, where);
  }
  Deferred addTimeout(absl::Duration timeout, IReactorTime& clock,
                      std::source_location where = std::source_location::current()) && {
    addTimeout(timeout, clock, where);
    return std::move(*this);
  }
  template <class F>
    requires std::is_invocable_r_v<Outcome<T>, F&, Outcome<T>, absl::Duration>
  Deferred& addTimeout(absl::Duration timeout, IReactorTime& clock, F onTimeoutCancel,
                       std::source_location where = std::source_location::current()) & {
    auto timedOut = std::make_shared<bool>(false);
    std::shared_ptr<IDelayedCall> call =
        clock.callLater(timeout, [self = *this, timedOut]() mutable {
          *timedOut = true;
          self.cancel();
        });
    return addBoth(
        [call = std::move(call), timedOut, timeout,
         onTimeoutCancel = std::move(onTimeoutCancel)](Outcome<T> outcome) mutable -> Outcome<T> {
          if (call->active()) call->cancel();
          if (*timedOut) return std::invoke(onTimeoutCancel, std::move(outcome), timeout);
          return outcome;
        },
        where);
  }
  template <class F>
    requires std::is_invocable_r_v<Outcome<T>, F&, Outcome<T>, absl::Duration>
  Deferred addTimeout(absl::Duration timeout, IReactorTime& clock, F onTimeoutCancel,
                      std::source_location where = std::source_location::current()) && {
    addTimeout(timeout, clock, std::move(onTimeoutCancel), where);
    return std::move(*this);
  }

  // --- Coroutines -----------------------------------------------------------------------------

  // `co_await d` inside a coroutine that returns a Deferred: suspends until d fires (not at all
  // if it has fired), then gives its value or throws its failure's exception. The result moves
  // into the coroutine, so afterwards d carries nothing, as a Deferred returned from a callback
  // does. `co_await std::move(d)` also gives up the handle.
  internal::Awaiter<T> operator co_await() &&;
  internal::Awaiter<T> operator co_await() &;

 private:
  template <class U>
  friend class Deferred;
  friend struct internal::DeferredAccess;
  struct AdoptTag {};

  // addTimeout's default onTimeoutCancel (Twisted's _cancelledToTimedOutError).
  static Outcome<T> cancelledToTimeoutError(Outcome<T> outcome, absl::Duration timeout) {
    if (!outcome.ok() && outcome.failure().template check<CancelledError>()) {
      return Failure(TimeoutError("Deferred timed out after " + absl::FormatDuration(timeout)));
    }
    return outcome;
  }

  // Takes over one reference.
  Deferred(internal::StateBase* state, AdoptTag) : state_(state) {}

  internal::StateBase* requireState() const {
    if (state_ == nullptr) throw DeferredTypeError("use of a moved-from Deferred handle");
    return state_;
  }

  template <class F>
  static constexpr void checkCallback() {
    static_assert(internal::CallableWith<F, T>,
                  "a callback on Deferred<T> must be callable with a T (with no arguments for "
                  "Deferred<void>)");
  }

  template <class F>
  static constexpr void checkBoth() {
    static_assert(std::invocable<F&, Outcome<T>&&>,
                  "an addBoth function on Deferred<T> must be callable with an Outcome<T>");
  }

  // Whether an errback leaving `E` fits a chain that carries `U` after it.
  template <class E, class U, bool kReturnsDeferred>
  static constexpr bool kErrbackFits =
      std::is_same_v<E, internal::FailsOnly> || std::is_same_v<E, U> ||
      (!kReturnsDeferred && !std::is_void_v<E> && !std::is_void_v<U> &&
       std::is_convertible_v<E, U>);

  template <class G>
  static constexpr void checkErrback() {
    static_assert(std::invocable<G&, Failure&&>, "an errback must be callable with a Failure");
    static_assert(
        kErrbackFits<typename internal::ErrbackCarried<G>::Type, T,
                     internal::kErrbackReturnsDeferred<G>>,
        "an errback on Deferred<T> recovers with a T (or a Deferred<T> / Outcome<T>), or fails "
        "(throw, return a Failure); returning nothing fits only Deferred<void>");
  }

  template <class G, class U>
  static constexpr void checkPair() {
    static_assert(kErrbackFits<typename internal::ErrbackCarried<G>::Type, U,
                               internal::kErrbackReturnsDeferred<G>>,
                  "addCallbacks: the callback and the errback must leave the same type");
  }

  template <class F>
  using CallbackCarries =
      internal::OrIfFailsOnly<typename internal::CallbackCarried<F, T>::Type, T>;

  template <class F, class G>
  using PairCarries = internal::OrIfFailsOnly<
      typename internal::CallbackCarried<F, T>::Type,
      internal::OrIfFailsOnly<typename internal::ErrbackCarried<G>::Type, T>>;

  template <class F>
  using BothCarries =
      internal::OrIfFailsOnly<typename internal::CallbackCarried<F, Outcome<T>>::Type, T>;

  template <class Step, class... Args>
  void appendStep(const char* operation, Args&&... args) {
    internal::StateBase* state = requireState();
    state->checkTail(internal::typeOps<Stored>(), operation);
    state->pushStep<Step>(std::forward<Args>(args)...);
    state->runCallbacks();
  }

  template <class U, class Step, class... Args>
  Deferred<U> appendStepAndMove(const char* operation, Args&&... args) && {
    internal::StateBase* state = takeForChaining(operation);
    Deferred<U> next(state, typename Deferred<U>::AdoptTag{});
    state->pushStep<Step>(std::forward<Args>(args)...);
    state->setTailType(internal::typeOps<internal::Stored<U>>());
    state->runCallbacks();
    return next;
  }

  // Releases this handle's reference to the caller, after checking it is current.
  internal::StateBase* takeForChaining(const char* operation) {
    internal::StateBase* state = requireState();
    state->checkTail(internal::typeOps<Stored>(), operation);
    state_ = nullptr;
    return state;
  }

  internal::StateBase* state_;
};

// setDeferredThread(id) / clearDeferredThread()
//
// Declares which thread Deferreds belong to (the reactor does, while it runs). In debug builds
// (without NDEBUG), firing a Deferred on any other thread then aborts with a message naming both
// threads: such a firing races with the owning thread's callbacks, and fails far from its cause.
// Without a declared thread, or with NDEBUG, nothing is checked.
void setDeferredThread(std::thread::id owner);
void clearDeferredThread();

// succeed(value)
//
// A Deferred that has fired with `value`: callbacks added to it run at once.
// A string literal gives a Deferred<std::string>, not a Deferred<const char*>.
template <class T>
auto succeed(T&& value) {
  using V = std::conditional_t<std::is_same_v<std::decay_t<T>, const char*> ||
                                   std::is_same_v<std::decay_t<T>, char*>,
                               std::string, std::decay_t<T>>;
  Deferred<V> d;
  d.callback(V(std::forward<T>(value)));
  return d;
}
inline Deferred<void> succeed() {
  Deferred<void> d;
  d.callback();
  return d;
}

// fail<T>(failure)
//
// A Deferred<T> that has fired with `failure`.
template <class T = void>
Deferred<T> fail(Failure failure) {
  Deferred<T> d;
  d.errback(std::move(failure));
  return d;
}

// maybeDeferred(f, args...)
//
// Calls f(args...) now and gives its result as a Deferred, whatever f does: a Deferred it returns
// is passed through, a value becomes succeed(value), an exception becomes fail(...). The way to
// call code that may or may not be asynchronous.
template <class F, class... Args>
auto maybeDeferred(F&& f, Args&&... args) {
  using R = std::remove_cvref_t<std::invoke_result_t<F, Args...>>;
  if constexpr (internal::kIsDeferred<R>) {
    try {
      return R(std::invoke(std::forward<F>(f), std::forward<Args>(args)...));
    } catch (...) {
      return fail<typename R::ValueType>(Failure::fromCurrentException());
    }
  } else {
    using U = typename internal::Carried<R>::Type;
    static_assert(!std::is_same_v<U, internal::FailsOnly>,
                  "maybeDeferred: a function that only returns a Failure has no result type");
    Deferred<U> d;
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
        d.callback();
      } else if constexpr (internal::kIsOutcome<R>) {
        R outcome = std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
        if (!outcome.ok()) {
          d.errback(std::move(outcome).failure());
        } else if constexpr (std::is_void_v<U>) {
          d.callback();
        } else {
          d.callback(std::move(outcome).value());
        }
      } else {
        d.callback(std::invoke(std::forward<F>(f), std::forward<Args>(args)...));
      }
    } catch (...) {
      if (!d.called()) d.errback(Failure::fromCurrentException());
      else throw;  // thrown by one of d's callbacks: there are none yet, so this cannot happen
    }
    return d;
  }
}

}  // namespace deft

#undef DEFT_TYPE_CHANGE_ON_LVALUE_

#include "deferred/internal/coroutine.h"  // IWYU pragma: export

#endif  // DEFT_DEFERRED_DEFERRED_H_
