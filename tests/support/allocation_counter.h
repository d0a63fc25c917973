// Counts heap allocations: linking this library replaces the global operator new of the binary
// with one that counts calls. For tests and benchmarks that assert or report allocations.

#ifndef DEFT_TESTS_SUPPORT_ALLOCATION_COUNTER_H_
#define DEFT_TESTS_SUPPORT_ALLOCATION_COUNTER_H_

#include <cstddef>

namespace deft::testing {

// Calls to operator new (any form) since the program started, on all threads.
std::size_t allocationCount();

}  // namespace deft::testing

#endif  // DEFT_TESTS_SUPPORT_ALLOCATION_COUNTER_H_
