// expect: an errback on Deferred<T> recovers with a T
#include <string>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  d.addErrback([](deft::Failure) { return std::string("not an int"); });
}
