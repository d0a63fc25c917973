// File: deferred/internal/callbacks.h
//
// The typed half of a chain step: which type a callback leaves the chain carrying, and the step
// that calls a callback or an errback and stores what it returns. Everything here is resolved at
// compile time; the type-erased half is state.h.
//
// What a callback may return, and what the chain carries after it (Twisted's rules, typed):
//   U                -> U
//   void             -> void
//   Deferred<U>      -> U, once that Deferred fires (the chain pauses until then)
//   Outcome<U>       -> U, or the failure it holds
//   Failure          -> the failure; the chain's type is the other branch's (or unchanged)
// Anything thrown becomes a Failure; a thrown Failure (Failure::trap) passes on unchanged.
//
// A callback that returns a Deferred may be a coroutine lambda, whose captures live in the
// closure, not in the coroutine frame: the coroutine reads them through the closure's address
// after its first co_await. So a step keeps such a callable (one with captures) on the heap and
// hands it to the Deferred it returned, which destroys it once it has fired (KeptUntilFired).

#ifndef DEFT_DEFERRED_INTERNAL_CALLBACKS_H_
#define DEFT_DEFERRED_INTERNAL_CALLBACKS_H_

#include <concepts>
#include <functional>
#include <memory>
#include <source_location>
#include <type_traits>
#include <utility>

#include "deferred/failure.h"
#include "deferred/internal/state.h"
#include "deferred/outcome.h"

namespace deft {
template <class T>
class Deferred;
}  // namespace deft

namespace deft::internal {

// Lets this file take the state out of a Deferred<U> a callback returned (deferred.h befriends it).
struct DeferredAccess {
  template <class U>
  static StateBase* release(Deferred<U>&& d) {
    return std::exchange(d.state_, nullptr);
  }
  template <class U>
  static Deferred<U> adopt(StateBase* state) {
    return Deferred<U>(state, typename Deferred<U>::AdoptTag{});
  }
  template <class U>
  static StateBase* state(const Deferred<U>& d) {
    return d.state_;
  }
  // A new handle on `state` (one more reference).
  template <class U>
  static Deferred<U> borrow(StateBase* state) {
    state->addRef();
    return adopt<U>(state);
  }
};

template <class R>
inline constexpr bool kIsDeferred = false;
template <class U>
inline constexpr bool kIsDeferred<Deferred<U>> = true;

template <class R>
inline constexpr bool kIsOutcome = false;
template <class U>
inline constexpr bool kIsOutcome<Outcome<U>> = true;

// Marks "this branch only fails": its type is taken from the other branch.
struct FailsOnly {};

template <class R>
struct Carried {
  using Type = R;
};
template <>
struct Carried<Failure> {
  using Type = FailsOnly;
};
template <class U>
struct Carried<Deferred<U>> {
  using Type = U;
};
template <class U>
struct Carried<Outcome<U>> {
  using Type = U;
};

// Whether `F` can be called with a T (with nothing, for T = void).
template <class F, class T>
concept CallableWith = (std::is_void_v<T> && std::invocable<F&>) ||
                       (!std::is_void_v<T> && std::invocable<F&, T&&>);

template <class F, class T>
struct InvokeResult {
  using Type = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;
};
template <class F>
struct InvokeResult<F, void> {
  using Type = std::remove_cvref_t<std::invoke_result_t<F&>>;
};

// What the chain carries after `F` runs on a T (FailsOnly if it can only fail).
template <class F, class T>
using CarriedAfter = typename Carried<typename InvokeResult<F, T>::Type>::Type;

// What the chain carries after callback F on a T; FailsOnly (a placeholder, so that only the
// caller's static_assert reports the mistake) when F cannot take a T.
template <class F, class T, bool = CallableWith<F, T>>
struct CallbackCarried {
  using Type = FailsOnly;
};
template <class F, class T>
struct CallbackCarried<F, T, true> {
  using Type = CarriedAfter<F, T>;
};

// The same for an errback.
template <class F, bool = std::invocable<F&, Failure&&>>
struct ErrbackCarried {
  using Type = FailsOnly;
};
template <class F>
struct ErrbackCarried<F, true> {
  using Type = CarriedAfter<F, Failure>;
};

template <class F, bool = std::invocable<F&, Failure&&>>
inline constexpr bool kErrbackReturnsDeferred = false;
template <class F>
inline constexpr bool kErrbackReturnsDeferred<F, true> =
    kIsDeferred<typename InvokeResult<F, Failure>::Type>;

// Resolves FailsOnly against the type the chain would otherwise carry.
template <class U, class Otherwise>
using OrIfFailsOnly = std::conditional_t<std::is_same_v<U, FailsOnly>, Otherwise, U>;

template <class T, class F>
decltype(auto) callWith(F& f, Stored<T>&& value) {
  if constexpr (std::is_void_v<T>) {
    return f();
  } else {
    return f(std::move(value));
  }
}

// Calls `invoke` and stores what it returns as the chain's new result (of type U).
template <class U, class Invoke>
void deliver(StateBase& state, const std::source_location& where, Invoke&& invoke) {
  using R = std::remove_cvref_t<decltype(invoke())>;
  try {
    if constexpr (std::is_void_v<R>) {
      invoke();
      state.setValue<Unit>();
    } else if constexpr (std::is_same_v<R, Failure>) {
      state.setFailure(invoke());
    } else if constexpr (kIsOutcome<R>) {
      R outcome = invoke();
      if (!outcome.ok()) {
        state.setFailure(std::move(outcome).failure());
      } else if constexpr (std::is_void_v<U>) {
        state.setValue<Unit>();
      } else {
        state.setValue<Stored<U>>(std::move(outcome).value());
      }
    } else if constexpr (kIsDeferred<R>) {
      state.adoptReturnedDeferred(DeferredAccess::release(invoke()), typeOps<Stored<U>>());
    } else {
      state.setValue<Stored<U>>(invoke());
    }
  } catch (const Failure& failure) {
    state.setFailure(failure);  // Failure::trap: the same failure, with its origin
  } catch (...) {
    state.setFailure(Failure::fromCurrentException(where));
  }
}

// Stand-ins for "no callback" / "no errback" on a branch: the result passes through untouched.
struct PassValue {};
struct PassFailure {};

// A callable with state whose call returns a Deferred (maybe a coroutine lambda's), kept at one
// address until that Deferred fires. Called once, as every step's callable is.
template <class F>
class KeptUntilFired {
 public:
  explicit KeptUntilFired(F f) : f_(std::make_unique<F>(std::move(f))) {}

