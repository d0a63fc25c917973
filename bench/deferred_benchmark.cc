// Deferred against its peers, the same work in the same run:
//   - deft's Deferred;
//   - KJ promises (Cap'n Proto's async library, Debian's libcapnp-dev), driven by its event loop;
//   - the floor: a std::vector<std::function> of the same callbacks, called in turn.
//
// Each benchmark reports items = callbacks run (so per-item time is per-callback time) and
// allocs/iter = heap allocations per iteration (operator new is counted in this binary).
//
//   ./bazelw run --config=opt //bench:deferred_benchmark -- --benchmark_repetitions=5

#include <cstddef>
#include <functional>
#include <vector>

#include "benchmark/benchmark.h"
#include "deferred/deferred.h"
#include "deferred/deferred_list.h"
#include "kj/async.h"
#include "tests/support/allocation_counter.h"


namespace {

using deft::Deferred;

// Reports items (callbacks) and allocations per iteration.
class Counting {
 public:
  explicit Counting(benchmark::State& state)
      : state_(state), start_(deft::testing::allocationCount()) {}
  ~Counting() {
    const double allocs =
        static_cast<double>(deft::testing::allocationCount() - start_);
    state_.counters["allocs/iter"] =
        benchmark::Counter(allocs / static_cast<double>(state_.iterations()));
  }

