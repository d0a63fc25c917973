#include "deferred/failure.h"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "deferred/errors.h"

namespace deft {
namespace {

std::string demangle(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

// "deft::TimeoutError" reads better as "TimeoutError" in one-line reports.
std::string shortTypeName(const std::type_info& type) {
  std::string name = demangle(type);
  constexpr std::string_view kPrefix = "deft::";
  if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
  return name;
}

}  // namespace

namespace {
// The Failure this thread raised last, so that catching its exception and wrapping it again
// (an errback that rethrows, an exception escaping a coroutine) gives back the same Failure with
// its origin instead of a new one made at the catch site.
thread_local std::optional<Failure> lastRaised;
}  // namespace

Failure::Failure(std::exception_ptr error, std::source_location where) {
  if (lastRaised && error == lastRaised->exceptionPtr()) {
    rep_ = lastRaised->rep_;
    escapedAt_ = lastRaised->escapedAt_;
    return;
  }
  auto rep = std::make_shared<Rep>();
  rep->pointer = std::move(error);
  rep->where = where;
  try {
    std::rethrow_exception(rep->pointer);
  } catch (const std::exception& e) {
    // libstdc++ and libc++ rethrow the object the exception_ptr owns, not a copy, so this
    // pointer stays valid as long as `pointer` does.
    rep->exception = &e;
    rep->type = &typeid(e);
  } catch (...) {
    rep->type = abi::__cxa_current_exception_type();
    if (rep->type == nullptr) rep->type = &typeid(void);
  }
  rep_ = std::move(rep);
}

Failure Failure::fromCurrentException(std::source_location where) {
  return Failure(std::current_exception(), where);
}

void Failure::raiseException() const {
  std::exception_ptr pointer = exceptionPtr();
  lastRaised = *this;
  std::rethrow_exception(std::move(pointer));
}

std::exception_ptr Failure::exceptionPtr() const {
  if (rep_->makePointer != nullptr) {
    std::call_once(rep_->pointerMade, [rep = rep_.get()] { rep->pointer = rep->makePointer(*rep); });
  }
  return rep_->pointer;
}

std::string Failure::getErrorMessage() const {
  if (rep_->exception != nullptr) return rep_->exception->what();
  return absl::StrCat("exception of type ", demangle(type()));
}

std::string Failure::describe() const {
  const std::source_location& at = rep_->where;
  std::string line = absl::StrCat(shortTypeName(type()), ": ", getErrorMessage(), " (created at ",
                                  at.file_name(), ":", at.line(), " in ", at.function_name());
  if (escapedAt_.line() != 0) {
    absl::StrAppend(&line, "; escaped the coroutine ", escapedAt_.function_name(), " at ",
                    escapedAt_.file_name(), ":", escapedAt_.line());
  }
  line += ")";
  return line;
}

absl::Status Failure::toStatus() const {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  if (const auto* error = value<Error>()) code = error->statusCode();
  return absl::Status(code, describe());
}

namespace {

void defaultUnhandledFailureHandler(const Failure& failure) {
  std::fprintf(stderr, "deft: Unhandled error in Deferred: %s\n", failure.describe().c_str());
}

UnhandledFailureHandler& unhandledFailureHandler() {
  static UnhandledFailureHandler* handler =
      new UnhandledFailureHandler(defaultUnhandledFailureHandler);
  return *handler;
}

// Any thread may report (a Deferred freed on a pool thread, the reactor's own catch sites), and
// the handler may be replaced meanwhile: one lock serialises both, so a handler needs no locking
// of its own. Recursive: a handler may itself report, or replace the handler.
std::recursive_mutex& unhandledFailureMutex() {
  static std::recursive_mutex* mutex = new std::recursive_mutex;
  return *mutex;
}

}  // namespace

UnhandledFailureHandler setUnhandledFailureHandler(UnhandledFailureHandler handler) {
  if (handler == nullptr) handler = defaultUnhandledFailureHandler;
  std::lock_guard lock(unhandledFailureMutex());
  return std::exchange(unhandledFailureHandler(), std::move(handler));
}

namespace internal {
void reportUnhandledFailure(const Failure& failure) {
  std::lock_guard lock(unhandledFailureMutex());
  unhandledFailureHandler()(failure);
}
}  // namespace internal

}  // namespace deft
