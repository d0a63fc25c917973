// File: deferred/internal/coroutine.h
//
// inlineCallbacks as C++20 coroutines: the promise type behind a function that returns
// Deferred<T> and uses co_await / co_return, and the awaiter that `co_await deferred` uses.
// Included by deferred.h; the documentation of the behaviour is there and in coroutine_test.cc.
//
// How it runs:
//   - Eagerly, like inlineCallbacks: calling the function runs its body up to the first co_await
//     of a Deferred that has not fired. Awaiting one that has fired does not suspend, so a loop
//     over 100,000 fired Deferreds runs flat.
//   - Suspending adds a step to the awaited Deferred that resumes the coroutine with its result.
//     The coroutine frame is owned by that step. The coroutine keeps the awaited Deferred alive
//     while a handle on its own Deferred exists anywhere else, so that cancelling it reaches the
//     awaited one's canceller. Once nothing else holds the coroutine's Deferred and nothing else
//     can fire the awaited one, both are freed: the frame is destroyed, locals and all, and the
//     coroutine's own Deferred never fires. (Only handles count: a chain waiting on the
//     coroutine's Deferred, or a DeferredList over it, does not hold it. Cancelling through
//     those still reaches the awaited Deferred when its producer holds it, as a producer that
//     will fire it does; an awaited Deferred that only a canceller could end is then freed.)
//     A handle the frame itself holds, such as a parameter awaited as an lvalue, keeps the
//     awaited Deferred alive: `co_await std::move(d)` lets it go.
//   - co_return (or an exception escaping the body) destroys the frame and then fires the
//     coroutine's Deferred, so its callbacks run after the coroutine's locals are gone.
//   - Cancelling the coroutine's Deferred cancels the Deferred it is awaiting (its canceller
//     runs); CancelledError, or whatever that canceller fired it with, is then thrown at the
//     co_await, and what the coroutine does with it decides the result. A canceller that fires
//     the awaited Deferred later resumes the coroutine then.

#ifndef DEFT_DEFERRED_INTERNAL_COROUTINE_H_
#define DEFT_DEFERRED_INTERNAL_COROUTINE_H_

#include <coroutine>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/base/attributes.h"
#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "deferred/failure.h"
#include "deferred/internal/state.h"
#include "deferred/outcome.h"

namespace deft::internal {

class CoroutinePromiseBase : private StateBase::SoleHolder {
 public:
  CoroutinePromiseBase(const CoroutinePromiseBase&) = delete;
  CoroutinePromiseBase& operator=(const CoroutinePromiseBase&) = delete;

  // Suspended on `awaited` (one reference handed over). While anyone but this coroutine holds its
  // Deferred, the coroutine keeps `awaited` alive: cancelling the coroutine must reach the
  // awaited Deferred's canceller even when nothing else holds it (a Deferred returned by a
  // function and awaited at once). Once nobody else can cancel or observe the coroutine, it lets
  // go: then whoever can fire `awaited` keeps it, and with it this frame (see ResumeStep); if
  // nobody can, both are freed. Letting go may therefore destroy this frame.
  void suspendOn(StateBase* awaited) {
    awaiting_ = awaited;
    if (state_->sharedOutside()) {
      holdsAwaited_ = true;
      state_->lendReferenceTo(this);
    } else {
      awaited->release();
    }
  }
  // Every co_await in the coroutine goes through here: it records the user's line, which a
  // failure escaping the coroutine then names (Failure::escapedAt).
  template <class A>
  A&& await_transform(A&& awaitable, std::source_location where = std::source_location::current()) {
    where_ = where;
    return std::forward<A>(awaitable);
  }

  // The awaited Deferred fired (or dropped the step that would resume us).
  void stopAwaiting() {
    StateBase* awaited = std::exchange(awaiting_, nullptr);
    state_->takeReferenceBack();
    // Safe inside the awaited chain: a running chain or a clearing one holds its own reference.
    if (std::exchange(holdsAwaited_, false)) awaited->release();
  }

