// expect: Deferred<Deferred<U>> is never needed
#include "deferred/deferred.h"
void f() { deft::Deferred<deft::Deferred<int>> d; }
