// File: deferred/error.h
//
// deft::Error, the base of every exception deft raises. It knows the absl::StatusCode it maps to,
// so `Failure::toStatus()` keeps the kind of failure at a non-async boundary, and code can
// `trap<deft::Error>()` to mean "any failure deft knows about". A header of its own, so that
// packages with no Deferreds in them (http/'s messages) can define their errors on it alone.

#ifndef DEFT_DEFERRED_ERROR_H_
#define DEFT_DEFERRED_ERROR_H_

#include <stdexcept>
#include <string>

#include "absl/status/status.h"

namespace deft {

// The base of every error deft raises.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message,
                 absl::StatusCode code = absl::StatusCode::kUnknown)
      : std::runtime_error(message), code_(code) {}

  absl::StatusCode statusCode() const { return code_; }

 private:
  absl::StatusCode code_;
};

}  // namespace deft

#endif  // DEFT_DEFERRED_ERROR_H_
