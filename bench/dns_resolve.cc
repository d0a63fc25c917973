// Resolving many names: deft's CaresResolver on the reactor against a minimal program that uses
// c-ares directly with poll(), the same queries, the same server, `in-flight` at a time.
//
//   dns_resolve --impl=deft|cares --server=127.0.0.1:PORT --count=10000 --in-flight=200
//
// Names are name0.test ... name{count-1}.test (bench/dns.sh serves them from dnsmasq). Prints
// resolved names, seconds, names/s and CPU microseconds per lookup.

#include <ares.h>
#include <poll.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "deferred/deferred_list.h"
#include "dns/cares_resolver.h"
#include "reactor/reactor.h"

namespace {

using deft::bench::cpuSeconds;
using deft::bench::flag;

std::string nameOf(int i) { return "name" + std::to_string(i) + ".test"; }

int runDeft(const std::string& server, int count, int inFlight) {
  deft::ReactorScope scope;
  deft::Reactor& reactor = scope.reactor();
  deft::CaresResolver resolver(
      reactor, {.servers = {server}, .timeout = absl::Milliseconds(500), .tries = 4,
                .deadline = absl::Seconds(60),
                .maxQueriesInFlight = static_cast<std::size_t>(inFlight), .useHostsFile = false});
  // Like the raw program: `inFlight` lookups at a time, the next one started as one finishes.
  int resolved = 0;
  int done = 0;
  int next = 0;
  std::function<void()> startOne = [&] {
    if (next >= count) return;
    resolver.lookupIPv4(nameOf(next++)).addCallbacks(
        [&](std::vector<std::string> a) {
          ++resolved;
          if (++done == count) reactor.crash();
          startOne();
          return a;
        },
        [&](deft::Failure) {
          if (++done == count) reactor.crash();
          startOne();
          return std::vector<std::string>{};
        });
  };
  for (int i = 0; i < inFlight; ++i) startOne();
  if (done < count) reactor.run(false);
  return resolved;
}

struct Raw {
  ares_channel channel;
  int next = 0;
  int count = 0;
  int resolved = 0;
  int done = 0;
};

void startRaw(Raw& raw);

void onRawAnswer(void* arg, int status, int, ares_addrinfo* result) {
  auto* raw = static_cast<Raw*>(arg);
  if (status == ARES_SUCCESS) ++raw->resolved;
  if (result != nullptr) ares_freeaddrinfo(result);
  ++raw->done;
  startRaw(*raw);  // keep `in-flight` going
}

void startRaw(Raw& raw) {
  if (raw.next >= raw.count) return;
  const std::string name = nameOf(raw.next++);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_INET;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(raw.channel, name.c_str(), nullptr, &hints, onRawAnswer, &raw);
}

int runCares(const std::string& server, int count, int inFlight) {
  ares_library_init(ARES_LIB_INIT_ALL);
  Raw raw;
  raw.count = count;
  ares_options options{};
  options.timeout = 500;
  options.tries = 4;
  std::string lookups = "b";
  options.lookups = lookups.data();
  ares_init_options(&raw.channel, &options, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
  ares_set_servers_ports_csv(raw.channel, server.c_str());
  for (int i = 0; i < inFlight; ++i) startRaw(raw);
  while (raw.done < count) {
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(raw.channel, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    int n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events != 0) fds[n++] = pollfd{sockets[i], events, 0};
    }
    timeval tv{};
    timeval* wait = ares_timeout(raw.channel, nullptr, &tv);
    const int timeoutMs = wait != nullptr ? static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000) : 1000;
    const int ready = ::poll(fds, static_cast<nfds_t>(n), timeoutMs);
    if (ready == 0) {
      ares_process_fd(raw.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      ares_process_fd(raw.channel, (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD,
                      (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  ares_destroy(raw.channel);
  return raw.resolved;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string impl = flag(argc, argv, "impl", "deft");
  const std::string server = flag(argc, argv, "server", "127.0.0.1:53");
  const int count = std::atoi(flag(argc, argv, "count", "10000").c_str());
  const int inFlight = std::atoi(flag(argc, argv, "in-flight", "200").c_str());
  const auto start = std::chrono::steady_clock::now();
  const double cpuStart = cpuSeconds();
  const int resolved = impl == "cares" ? runCares(server, count, inFlight) : runDeft(server, count, inFlight);
  const double cpu = cpuSeconds() - cpuStart;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s in_flight=%d resolved=%d seconds=%.3f names_per_s=%.0f cpu_us_per_lookup=%.2f\n",
              impl.c_str(), inFlight, resolved, seconds, resolved / seconds, cpu * 1e6 / count);
  return resolved == count ? 0 : 1;
}
