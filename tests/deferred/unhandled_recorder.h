// Records unhandled-failure reports instead of printing them, for as long as it lives.

#ifndef DEFT_TESTS_DEFERRED_UNHANDLED_RECORDER_H_
#define DEFT_TESTS_DEFERRED_UNHANDLED_RECORDER_H_

#include <string>
#include <utility>
#include <vector>

#include "deferred/failure.h"

namespace deft::testing {

class UnhandledRecorder {
 public:
  UnhandledRecorder()
      : previous_(setUnhandledFailureHandler(
            [this](const Failure& f) { messages_.push_back(f.getErrorMessage()); })) {}
  UnhandledRecorder(const UnhandledRecorder&) = delete;
  UnhandledRecorder& operator=(const UnhandledRecorder&) = delete;
  ~UnhandledRecorder() { setUnhandledFailureHandler(std::move(previous_)); }

  // The messages of the failures reported so far, in order.
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
  UnhandledFailureHandler previous_;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_DEFERRED_UNHANDLED_RECORDER_H_
