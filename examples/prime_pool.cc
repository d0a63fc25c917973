// CPU-bound work on deft, three ways: counting the primes below a limit in chunks, on the reactor
// thread, with deferToThread, and on a ProcessPool, each gathered with gatherResults.
//
//   ./bazelw run //examples:prime_pool -- --limit=3000000 --chunks=8
//
// The notes this project grew from reach for ProcessPoolExecutor because Python's threads share
// one interpreter lock. C++ threads do not, so deferToThread spreads CPU-bound work over the
// cores as well: the pool's case is isolation. A task that crashes (or leaks, or must be killed
// when cancelled) takes its worker process with it, not the server: the pool errbacks that one
// task with ProcessTerminated and starts another worker.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "deferred/deferred.h"
#include "deferred/deferred_list.h"
#include "process/pool.h"
#include "reactor/reactor.h"

ABSL_FLAG(std::int64_t, limit, 3'000'000, "count the primes below this");
ABSL_FLAG(int, chunks, 8, "split the range into this many tasks");
ABSL_FLAG(int, workers, 0, "pool size (0: one per CPU)");

namespace {

// Trial division: deliberately CPU-bound.
std::int64_t countPrimes(std::int64_t from, std::int64_t to) {
  std::int64_t count = 0;
  for (std::int64_t n = std::max<std::int64_t>(from, 2); n < to; ++n) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

// The pool's task: "from-to" in, the count out, as text.
std::string countPrimesTask(std::string_view range) {
  const std::size_t dash = range.find('-');
  std::int64_t from = 0;
  std::int64_t to = 0;
  if (dash == std::string_view::npos ||
      !absl::SimpleAtoi(std::string(range.substr(0, dash)), &from) ||
      !absl::SimpleAtoi(std::string(range.substr(dash + 1)), &to)) {
    throw std::invalid_argument(absl::StrCat("not a range: ", std::string(range)));
  }
  return std::to_string(countPrimes(from, to));
}

struct Chunk {
  std::int64_t from, to;
};

std::vector<Chunk> split(std::int64_t limit, int chunks) {
  std::vector<Chunk> out;
  for (int i = 0; i < chunks; ++i) out.push_back({limit * i / chunks, limit * (i + 1) / chunks});
  return out;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

deft::Deferred<void> run(deft::Reactor& reactor) {
  const std::int64_t limit = absl::GetFlag(FLAGS_limit);
  const std::vector<Chunk> chunks = split(limit, absl::GetFlag(FLAGS_chunks));
  std::printf("counting the primes below %lld in %zu chunks on %u cores\n\n",
              static_cast<long long>(limit), chunks.size(), std::thread::hardware_concurrency());

  // 1. On the reactor thread: nothing else runs meanwhile.
  auto start = std::chrono::steady_clock::now();
  std::int64_t inline_total = 0;
  for (const Chunk& c : chunks) inline_total += countPrimes(c.from, c.to);
  std::printf("%-28s %10lld primes  %6.2f s\n", "on the reactor thread",
              static_cast<long long>(inline_total), secondsSince(start));

  // 2. deferToThread: the reactor's thread pool, results back on the reactor thread.
  start = std::chrono::steady_clock::now();
  std::vector<deft::Deferred<std::int64_t>> threaded;
  for (const Chunk& c : chunks) {
    threaded.push_back(reactor.deferToThread([c] { return countPrimes(c.from, c.to); }));
  }
  std::int64_t thread_total = 0;
  for (std::int64_t n : co_await deft::gatherResults(std::move(threaded))) thread_total += n;
  std::printf("%-28s %10lld primes  %6.2f s\n", "deferToThread",
              static_cast<long long>(thread_total), secondsSince(start));

  // 3. A ProcessPool: the same work in worker processes.
  deft::ProcessPool pool(reactor, {.workers = static_cast<std::size_t>(absl::GetFlag(FLAGS_workers))});
  start = std::chrono::steady_clock::now();
  std::vector<deft::Deferred<std::string>> pooled;
  for (const Chunk& c : chunks) {
    pooled.push_back(pool.callRemote("countPrimes", absl::StrCat(c.from, "-", c.to)));
  }
  std::int64_t pool_total = 0;
  for (const std::string& n : co_await deft::gatherResults(std::move(pooled))) {
    pool_total += std::stoll(n);
  }
  std::printf("%-28s %10lld primes  %6.2f s  (%zu workers)\n", "ProcessPool",
              static_cast<long long>(pool_total), secondsSince(start), pool.maxWorkers());
  co_await pool.close();
  if (inline_total != thread_total || inline_total != pool_total) {
    throw std::runtime_error("the three counts differ");
  }
}

}  // namespace

int main(int argc, char** argv) {
  // First, before anything else: in a worker the pool started, serve tasks and exit.
  deft::registerPoolTask("countPrimes", countPrimesTask);
  if (std::optional<int> code = deft::runPoolWorkerIfAsked()) return *code;
  absl::ParseCommandLine(argc, argv);
  return deft::react(run);
}
