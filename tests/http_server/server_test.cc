// The HTTP server against a raw-socket client sending exact bytes: keep-alive, pipelining,
// garbage, slowloris, disconnects, 100-continue, streaming both ways, handler failures.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "http_server/site.h"
#include "tcp/tcp.h"
#include "tests/http_server/raw_client.h"
#include "tests/support/loop_helpers.h"

namespace deft::http {
namespace {

using deft::testing::runUntil;
using testing::RawClient;

std::size_t openFds() {
  std::size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (::readdir(dir) != nullptr) ++n;
  ::closedir(dir);
  return n;
}

class ServerTest : public ::testing::Test {
 protected:
  // Routes every test uses; a test adds its own before start().
  ServerTest() {
    router.route("/", [](Request) { return ServerResponse::text(200, "home\n"); });
    auto echo = [](Request r) {
      return ServerResponse::text(200, absl::StrCat(r.method, " ", r.target, " ", r.body));
    };
    for (const char* method : {"GET", "POST", "PUT"}) router.route(method, "/echo", echo);
    router.route("/throw", [](Request) -> ServerResponse { throw std::runtime_error("kaboom"); });
    router.route("/errback", [](Request) {
      return fail<ServerResponse>(Failure(std::runtime_error("deferred kaboom")));
    });
    router.route("/delay", [this](Request r) -> Deferred<ServerResponse> {
      co_await deferLater(scope.reactor(), absl::Milliseconds(std::stoi(r.query)), [] {});
      co_return ServerResponse::text(200, "delayed " + r.query + "\n");
    });
    router.prefix("/files/", [](Request r) { return ServerResponse::text(200, "file " + r.path); });
    router.prefix("/files/special/", [](Request) { return ServerResponse::text(200, "special"); });
  }

  void start(ServerOptions options = {}) {
    site = std::make_shared<Site>(scope.reactor(), std::move(router), options);
    site->setErrorReporter([this](const Request& r, const Failure& f) {
      reported.push_back(absl::StrCat(r.method, " ", r.target, ": ", f.getErrorMessage()));
    });
    port = listenTCP(scope.reactor(), 0, site, {.interface = "127.0.0.1"});
  }

  std::uint16_t portNumber() const { return port->getHost().port(); }
  Reactor& reactor() { return scope.reactor(); }

