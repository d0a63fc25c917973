// deft's MySQL client under load, for bench/mysql.sh: primary-key selects through a
// ConnectionPool with a fixed number in flight, or a batch of SELECT SLEEP at once.
//
//   mysql_load --port=P --mode=select --queries=20000 --inflight=32
//   mysql_load --port=P --mode=sleep --inflight=32 --sleep=1
//
// Prints name=value pairs: queries, seconds (wall), rate (queries/s), cpu (this process's user +
// system seconds), cpu_per_1k.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "deferred/deferred_list.h"
#include "mysql/pool.h"
#include "reactor/reactor.h"

namespace {

using deft::Deferred;
namespace mysql = deft::mysql;

struct Load {
  mysql::ConnectionPool* pool;
  int queries;
  int started = 0;
  int rows = 0;
};

// One of the callers in flight: a query at a time until the total is reached.
Deferred<void> caller(Load& load) {
  while (load.started < load.queries) {
    const int id = 1 + (load.started++ * 7919) % 10000;
    mysql::Result r = co_await load.pool->execute(
        "SELECT id, name, email FROM bench.users WHERE id = ?", id);
    load.rows += static_cast<int>(r.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int port = std::atoi(deft::bench::flag(argc, argv, "port", "3306").c_str());
  const std::string mode = deft::bench::flag(argc, argv, "mode", "select");
  const int queries = std::atoi(deft::bench::flag(argc, argv, "queries", "20000").c_str());
  const int inflight = std::atoi(deft::bench::flag(argc, argv, "inflight", "32").c_str());
  const double sleep = std::atof(deft::bench::flag(argc, argv, "sleep", "1").c_str());

  deft::Reactor& reactor = deft::reactor();
  mysql::ConnectOptions options;
  options.port = static_cast<std::uint16_t>(port);
  mysql::PoolOptions limits;
  limits.maxOpen = static_cast<std::size_t>(inflight);
  limits.maxIdle = static_cast<std::size_t>(inflight);
  mysql::ConnectionPool pool(reactor, options, limits);
  int status = 0;
  double seconds = 0, cpu = 0;
  int done = 0;

  auto run = [&]() -> Deferred<void> {
    try {
      // Every connection open first: the figures are for queries, not logins.
      std::vector<Deferred<mysql::Result>> warm;
      for (int i = 0; i < inflight; ++i) warm.push_back(pool.execute("SELECT SLEEP(0.05)"));
      co_await deft::gatherResults(std::move(warm));
      const double cpu0 = deft::bench::cpuSeconds();
      const absl::Time t0 = reactor.seconds();
      if (mode == "sleep") {
        std::vector<Deferred<mysql::Result>> sleeps;
        for (int i = 0; i < inflight; ++i) sleeps.push_back(pool.execute("SELECT SLEEP(?)", sleep));
        co_await deft::gatherResults(std::move(sleeps));
        done = inflight;
      } else {
        Load load{&pool, queries};
        std::vector<Deferred<void>> callers;
        for (int i = 0; i < inflight; ++i) callers.push_back(caller(load));
        co_await deft::gatherResults(std::move(callers));
        if (load.rows != queries) throw std::runtime_error("a select found no row");
        done = queries;
      }
      seconds = absl::ToDoubleSeconds(reactor.seconds() - t0);
      cpu = deft::bench::cpuSeconds() - cpu0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mysql_load: %s\n", e.what());
      status = 1;
    }
    reactor.stop();
  };
  reactor.callWhenRunning(run);
  reactor.run();
  if (status == 0) {
    std::printf("queries=%d seconds=%.3f rate=%.0f cpu=%.3f cpu_per_1k=%.4f\n", done, seconds,
                done / seconds, cpu, cpu / done * 1000);
  }
  return status;
}
