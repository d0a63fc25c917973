// expect: a callback on Deferred<T> must be callable with a T
#include "deferred/deferred.h"
void f() {
  deft::Deferred<void> d;
  std::move(d).addCallback([](int x) { return x; });
}
