// expect: returning nothing fits only Deferred<void>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  d.addErrback([](deft::Failure) {});
}
