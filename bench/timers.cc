// Timers on deft's Reactor, libuv and Boost.Asio: the same schedule, CPU per timer.
//
//   timers --impl=deft|libuv|asio --mode=dense|cancel|sparse
//
// dense:  1,000,000 timers with random delays in [0, 1 s), run until all have fired.
// cancel: the same, but every other timer is cancelled before the loop runs; reports the cost
//         of a cancel separately.
// sparse: 100,000 timers spread over 1 s: the loop is mostly idle, waiting.
//
// Delays are whole milliseconds (libuv's timer resolution), the same sequence for every
// implementation. Prints one line: impl, mode, timers fired, CPU seconds, CPU ns per timer
// (scheduling + firing), cancel ns (cancel mode). bench/reactor.sh runs it and takes medians.

#include <sys/resource.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "reactor/reactor.h"

namespace {

using deft::bench::cpuSeconds;
using deft::bench::flag;

struct Schedule {
  std::vector<int> delaysMs;
  bool cancelHalf = false;
};

struct Result {
  std::size_t fired = 0;
  double cpu = 0;         // everything: schedule, cancel, run
  double cancelCpu = 0;   // the cancel loop alone
};

Result runDeft(const Schedule& schedule) {
  deft::ReactorScope scope;
  deft::Reactor& reactor = scope.reactor();
  Result result;
  const std::size_t expected =
      schedule.cancelHalf ? schedule.delaysMs.size() / 2 : schedule.delaysMs.size();
  const double start = cpuSeconds();
  std::vector<std::shared_ptr<deft::IDelayedCall>> calls;
  calls.reserve(schedule.delaysMs.size());
  for (int delay : schedule.delaysMs) {
    calls.push_back(reactor.callLater(absl::Milliseconds(delay), [&] {
      if (++result.fired == expected) reactor.crash();
    }));
  }
  if (schedule.cancelHalf) {
    const double cancelStart = cpuSeconds();
    for (std::size_t i = 0; i < calls.size(); i += 2) calls[i]->cancel();
    result.cancelCpu = cpuSeconds() - cancelStart;
  }
  reactor.run(/*installSignalHandlers=*/false);
  result.cpu = cpuSeconds() - start;
  return result;
}

Result runLibuv(const Schedule& schedule) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct Timer {
    uv_timer_t handle;
    Result* result;
  };
  Result result;
  const double start = cpuSeconds();
  std::vector<Timer> timers(schedule.delaysMs.size());
  for (std::size_t i = 0; i < timers.size(); ++i) {
    timers[i].result = &result;
    uv_timer_init(&loop, &timers[i].handle);
    timers[i].handle.data = &timers[i];
    uv_timer_start(
        &timers[i].handle,
        [](uv_timer_t* handle) { ++static_cast<Timer*>(handle->data)->result->fired; },
        static_cast<std::uint64_t>(schedule.delaysMs[i]), 0);
  }
  if (schedule.cancelHalf) {
    const double cancelStart = cpuSeconds();
    for (std::size_t i = 0; i < timers.size(); i += 2) uv_timer_stop(&timers[i].handle);
    result.cancelCpu = cpuSeconds() - cancelStart;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  result.cpu = cpuSeconds() - start;
  for (Timer& timer : timers) uv_close(reinterpret_cast<uv_handle_t*>(&timer.handle), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return result;
}

Result runAsio(const Schedule& schedule) {
  boost::asio::io_context io(1);
  Result result;
  const double start = cpuSeconds();
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  timers.reserve(schedule.delaysMs.size());
  for (int delay : schedule.delaysMs) {
    timers.push_back(
        std::make_unique<boost::asio::steady_timer>(io, std::chrono::milliseconds(delay)));
    timers.back()->async_wait([&result](const boost::system::error_code& error) {
      if (!error) ++result.fired;
    });
  }
  if (schedule.cancelHalf) {
    const double cancelStart = cpuSeconds();
    for (std::size_t i = 0; i < timers.size(); i += 2) timers[i]->cancel();
    result.cancelCpu = cpuSeconds() - cancelStart;
  }
  io.run();
  result.cpu = cpuSeconds() - start;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string impl = flag(argc, argv, "impl", "deft");
  const std::string mode = flag(argc, argv, "mode", "dense");
  const std::size_t count = mode == "sparse" ? 100'000 : 1'000'000;
  Schedule schedule;
  schedule.cancelHalf = mode == "cancel";
  std::mt19937 random(42);
  std::uniform_int_distribution<int> delay(0, 999);
  schedule.delaysMs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) schedule.delaysMs.push_back(delay(random));

  Result result;
  if (impl == "deft") {
    result = runDeft(schedule);
  } else if (impl == "libuv") {
    result = runLibuv(schedule);
  } else if (impl == "asio") {
    result = runAsio(schedule);
  } else {
    std::fprintf(stderr, "unknown --impl=%s (deft, libuv, asio)\n", impl.c_str());
    return 2;
  }
  const double perTimerNs = result.cpu * 1e9 / static_cast<double>(count);
  const double cancelNs =
      schedule.cancelHalf ? result.cancelCpu * 1e9 / static_cast<double>(count / 2) : 0;
  std::printf("%s %s fired=%zu cpu_s=%.3f ns_per_timer=%.0f cancel_ns=%.0f\n", impl.c_str(),
              mode.c_str(), result.fired, result.cpu, perTimerNs, cancelNs);
  return 0;
}
