// File: deferred/deferred_list.h
//
// Waiting on several Deferreds at once: Twisted's DeferredList and gatherResults, and race.
//
//   std::vector<Deferred<std::string>> pages;
//   for (const auto& url : urls) pages.push_back(getPage(url));
//   std::move(DeferredList(std::move(pages), {.consumeErrors = true}))
//       .addCallback([](std::vector<Outcome<std::string>> results) {
//         for (auto& r : results) {
//           if (r.ok()) use(r.value()); else report(r.failure());
//         }
//       });
//
// Each function takes its inputs by value (the handles; producers keep theirs and fire them as
// usual) and adds one step at the end of each input's chain. Results come in input order, and
// every callback runs on the thread that fires the last input needed, synchronously.
//
// THE INPUTS KEEP THEIR RESULTS, as in Twisted: the aggregate copies each result, so a callback
// added to an input later still sees it. A move-only result has one owner: the aggregate takes it,
// and the input carries nothing (void) after it. An input's failure stays its result and is
// reported as unhandled if nobody handles it, unless consumeErrors says the aggregate handles it:
// then it is still the input's result for callbacks added later (Twisted replaces it with None,
// which a typed chain cannot carry), but it is no longer reported.
//
// CANCELLING the returned Deferred cancels every input that has not fired, and the result then
// fires from what they give, as in Twisted: DeferredList with each input's CancelledError in its
// place; gatherResults with FirstError around the first one; race and fire-on-one-callback with a
// FailureGroup of them. A canceller that throws is reported as an unhandled failure and the other
// inputs are still cancelled; the result then waits for the input it could not stop.
//
// DELIBERATE DIFFERENCES from Twisted, each because the typed result needs it or is safer so:
//   - gatherResults cancels the inputs still running once one has failed, since nobody can see
//     their results any more (the failures this causes are consumed).
//   - DeferredList with fireOnOneCallback fails with FailureGroup when every input fails, or at
//     once for an empty list: Twisted fires its callback with the whole list, a value of another
//     type than the first result.
//
// Ownership: the inputs keep the aggregate alive, as in Twisted, so the returned Deferred may be
// chained on and dropped. If every pending input is abandoned unfired, the aggregate goes with
// them and the returned Deferred never fires.

#ifndef DEFT_DEFERRED_DEFERRED_LIST_H_
#define DEFT_DEFERRED_DEFERRED_LIST_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "deferred/failure.h"
#include "deferred/outcome.h"

namespace deft {

struct DeferredListOptions {
  // Errback (with FirstError: the failure and its index) as soon as any input fails, instead of
  // waiting for all. Later results are still taken (and consumed, with consumeErrors) but change
  // nothing.
  bool fireOnOneErrback = false;
  // Take the failures out of the inputs. Without it, an input's failure stays its result too,
  // and is reported as unhandled when its last handle goes, as in Twisted.
  bool consumeErrors = false;
};

// The tag that makes DeferredList fire with the first success (Twisted's fireOnOneCallback).
struct FireOnOneCallback {};
inline constexpr FireOnOneCallback fireOnOneCallback{};

// The first success among several Deferreds, and its position in the input list.
template <class T>
struct FirstResult {
  T result;
  std::size_t index;
};
template <>
struct FirstResult<void> {
  std::size_t index;
};

namespace internal {

// The bookkeeping shared by the steps of one aggregate. Each input's step owns it (as in Twisted,
// where the inputs' callbacks keep a DeferredList alive), and it owns the result, so
// `DeferredList(ds).addCallback(f)` works with no handle kept. The result's canceller holds it
// weakly and the inputs are tracked by pointer, so nothing here forms a cycle: an input that is
// abandoned unfired frees its step, and with the last step the aggregate goes too.
template <class T, class R>
struct FanIn {
  Deferred<R> result;
  // Inputs whose step has not run, by state; a step clears its entry when it runs or is freed.
  std::vector<StateBase*> pending;
  std::size_t remaining = 0;
  std::vector<std::optional<Outcome<T>>> outcomes;
  bool cancellingLosers = false;  // race: a winner is in, the rest are being cancelled