 private:
  benchmark::State& state_;
  std::size_t start_;
};

// The three callbacks every chain runs: small captures, as real code has. The last one also
// delivers the result (to `sink`), so no variant needs a fourth step to get it out.
struct Callbacks {
  int offset = 1;
  long* sink;
  auto first() const {
    return [this](int x) { return x + offset; };
  }
  auto second() const {
    return [this](int x) { return x * 2 + offset; };
  }
  auto third() const {
    return [this](int x) {
      *sink += x;
      return x - offset;
    };
  }
};

// --- Fire a Deferred with a 3-callback chain ------------------------------------------------

void BM_Fire3_Deft(benchmark::State& state) {
  Counting counting(state);
  long sink = 0;
  Callbacks cb{1, &sink};
  for (auto _ : state) {
    Deferred<int> d;
    d.addCallback(cb.first()).addCallback(cb.second()).addCallback(cb.third());
    d.callback(static_cast<int>(state.iterations()));
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(BM_Fire3_Deft);

void BM_Fire3_KJ(benchmark::State& state) {
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  Counting counting(state);
  long sink = 0;
  Callbacks cb{1, &sink};
  for (auto _ : state) {
    auto paf = kj::newPromiseAndFulfiller<int>();
    auto promise = paf.promise.then(cb.first()).then(cb.second()).then(cb.third());
    paf.fulfiller->fulfill(static_cast<int>(state.iterations()));
    promise.wait(waitScope);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(BM_Fire3_KJ);

void BM_Fire3_FunctionVector(benchmark::State& state) {
  Counting counting(state);
  long sink = 0;
  Callbacks cb{1, &sink};
  for (auto _ : state) {
    std::vector<std::function<int(int)>> chain;
    chain.push_back(cb.first());
    chain.push_back(cb.second());
    chain.push_back(cb.third());
    int x = static_cast<int>(state.iterations());
    for (auto& f : chain) x = f(x);
    benchmark::DoNotOptimize(x);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(BM_Fire3_FunctionVector);

// --- Add a callback to a fired Deferred -----------------------------------------------------

void BM_AddToFired_Deft(benchmark::State& state) {
  Counting counting(state);
  Deferred<int> d = deft::succeed(1);
  int sink = 0;
  for (auto _ : state) {
    d.addCallback([&sink](int x) {
      sink += x;
      return x;
    });
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddToFired_Deft);

void BM_AddToFired_KJ(benchmark::State& state) {
  // KJ has no "add to a fired promise": the nearest is .then() on a ready promise, run by the
  // event loop.
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  Counting counting(state);
  int sink = 0;
  for (auto _ : state) {
    sink += kj::Promise<int>(1).then([&sink](int x) { return x + (sink & 1); }).wait(waitScope);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddToFired_KJ);

void BM_AddToFired_FunctionVector(benchmark::State& state) {
  Counting counting(state);
  std::vector<std::function<int(int)>> chain;
  int sink = 0;
  for (auto _ : state) {
    chain.push_back([&sink](int x) { return x + (sink & 1); });
    sink += chain.back()(1);
    if (chain.size() == 1024) chain.clear();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddToFired_FunctionVector);

// --- Chain through a returned Deferred ------------------------------------------------------

void BM_ReturnedDeferred_Deft(benchmark::State& state) {
  Counting counting(state);
  int sink = 0;
  for (auto _ : state) {
    Deferred<int> inner;
    Deferred<int> outer;
    outer.addCallback([&inner](int) { return inner; }).addCallback([&sink](int x) {
      sink += x;
      return x;
    });
    outer.callback(0);
    inner.callback(1);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_ReturnedDeferred_Deft);

void BM_ReturnedDeferred_KJ(benchmark::State& state) {
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  Counting counting(state);
  int sink = 0;
  for (auto _ : state) {
    auto inner = kj::newPromiseAndFulfiller<int>();
    auto outer = kj::newPromiseAndFulfiller<int>();
    auto promise = outer.promise.then([&inner](int) { return kj::mv(inner.promise); })
                       .then([&sink](int x) { return sink += x; });
    outer.fulfiller->fulfill(0);
    inner.fulfiller->fulfill(1);
    promise.wait(waitScope);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_ReturnedDeferred_KJ);

// --- co_await a fired Deferred --------------------------------------------------------------
// KJ 0.9.2 (Debian's) predates KJ's coroutine support, so the comparison is with the floor: a
// plain call through std::function.

void BM_AwaitFired_Deft(benchmark::State& state) {
  // Each round awaits a Deferred that is fired already (made by succeed(): one allocation).
  Counting counting(state);
  long sink = 0;
  for (auto _ : state) {
    Deferred<int> fired = deft::succeed(1);
    long got = 0;
    [](Deferred<int> d) -> Deferred<long> { co_return co_await std::move(d); }(std::move(fired))
        .addCallback([&got](long x) {
          got = x;
          return x;
        });
    sink += got;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AwaitFired_Deft);

void BM_AwaitFiredInLoop_Deft(benchmark::State& state) {
  // One coroutine awaiting 1,000 fired Deferreds: the per-await cost, without the coroutine's
  // own frame in it.
  Counting counting(state);
  long sink = 0;
  for (auto _ : state) {
    auto body = []() -> Deferred<long> {
      long sum = 0;
      for (int i = 0; i < 1000; ++i) sum += co_await deft::succeed(1);
      co_return sum;
    };
    body().addCallback([&sink](long x) {
      sink += x;
      return x;
    });
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_AwaitFiredInLoop_Deft);

void BM_AwaitFired_FunctionCall(benchmark::State& state) {
  Counting counting(state);
  long sink = 0;
  std::function<int(int)> f = [](int x) { return x; };
  for (auto _ : state) {
    sink += f(1);
    benchmark::DoNotOptimize(f);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AwaitFired_FunctionCall);

// --- DeferredList of 1,000 ------------------------------------------------------------------

constexpr int kListSize = 1000;

void BM_DeferredList1000_Deft(benchmark::State& state) {
  Counting counting(state);
  std::size_t sink = 0;
  for (auto _ : state) {
    std::vector<Deferred<int>> inputs(kListSize);
    std::vector<Deferred<int>> producers = inputs;
    deft::DeferredList(std::move(inputs))
        .addCallback([&sink](std::vector<deft::Outcome<int>> results) { sink += results.size(); });
    for (int i = 0; i < kListSize; ++i) producers[static_cast<std::size_t>(i)].callback(i);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * kListSize);
}
BENCHMARK(BM_DeferredList1000_Deft);

void BM_JoinPromises1000_KJ(benchmark::State& state) {
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  Counting counting(state);
  std::size_t sink = 0;
  for (auto _ : state) {
    auto fulfillers = kj::heapArrayBuilder<kj::Own<kj::PromiseFulfiller<int>>>(kListSize);
    auto promises = kj::heapArrayBuilder<kj::Promise<int>>(kListSize);
    for (int i = 0; i < kListSize; ++i) {
      auto paf = kj::newPromiseAndFulfiller<int>();
      promises.add(kj::mv(paf.promise));
      fulfillers.add(kj::mv(paf.fulfiller));
    }
    auto joined = kj::joinPromises(promises.finish());
    for (int i = 0; i < kListSize; ++i) fulfillers[static_cast<std::size_t>(i)]->fulfill(kj::cp(i));
    sink += joined.wait(waitScope).size();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * kListSize);
}
BENCHMARK(BM_JoinPromises1000_KJ);

}  // namespace

BENCHMARK_MAIN();
