// A coroutine crawler: fetches a page, follows its links to --depth, at most --parallel requests
// in flight (a DeferredSemaphore: gevent's Pool, in Twisted's terms). With no URL it crawls a
// small site it serves itself on 127.0.0.1: 31 pages in a binary tree, each a little slow.
//
//   ./bazelw run //examples:crawler
//   ./bazelw run //examples:crawler -- --depth=2 --parallel=4 http://127.0.0.1:8080/

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "deferred/deferred_lock.h"
#include "http/url.h"
#include "http_server/site.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "web_client/get_page.h"

ABSL_FLAG(int, depth, 4, "how many links deep to follow");
ABSL_FLAG(int, parallel, 5, "requests in flight at most");
ABSL_FLAG(bool, same_host, true, "follow links to the start URL's host only");

namespace {

using deft::Deferred;
using deft::http::Url;

// The href="..." values of a page.
std::vector<std::string> extractLinks(const std::string& html) {
  std::vector<std::string> links;
  for (std::size_t at = html.find("href=\""); at != std::string::npos;
       at = html.find("href=\"", at)) {
    at += 6;
    const std::size_t end = html.find('"', at);
    if (end == std::string::npos) break;
    links.push_back(html.substr(at, end - at));
  }
  return links;
}

class Crawler {
 public:
  Crawler(int maxDepth, int parallel, bool sameHost)
      : maxDepth_(maxDepth), sameHost_(sameHost), semaphore_(static_cast<std::size_t>(parallel)) {
    options_.agent = std::make_shared<deft::web::Agent>(deft::reactor());
    options_.timeout = absl::Seconds(10);
  }

  // Fetches `url` and, below the depth limit, everything it links to, concurrently.
  Deferred<void> visit(Url url, int depth) {
    url.fragment.clear();
    if (!seen_.insert(url.toString()).second) co_return;
    if (depth == 0) start_ = url;

    co_await semaphore_.acquire();
    const absl::Time begin = absl::Now();
    std::string body;
    std::string error;
    try {
      body = co_await deft::web::getPage(url.toString(), options_);
    } catch (const std::exception& e) {
      error = e.what();
    }
    semaphore_.release();
    std::printf("%*s%s  %s\n", depth * 2, "", url.toString().c_str(),
                error.empty() ? absl::StrCat(body.size(), " bytes, ",
                                             absl::FormatDuration(absl::Now() - begin))
                                    .c_str()
                              : error.c_str());
    ++fetched_;
    if (!error.empty() || depth == maxDepth_) co_return;

    std::vector<Deferred<void>> children;
    for (const std::string& link : extractLinks(body)) {
      absl::StatusOr<Url> next = url.resolve(link);
      if (!next.ok() || next->scheme != "http") continue;
      if (sameHost_ && !next->sameOrigin(start_)) continue;
      children.push_back(visit(*next, depth + 1));
    }
    co_await deft::DeferredList(std::move(children), {.consumeErrors = true});
  }

  int fetched() const { return fetched_; }

 private:
  int maxDepth_;
  bool sameHost_;
  deft::DeferredSemaphore semaphore_;
  deft::web::PageOptions options_;
  absl::flat_hash_set<std::string> seen_;
  Url start_;
  int fetched_ = 0;
};

// /page/N links to /page/2N and /page/2N+1 (up to 31) and back to the root; answers after
// 50-150 ms, on a timer.
std::shared_ptr<deft::http::Site> makeTreeSite() {
  deft::http::Router router;
  router.prefix("/page/", [](deft::http::Request request) -> Deferred<deft::http::ServerResponse> {
    int n = 0;
    if (!absl::SimpleAtoi(request.path.substr(6), &n) || n < 1 || n > 31) {
      co_return deft::http::ServerResponse::text(404, "no such page\n");
    }
    co_await deft::deferLater(deft::reactor(), absl::Milliseconds(50 + (n * 37) % 100), [] {});
    std::string html = absl::StrCat("<html><body><h1>page ", n, "</h1>");
    for (int child : {2 * n, 2 * n + 1}) {
      if (child <= 31) absl::StrAppend(&html, "<a href=\"", child, "\">page ", child, "</a> ");
    }
    absl::StrAppend(&html, "<a href=\"/page/1\">home</a></body></html>\n");
    co_return deft::http::ServerResponse::text(200, html, "text/html; charset=utf-8");
  });
  return std::make_shared<deft::http::Site>(deft::reactor(), std::move(router));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  std::string start = args.size() > 1 ? args[1] : "";
  std::shared_ptr<deft::ListeningPort> port;
  if (start.empty()) {
    port = deft::listenTCP(deft::reactor(), 0, makeTreeSite(), {.interface = "127.0.0.1"});
    start = absl::StrCat("http://127.0.0.1:", port->getHost().port(), "/page/1");
    std::printf("crawling a demo site served on 127.0.0.1 (no URL given)\n");
  }
  absl::StatusOr<Url> url = Url::parse(start);
  if (!url.ok()) {
    std::fprintf(stderr, "crawler: %s\n", std::string(url.status().message()).c_str());
    return 2;
  }
  Crawler crawler(absl::GetFlag(FLAGS_depth), absl::GetFlag(FLAGS_parallel),
                  absl::GetFlag(FLAGS_same_host));
  const absl::Time begin = absl::Now();
  const int code = deft::react([&](deft::Reactor&) { return crawler.visit(*url, 0); });
  std::printf("\n%d pages in %s, at most %d at a time\n", crawler.fetched(),
              absl::FormatDuration(absl::Now() - begin).c_str(), absl::GetFlag(FLAGS_parallel));
  return code;
}
