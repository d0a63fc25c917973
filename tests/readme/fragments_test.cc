// The README's fragments, run: its chain, its coroutine and its HTTP example against a server on
// loopback. Compiling them (the fragments library) is not enough: g++ 12 once built the coroutine
// example into a program that aborted at its first co_await (deferred.h, "G++ 12 AND BRACED
// TEMPORARIES").

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "http/multipart.h"
#include "http_server/site.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "web_client/errors.h"

// The README's functions (tests/readme/chain_and_coroutine.cc, http.cc).
deft::Deferred<std::size_t> pageLength(std::string url);
deft::Deferred<std::size_t> totalLength(std::vector<std::string> urls);
deft::Deferred<void> serveAndFetch();
deft::Deferred<std::string> logInAndRead(std::string base, std::string avatar);  // agent.cc
deft::Deferred<int> beyondTcp(std::shared_ptr<deft::Factory> factory);  // transports.cc

namespace deft {
namespace {

// A server with two pages, on a free loopback port of the scope's reactor.
class Pages {
 public:
  explicit Pages(Reactor& reactor) {
    http::Router router;
    router.route("/a", [](http::Request) { return http::ServerResponse::text(200, "aaaa"); });
    router.route("/b", [](http::Request) { return http::ServerResponse::text(200, "bb"); });
    port_ = listenTCP(reactor, 0, std::make_shared<http::Site>(reactor, std::move(router)),
                      {.interface = "127.0.0.1"});
  }
  ~Pages() { port_->stopListening(); }

  std::string url(const char* path) const {
    return absl::StrCat("http://127.0.0.1:", port_->getHost().port(), path);
  }

 private:
  std::shared_ptr<ListeningPort> port_;
};

TEST(ReadmeFragments, TheCoroutineAwaitsEachPageInTurn) {
  ReactorScope scope;
  Pages pages(scope.reactor());
  std::size_t total = 0;
  int code = react([&](Reactor&) -> Deferred<void> {
    std::vector<std::string> urls = {pages.url("/a"), pages.url("/b"), pages.url("/a")};
    total = co_await totalLength(urls);
  }, scope.reactor());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(total, 10u);
}

TEST(ReadmeFragments, BeyondTcpListensOnUdpAndAUnixSocketAndRunsChildren) {
  ReactorScope scope;
  int status = 0;
  int code = react([&](Reactor&) -> Deferred<void> {
    status = co_await beyondTcp(makeFactory([]() -> std::unique_ptr<Protocol> {
      return std::make_unique<Protocol>();
    }));
  }, scope.reactor());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(status, 3);
}

TEST(ReadmeFragments, TheChainGivesTheLengthAndPassesOtherFailuresOn) {
  ReactorScope scope;
  Pages pages(scope.reactor());
  std::size_t length = 0;
  bool notFound = false;
  int code = react([&](Reactor&) -> Deferred<void> {
    length = co_await pageLength(pages.url("/a"));
    try {
      co_await pageLength(pages.url("/missing"));  // a 404 is no TimeoutError: not trapped
    } catch (const web::HttpError& e) {
      notFound = e.status() == 404;
    }
  }, scope.reactor());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(length, 4u);
  EXPECT_TRUE(notFound);
}

TEST(ReadmeFragments, TheServerAnswersTheSlowPageAfterFiveSeconds) {
  ReactorScope scope;
  const absl::Time begin = absl::Now();
  int code = react([](Reactor&) { return serveAndFetch(); }, scope.reactor());
  EXPECT_EQ(code, 0);
  EXPECT_GE(absl::Now() - begin, absl::Seconds(5));
}

}  // namespace
TEST(ReadmeFragments, TheAgentLogsInWithAFormAndCarriesTheCookie) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  http::Router router;
  router.route("POST", "/login", [](http::Request r) {
    auto parts = http::parseMultipart(r.body, r.headers.get("Content-Type").value_or(""));
    if (!parts.ok() || parts->size() != 2 || (*parts)[1].filename != "avatar.png") {
      return http::ServerResponse::text(400, "bad form");
    }
    http::ServerResponse ok = http::ServerResponse::text(200, "welcome");
    ok.headers.add("Set-Cookie", absl::StrCat("session=", (*parts)[0].data, "-", (*parts)[1].data.size(), "; Path=/"));
    return ok;
  });
  router.route("/account", [](http::Request r) {
    return http::ServerResponse::text(200, std::string(r.headers.get("Cookie").value_or("none")));
  });
  auto port = listenTCP(reactor, 0, std::make_shared<http::Site>(reactor, std::move(router)),
                        {.interface = "127.0.0.1"});
  const std::string avatar = absl::StrCat(::testing::TempDir(), "/avatar.png");
  std::ofstream(avatar) << std::string(5000, 'a');
  std::string seen;
  int code = react(
      [&](Reactor&) -> Deferred<void> {
        seen = co_await logInAndRead(absl::StrCat("http://127.0.0.1:", port->getHost().port()), avatar);
      },
      reactor);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(seen, "session=alice-5000");
}

}  // namespace deft
