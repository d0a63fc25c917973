// File: deferred/internal/state.h
//
// The one heap object behind every Deferred<T> handle: the result, the callback queue and the
// flags, all type-erased so that chains which change type (int -> string -> size_t) stay in one
// allocation. Deferred<T> (deferred.h) is the typed view; the typed steps in callbacks.h are the
// only code that reads or writes the result slot, and each knows the type statically.
//
// Types are tracked at run time too, as a backstop for the one mistake the compiler cannot see:
// two handles on the same state used at different types. `inputType_` is what callback() must be
// given; `tailType_` is what the next added callback receives.
//
// Single-threaded: the reference count and every field belong to the thread that uses the
// Deferred (the reactor thread, in a program with a reactor).

#ifndef DEFT_DEFERRED_INTERNAL_STATE_H_
#define DEFT_DEFERRED_INTERNAL_STATE_H_

#include <cstdint>
#include <new>
#include <string>
#include <source_location>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "deferred/failure.h"
#include "deferred/internal/scope_core.h"
#include "deferred/internal/step_queue.h"
#include "deferred/outcome.h"

namespace deft::internal {

// ---------------------------------------------------------------------------------------------
// The result slot: a value of any type, inline when small.

inline constexpr std::size_t kInlineValueBytes = 48;
inline constexpr std::size_t kInlineValueAlign = 16;

template <class T>
inline constexpr bool kStoredInline = sizeof(T) <= kInlineValueBytes &&
                                      alignof(T) <= kInlineValueAlign &&
                                      std::is_nothrow_move_constructible_v<T>;

struct TypeOps {
  const std::type_info& type;
  void (*destroy)(void* slot) noexcept;
  // Moves the value from one slot into another (uninitialised) one, and destroys the source.
  void (*relocate)(void* from, void* to) noexcept;
};

template <class T>
struct SlotAccess {
  static T& get(void* slot) {
    if constexpr (kStoredInline<T>) {
      return *std::launder(static_cast<T*>(slot));
    } else {
      return **static_cast<T**>(slot);
    }
  }
  template <class... Args>
  static void construct(void* slot, Args&&... args) {
    if constexpr (kStoredInline<T>) {
      new (slot) T(std::forward<Args>(args)...);
    } else {
      *static_cast<T**>(slot) = new T(std::forward<Args>(args)...);
    }
  }
  static void destroy(void* slot) noexcept {
    if constexpr (kStoredInline<T>) {
      get(slot).~T();
    } else {
      delete *static_cast<T**>(slot);
    }
  }
  static void relocate(void* from, void* to) noexcept {
    if constexpr (kStoredInline<T>) {
      new (to) T(std::move(get(from)));
      get(from).~T();
    } else {
      *static_cast<T**>(to) = *static_cast<T**>(from);
    }
  }
};

template <class T>
inline constexpr TypeOps kTypeOps = {typeid(T), &SlotAccess<T>::destroy,
                                     &SlotAccess<T>::relocate};

template <class T>
const TypeOps* typeOps() {
  return &kTypeOps<T>;
}

// ---------------------------------------------------------------------------------------------
// The explicit stack of Twisted's `_runCallbacks`: when a step hands its result to another
// Deferred (a returned Deferred firing, chainDeferred), that Deferred is pushed here and run by
// the same loop, instead of by a nested call. This is what keeps 100,000 chained Deferreds off
// the C++ stack.

// The stack is intrusive (each state has a `nextOnStack_` link): a state is on at most one stack
// at a time, and running a chain then costs no allocation at all.
class RunStack {
 public:
  RunStack() = default;
  RunStack(const RunStack&) = delete;
  RunStack& operator=(const RunStack&) = delete;
  ~RunStack();

  // Takes over one reference to `state`.
  void push(StateBase* state);
  StateBase* top() const { return top_; }
  bool empty() const { return top_ == nullptr; }
  void pop();

 private:
  StateBase* top_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

class StateBase {
 public:
  // Returns true when it has cancellation in hand (Deferred::cancel then does not errback).
  using Canceller = absl::AnyInvocable<bool(StateBase&)>;

  explicit StateBase(const TypeOps* type, std::source_location createdAt = {})
      : inputType_(type), tailType_(type), createdAt_(createdAt) {}
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;
  ~StateBase();

  // A holder that lent its reference (lendReferenceTo) is told when every other reference is
  // gone: it is then the only code that can reach this state (a suspended coroutine's promise).
  class SoleHolder {
   public:
    virtual void onlyHolderLeft() noexcept = 0;

   protected:
    ~SoleHolder() = default;
  };

