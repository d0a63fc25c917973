// expect: callback
#include <string>
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> d;
  d.callback(std::string("not an int"));
}
