// Reactor micro-benchmarks against libuv and Asio, same run:
//   - callFromThread: another thread posts 10,000 calls; time until the loop has run them all.
//     deft coalesces wake-ups (one eventfd write per burst); libuv's idiom is a locked queue plus
//     uv_async_send (which coalesces too); Asio's is post() to the io_context.
//   - an idle iteration: one pass of a loop with nothing to do (epoll_wait(0) and a clock read).

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "reactor/reactor.h"

namespace {

constexpr int kCalls = 10'000;

void BM_CallFromThread_Deft(benchmark::State& state) {
  deft::ReactorScope scope;
  deft::Reactor& reactor = scope.reactor();
  for (auto _ : state) {
    int done = 0;
    std::thread producer([&] {
      for (int i = 0; i < kCalls; ++i) reactor.callFromThread([&done] { ++done; });
    });
    while (done < kCalls) reactor.iterate(absl::Milliseconds(1));
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * kCalls);
}
BENCHMARK(BM_CallFromThread_Deft)->UseRealTime();

void BM_CallFromThread_Libuv(benchmark::State& state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct Shared {
    std::mutex mutex;
    std::deque<std::function<void()>> queue;
  } shared;
  uv_async_t async;
  async.data = &shared;
  uv_async_init(&loop, &async, [](uv_async_t* handle) {
    auto* s = static_cast<Shared*>(handle->data);
    std::deque<std::function<void()>> calls;
    {
      std::lock_guard lock(s->mutex);
      calls.swap(s->queue);
    }
    for (auto& call : calls) call();
  });
  for (auto _ : state) {
    int done = 0;
    std::thread producer([&] {
      for (int i = 0; i < kCalls; ++i) {
        {
          std::lock_guard lock(shared.mutex);
          shared.queue.push_back([&done] { ++done; });
        }
        uv_async_send(&async);
      }
    });
    while (done < kCalls) uv_run(&loop, UV_RUN_ONCE);
    producer.join();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  state.SetItemsProcessed(state.iterations() * kCalls);
}
BENCHMARK(BM_CallFromThread_Libuv)->UseRealTime();

void BM_CallFromThread_Asio(benchmark::State& state) {
  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  for (auto _ : state) {
    int done = 0;
    std::thread producer([&] {
      for (int i = 0; i < kCalls; ++i) boost::asio::post(io, [&done] { ++done; });
    });
    while (done < kCalls) io.run_one();
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * kCalls);
}
BENCHMARK(BM_CallFromThread_Asio)->UseRealTime();

void BM_IdleIteration_Deft(benchmark::State& state) {
  deft::ReactorScope scope;
  for (auto _ : state) scope.reactor().iterate();
}
BENCHMARK(BM_IdleIteration_Deft);

void BM_IdleIteration_Libuv(benchmark::State& state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  // A far-off timer keeps the loop alive: without an active handle uv_run returns before polling.
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, [](uv_timer_t*) {}, 1'000'000, 0);
  for (auto _ : state) uv_run(&loop, UV_RUN_NOWAIT);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}
BENCHMARK(BM_IdleIteration_Libuv);

}  // namespace

BENCHMARK_MAIN();
