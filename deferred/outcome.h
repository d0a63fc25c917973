// File: deferred/outcome.h
//
// Outcome<T> is "a T or a Failure": what a Deferred<T> ends with. It is what `addBoth` callbacks
// receive, what each entry of a DeferredList holds (Twisted's `(success, result)` pair), and a
// return type a callback can use to succeed or fail without throwing:
//
//   d.addErrback([](Failure f) -> Outcome<int> {
//     if (f.check<TimeoutError>()) return 0;   // recover
//     return f;                                // pass the failure on, no exception thrown
//   });
//
// Outcome<void> holds either nothing (success) or a Failure.

#ifndef DEFT_DEFERRED_OUTCOME_H_
#define DEFT_DEFERRED_OUTCOME_H_

#include <type_traits>
#include <utility>
#include <variant>

#include "deferred/failure.h"

namespace deft {

namespace internal {
// What a Deferred<void> carries internally: a value with nothing in it.
struct Unit {
  friend bool operator==(Unit, Unit) { return true; }
};
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, Unit, T>;
}  // namespace internal

template <class T>
class Outcome {
 public:
  using ValueType = T;

  // A success. For Outcome<void>, default construction is the success.
  template <class U = internal::Stored<T>>
    requires std::is_constructible_v<internal::Stored<T>, U&&> &&
             (!std::is_same_v<std::decay_t<U>, Failure>) &&
             (!std::is_same_v<std::decay_t<U>, Outcome>)
  Outcome(U&& value)  // NOLINT(google-explicit-constructor): returning a T must just work
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  Outcome() requires std::is_void_v<T> : state_(std::in_place_index<0>) {}

  // A failure.
  Outcome(Failure failure)  // NOLINT(google-explicit-constructor)
      : state_(std::in_place_index<1>, std::move(failure)) {}

  // Whether this is a success. Twisted's `success` flag in a DeferredList entry.
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The value. Only valid when ok(); for Outcome<void> there is none.
  template <class U = T>
    requires(!std::is_void_v<U>)
  U& value() & {
    return std::get<0>(state_);
  }
  template <class U = T>
    requires(!std::is_void_v<U>)
  const U& value() const& {
    return std::get<0>(state_);
  }
  template <class U = T>
    requires(!std::is_void_v<U>)
  U&& value() && {
    return std::get<0>(std::move(state_));
  }

  // The failure. Only valid when !ok().
  const Failure& failure() const& { return std::get<1>(state_); }
  Failure&& failure() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<internal::Stored<T>, Failure> state_;
};

}  // namespace deft

#endif  // DEFT_DEFERRED_OUTCOME_H_
