// File: deferred/failure.h
//
// A Failure is what travels down the errback path of a Deferred: an exception object, the place
// where the failure was created, and nothing else. It is Twisted's `twisted.python.failure.Failure`
// without the traceback (C++ has none to keep) but with a `std::source_location`, which is what a
// reader of "Unhandled error in Deferred" actually needs.
//
// Example:
//
//   d.addErrback([](Failure f) -> int {
//     f.trap<TimeoutError>();        // anything else continues down the errback path
//     return -1;                     // recovered: the callback path resumes with -1
//   });
//
// Failing without throwing. Throwing a C++ exception costs microseconds, so a Failure can be made
// straight from an exception object (`Failure(TimeoutError("..."))`): the object is stored, not
// thrown. Exceptions that callbacks do throw are caught by the chain and wrapped the same way.
//
// A Failure is a cheap, immutable handle (one shared pointer): copy it freely, across threads too.

#ifndef DEFT_DEFERRED_FAILURE_H_
#define DEFT_DEFERRED_FAILURE_H_

#include <concepts>
#include <exception>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace deft {

class Failure {
 public:
  // Failure::Failure(E error)
  //
  // Wraps an exception object without throwing it. `where` defaults to the caller's location.
  template <class E>
    requires std::derived_from<std::decay_t<E>, std::exception> &&
             (!std::same_as<std::decay_t<E>, Failure>)
  Failure(E&& error, std::source_location where = std::source_location::current())
      : rep_(makeTypedRep(std::forward<E>(error), where)) {}

  // Failure::Failure(std::exception_ptr)
  //
  // Wraps an exception that was thrown and caught elsewhere (a thread, a C library callback).
  // Finding out its type costs one rethrow, here, once.
  explicit Failure(std::exception_ptr error,
                   std::source_location where = std::source_location::current());

  // Failure::fromCurrentException()
  //
  // The exception being handled right now, from inside a `catch` block. When that exception is
  // one a Failure raised (raiseException, co_await), this is that Failure, origin and all.
  static Failure fromCurrentException(
      std::source_location where = std::source_location::current());

  Failure(const Failure&) = default;
  Failure& operator=(const Failure&) = default;
  Failure(Failure&&) noexcept = default;
  Failure& operator=(Failure&&) noexcept = default;

  // Failure::check<E...>()
  //
  // Whether the exception is an `E` (or derives from one) for any of the listed types.
  template <class... E>
  bool check() const {
    static_assert(sizeof...(E) > 0, "check<E...>() needs at least one exception type");
    return (matches<E>() || ...);
  }

  // Failure::trap<E...>()
  //
  // Returns if the exception is one of the listed types; otherwise rethrows the original
  // exception object (raiseException), so `catch (const ValueError&)` around it catches what it
  // let through, and a Deferred chain that catches it passes this same Failure on (same
  // exception, same origin). Use it first thing in an errback that only handles some errors, as
  // in Twisted.
  template <class... E>
  void trap() const {
    if (!check<E...>()) raiseException();
  }

  // Failure::value<E>()
  //
  // The exception object as an `E`, or nullptr when it is not one. Twisted's `failure.value`.
  template <class E>
  const E* value() const {
    if constexpr (std::is_base_of_v<std::exception, E>) {
      return dynamic_cast<const E*>(rep_->exception);
    } else {
      try {
        raiseException();
      } catch (const E& e) {
        return &e;  // the object owned by the exception_ptr: it outlives this call
      } catch (...) {
      }
      return nullptr;
    }
  }

  // Failure::raiseException()
  //
  // Throws the original exception, with its own type (the same object each time). This is how
  // `co_await` surfaces a failure.
  [[noreturn]] void raiseException() const;

  // The exception as a std::exception_ptr (made on demand for exceptions that were never thrown).
  std::exception_ptr exceptionPtr() const;

  // The exception's `what()`, or a description of its type when it is not a std::exception.
  std::string getErrorMessage() const;

  // The exception's dynamic type.
  const std::type_info& type() const { return *rep_->type; }

  // Where the failure was created: the `Failure(...)` expression, or the callback that threw.
  const std::source_location& where() const { return rep_->where; }

  // The line of the user's coroutine this failure escaped from, if one did: the co_await that
  // rethrew it, or (for an exception thrown in the coroutine's own code) the last co_await before
  // it, or the coroutine itself when it had not awaited yet. Line 0 when no coroutine passed it on.
  const std::source_location& escapedAt() const { return escapedAt_; }
  // A copy that records escaping a coroutine at `at` (the same exception and origin).
  Failure escapedThrough(std::source_location at) const {
    Failure copy(*this);
    copy.escapedAt_ = at;
    return copy;
  }

  // One line for logs: "TimeoutError: fetch timed out (created at web/agent.cc:88 in ...)", and
  // where it escaped a coroutine when it did.
  std::string describe() const;

  // The failure as an absl::Status, for non-async boundaries. Errors that know their own status
  // code say so (see errors.h); any other exception maps to kUnknown. The message is describe()'s.
  absl::Status toStatus() const;

 private:
  struct Rep {
    // For stored-not-thrown exceptions, made on first use (raising, exceptionPtr()).
    mutable std::once_flag pointerMade;
    mutable std::exception_ptr pointer;
    const std::exception* exception = nullptr;  // the object itself, when it is a std::exception
    const std::type_info* type = nullptr;
    std::source_location where;
    std::exception_ptr (*makePointer)(const Rep&) = nullptr;  // for stored-not-thrown ones
    virtual ~Rep() = default;
  };

  template <class E>
  struct TypedRep final : Rep {
    explicit TypedRep(E&& e) : error(std::move(e)) {}
    explicit TypedRep(const E& e) : error(e) {}
    E error;
  };

  template <class E>
  static std::shared_ptr<const Rep> makeTypedRep(E&& error, std::source_location where) {
    using Stored = std::decay_t<E>;
    auto rep = std::make_shared<TypedRep<Stored>>(std::forward<E>(error));
    rep->exception = &rep->error;
    rep->type = &typeid(Stored);
    rep->where = where;
    rep->makePointer = [](const Rep& r) {
      return std::make_exception_ptr(static_cast<const TypedRep<Stored>&>(r).error);
    };
    return rep;
  }

  template <class E>
  bool matches() const {
    if constexpr (std::is_base_of_v<std::exception, E>) {
      return dynamic_cast<const E*>(rep_->exception) != nullptr;
    } else {
      return value<E>() != nullptr;
    }
  }

  std::shared_ptr<const Rep> rep_;
  std::source_location escapedAt_{};  // per handle, not shared: see escapedAt()
};

// What happens to a Failure that nobody handled: a Deferred whose result is a Failure when its
// last handle goes away. The handler runs once per such Failure, synchronously, on the thread that
// dropped the last handle. The default writes one line to stderr:
//
//   deft: Unhandled error in Deferred: TimeoutError: ... (created at file.cc:12 in fetch)
using UnhandledFailureHandler = absl::AnyInvocable<void(const Failure&)>;

// setUnhandledFailureHandler()
//
// Replaces the process-wide handler and returns the previous one (so a test can restore it).
// Passing nullptr restores the default. Safe from any thread: reports and replacements are
// serialised by one lock, so the handler runs for one failure at a time (on the reporting
// thread) and needs no locking of its own.
UnhandledFailureHandler setUnhandledFailureHandler(UnhandledFailureHandler handler);

namespace internal {
// Called by Deferred when it drops an unconsumed Failure.
void reportUnhandledFailure(const Failure& failure);
}  // namespace internal

}  // namespace deft

#endif  // DEFT_DEFERRED_FAILURE_H_
