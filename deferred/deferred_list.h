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
// Cancelling the returned Deferred cancels every input that has not fired (Twisted's
// DeferredList does the same).
//
// Ownership: the inputs keep the aggregate alive, as in Twisted, so the returned Deferred may be
// chained on and dropped. If every pending input is abandoned unfired, the aggregate goes with
// them and the returned Deferred never fires.

#ifndef DEFT_DEFERRED_DEFERRED_LIST_H_
#define DEFT_DEFERRED_DEFERRED_LIST_H_

#include <cstddef>
#include <memory>
#include <optional>
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
  bool cancellingInputs = false;

  bool resultFired() const { return result.called(); }
  void cancelInputs() {
    cancellingInputs = true;
    for (StateBase*& input : pending) {
      if (input == nullptr) continue;
      StateBase* state = input;
      state->addRef();
      state->cancel();  // runs its step now, usually, which clears `input`
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

// Wires `deferreds` to a new FanIn. `onOutcome(fan, index, outcome)` sees each input's result
// (and may fire the result); it returns whether the input's failure is consumed. After the
// result has fired, a late failure is consumed when `consumeLate` says so.
template <class R, class T, class OnOutcome>
Deferred<R> fanIn(std::vector<Deferred<T>> deferreds, bool consumeLate, OnOutcome onOutcome) {
  auto fan = std::make_shared<FanIn<T, R>>();
  std::weak_ptr<FanIn<T, R>> weak = fan;
  fan->result = Deferred<R>([weak](Deferred<R>&) {
    if (std::shared_ptr<FanIn<T, R>> f = weak.lock()) f->cancelInputs();
  });
  Deferred<R> result = fan->result;
  fan->remaining = deferreds.size();
  fan->outcomes.resize(deferreds.size());
  fan->pending.resize(deferreds.size());
  for (std::size_t i = 0; i < deferreds.size(); ++i) {
    fan->pending[i] = DeferredAccess::state(deferreds[i]);
    // Runs at once for an input that has fired; the result may fire during this loop.
    std::move(deferreds[i])
        .addBoth([input = PendingInput<T, R>(fan, i), consumeLate,
                  onOutcome](Outcome<T> outcome) -> Outcome<void> {
          FanIn<T, R>& fan = input.fan();
          if (fan.resultFired()) {
            if (!outcome.ok() && !consumeLate) return std::move(outcome).failure();
            return {};
          }
          --fan.remaining;
          if (outcome.ok()) {
            onOutcome(fan, input.index(), std::move(outcome));
            return {};
          }
          Failure failure = outcome.failure();
          if (onOutcome(fan, input.index(), std::move(outcome))) return {};
          return failure;  // stays the input's result, as in Twisted
        });
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
          if (fan.cancellingInputs) return true;  // a failure we caused
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
          fan.cancelInputs();  // before firing: the winner's callbacks see the losers stopped
          if constexpr (std::is_void_v<T>) {
            fan.result.callback(R{i});
          } else {
            fan.result.callback(R{std::move(outcome).value(), i});
          }
          return true;
        }
        fan.outcomes[i].emplace(std::move(outcome));
        if (fan.remaining == 0 && !fan.cancellingInputs) {
          std::vector<Failure> failures;
          for (auto& o : fan.outcomes) failures.push_back(o->failure());
          fan.result.errback(Failure(FailureGroup(std::move(failures))));
        }
        return true;
      });
}

}  // namespace deft

#endif  // DEFT_DEFERRED_DEFERRED_LIST_H_