  bool resultFired() const { return result.called(); }
  // Cancels every input still pending. A canceller that throws is reported, as Twisted logs it,
  // and the others are still cancelled.
  void cancelInputs() {
    for (std::size_t i = 0; i < pending.size(); ++i) {
      StateBase* state = pending[i];
      if (state == nullptr) continue;
      state->addRef();
      try {
        state->cancel();  // runs its step now, usually, which clears pending[i]
      } catch (...) {
        reportUnhandledFailure(Failure::fromCurrentException());
      }
      state->release();
    }
  }
};

// Held by an input's step: keeps the aggregate alive, and clears the input's entry when the step
// is gone (run, or dropped with its unfired Deferred).
template <class T, class R>
class PendingInput {
 public:
  PendingInput(std::shared_ptr<FanIn<T, R>> fan, std::size_t index)
      : fan_(std::move(fan)), index_(index) {}
  PendingInput(PendingInput&& other) noexcept = default;
  PendingInput& operator=(PendingInput&&) = delete;
  ~PendingInput() {
    if (fan_) fan_->pending[index_] = nullptr;
  }

  FanIn<T, R>& fan() const { return *fan_; }
  std::size_t index() const { return index_; }

 private:
  std::shared_ptr<FanIn<T, R>> fan_;
  std::size_t index_;
};

// Whether a T can really be copied. std::is_copy_constructible says yes for a container of
// move-only elements (std::vector<std::unique_ptr<X>>), whose copy constructor then fails to
// compile: look at the elements of ranges too.
template <class T>
constexpr bool reallyCopyable() {
  if constexpr (!std::is_copy_constructible_v<T>) {
    return false;
  } else if constexpr (std::ranges::range<T>) {
    return reallyCopyable<std::remove_cvref_t<std::ranges::range_value_t<T>>>();
  } else {
    return true;
  }
}

// Whether an aggregate can leave each input its result (Twisted's callbacks return it unchanged),
// or must take it: a move-only value has one owner, and the input then carries nothing. Keeping
// costs one copy of each result.
template <class T>
inline constexpr bool kInputKeepsResult = std::is_void_v<T> || reallyCopyable<T>();

// The step an aggregate adds at the end of each input's chain. It copies the input's result into
// the aggregate and leaves it in place, so a callback added to the input later still sees it.
template <class T, class R, class OnOutcome>
class FanInStep {
 public:
  FanInStep(PendingInput<T, R> input, bool consumeLate, OnOutcome onOutcome)
      : input_(std::move(input)), consumeLate_(consumeLate), onOutcome_(std::move(onOutcome)) {}

  void run(StateBase& state, RunStack&) {
    FanIn<T, R>& fan = input_.fan();
    if (fan.resultFired()) {  // too late to matter
      if (state.hasFailure()) {
        if (consumeLate_) state.markFailureConsumed();
      } else if constexpr (!kInputKeepsResult<T>) {
        state.takeValue<Stored<T>>();
        state.setValue<Unit>();
      }
      return;
    }
    const bool failed = state.hasFailure();
    std::optional<Outcome<T>> outcome;
    try {
      outcome.emplace(observe(state));
    } catch (...) {  // copying the value threw: the aggregate sees that failure in its place
      outcome.emplace(Failure::fromCurrentException());
    }
    --fan.remaining;
    try {
      // onOutcome may fire the aggregate, running its callbacks (which report their own errors).
      if (onOutcome_(fan, input_.index(), std::move(*outcome)) && failed) {
        state.markFailureConsumed();
      }
    } catch (...) {
      reportUnhandledFailure(Failure::fromCurrentException());
    }
  }

 private:
  static Outcome<T> observe(StateBase& state) {
    if (state.hasFailure()) return Outcome<T>(state.peekFailure());
    if constexpr (std::is_void_v<T>) {
      return Outcome<T>();
    } else if constexpr (kInputKeepsResult<T>) {
      return Outcome<T>(T(state.peekValue<T>()));
    } else {
      Outcome<T> outcome(state.takeValue<T>());
      state.setValue<Unit>();
      return outcome;
    }
  }

