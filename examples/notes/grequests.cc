// The notes' gevent/grequests programs (seed 001): a pool capping how many requests run at once,
// an exception handler per request, and requests that go wrong in three ways — one times out,
// one names a host that does not exist, one gets a 500. In deft: a DeferredSemaphore is the
// pool, and each request's errback is its exception handler; the others go on.
//
//   ./bazelw run //examples/notes:grequests                    # against its own site
//   ./bazelw run //examples/notes:grequests -- --size=1        # one request at a time
//   ./bazelw run //examples/notes:grequests -- --site=https://httpbin.org   # the notes' httpbin
//
// The host that does not exist is fakedomain.invalid: names under .invalid never exist (RFC
// 6761), and deft's resolvers answer them without sending a query anywhere.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "deferred/deferred_lock.h"
#include "examples/notes/notes_site.h"
#include "reactor/reactor.h"
#include "web_client/get_page.h"

ABSL_FLAG(int, size, 2, "requests in flight at most (gevent.pool.Pool(size))");
ABSL_FLAG(std::string, site, "",
          "an httpbin to ask instead of its own site, as the notes did: https://httpbin.org");

namespace {

struct Request {
  std::string url;
  absl::Duration timeout;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  deft::Reactor& reactor = deft::reactor();
  std::shared_ptr<deft::ListeningPort> site;
  std::string base = absl::GetFlag(FLAGS_site);
  if (base.empty()) {
    site = notes::serveNotesSite(reactor);
    base = notes::baseUrl(*site);
  }
  const std::vector<Request> requests = {
      {base + "/delay/1", absl::Milliseconds(1)},     // grequests.get(..., timeout=0.001)
      {"http://fakedomain.invalid/", absl::Seconds(5)},  // a host that does not exist
      {base + "/status/500", absl::Seconds(5)},
      {base + (absl::GetFlag(FLAGS_site).empty() ? "/page/1" : "/get"), absl::Seconds(5)},
      {base + (absl::GetFlag(FLAGS_site).empty() ? "/page/2" : "/uuid"), absl::Seconds(5)},
  };
  deft::DeferredSemaphore pool(static_cast<std::size_t>(std::max(1, absl::GetFlag(FLAGS_size))));
  int inFlight = 0, most = 0, failed = 0;
  reactor.callWhenRunning([&] {
    std::vector<deft::Deferred<void>> all;
    for (const Request& request : requests) {
      all.push_back(
          pool.run([&, request] {
                ++inFlight;
                most = std::max(most, inFlight);
                deft::web::PageOptions options;
                options.timeout = request.timeout;
                return deft::web::getPage(request.url, options).addBoth([&](deft::Outcome<std::string> o) {
                  --inFlight;
                  return o;
                });
              })
              .addCallbacks(
                  [url = request.url](std::string body) {
                    std::printf("ok: %s: %s", url.c_str(), body.c_str());
                  },
                  [&failed, url = request.url](deft::Failure f) {  // exception_handler
                    ++failed;
                    std::printf("Request failed: %s: %s\n", url.c_str(), f.getErrorMessage().c_str());
                  }));
    }
    deft::gatherResults(std::move(all)).addBoth([&](deft::Outcome<void>) {
      std::printf("%zu requests, %d failed, at most %d at once\n", requests.size(), failed, most);
      reactor.stop();
    });
  });
  reactor.run();
  return 0;
}
