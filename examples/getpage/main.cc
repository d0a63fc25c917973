// getpage: fetch web pages concurrently with getPage and gather them with a DeferredList — the
// project's demo, and curl for HTTP(S) scripts.
//
//   ./bazelw run //examples:getpage                     # serves itself on 127.0.0.1, fetches
//   ./bazelw run //examples:getpage -- --demo           # its own pages concurrently: a table
//   ./bazelw run //examples:getpage -- [options] URL... # curl: each body to stdout (or -o FILE)
//
// With URLs, curl's options mean what they mean to curl (7.88, Debian's): see options.cc's usage
// and curl_mode.h. Exit codes are curl's, with one "getpage: (N) ..." line on stderr per failure
// unless -s.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "deferred/deferred_lock.h"
#include "examples/getpage/curl_mode.h"
#include "examples/getpage/demo_site.h"
#include "examples/getpage/exit_codes.h"
#include "examples/getpage/options.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "web_client/get_page.h"

namespace {

using deft::Deferred;
using deft::Failure;
using deft::Outcome;
using deft::web::Page;
using deft::web::PageOptions;

struct Row {
  std::string url;
  absl::Duration time;
};

// Many URLs at once: getPage for each (at most --parallel-max in flight, a DeferredSemaphore),
// gathered with a DeferredList, then a table.
Deferred<int> fetchAll(getpage::Options args, std::size_t parallelMax) {
  deft::web::AgentOptions agentOptions;
  agentOptions.connectTimeout = args.page.connectTimeout;
  agentOptions.tls = args.page.tls;
  agentOptions.unixSocket = args.unixSocket;
  agentOptions.connectTo = args.connectTo;
  auto agent = std::make_shared<deft::web::Agent>(deft::reactor(), agentOptions);
  args.page.agent = agent;
  deft::DeferredSemaphore semaphore(parallelMax);
  auto rows = std::make_shared<std::vector<Row>>(args.urls.size());
  auto done = std::make_shared<std::size_t>(0);
  std::vector<Deferred<Page>> fetches;
  const absl::Time start = absl::Now();
  for (std::size_t i = 0; i < args.urls.size(); ++i) {
    (*rows)[i].url = args.urls[i];
    fetches.push_back(semaphore.run([&args, rows, done, i] {
      const absl::Time begin = absl::Now();
      std::string url = args.urls[i];
      PageOptions page = args.page;
      args.request.apply(url, page);
      return deft::web::fetchPage(url, page).addBoth([rows, done, i, begin](
                                                                       Outcome<Page> o) {
        (*rows)[i].time = absl::Now() - begin;
        ++*done;
        return o;
      });
    }));
  }

  // A progress line on a terminal while many are in flight.
  const bool progress = ::isatty(STDERR_FILENO) && args.urls.size() > 8;
  std::shared_ptr<deft::IDelayedCall> ticker;
  std::function<void()> tick = [&] {
    std::fprintf(stderr, "\r%zu/%zu fetched, %zu in flight ", *done, args.urls.size(),
                 std::min(parallelMax, args.urls.size() - *done));
    ticker = deft::reactor().callLater(absl::Milliseconds(100), tick);
  };
  if (progress) tick();

  std::vector<Outcome<Page>> results =
      co_await deft::DeferredList(std::move(fetches), {.consumeErrors = true});
  const absl::Duration total = absl::Now() - start;
  if (ticker && ticker->active()) ticker->cancel();
  if (progress) std::fprintf(stderr, "\r%*s\r", 40, "");

  int code = 0;
  absl::Duration sequential;
  std::printf("%-48s %6s %9s %9s\n", "URL", "status", "bytes", "time");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Row& row = (*rows)[i];
    sequential += row.time;
    const std::string ms = absl::StrFormat("%.0f ms", absl::ToDoubleMilliseconds(row.time));
    if (results[i].ok()) {
      const Page& page = results[i].value();
      std::string shown = row.url;
      if (page.redirects > 0) shown += absl::StrCat(" (", page.redirects, " redirect)");
      std::printf("%-48s %6d %9zu %9s\n", shown.c_str(), page.status, page.body.size(),
                  ms.c_str());
    } else {
      const Failure& f = results[i].failure();
      std::printf("%-48s %6s %9s %9s  %s\n", row.url.c_str(), "-", "-", ms.c_str(),
                  getpage::errorLine(f).c_str());
      if (code == 0) code = getpage::exitCodeFor(f);
    }
  }
  std::printf("\nfetched %zu pages concurrently in %.0f ms; one after another would have taken "
              "about %.0f ms (%.1fx)\n",
              results.size(), absl::ToDoubleMilliseconds(total),
              absl::ToDoubleMilliseconds(sequential),
              absl::ToDoubleSeconds(sequential) / std::max(1e-9, absl::ToDoubleSeconds(total)));
  co_return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<getpage::CommandLine> line = getpage::parseCommandLine(argc, argv);
  if (!line) return 2;
  getpage::Options* args = &line->groups.front();
  std::shared_ptr<deft::ListeningPort> demoPort;
  if ((line->groups.size() == 1 && args->urls.empty()) || line->demo) {
    line->demo = true;
    line->groups.resize(1);
    args = &line->groups.front();
    args->urls.clear();
    demoPort = deft::listenTCP(deft::reactor(), 0, getpage::makeDemoSite(), {.interface = "127.0.0.1"});
    const std::string base = absl::StrCat("http://127.0.0.1:", demoPort->getHost().port());
    std::printf("serving demo pages on %s/ (no URL given)\n\n", base.c_str());
    for (const std::string& path : getpage::demoPaths()) args->urls.push_back(base + path);
  }

  int code = 0;
  deft::reactor().callWhenRunning([&] {
    Deferred<int> run = line->demo ? fetchAll(*args, std::min<std::size_t>(line->parallelMax, 16))
                                   : getpage::runCurl(*line);
    std::move(run).addBoth([&code](Outcome<int> outcome) {
      if (outcome.ok()) {
        code = outcome.value();
      } else {
        std::fprintf(stderr, "%s\n", getpage::errorLine(outcome.failure()).c_str());
        code = getpage::exitCodeFor(outcome.failure());
      }
      // Not when a signal (SIGINT, SIGTERM) has stopped it already and this is the fetch ending
      // as its connections close.
      if (deft::reactor().running()) deft::reactor().stop();
    });
  });
  deft::reactor().run();
  return code;
}