  PendingInput<T, R> input_;
  bool consumeLate_;
  OnOutcome onOutcome_;
};

// Wires `deferreds` to a new FanIn. `onOutcome(fan, index, outcome)` sees each input's result
// (and may fire the result); it returns whether the input's failure is consumed. After the
// result has fired, a late failure is consumed when `consumeLate` says so.
template <class R, class T, class OnOutcome>
Deferred<R> fanIn(std::vector<Deferred<T>> deferreds, bool consumeLate, OnOutcome onOutcome) {
  auto fan = std::make_shared<FanIn<T, R>>();
  std::weak_ptr<FanIn<T, R>> weak = fan;
  // As Twisted's DeferredList.cancel: cancel the inputs, and let the result fire from what they
  // give (it has cancellation in hand, so cancel() adds no CancelledError of its own).
  DeferredAccess::state(fan->result)->setCanceller([weak](StateBase&) {
    std::shared_ptr<FanIn<T, R>> f = weak.lock();
    if (f == nullptr) return false;  // every input was abandoned: nothing left to wait for
    f->cancelInputs();
    // Still waiting on an input (its canceller threw, or it winds down later): it will fire the
    // result. Waiting on none (their chains were cut off), cancel() fails it now.
    return f->resultFired() ||
           std::any_of(f->pending.begin(), f->pending.end(),
                       [](const StateBase* input) { return input != nullptr; });
  });
  Deferred<R> result = fan->result;
  fan->remaining = deferreds.size();
  fan->outcomes.resize(deferreds.size());
  fan->pending.resize(deferreds.size());
  for (std::size_t i = 0; i < deferreds.size(); ++i) {
    StateBase* input = DeferredAccess::release(std::move(deferreds[i]));
    if (input == nullptr) throw DeferredTypeError("an aggregate was given a moved-from Deferred");
    fan->pending[i] = input;
    ReleaseOnExit release(input);
    input->checkTail(typeOps<Stored<T>>(), "DeferredList");
    input->pushStep<FanInStep<T, R, OnOutcome>>(PendingInput<T, R>(fan, i), consumeLate,
                                                onOutcome);
    if constexpr (!kInputKeepsResult<T>) input->setTailType(typeOps<Unit>());
    input->runCallbacks();  // at once for an input that has fired; the result may fire now
  }
  return result;
}

template <class T>
std::vector<Outcome<T>> unwrapAll(std::vector<std::optional<Outcome<T>>>& outcomes) {
  std::vector<Outcome<T>> all;
  all.reserve(outcomes.size());
  for (auto& outcome : outcomes) all.push_back(std::move(*outcome));
  return all;
}

}  // namespace internal

// DeferredList(deferreds, options)
//
// Fires when every input has: with one Outcome<T> per input, in input order (Twisted's list of
// (success, result) pairs). An empty list fires at once. With fireOnOneErrback it errbacks with
// FirstError at the first failure.
template <class T>
Deferred<std::vector<Outcome<T>>> DeferredList(std::vector<Deferred<T>> deferreds,
                                               DeferredListOptions options = {}) {
  using R = std::vector<Outcome<T>>;
  if (deferreds.empty()) return succeed(R{});
  return internal::fanIn<R>(
      std::move(deferreds), options.consumeErrors,
      [options](internal::FanIn<T, R>& fan, std::size_t i, Outcome<T> outcome) {
        const bool ok = outcome.ok();
        if (!ok && options.fireOnOneErrback) {
          fan.result.errback(Failure(FirstError(outcome.failure(), i)));
        }
        fan.outcomes[i].emplace(std::move(outcome));
        if (fan.remaining == 0 && !fan.resultFired()) {
          fan.result.callback(internal::unwrapAll(fan.outcomes));
        }
        return ok || options.consumeErrors;
      });
}

// DeferredList(deferreds, fireOnOneCallback, options)
//
// Fires with the first success and its index (Twisted's fireOnOneCallback). The other inputs
// are left running. If every input fails, errbacks with FailureGroup (Twisted would then fire its
// callback with the whole list, a result of another type); so does an empty list.
template <class T>
Deferred<FirstResult<T>> DeferredList(std::vector<Deferred<T>> deferreds, FireOnOneCallback,
                                      DeferredListOptions options = {}) {
  using R = FirstResult<T>;
  if (deferreds.empty()) return fail<R>(Failure(FailureGroup({})));
  return internal::fanIn<R>(
      std::move(deferreds), options.consumeErrors,
      [options](internal::FanIn<T, R>& fan, std::size_t i, Outcome<T> outcome) {
        const bool ok = outcome.ok();
        if (ok) {
          if constexpr (std::is_void_v<T>) {
            fan.result.callback(R{i});
          } else {
            fan.result.callback(R{std::move(outcome).value(), i});
          }
          return true;
        }
        if (options.fireOnOneErrback) {
          fan.result.errback(Failure(FirstError(outcome.failure(), i)));
          return options.consumeErrors;
        }
        fan.outcomes[i].emplace(outcome);
        if (fan.remaining == 0) {
          std::vector<Failure> failures;
          for (auto& o : fan.outcomes) failures.push_back(o->failure());
          fan.result.errback(Failure(FailureGroup(std::move(failures))));
        }
        return options.consumeErrors;
      });
}

// gatherResults(deferreds, consumeErrors)
//
// The values of all inputs, in input order; or, at the first failure, a FirstError. Better than
// Twisted: the inputs still running are cancelled then, since nobody will see their results (the
// failures that cancelling causes are consumed). An empty list fires at once.
template <class T>
auto gatherResults(std::vector<Deferred<T>> deferreds, bool consumeErrors = false) {
  using R = std::conditional_t<std::is_void_v<T>, void, std::vector<internal::Stored<T>>>;
  if (deferreds.empty()) {
    if constexpr (std::is_void_v<T>) {
      return succeed();
    } else {
      return succeed(R{});
    }
  }
  return internal::fanIn<R>(
      std::move(deferreds), /*consumeLate=*/true,
      [consumeErrors](internal::FanIn<T, R>& fan, std::size_t i, Outcome<T> outcome) {
        if (!outcome.ok()) {
          fan.result.errback(Failure(FirstError(outcome.failure(), i)));
          fan.cancelInputs();
          return consumeErrors;
        }
        fan.outcomes[i].emplace(std::move(outcome));
        if (fan.remaining == 0) {
          if constexpr (std::is_void_v<T>) {
            fan.result.callback();
          } else {
            R values;
            values.reserve(fan.outcomes.size());
            for (auto& o : fan.outcomes) values.push_back(std::move(*o).value());
            fan.result.callback(std::move(values));
          }
        }
        return true;
      });
}

// race(deferreds)
//
// The first input to succeed, with its index; the others are cancelled at that moment. If every
// input fails, errbacks with FailureGroup holding all the failures in input order; so does an
// empty list. Every input's failure is consumed.
template <class T>
Deferred<FirstResult<T>> race(std::vector<Deferred<T>> deferreds) {
  using R = FirstResult<T>;
  if (deferreds.empty()) return fail<R>(Failure(FailureGroup({})));
  return internal::fanIn<R>(
      std::move(deferreds), /*consumeLate=*/true,
      [](internal::FanIn<T, R>& fan, std::size_t i, Outcome<T> outcome) {
        if (outcome.ok()) {
          fan.cancellingLosers = true;
          fan.cancelInputs();  // before firing: the winner's callbacks see the losers stopped
          if constexpr (std::is_void_v<T>) {
            fan.result.callback(R{i});
          } else {
            fan.result.callback(R{std::move(outcome).value(), i});
          }
          return true;
        }
        fan.outcomes[i].emplace(std::move(outcome));
        if (fan.remaining == 0 && !fan.cancellingLosers) {
          std::vector<Failure> failures;
          for (auto& o : fan.outcomes) failures.push_back(o->failure());
          fan.result.errback(Failure(FailureGroup(std::move(failures))));
        }
        return true;
      });
}

// asCompleted(deferreds)
//
// asyncio.as_completed: as many Deferreds as inputs, the first firing with whichever input
// finishes first (value or failure), the second with the next, and so on.
//
//   for (Deferred<std::string>& next : asCompleted(std::move(pages))) {
//     std::string page = co_await next;   // in the order the pages arrive
//   }
//
// Each input's result goes to exactly one output, so a failure is reported (or handled) there.
// Cancelling an output does not cancel any input (the inputs are not tied to particular
// outputs); the result that would have gone to it is dropped. An empty list gives no Deferreds.
template <class T>
std::vector<Deferred<T>> asCompleted(std::vector<Deferred<T>> deferreds) {
  struct Order {
    std::vector<Deferred<T>> outputs;
    std::size_t next = 0;
  };
  auto order = std::make_shared<Order>();
  order->outputs.resize(deferreds.size());
  std::vector<Deferred<T>> outputs = order->outputs;  // handles on the same Deferreds
  for (Deferred<T>& input : deferreds) {
    std::move(input).addBoth([order](Outcome<T> outcome) {
      Deferred<T>& out = order->outputs[order->next++];
      if (out.called()) return;  // cancelled by its holder: dropped
      if (!outcome.ok()) {
        out.errback(std::move(outcome).failure());
      } else if constexpr (std::is_void_v<T>) {
        out.callback();
      } else {
        out.callback(std::move(outcome).value());
      }
    });
  }
  return outputs;
}

}  // namespace deft

#endif  // DEFT_DEFERRED_DEFERRED_LIST_H_
