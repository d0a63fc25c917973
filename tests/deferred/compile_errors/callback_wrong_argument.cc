// expect: a callback on Deferred<T> must be callable with a T
#include <string>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  std::move(d).addCallback([](const std::string& s) { return s.size(); });
}
