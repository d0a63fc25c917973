// Runs a function on a thread with a deliberately small stack, so that a test can show some
// work does not recurse in proportion to its size: recursion overflows and crashes the test.

#ifndef DEFT_TESTS_SUPPORT_SMALL_STACK_H_
#define DEFT_TESTS_SUPPORT_SMALL_STACK_H_

#include <cstddef>
#include <functional>

namespace deft::testing {

// Runs `body` to completion on a new thread whose stack is `stackBytes` long.
void runOnSmallStack(const std::function<void()>& body, std::size_t stackBytes = 256 * 1024);

}  // namespace deft::testing

#endif  // DEFT_TESTS_SUPPORT_SMALL_STACK_H_
