// expect: the callback and the errback must leave the same type
#include <string>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  std::move(d).addCallbacks([](int x) { return std::to_string(x); },
                            [](deft::Failure) { return 0; });
}
