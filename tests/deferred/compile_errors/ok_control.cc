// expect: compiles
// The control: proves the harness finds the headers, so the failures below fail for their reason.
#include <string>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  d.addCallback([](int x) { return x + 1; });
  deft::Deferred<std::string> s = std::move(d).addCallback([](int x) { return std::to_string(x); });
  std::move(s).addErrback([](deft::Failure) { return std::string("fallback"); });
}
