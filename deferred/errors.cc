#include "deferred/errors.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace deft {

FirstError::FirstError(Failure subFailure, std::size_t index)
    : Error(absl::StrCat("Deferred #", index, " failed: ", subFailure.getErrorMessage()),
            subFailure.toStatus().code()),
      subFailure_(std::move(subFailure)),
      index_(index) {}

FailureGroup::FailureGroup(std::vector<Failure> failures)
    : Error(absl::StrCat("all ", failures.size(), " Deferreds failed",
                         failures.empty() ? "" : "; the first: ",
                         failures.empty() ? "" : failures.front().getErrorMessage())),
      failures_(std::move(failures)) {}

}  // namespace deft