  void addRef() { ++refs_; }
  void release() {
    if (--refs_ == 0) {
      if (hasSoleHolder_) [[unlikely]] {
        tellSoleHolder();  // may free this state: nothing after it
      } else {
        delete this;
      }
    }
  }
  bool sharedOutside() const { return refs_ > 1; }
  // `holder` owns one reference and lends it out of the count, so that the count reaching zero
  // means "only the holder is left": then it takes it back and is told (onlyHolderLeft), on the
  // path release() takes anyway when the count reaches zero, so release() costs nothing more.
  // Only while shared outside, and only on a state that has not fired (a suspended coroutine's
  // own): the holder shares its slot with waitingOn_, which only a fired state uses.
  void lendReferenceTo(SoleHolder* holder) {
    soleHolder_ = holder;
    hasSoleHolder_ = true;
    --refs_;
  }
  // The holder takes its reference back, if it lent it. Never frees the state.
  void takeReferenceBack() {
    if (!hasSoleHolder_) return;
    hasSoleHolder_ = false;
    soleHolder_ = nullptr;
    ++refs_;
  }

  // --- Result slot ----------------------------------------------------------------------------
  bool hasValue() const { return result_ == Result::kValue; }
  bool hasFailure() const { return result_ == Result::kFailure; }

  template <class T, class... Args>
  void setValue(Args&&... args) {
    SlotAccess<T>::construct(slot_, std::forward<Args>(args)...);
    valueType_ = typeOps<T>();
    result_ = Result::kValue;
  }
  template <class T>
  T takeValue() {
    T value(std::move(SlotAccess<T>::get(slot_)));
    SlotAccess<T>::destroy(slot_);
    result_ = Result::kNone;
    return value;
  }
  void setFailure(Failure failure) {
    new (slot_) Failure(std::move(failure));
    result_ = Result::kFailure;
    failureConsumed_ = false;
  }
  // The result, left in place (for an observer that copies it, like DeferredList).
  template <class T>
  T& peekValue() {
    return SlotAccess<T>::get(slot_);
  }
  const Failure& peekFailure() const {
    return *std::launder(reinterpret_cast<const Failure*>(slot_));
  }
  // The failure now in the slot has been seen by someone who took responsibility for it
  // (DeferredList's consumeErrors): it stays the result, but is not reported as unhandled.
  void markFailureConsumed() { failureConsumed_ = true; }
  Failure takeFailure() {
    Failure* stored = std::launder(reinterpret_cast<Failure*>(slot_));
    Failure failure(std::move(*stored));
    stored->~Failure();
    result_ = Result::kNone;
    return failure;
  }
  void discardResult() noexcept;
  // Moves this state's result into `to` (whose slot is empty) and leaves Unit here: what Twisted
  // does when it hands a Deferred's result on and leaves it None.
  void moveResultTo(StateBase& to);

  // --- Types ----------------------------------------------------------------------------------
  const TypeOps* inputType() const { return inputType_; }
  const TypeOps* tailType() const { return tailType_; }
  void setTailType(const TypeOps* type) { tailType_ = type; }
  // Throw DeferredTypeError when a handle of type `expected` no longer fits.
  void checkTail(const TypeOps* expected, const char* operation) const {
    if (tailType_ != expected) [[unlikely]] throwTailMismatch(expected, operation);
  }
  void checkInput(const TypeOps* expected) const {
    if (inputType_ != expected) [[unlikely]] throwInputMismatch(expected);
  }

  // --- Firing ---------------------------------------------------------------------------------
  bool called() const { return called_; }
  // Call before storing the first result. Returns false when the result is to be dropped (the
  // one firing a cancelled Deferred absorbs); throws AlreadyCalledError on a second firing.
  bool beginFire(std::source_location where = {}) {
#ifndef NDEBUG
    checkFiringThread();
#endif
    if (called_) [[unlikely]] return beginSecondFire(where);
    firedAt_ = where;
    // Fired: the canceller can never run now. Dropping it here frees what it holds (a coroutine's
    // link, an aggregate's bookkeeping) as soon as the result is in.
    if (canceller_) {
      canceller_ = nullptr;
      cancellerReplaced_ = true;
    }
    return true;
  }
  // Call after storing the first result.
  void finishFire() {
    called_ = true;
    runCallbacks();
  }
  void errback(Failure failure, std::source_location where = {});
  // Where it was made and first fired, for AlreadyCalledError and describe(); empty (line 0) when
  // deft made or fired it with no user line to name.
  const std::source_location& createdAt() const { return createdAt_; }
  // Twisted's repr: see Deferred::describe().
  std::string describe() const;
  void setCreatedAt(std::source_location where) { createdAt_ = where; }
  // For hand-offs run by a RunStack: fired, but the stack runs the callbacks.
  void markCalled() { called_ = true; }
  // From a step of this chain: fires `to` (one reference handed over) with this chain's result
  // and leaves this one carrying Unit; `stack` runs `to`'s callbacks. If `to` has fired already,
  // this chain's result becomes the AlreadyCalledError; a cancelled `to` absorbs it silently.
  void fireFromChain(StateBase* to, RunStack& stack);
  void suppressNextFiring() { suppressAlreadyCalled_ = true; }

