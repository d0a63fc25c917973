// The app: serves quotes over QOTD and over HTTP on loopback, fetches one quote as a QOTD client,
// then twenty pages with getPage, at most five in flight, gathered in order.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "deferred/deferred_list.h"
#include "deferred/deferred_lock.h"
#include "http_server/site.h"
#include "qotd.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "web_client/get_page.h"

using namespace deft;

namespace {

const std::vector<std::string> kQuotes = {
    "Deferreds are callbacks with a memory.\n",
    "The reactor never blocks.\n",
    "Errbacks are exceptions that arrive later.\n",
};

Deferred<void> app(Reactor& reactor) {
  auto quotes = listenTCP(reactor, 0, qotd::quoteFactory(kQuotes), {.interface = "127.0.0.1"});

  // A page that takes 20 ms, counting how many requests the server has in hand at once.
  int inFlight = 0;
  int mostInFlight = 0;
  http::Router router;
  router.route("/quote", [&](http::Request) -> Deferred<http::ServerResponse> {
    mostInFlight = std::max(mostInFlight, ++inFlight);
    co_await deferLater(reactor, absl::Milliseconds(20));
    --inFlight;
    co_return http::ServerResponse::text(200, kQuotes[1]);
  });
  auto web = listenTCP(reactor, 0, std::make_shared<http::Site>(reactor, std::move(router)),
                       {.interface = "127.0.0.1"});

  std::string quote = co_await qotd::fetchQuote(reactor, "127.0.0.1", quotes->getHost().port());
  std::printf("qotd: %s", quote.c_str());

  const std::string url = "http://127.0.0.1:" + std::to_string(web->getHost().port()) + "/quote";
  DeferredSemaphore fiveAtOnce(5);
  std::vector<Deferred<std::string>> pages;
  for (int i = 0; i < 20; ++i) {
    pages.push_back(fiveAtOnce.run([url]() -> Deferred<std::string> {
      co_return co_await web::getPage(url);  // the lambda's capture lives until this returns
    }));
  }
  std::vector<std::string> bodies = co_await gatherResults(std::move(pages));
  std::printf("getPage: %zu pages, at most %d at once: %s", bodies.size(), mostInFlight,
              bodies.front().c_str());

  quotes->stopListening();
  web->stopListening();
}

}  // namespace

int main() { return react(app); }
