// expect: this callback changes the Deferred's type, which consumes the handle
#include <string>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  d.addCallback([](int x) { return std::to_string(x); });
}