 protected:
  explicit CoroutinePromiseBase(const TypeOps* type) : state_(new StateBase(type)) {
    state_->setCanceller([this](StateBase& self) { return cancelAwaited(self); });
  }
  ~CoroutinePromiseBase() {
    if (state_ != nullptr) {  // destroyed before finishing: its awaited Deferred was freed
      state_->takeReferenceBack();
      state_->setCanceller(nullptr);
      state_->release();
    }
  }

  // Fires the coroutine's Deferred after the frame is gone. Never throws: a coroutine whose
  // Deferred was fired from outside (a misuse) reports the conflict as an unhandled failure.
  template <class T>
  static void finish(StateBase* state, Outcome<T> outcome) noexcept {
    state->setCanceller(nullptr);
    try {
      if (state->beginFire()) {
        if (!outcome.ok()) {
          state->setFailure(std::move(outcome).failure());
        } else if constexpr (std::is_void_v<T>) {
          state->setValue<Unit>();
        } else {
          state->setValue<T>(std::move(outcome).value());
        }
        state->finishFire();
      }
    } catch (...) {
      reportUnhandledFailure(Failure::fromCurrentException());
    }
    state->release();
  }

  StateBase* state_;  // one reference, handed to the Deferred's callbacks at the end
  // The user's last co_await, or the coroutine itself before its first: what a failure escaping
  // it names.
  std::source_location where_;

 private:
  bool cancelAwaited(StateBase& self) {
    if (awaiting_ == nullptr) {
      // Cancelled while running (from inside itself): errback now and absorb its own later
      // result, as for a Deferred without a canceller.
      self.suppressNextFiring();
      return false;
    }
    StateBase* awaited = awaiting_;
    awaited->addRef();
    ReleaseOnExit release(awaited);  // a canceller that throws throws to the caller of cancel()
    awaited->cancel();  // may resume and even finish this coroutine: `this` may be gone after
    return true;
  }

  // Nobody but this coroutine holds its Deferred any more: nobody can cancel it, so it stops
  // keeping the awaited Deferred alive (see suspendOn).
  void onlyHolderLeft() noexcept override {  // the state gave our reference back already
    if (std::exchange(holdsAwaited_, false)) awaiting_->release();  // may destroy this frame
  }

  StateBase* awaiting_ = nullptr;  // owned while holdsAwaited_
  bool holdsAwaited_ = false;
};

// Returns the coroutine's result into the promise (return_value vs return_void).
template <class T>
class ReturnValue {
 public:
  template <class V = T>
    requires std::constructible_from<Outcome<T>, V&&>
  void return_value(V&& value) {
    result_.emplace(std::forward<V>(value));
  }

 protected:
  std::optional<Outcome<T>> result_;
};

template <>
class ReturnValue<void> {
 public:
  void return_void() { result_.emplace(); }

 protected:
  std::optional<Outcome<void>> result_;
};

template <class T>
class CoroutinePromise : public CoroutinePromiseBase, public ReturnValue<T> {
 public:
  CoroutinePromise() : CoroutinePromiseBase(typeOps<Stored<T>>()) {}

  // GCC gives the coroutine's own function and file for `where` here.
  Deferred<T> get_return_object(std::source_location where = std::source_location::current()) {
    where_ = where;
    state_->setCreatedAt(where);
    state_->addRef();
    return DeferredAccess::adopt<T>(state_);
  }

  std::suspend_never initial_suspend() noexcept { return {}; }

  auto final_suspend() noexcept {
    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<CoroutinePromise> handle) noexcept {
        CoroutinePromise& promise = handle.promise();
        StateBase* state = std::exchange(promise.state_, nullptr);
        Outcome<T> outcome = std::move(*promise.result_);
        handle.destroy();  // locals and frame first, then the callbacks
        finish<T>(state, std::move(outcome));
      }
      void await_resume() noexcept {}
    };
    return FinalAwaiter{};
  }

  void unhandled_exception() {
    try {
      throw;
    } catch (const Failure& failure) {
      this->result_.emplace(failure.escapedThrough(where_));  // thrown by trap(): same origin
    } catch (...) {
      // A failure rethrown by co_await comes back with its origin; anything else was thrown by
      // the coroutine's own code, after the last co_await.
      this->result_.emplace(Failure::fromCurrentException(where_).escapedThrough(where_));
    }
  }
};

