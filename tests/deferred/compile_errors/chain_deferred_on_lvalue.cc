// expect: chainDeferred leaves this chain carrying nothing
#include "deferred/deferred.h"
void f() {
  deft::Deferred<int> a, b;
  a.chainDeferred(b);
}