  template <class... Args>
  auto operator()(Args&&... args) {
    auto returned = std::invoke(*f_, std::forward<Args>(args)...);
    if (!returned.called()) {  // a coroutine suspended in *f_, or work not done yet
      using Result = typename decltype(returned)::ValueType;
      returned.addBoth([kept = std::move(f_)](Outcome<Result> outcome) { return outcome; });
    }
    return returned;
  }

 private:
  std::unique_ptr<F> f_;
};

// How deft holds a callable F that it calls once with an Arg (void: with nothing): as it is, or
// KeptUntilFired when it has state and returns a Deferred. Chain steps, deferLater and the
// reactor's callLater/callWhenRunning/callFromThread hold their callables so.
template <class F, class Arg, bool = CallableWith<F, Arg>>
struct HeldCallableOf {
  using Type = F;
};
template <class F, class Arg>
struct HeldCallableOf<F, Arg, true> {
  using Type = std::conditional_t<!std::is_empty_v<F> && kIsDeferred<typename InvokeResult<F, Arg>::Type>,
                                  KeptUntilFired<F>, F>;
};
template <class F, class Arg>
using HeldCallable = typename HeldCallableOf<F, Arg>::Type;

// A callable that takes nothing and returns a Deferred (a coroutine lambda, say).
template <class F>
concept ReturnsDeferred = std::invocable<F&> && kIsDeferred<typename InvokeResult<F, void>::Type>;

// `f` as a void() callable for APIs that drop what their callable returns (callLater and the
// like): f is kept until the Deferred it returns fires, and that Deferred is dropped, so a
// failure it ends with is reported as unhandled, as any dropped Deferred's is.
template <ReturnsDeferred F>
auto droppingResult(F f) {
  return [held = HeldCallable<F, void>(std::move(f))]() mutable { (void)held(); };
}

// One addCallbacks() pair: runs `cb` on a value of type T or `eb` on a failure; leaves a U.
template <class T, class U, class Cb, class Eb>
class CallbacksStep {
 public:
  CallbacksStep(Cb cb, Eb eb, std::source_location where)
      : cb_(HeldCallable<Cb, T>(std::move(cb))), eb_(HeldCallable<Eb, Failure>(std::move(eb))),
        where_(where) {}

  void run(StateBase& state, RunStack&) {
    if (state.hasValue()) {
      if constexpr (!std::is_same_v<Cb, PassValue>) {
        Stored<T> value = state.takeValue<Stored<T>>();
        deliver<U>(state, where_,
                   [&]() -> decltype(auto) { return callWith<T>(cb_, std::move(value)); });
      }
    } else if constexpr (!std::is_same_v<Eb, PassFailure>) {
      Failure failure = state.takeFailure();
      deliver<U>(state, where_,
                 [&]() -> decltype(auto) { return std::invoke(eb_, std::move(failure)); });
    }
  }

 private:
  [[no_unique_address]] HeldCallable<Cb, T> cb_;
  [[no_unique_address]] HeldCallable<Eb, Failure> eb_;
  std::source_location where_;
};

// One addBoth() function: runs `f` on the Outcome<T>; leaves a U.
template <class T, class U, class F>
class BothStep {
 public:
  BothStep(F f, std::source_location where)
      : f_(HeldCallable<F, Outcome<T>>(std::move(f))), where_(where) {}

  void run(StateBase& state, RunStack&) {
    Outcome<T> outcome = takeOutcome(state);
    deliver<U>(state, where_, [&]() -> decltype(auto) { return std::invoke(f_, std::move(outcome)); });
  }

 private:
  static Outcome<T> takeOutcome(StateBase& state) {
    if (state.hasFailure()) return Outcome<T>(state.takeFailure());
    if constexpr (std::is_void_v<T>) {
      state.takeValue<Unit>();
      return Outcome<T>();
    } else {
      return Outcome<T>(state.takeValue<T>());
    }
  }

  [[no_unique_address]] HeldCallable<F, Outcome<T>> f_;
  std::source_location where_;
};

}  // namespace deft::internal

#endif  // DEFT_DEFERRED_INTERNAL_CALLBACKS_H_
