// dnslookup: resolves the names given on the command line, concurrently, through deft's c-ares
// resolver on the reactor, and prints each with its addresses or its error.
//
//   ./bazelw run //examples:dnslookup -- localhost example.test 127.0.0.1
//   ./bazelw run //examples:dnslookup -- --server=127.0.0.1:5353 --family=6 web.test
//
// Exit code 0 when every name resolved, 1 otherwise.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "deferred/deferred.h"
#include "deferred/deferred_list.h"
#include "dns/cares_resolver.h"
#include "net/errors.h"
#include "reactor/reactor.h"

ABSL_FLAG(std::string, server, "", "DNS servers, comma-separated ip[:port] (default: resolv.conf)");
ABSL_FLAG(int, family, 0, "4: IPv4 addresses only, 6: IPv6 only, 0: both");
ABSL_FLAG(int, timeout_ms, 1500, "how long to wait for one answer");

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> names(args.begin() + 1, args.end());
  if (names.empty()) {
    std::fprintf(stderr, "usage: dnslookup [--server=IP:PORT] [--family=4|6] NAME...\n");
    return 2;
  }
  return deft::react([&](deft::Reactor& reactor) -> deft::Deferred<void> {
    deft::CaresResolver::Options options;
    const std::string servers = absl::GetFlag(FLAGS_server);
    if (!servers.empty()) options.servers = absl::StrSplit(servers, ',', absl::SkipEmpty());
    options.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
    auto resolver = std::make_shared<deft::CaresResolver>(reactor, options);
    std::vector<deft::Deferred<std::vector<std::string>>> lookups;
    for (const std::string& name : names) {
      switch (absl::GetFlag(FLAGS_family)) {
        case 4: lookups.push_back(resolver->lookupIPv4(name)); break;
        case 6: lookups.push_back(resolver->lookupIPv6(name)); break;
        default: lookups.push_back(resolver->lookupAll(name)); break;
      }
    }
    std::vector<deft::Outcome<std::vector<std::string>>> results =
        co_await deft::DeferredList(std::move(lookups), {.consumeErrors = true});
    bool allResolved = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (results[i].ok()) {
        std::printf("%-30s %s\n", names[i].c_str(), absl::StrJoin(results[i].value(), " ").c_str());
      } else {
        allResolved = false;
        std::printf("%-30s error: %s\n", names[i].c_str(),
                    results[i].failure().getErrorMessage().c_str());
      }
    }
    // A Deferred<void> coroutine fails by throwing (it cannot also co_return a Failure).
    if (!allResolved) throw deft::DNSLookupError("some names did not resolve");
  });
}
