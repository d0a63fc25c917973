// What twisted_to_deft_test runs of docs/twisted-to-deft.md's blocks.

#ifndef DEFT_TESTS_DOCS_TWISTED_TO_DEFT_H_
#define DEFT_TESTS_DOCS_TWISTED_TO_DEFT_H_

#include <cstdint>

#include "deferred/deferred.h"
#include "reactor/reactor.h"

deft::Deferred<std::uint64_t> sumOnAThread(deft::Reactor& reactor, std::uint64_t n);
int timeoutAfterFiveSeconds();
int mainLikeReact();

#endif  // DEFT_TESTS_DOCS_TWISTED_TO_DEFT_H_