  ReactorScope scope;
  Router router;
  std::shared_ptr<Site> site;
  std::shared_ptr<ListeningPort> port;
  std::vector<std::string> reported;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawClient client(reactor(), portNumber());
  client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(1));
  client.send("POST /echo?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(client.waitForResponses(2));
  auto r = client.responses();
  EXPECT_EQ(r.messages[0].head.status, 200);
  EXPECT_EQ(r.messages[0].body, "home\n");
  EXPECT_EQ(r.messages[0].head.headers.get("Content-Length"), "5");
  EXPECT_TRUE(r.messages[0].head.headers.has("Date"));
  EXPECT_EQ(r.messages[1].body, "POST /echo?x=1 hello");
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(site->openConnections(), 1u);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient client(reactor(), portNumber());
  client.send(
      "GET /delay?200 HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /delay?10 HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /files/a HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(4));
  auto r = client.responses();
  EXPECT_EQ(r.messages[0].body, "delayed 200\n");
  EXPECT_EQ(r.messages[1].body, "home\n");
  EXPECT_EQ(r.messages[2].body, "delayed 10\n");
  EXPECT_EQ(r.messages[3].body, "file /files/a");
}

TEST_F(ServerTest, RoutingExactPrefixLongestAndNotFound) {
  start();
  RawClient client(reactor(), portNumber());
  client.send(
      "GET /files/special/x HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /files/b?q HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET http://t/files/abs HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(4));
  auto r = client.responses();
  EXPECT_EQ(r.messages[0].body, "special");
  EXPECT_EQ(r.messages[1].body, "file /files/b");
  EXPECT_EQ(r.messages[2].head.status, 404);
  EXPECT_EQ(r.messages[3].body, "file /files/abs");
}

// The Tornado example from the design notes: a handler that finishes after a 5 s timer, while the
// server keeps answering other requests at once.
TEST_F(ServerTest, SlowHandlerDoesNotBlockOthers) {
  router.route("/slow", [this](Request) -> Deferred<ServerResponse> {
    co_await deferLater(reactor(), absl::Seconds(5), [] {});
    co_return ServerResponse::text(200, "finally\n");
  });
  start();
  const absl::Time begin = absl::Now();
  RawClient slow(reactor(), portNumber());
  slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 20; ++i) {
    RawClient fast(reactor(), portNumber());
    fast.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(fast.waitForResponses(1));
    EXPECT_EQ(fast.responses().messages[0].body, "home\n");
  }
  EXPECT_LT(absl::Now() - begin, absl::Seconds(4)) << "the fast requests waited for the slow one";
  EXPECT_EQ(slow.completeResponses(), 0u);
  ASSERT_TRUE(slow.waitForResponses(1));
  EXPECT_EQ(slow.responses().messages[0].body, "finally\n");
  EXPECT_GE(absl::Now() - begin, absl::Seconds(5));
}

struct BadRequestCase {
  const char* name;
  std::string bytes;
  int status;
};

TEST_F(ServerTest, BadRequestsGetTheirStatusAndTheConnectionCloses) {
  ServerOptions options;
  options.limits.maxBodyBytes = 1000;
  options.limits.maxHeaderBytes = 2000;
  start(options);
  const BadRequestCase cases[] = {
      {"garbage", "\x16\x03\x01\x02\x01\x01\xfc\x03\x03 hello\r\n\r\n", 400},
      {"bad length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\n", 400},
      {"smuggling CL CL", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"no host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"too large body", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413},
      {"too large head", "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(3000, 'a') + "\r\n\r\n",
       431},
      {"http/2", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"unknown expect", "GET / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", 417},
      {"unknown coding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: zip\r\n\r\n", 501},
      // Any Transfer-Encoding, even one naming no coding, means no Content-Length framing: a
      // front end that reads it as chunked would disagree about where the request ends.
      {"empty coding beside a length",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \r\nContent-Length: 3\r\n\r\nabc", 400},
      {"only commas", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: , ,\r\n\r\n", 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"invalid host", "GET / HTTP/1.1\r\nHost: exa mple.com/x\r\n\r\n", 400},
      {"host with a path", "GET / HTTP/1.1\r\nHost: example.com/x\r\n\r\n", 400},
      {"host with a bad port", "GET / HTTP/1.1\r\nHost: example.com:80x\r\n\r\n", 400},
      {"target in no form", "GET foo HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"asterisk for GET", "GET * HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"CONNECT to a path", "CONNECT /x HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"target too long", "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"request line unfinished and too long", "GET /" + std::string(3000, 'a'), 414},
  };
  for (const auto& c : cases) {
    RawClient client(reactor(), portNumber());
    client.send(c.bytes);
    ASSERT_TRUE(client.waitForClose()) << c.name;
    auto r = client.responses();
    ASSERT_EQ(r.messages.size(), 1u) << c.name << ": " << client.received();
    EXPECT_EQ(r.messages[0].head.status, c.status) << c.name << ": " << r.messages[0].body;
    EXPECT_EQ(r.messages[0].head.headers.get("Connection"), "close") << c.name;
  }
  EXPECT_TRUE(runUntil(reactor(), [&] { return site->openConnections() == 0; }));
}

TEST_F(ServerTest, HostAndTargetFormsTheRulesAllow) {
  start();
  RawClient client(reactor(), portNumber());
  client.send(
      "GET http://example.com/echo?a HTTP/1.1\r\nHost: example.com\r\n\r\n"  // absolute form
      "OPTIONS * HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"
      "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"
      "GET /echo HTTP/1.1\r\nHost: xn--bcher-kva.example%2e\r\n\r\n"
      "GET /echo HTTP/1.0\r\n\r\n");  // HTTP/1.0 needs no Host
  ASSERT_TRUE(client.waitForClose());
  auto r = client.responses();
  ASSERT_EQ(r.messages.size(), 5u) << client.received();
  EXPECT_EQ(r.messages[0].head.status, 200);
  EXPECT_EQ(r.messages[0].body, "GET http://example.com/echo?a ");
  EXPECT_EQ(r.messages[1].head.status, 204);
  EXPECT_EQ(r.messages[2].head.status, 200);
  EXPECT_EQ(r.messages[3].head.status, 200);
  EXPECT_EQ(r.messages[4].head.status, 200);
}

TEST_F(ServerTest, GarbageAfterAGoodRequestIsAnsweredInTurn) {
  start();
  RawClient client(reactor(), portNumber());
  client.send("GET /delay?50 HTTP/1.1\r\nHost: t\r\n\r\nBLAH BLAH BLAH BLAH\r\n\r\n");
  ASSERT_TRUE(client.waitForClose());
  auto r = client.responses();
  ASSERT_EQ(r.messages.size(), 2u) << client.received();
  EXPECT_EQ(r.messages[0].body, "delayed 50\n");
  EXPECT_EQ(r.messages[1].head.status, 400);
}

TEST_F(ServerTest, HandlerThatThrowsOrErrbacksGives500AndTheConnectionLivesOn) {
  start();
  RawClient client(reactor(), portNumber());
  client.send("GET /throw HTTP/1.1\r\nHost: t\r\n\r\nGET /errback HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(2));
  client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(3));
  auto r = client.responses();
  EXPECT_EQ(r.messages[0].head.status, 500);
  EXPECT_EQ(r.messages[1].head.status, 500);
  EXPECT_EQ(r.messages[2].head.status, 200);
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0], "GET /throw: kaboom");
  EXPECT_EQ(reported[1], "GET /errback: deferred kaboom");
}

TEST_F(ServerTest, HeaderInjectionByAHandlerIsRefusedWith500) {
  router.route("/inject", [](Request) {
    ServerResponse r = ServerResponse::text(200, "x");
    r.headers.add("X-Evil", "a\r\nSet-Cookie: stolen=1");
    return r;
  });
  start();
  RawClient client(reactor(), portNumber());
  client.send("GET /inject HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(1));
  EXPECT_EQ(client.responses().messages[0].head.status, 500);
  EXPECT_EQ(client.received().find("stolen"), std::string::npos);
  EXPECT_EQ(reported.size(), 1u);
}

TEST_F(ServerTest, HeadGivesLengthWithoutBody) {
  start();
  RawClient client(reactor(), portNumber());
  client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForBytes("home\n"));
  // The HEAD response has no body, so the GET response follows its head directly.
  const std::string& bytes = client.received();
  const std::size_t second = bytes.find("HTTP/1.1", 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_NE(bytes.substr(0, second).find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_TRUE(bytes.substr(0, second).ends_with("\r\n\r\n"));
}

TEST_F(ServerTest, RoutesByMethodWith405And501AndOptions) {
  router.route("/users/{id}", [](Request r) {
    return ServerResponse::text(200, "user " + r.pathParams.at("id"));
  });
  start();
  RawClient client(reactor(), portNumber());
  client.send(
      "DELETE /echo HTTP/1.1\r\nHost: t\r\n\r\n"
      "FROBNICATE / HTTP/1.1\r\nHost: t\r\n\r\n"
      "get / HTTP/1.1\r\nHost: t\r\n\r\n"
      "OPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /users/ana%20b HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(5));
  auto r = client.responses();
  EXPECT_EQ(r.messages[0].head.status, 405);
  EXPECT_EQ(r.messages[0].head.headers.get("Allow"), "GET, HEAD, OPTIONS, POST, PUT");
  EXPECT_EQ(r.messages[1].head.status, 501);  // no route implements FROBNICATE
  EXPECT_EQ(r.messages[2].head.status, 501);  // methods are case-sensitive
  EXPECT_EQ(r.messages[3].head.status, 204);
  EXPECT_EQ(r.messages[3].head.headers.get("Allow"), "GET, HEAD, OPTIONS, POST, PUT");
  EXPECT_EQ(r.messages[3].body, "");
  EXPECT_EQ(r.messages[4].head.status, 200);
  EXPECT_EQ(r.messages[4].body, "user ana b");
  EXPECT_TRUE(client.connected());  // none of these ends the connection
}

// This process's resident memory, in bytes (Linux /proc/self/statm: pages).
std::size_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t sizePages = 0;
  std::size_t residentPages = 0;
  statm >> sizePages >> residentPages;
  return residentPages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A client that pipelines 200 requests for a 1 MiB page and never reads: the server answers no
// further request while its answers wait in the transport, so its memory stays bounded (200 MiB
// before), and a second client is answered promptly throughout.
TEST_F(ServerTest, APipeliningClientThatNeverReadsCannotGrowTheServerOrStallOthers) {
  const std::string page(1 << 20, 'p');
  router.route("/big", [&page](Request) { return ServerResponse::text(200, page); });
  start();
  RawClient hog(reactor(), portNumber());
  hog.transport()->pauseProducing();  // it never reads
  std::string requests;
  for (int i = 0; i < 200; ++i) requests += "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
  const std::size_t before = residentBytes();
  hog.send(requests);

  absl::Duration slowest;
  const absl::Time begin = absl::Now();
  int answered = 0;
  while (absl::Now() - begin < absl::Seconds(1)) {
    RawClient other(reactor(), portNumber());
    const absl::Time asked = absl::Now();
    other.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(other.waitForResponses(1, absl::Seconds(2)));
    slowest = std::max(slowest, absl::Now() - asked);
    ++answered;
  }
  const std::size_t growth = residentBytes() - std::min(before, residentBytes());
  // Generous (under ASan freed memory sits in quarantine for a while): unbounded is 200 MiB.
  EXPECT_LT(growth, std::size_t{96} << 20) << "the server buffered answers nobody reads";
  EXPECT_LT(slowest, absl::Milliseconds(100)) << "after " << answered << " requests";
  EXPECT_TRUE(hog.connected());
}

// A burst of pipelined requests is taken maxPipelined at a time, a turn of the loop each, the
// rest held unparsed: every one is still answered, in order, also when the client half-closes
// right after sending them, and another client is answered in between.
TEST_F(ServerTest, APipelinedBurstIsAnsweredInOrderAFewPerTurn) {
  start();
  RawClient burst(reactor(), portNumber());
  std::string requests;
  constexpr int kRequests = 2000;
  for (int i = 0; i < kRequests; ++i) {
    requests += absl::StrCat("GET /echo?", i, " HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  burst.send(requests);
  burst.transport()->loseWriteConnection();  // all it will send: the server finishes, then closes

  RawClient other(reactor(), portNumber());
  other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(other.waitForResponses(1, absl::Seconds(5)));
  EXPECT_LT(burst.completeResponses(), static_cast<std::size_t>(kRequests))
      << "the other client waited for the whole burst";

  ASSERT_TRUE(burst.waitForClose(absl::Seconds(20)));
  auto r = burst.responses();
  ASSERT_EQ(r.messages.size(), static_cast<std::size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(r.messages[i].body, absl::StrCat("GET /echo?", i, " ")) << i;
  }
  ASSERT_TRUE(burst.lostReason());
  EXPECT_TRUE(burst.lostReason()->check<ConnectionDone>()) << burst.lostReason()->describe();
}

// A close waits for the buffered answer to go out; a client that never reads it is cut after
// an idle timeout instead of holding the connection (and its descriptor) forever.
TEST_F(ServerTest, AClosingConnectionWhoseClientNeverReadsIsCut) {
  const std::string page(8 << 20, 'p');  // more than the kernel's buffers take
  router.route("/big", [&page](Request) { return ServerResponse::text(200, page); });
  ServerOptions options;
  options.idleTimeout = absl::Milliseconds(300);
  options.lingerTimeout = absl::Milliseconds(100);
  start(options);
  RawClient client(reactor(), portNumber());
  client.transport()->pauseProducing();  // never reads
  // The big answer, then a bad request: its 400 queues behind, and the connection must close.
  client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: a b\r\n\r\n");
  ASSERT_TRUE(runUntil(reactor(), [&] { return site->openConnections() == 0; }, absl::Seconds(5)))
      << "the connection waited forever for a client that does not read";
}

// A slow reader of a large answer is not idle: it keeps its connection past idleTimeout.
TEST_F(ServerTest, ASlowReaderOfALargeAnswerIsNotCut) {
  const std::string page(8 << 20, 'p');
  router.route("/big", [&page](Request) { return ServerResponse::text(200, page); });
  ServerOptions options;
  options.idleTimeout = absl::Milliseconds(200);
  start(options);
  RawClient client(reactor(), portNumber());
  client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  const absl::Time begin = absl::Now();
  // Read in sips: one pass of the loop every 20 ms, well past the idle timeout in all.
  client.transport()->pauseProducing();
  while (client.completeResponses() < 1 && absl::Now() - begin < absl::Seconds(20)) {
    client.transport()->resumeProducing();
    reactor().iterate(absl::Milliseconds(1));
    if (client.closed()) break;
    client.transport()->pauseProducing();
    runUntil(reactor(), [&] { return client.closed(); }, absl::Milliseconds(20));
    if (client.closed()) break;
  }
  EXPECT_GT(absl::Now() - begin, absl::Milliseconds(400)) << "the test read too fast to show it";
  ASSERT_EQ(client.completeResponses(), 1u)
      << "cut after " << client.received().size() << " bytes: "
      << (client.lostReason() ? client.lostReason()->describe() : std::string("still open"));
  EXPECT_FALSE(client.closed());
}

// The answer with Connection: close is the last: a request pipelined behind it is not answered
// after it (a client would read those bytes as part of a body framed by the close).
TEST_F(ServerTest, NothingIsAnsweredAfterAClosingAnswer) {
  start();
  RawClient client(reactor(), portNumber());
  client.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(client.waitForClose());
  auto r = client.responses();
  EXPECT_EQ(r.messages.size(), 1u) << client.received();
}

TEST_F(ServerTest, ConnectionCloseAndHttp10) {
  start();
  RawClient closer(reactor(), portNumber());
  closer.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(closer.waitForClose());
  EXPECT_EQ(closer.responses().messages[0].head.headers.get("Connection"), "close");

  RawClient old(reactor(), portNumber());
  old.send("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old.waitForClose());
  EXPECT_EQ(old.responses().messages[0].body, "home\n");

  RawClient oldKeepAlive(reactor(), portNumber());
  oldKeepAlive.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(oldKeepAlive.waitForResponses(1));
  EXPECT_EQ(oldKeepAlive.responses().messages[0].head.headers.get("Connection"), "keep-alive");
  EXPECT_TRUE(oldKeepAlive.connected());
}

TEST_F(ServerTest, ExpectContinueWaitsForTheGoAhead) {
  start();
  RawClient client(reactor(), portNumber());
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(client.waitForBytes("HTTP/1.1 100 Continue\r\n\r\n"));
  client.send("body");
  ASSERT_TRUE(client.waitForResponses(1));
  auto r = client.responses();
  ASSERT_EQ(r.informational.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "POST /echo body");
}

TEST_F(ServerTest, ExpectContinueWithATooLargeBodyGets413WithoutContinue) {
  ServerOptions options;
  options.limits.maxBodyBytes = 10;
  start(options);
  RawClient client(reactor(), portNumber());
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(client.waitForClose());
  EXPECT_EQ(client.received().find("100 Continue"), std::string::npos);
  EXPECT_EQ(client.responses().messages[0].head.status, 413);
}

TEST_F(ServerTest, SlowlorisIsCutOff) {
  ServerOptions options;
  options.headerTimeout = absl::Milliseconds(300);
  start(options);
  RawClient client(reactor(), portNumber());
  client.send("GET / HTTP/1.1\r\nHost: t\r\n");
  const absl::Time begin = absl::Now();
  // One header line every 50 ms, forever: the idle timer never fires, the header timer does.
  while (!client.closed() && absl::Now() - begin < absl::Seconds(5)) {
    client.send("X-Trickle: a\r\n");
    runUntil(reactor(), [&] { return client.closed(); }, absl::Milliseconds(50));
  }
  EXPECT_TRUE(client.closed());
  EXPECT_LT(absl::Now() - begin, absl::Seconds(2));
  // Nothing of a response had started: it says why before closing.
  auto r = client.responses();
  ASSERT_EQ(r.messages.size(), 1u) << client.received();
  EXPECT_EQ(r.messages[0].head.status, 408);
}

// RFC 9112 §9.6: an error response is followed by a half-close and the server discards what the
// client still sends, so the client reads the whole response and a clean end, never a reset
// (which the kernel sends when a socket closes with unread input, and which can destroy the
// response before the client reads it).
TEST_F(ServerTest, AnErrorClosesGracefullyWhileTheClientStillSends) {
  ServerOptions options;
  options.limits.maxHeaderBytes = 2000;
  start(options);
  RawClient client(reactor(), portNumber());
  // A head over the limit, and more behind it that the server will never parse.
  client.send("GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(3000, 'a') + "\r\n\r\n" +
              std::string(256 * 1024, 'x'));
  ASSERT_TRUE(client.waitForClose(absl::Seconds(5)));
  auto r = client.responses();
  ASSERT_EQ(r.messages.size(), 1u) << client.received();
  EXPECT_EQ(r.messages[0].head.status, 431);
  EXPECT_TRUE(r.messages[0].complete);
  ASSERT_TRUE(client.lostReason());
  EXPECT_TRUE(client.lostReason()->check<ConnectionDone>()) << client.lostReason()->describe();
  EXPECT_TRUE(runUntil(reactor(), [&] { return site->openConnections() == 0; }));
}

TEST_F(ServerTest, ALingeringClientIsClosedAfterTheLingerTimeout) {
  ServerOptions options;
  options.limits.maxHeaderBytes = 2000;
  options.lingerTimeout = absl::Milliseconds(200);
  start(options);
  RawClient client(reactor(), portNumber());
  client.keepOpenOnPeerEof();  // it never closes its side, and keeps sending
  client.send("GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(3000, 'a') + "\r\n\r\n");
  const absl::Time begin = absl::Now();
  while (!client.closed() && absl::Now() - begin < absl::Seconds(5)) {
    client.send(std::string(1024, 'x'));
    reactor().iterate(absl::Milliseconds(20));
  }
  EXPECT_TRUE(client.closed());
  EXPECT_LT(absl::Now() - begin, absl::Seconds(2));
  EXPECT_EQ(client.responses().messages.at(0).head.status, 431);
  EXPECT_TRUE(runUntil(reactor(), [&] { return site->openConnections() == 0; }));
}

TEST_F(ServerTest, IdleConnectionsAreClosed) {
  ServerOptions options;
  options.idleTimeout = absl::Milliseconds(200);
  start(options);
  RawClient silent(reactor(), portNumber());
  ASSERT_TRUE(silent.waitForClose(absl::Seconds(3)));

  // A handler slower than the idle timeout: the client is waiting on us, not idle.
  RawClient waiting(reactor(), portNumber());
  waiting.send("GET /delay?500 HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(waiting.waitForResponses(1, absl::Seconds(3)));
  EXPECT_EQ(waiting.responses().messages[0].body, "delayed 500\n");

  RawClient afterOne(reactor(), portNumber());
  afterOne.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(afterOne.waitForResponses(1));
  ASSERT_TRUE(afterOne.waitForClose(absl::Seconds(3)));
  EXPECT_EQ(afterOne.completeResponses(), 1u);
}

TEST_F(ServerTest, EachRequestRestartsTheIdleTimeout) {
  ServerOptions options;
  options.idleTimeout = absl::Milliseconds(300);
  start(options);
  RawClient client(reactor(), portNumber());
  // Eight requests 100 ms apart: 800 ms in all, well past one idle timeout, never idle for one.
  for (std::size_t i = 1; i <= 8; ++i) {
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(client.waitForResponses(i));
    reactor().iterate(absl::Milliseconds(100));
    ASSERT_FALSE(client.closed()) << "closed after request " << i;
  }
  // Then silence: the close comes one idle timeout after the last answer, not sooner.
  const absl::Time quietFrom = absl::Now();
  ASSERT_TRUE(client.waitForClose(absl::Seconds(3)));
  EXPECT_GE(absl::Now() - quietFrom, absl::Milliseconds(150));
}

TEST_F(ServerTest, ClientVanishingMidRequestOrMidHandlerLeavesNothingBehind) {
  bool cancelled = false;
  router.route("/forever", [&cancelled](Request) {
    return Deferred<ServerResponse>([&cancelled](Deferred<ServerResponse>&) { cancelled = true; });
  });
  start();
  {
    RawClient midBody(reactor(), portNumber());
    midBody.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b");
    reactor().iterate(absl::Milliseconds(20));
    midBody.abort();
  }
  {
    RawClient midHandler(reactor(), portNumber());
    midHandler.send("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(runUntil(reactor(), [&] { return site->openConnections() == 1; }));
    reactor().iterate(absl::Milliseconds(20));
    midHandler.abort();
  }
  EXPECT_TRUE(runUntil(reactor(), [&] { return site->openConnections() == 0 && cancelled; }));
  EXPECT_TRUE(reported.empty());
}

TEST_F(ServerTest, StreamedResponseWaitsForASlowClient) {
  constexpr int kPieces = 256;
  const std::string piece(16 * 1024, 'z');
  int written = 0;
  router.route("/stream", [&](Request) {
    ServerResponse r;
    r.headers.add("Content-Type", "application/octet-stream");
    r.stream = [&](std::shared_ptr<BodyWriter> out) -> Deferred<void> {
      for (int i = 0; i < kPieces; ++i) {
        co_await out->write(piece);
        ++written;
      }
    };
    return r;
  });
  start();
  RawClient client(reactor(), portNumber());
  client.transport()->pauseProducing();  // read nothing for now
  client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 50; ++i) reactor().iterate(absl::Milliseconds(5));
  EXPECT_GT(written, 0);
  EXPECT_LT(written, kPieces) << "the producer did not wait for the client";
  client.transport()->resumeProducing();
  ASSERT_TRUE(client.waitForResponses(1, absl::Seconds(20)))
      << client.received().size() << " bytes, closed " << client.closed() << " "
      << (client.closed() ? "" : "") << (reported.empty() ? "" : reported[0]);
  auto r = client.responses();
  EXPECT_EQ(r.messages[0].head.headers.get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r.messages[0].body.size(), piece.size() * kPieces);
  EXPECT_EQ(written, kPieces);
}

TEST_F(ServerTest, ClientVanishingMidStreamEndsTheProducer) {
  bool producerEnded = false;
  router.route("/endless", [&](Request) {
    ServerResponse r;
    r.stream = [&](std::shared_ptr<BodyWriter> out) -> Deferred<void> {
      try {
        while (true) co_await out->write(std::string(16 * 1024, 'e'));
      } catch (const std::exception&) {
        producerEnded = true;  // the write failed: the client is gone
      }
    };
    return r;
  });
  start();
  RawClient client(reactor(), portNumber());
  client.transport()->pauseProducing();
  client.send("GET /endless HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 20; ++i) reactor().iterate(absl::Milliseconds(5));
  EXPECT_FALSE(producerEnded);
  client.abort();
  EXPECT_TRUE(runUntil(reactor(), [&] { return producerEnded && site->openConnections() == 0; }));
  EXPECT_TRUE(reported.empty()) << reported[0];
}

TEST_F(ServerTest, StreamedRequestBodyArrivesAsItComes) {
  std::vector<std::size_t> pieces;
  router.route(
      "POST", "/upload",
      [&pieces](Request request) -> Deferred<ServerResponse> {
        std::size_t total = 0;
        while (true) {
          std::string piece = co_await request.bodyStream->read();
          if (piece.empty()) break;
          pieces.push_back(piece.size());
          total += piece.size();
        }
        co_return ServerResponse::text(200, std::to_string(total));
      },
      {.streamBody = true});
  start();
  RawClient client(reactor(), portNumber());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 8; ++i) {
    client.send("10000\r\n" + std::string(0x10000, 'u') + "\r\n");
    reactor().iterate(absl::Milliseconds(5));
  }
  EXPECT_FALSE(pieces.empty()) << "the handler saw nothing before the body ended";
  client.send("0\r\n\r\n");
  ASSERT_TRUE(client.waitForResponses(1));
  EXPECT_EQ(client.responses().messages[0].body, std::to_string(8 * 0x10000));
}

TEST_F(ServerTest, StreamedRequestBodyOverTheLimitGets413) {
  router.route(
      "POST", "/upload",
      [](Request request) -> Deferred<ServerResponse> {
        while (!(co_await request.bodyStream->read()).empty()) {
        }
        co_return ServerResponse::text(200, "all read");
      },
      {.streamBody = true});
  ServerOptions options;
  options.limits.maxBodyBytes = 100000;
  start(options);
  RawClient client(reactor(), portNumber());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 4; ++i) client.send("8000\r\n" + std::string(0x8000, 'u') + "\r\n");
  ASSERT_TRUE(client.waitForClose());
  auto r = client.responses();
  ASSERT_EQ(r.messages.size(), 1u) << client.received();
  EXPECT_EQ(r.messages[0].head.status, 413);
  EXPECT_TRUE(reported.empty()) << "a client's error is not a server failure";
}

TEST_F(ServerTest, TenThousandRequestsOverAHundredConnectionsLeaveNoFdOpen) {
  start();
  const std::size_t fdsBefore = openFds();
  {
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 100; ++i) {
      clients.push_back(std::make_unique<RawClient>(reactor(), portNumber()));
    }
    for (int round = 0; round < 10; ++round) {
      for (auto& c : clients) {
        std::string burst;
        for (int k = 0; k < 10; ++k) burst += "GET /echo?n HTTP/1.1\r\nHost: t\r\n\r\n";
        c->send(burst);
      }
      for (auto& c : clients) ASSERT_TRUE(c->waitForResponses((round + 1) * 10u));
    }
    EXPECT_EQ(site->requestsAnswered(), 10000u);
    for (auto& c : clients) c->transport()->loseConnection();
    ASSERT_TRUE(runUntil(reactor(), [&] {
      for (auto& c : clients) {
        if (!c->closed()) return false;
      }
      return site->openConnections() == 0;
    }));
  }
  for (int i = 0; i < 5; ++i) reactor().iterate(absl::Milliseconds(1));
  EXPECT_EQ(openFds(), fdsBefore);
}

}  // namespace
}  // namespace deft::http