// The step a suspended coroutine leaves in the Deferred it awaits.
template <class U>
class ResumeStep {
 public:
  ResumeStep(Awaiter<U>* awaiter, std::coroutine_handle<> coroutine, CoroutinePromiseBase* promise)
      : awaiter_(awaiter), coroutine_(coroutine), promise_(promise) {}
  ResumeStep(const ResumeStep&) = delete;
  ResumeStep& operator=(const ResumeStep&) = delete;
  ~ResumeStep() {
    if (coroutine_) {  // the awaited Deferred dropped us unfired: the coroutine can never resume
      promise_->stopAwaiting();
      coroutine_.destroy();
    }
  }

  void run(StateBase& state, RunStack&) {
    promise_->stopAwaiting();
    awaiter_->receive(state);
    std::exchange(coroutine_, nullptr).resume();
  }

 private:
  Awaiter<U>* awaiter_;  // lives in the suspended frame
  std::coroutine_handle<> coroutine_;
  CoroutinePromiseBase* promise_;
};

template <class U>
class Awaiter {
 public:
  explicit Awaiter(StateBase* awaited) : awaited_(awaited) {}  // takes over one reference
  Awaiter(const Awaiter&) = delete;
  Awaiter& operator=(const Awaiter&) = delete;
  ~Awaiter() {
    if (awaited_ != nullptr) awaited_->release();
  }

  bool await_ready() const noexcept { return awaited_->readyToHandOff(); }

  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> coroutine) {
    static_assert(std::is_base_of_v<CoroutinePromiseBase, Promise>,
                  "a Deferred can be co_awaited only inside a coroutine that returns a Deferred");
    StateBase* awaited = std::exchange(awaited_, nullptr);
    CoroutinePromiseBase* promise = &coroutine.promise();
    awaited->pushStep<ResumeStep<U>>(this, coroutine, promise);
    awaited->setTailType(typeOps<Unit>());
    // May free `awaited`, and with it this coroutine's frame: nothing below may touch `this`.
    promise->suspendOn(awaited);
  }

  U await_resume() {
    if (awaited_ != nullptr) receive(*awaited_);  // did not suspend
    if (result_.index() == 2) std::get<2>(result_).raiseException();
    if constexpr (!std::is_void_v<U>) return std::move(std::get<1>(result_));
  }

  // Takes the awaited Deferred's result, leaving it carrying nothing (as a returned Deferred is).
  // The failure path is out of line, so that the value path stays small enough to be inlined
  // into every co_await.
  void receive(StateBase& awaited) {
    if (awaited.hasFailure()) [[unlikely]] {
      receiveFailure(awaited);
    } else {
      result_.template emplace<1>(awaited.takeValue<Stored<U>>());
    }
    awaited.setValue<Unit>();
    awaited.setTailType(typeOps<Unit>());
  }
  ABSL_ATTRIBUTE_NOINLINE void receiveFailure(StateBase& awaited) {
    result_.template emplace<2>(awaited.takeFailure());
  }

 private:
  StateBase* awaited_;
  std::variant<std::monostate, Stored<U>, Failure> result_;
};

}  // namespace deft::internal

namespace deft {

template <class T>
internal::Awaiter<T> Deferred<T>::operator co_await() && {
  return internal::Awaiter<T>(takeForChaining("co_await"));
}

template <class T>
internal::Awaiter<T> Deferred<T>::operator co_await() & {
  internal::StateBase* state = requireState();
  state->checkTail(internal::typeOps<Stored>(), "co_await");
  state->addRef();
  return internal::Awaiter<T>(state);
}

}  // namespace deft

#endif  // DEFT_DEFERRED_INTERNAL_COROUTINE_H_