  // --- Chain ----------------------------------------------------------------------------------
  template <class S, class... Args>
  void pushStep(Args&&... args) {
    steps_.push<S>(std::forward<Args>(args)...);
  }
  // Runs pending steps if the chain can move: fired, not paused, not waiting, not already running.
  void runCallbacks() {
    if (called_ && !onStack_ && canRun()) runLoop();
  }
  // Whether the result can be taken right now without waiting: a returned Deferred in this state
  // is used at once, and co_await does not suspend.
  bool readyToHandOff() const {
    return called_ && pauseCount_ == 0 && !waiting_ && !onStack_ && steps_.empty() &&
           !cutOffByScope();
  }
  // A callback of `this` returned `inner` (one reference handed over); the chain continues with
  // its result, now or when it fires.
  void adoptReturnedDeferred(StateBase* inner, const TypeOps* expected);
  // Twisted's chainDeferred: when this chain reaches it, `other` fires with the result.
  void chainTo(StateBase* other);

  // Drops the queued steps unrun (what a Scope does to a chain it cut off). The caller holds a
  // reference: a dropped step may release others.
  void dropSteps() noexcept { steps_.clear(); }

  void pause() { ++pauseCount_; }
  void unpause();
  bool paused() const { return pauseCount_ > 0; }

  // --- Scope (deferred/scope.h) ----------------------------------------------------------------
  // Guarded by `scope` (one reference taken): once it has ended, none of this Deferred's steps
  // run any more; those queued are dropped unrun and its result is discarded, unreported.
  void setGuard(ScopeCore* scope) {
    scope->addRef();
    if (guard_ != nullptr) guard_->release();
    guard_ = scope;
  }
  bool cutOffByScope() const { return guard_ != nullptr && guard_->ended(); }

  // --- Cancellation ---------------------------------------------------------------------------
  void setCanceller(Canceller canceller) {
    canceller_ = std::move(canceller);
    cancellerReplaced_ = true;
  }
  void cancel();

  // Set while this chain waits on another Deferred returned by one of its callbacks (or awaited
  // by a coroutine): cancel() goes there. Not owned: the step that will resume us lives in that
  // Deferred, and clears this when it runs or is dropped.
  void setWaitingOn(StateBase* inner) { waitingOn_ = inner; }
  StateBase* waitingOn() const { return waitingOn_; }
  void resumeFromWait() {
    waiting_ = false;
    waitingOn_ = nullptr;
  }

 private:
  friend class RunStack;
  enum class Result : std::uint8_t { kNone, kValue, kFailure };

  bool canRun() const { return pauseCount_ == 0 && !waiting_ && !steps_.empty(); }
  void tellSoleHolder();
  void runLoop();
  void cutOff() noexcept;
  bool beginSecondFire(std::source_location where);
  static void checkFiringThread();
  [[noreturn]] void throwTailMismatch(const TypeOps* expected, const char* operation) const;
  [[noreturn]] void throwInputMismatch(const TypeOps* expected) const;

  std::uint32_t refs_ = 1;
  Result result_ = Result::kNone;
  bool called_ = false;                 // Twisted's `called`: callback/errback has happened
  bool onStack_ = false;                // a RunStack is running (or about to run) our steps
  bool waiting_ = false;                // paused on a returned Deferred: separate from pause()
  bool suppressAlreadyCalled_ = false;  // cancelled without a canceller: absorb one firing
  bool cancellerReplaced_ = false;      // setCanceller() ran while cancel() was in a canceller
  bool failureConsumed_ = false;        // see markFailureConsumed()
  bool hasSoleHolder_ = false;          // soleHolder_ (not waitingOn_) is set
  std::uint32_t pauseCount_ = 0;        // pause() minus unpause()
  const TypeOps* inputType_;
  const TypeOps* tailType_;
  const TypeOps* valueType_ = nullptr;  // what the slot holds when result_ == kValue
  union {
    StateBase* waitingOn_ = nullptr;  // a fired state: see setWaitingOn()
    SoleHolder* soleHolder_;          // an unfired one: see release()
  };
  StateBase* nextOnStack_ = nullptr;  // the state below this one on its RunStack
  ScopeCore* guard_ = nullptr;        // see setGuard()
  std::source_location createdAt_;
  std::source_location firedAt_;
  alignas(kInlineValueAlign) unsigned char slot_[kInlineValueBytes];
  StepQueue steps_;
  Canceller canceller_;
};

static_assert(sizeof(Failure) <= kInlineValueBytes);

// Releases one reference to a state when it goes out of scope, however the scope is left (a
// canceller or a callback may throw through it).
class ReleaseOnExit {
 public:
  explicit ReleaseOnExit(StateBase* state) : state_(state) {}
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;
  ~ReleaseOnExit() { state_->release(); }

 private:
  StateBase* state_;
};

}  // namespace deft::internal

#endif  // DEFT_DEFERRED_INTERNAL_STATE_H_
