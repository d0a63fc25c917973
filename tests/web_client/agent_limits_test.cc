// The Agent's limits and policies: the read timeout, the total connection limit, the browser-like
// redirect mode, and the keep-alive Agent getPage shares when given none.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "http_server/site.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "tests/web_client/scripted_server.h"
#include "tests/web_client/test_helpers.h"
#include "web_client/agent.h"
#include "web_client/errors.h"
#include "web_client/get_page.h"

namespace deft::web {
namespace {

using deft::testing::runUntil;
using deft::testing::wait;
using http::Request;
using testing::ScriptedConnection;
using testing::ScriptedServer;

using testing::pageOptions;

class AgentLimitsTest : public ::testing::Test {
 protected:
  Reactor& reactor() { return scope.reactor(); }
  ReactorScope scope;
};

TEST_F(AgentLimitsTest, ASilentServerHitsTheReadTimeoutAndTheConnectionIsAborted) {
  ScriptedServer silent(reactor(), [](ScriptedConnection& c) {
    // The head, then nothing.
    if (c.requests == 1 && c.transport != nullptr && c.answered++ == 0) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    }
  });
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.readTimeout = absl::Milliseconds(200)});
  const absl::Time begin = absl::Now();
  auto r = wait(reactor(), getPage(silent.url(), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(r.failure);
  EXPECT_TRUE(r.failure->check<ReadTimeoutError>()) << r.failure->describe();
  EXPECT_TRUE(r.failure->check<TimeoutError>()) << "a ReadTimeoutError is a TimeoutError";
  EXPECT_GE(absl::Now() - begin, absl::Milliseconds(190));
  EXPECT_LT(absl::Now() - begin, absl::Seconds(2));
  EXPECT_TRUE(runUntil(reactor(), [&] { return silent.connections->at(0)->lost; }));

  // No head at all: the time to the first byte is timed too, here set per request.
  ScriptedServer mute(reactor(), [](ScriptedConnection&) {});
  auto plain = std::make_shared<Agent>(reactor());
  auto head = wait(reactor(), getPage(mute.url(), pageOptions([&](PageOptions& o) {
                                        o.agent = plain;
                                        o.readTimeout = absl::Milliseconds(150);
                                      })));
  ASSERT_TRUE(head.failure);
  EXPECT_TRUE(head.failure->check<ReadTimeoutError>()) << head.failure->describe();
}

TEST_F(AgentLimitsTest, TheReadTimeoutIsBetweenBytesNotForTheWholeBody) {
  // A byte every 60 ms for about 600 ms, with a read timeout of 250 ms: never quiet that long.
  auto trickle = std::make_shared<std::function<void()>>();
  ScriptedServer trickler(reactor(), [&](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr && c.answered++ == 0) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
      *trickle = [this, &c, trickle] {
        if (c.transport == nullptr || c.answered > 10) return;
        c.transport->write("x");
        ++c.answered;
        reactor().callLater(absl::Milliseconds(60), *trickle);
      };
      (*trickle)();
    }
  });
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.readTimeout = absl::Milliseconds(250)});
  const absl::Time begin = absl::Now();
  auto r = wait(reactor(), getPage(trickler.url(), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(*r.value, std::string(10, 'x'));
  EXPECT_GT(absl::Now() - begin, absl::Milliseconds(500));
  *trickle = nullptr;  // it holds itself: break the cycle
}

TEST_F(AgentLimitsTest, AReaderThatPausesIsNotTimedOut) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr && c.answered++ == 0) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
    }
  });
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.readTimeout = absl::Milliseconds(150)});
  auto response = wait(reactor(), agent->request("GET", server.url()));
  ASSERT_TRUE(response.value) << response.failure->describe();
  std::string body;
  std::optional<std::optional<Failure>> end;
  response.value->deliverBody({.dataReceived = [&](std::string_view d) { body.append(d); },
                               .connectionLost = [&](std::optional<Failure> f) { end = f; }});
  response.value->pauseProducing();
  runUntil(reactor(), [] { return false; }, absl::Milliseconds(400));  // well past the timeout
  EXPECT_FALSE(end) << "timed out while paused";
  response.value->resumeProducing();
  server.connections->at(0)->transport->write("def");
  ASSERT_TRUE(runUntil(reactor(), [&] { return end.has_value(); }));
  EXPECT_FALSE(*end) << (*end)->describe();
  EXPECT_EQ(body, "abcdef");
}

// A server on one loopback address (a host of its own to the Agent).
struct CountingServer {
  CountingServer(Reactor& reactor, const std::string& interface) {
    http::Router router;
    router.route("/slow", [&reactor](Request) {
      return deferLater(reactor, absl::Milliseconds(100),
                        [] { return http::ServerResponse::text(200, "slow"); });
    });
    router.route("/", [](Request) { return http::ServerResponse::text(200, "fast"); });
    site = std::make_shared<http::Site>(reactor, std::move(router));
    port = listenTCP(reactor, 0, site, {.interface = interface});
    host = interface;
  }
  std::string url(const std::string& path) const {
    return absl::StrCat("http://", host, ":", port->getHost().port(), path);
  }
  std::shared_ptr<http::Site> site;
  std::shared_ptr<ListeningPort> port;
  std::string host;
};

TEST_F(AgentLimitsTest, TheTotalConnectionLimitHoldsAcrossHostsAndEveryRequestIsServed) {
  std::vector<std::unique_ptr<CountingServer>> servers;
  for (const char* interface : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
    servers.push_back(std::make_unique<CountingServer>(reactor(), interface));
  }
  auto agent = std::make_shared<Agent>(
      reactor(), AgentOptions{.maxConnectionsPerHost = 4, .maxConnections = 3});
  std::vector<Deferred<std::string>> pages;
  for (int i = 0; i < 18; ++i) {
    pages.push_back(getPage(servers[i % 3]->url("/slow"),
                            pageOptions([&](PageOptions& o) { o.agent = agent; })));
  }
  auto results = std::make_shared<std::vector<Outcome<std::string>>>();
  Deferred<void> gathered = DeferredList(std::move(pages), {.consumeErrors = true})
                                .addCallback([results](std::vector<Outcome<std::string>> r) {
                                  *results = std::move(r);
                                });
  // Sampled on the Agent's side: a server sees a close a moment after the Agent made it.
  auto done = std::make_shared<bool>(false);
  std::move(gathered).addBoth([done](Outcome<void> o) {
    *done = true;
    return o;
  });
  std::size_t peak = 0;
  ASSERT_TRUE(runUntil(reactor(), [&] {
    peak = std::max(peak, agent->openConnections());
    return *done;
  }));
  EXPECT_LE(peak, 3u);
  ASSERT_EQ(results->size(), 18u);
  for (auto& outcome : *results) EXPECT_TRUE(outcome.ok()) << outcome.failure().describe();
  EXPECT_LE(agent->openConnections(), 3u);
}

TEST_F(AgentLimitsTest, AtTheTotalLimitAnIdleConnectionToAnotherHostMakesRoom) {
  CountingServer first(reactor(), "127.0.0.1");
  CountingServer second(reactor(), "127.0.0.2");
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.maxConnections = 1});
  auto one = wait(reactor(), getPage(first.url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(one.value) << one.failure->describe();
  EXPECT_EQ(agent->idleConnections(), 1u);
  EXPECT_EQ(first.site->openConnections(), 1u);
  // Sampled on the Agent's side: a server sees the close a moment after the Agent made it.
  bool done = false;
  std::size_t peak = 0;
  getPage(second.url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; }))
      .addBoth([&done](Outcome<std::string> o) {
        EXPECT_TRUE(o.ok()) << o.failure().describe();
        done = true;
      });
  ASSERT_TRUE(runUntil(reactor(), [&] {
    peak = std::max(peak, agent->openConnections());
    return done;
  }));
  EXPECT_EQ(peak, 1u) << "the idle connection to the first host was not closed first";
  EXPECT_EQ(agent->connectionsOpened(), 2u);
  EXPECT_TRUE(runUntil(reactor(), [&] { return first.site->openConnections() == 0; }));
}

TEST_F(AgentLimitsTest, AtTheTotalLimitABusyConnectionThatFinishesMakesRoom) {
  // The only connection is busy when the second host's request comes: nothing idle to close. When
  // it finishes it is not kept idle for a minute while that request waits: it makes room.
  CountingServer first(reactor(), "127.0.0.1");
  CountingServer second(reactor(), "127.0.0.2");
  auto agent = std::make_shared<Agent>(
      reactor(), AgentOptions{.maxConnections = 1, .idleTimeout = absl::Seconds(60)});
  const absl::Time begin = absl::Now();
  auto slow = getPage(first.url("/slow"), pageOptions([&](PageOptions& o) { o.agent = agent; }));
  auto other = getPage(second.url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; }));
  auto r = wait(reactor(), std::move(other));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(5)) << "waited for the idle timeout";
  EXPECT_TRUE(wait(reactor(), std::move(slow)).value);
}

TEST_F(AgentLimitsTest, DestroyingTheAgentFailsTheRequestsWaitingForAConnection) {
  // One connection per host, busy with a slow answer; three more requests wait for it, two of them
  // gathered (gatherResults cancels the other when one fails). The Agent goes (requests do not
  // keep it alive: getPage's would): the first request carries on to its end and its connection
  // then closes; the waiting ones fail, from the loop, rather than wait for ever.
  CountingServer server(reactor(), "127.0.0.1");
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.maxConnectionsPerHost = 1});
  Deferred<std::string> first =
      agent->request("GET", server.url("/slow")).addCallback([](Response r) { return r.readBody(); });
  Deferred<Response> second = agent->request("GET", server.url("/"));
  std::vector<Deferred<Response>> pair;
  pair.push_back(agent->request("GET", server.url("/")));
  pair.push_back(agent->request("GET", server.url("/")));
  ASSERT_TRUE(runUntil(reactor(), [&] { return server.site->openConnections() == 1; }));
  std::optional<Failure> secondFailure, pairFailure;
  std::move(second).addBoth([&secondFailure](Outcome<Response> o) {
    if (!o.ok()) secondFailure = o.failure();
  });
  gatherResults(std::move(pair), /*consumeErrors=*/true).addBoth([&pairFailure](Outcome<std::vector<Response>> o) {
    if (!o.ok()) pairFailure = o.failure();
  });
  agent.reset();
  ASSERT_TRUE(runUntil(reactor(), [&] { return secondFailure && pairFailure; })) << "left unfired";
  EXPECT_TRUE(secondFailure->check<RequestNotSent>()) << secondFailure->describe();
  const FirstError* firstError = pairFailure->value<FirstError>();
  ASSERT_NE(firstError, nullptr) << pairFailure->describe();
  EXPECT_TRUE(firstError->subFailure().check<RequestNotSent>()) << pairFailure->describe();
  auto r = wait(reactor(), std::move(first));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(*r.value, "slow");
  // No pool to go back to: the connection closes (the server would keep it for a minute).
  EXPECT_TRUE(runUntil(reactor(), [&] { return server.site->openConnections() == 0; }));
}

TEST_F(AgentLimitsTest, HostsNoLongerUsedAreForgotten) {
  // 100 hosts that refuse (a port just closed, on 100 loopback addresses): each leaves nothing
  // open, and the Agent does not keep an entry for each for ever.
  std::uint16_t port = 0;
  {
    CountingServer gone(reactor(), "127.0.0.1");
    port = gone.port->getHost().port();
    bool stopped = false;
    gone.port->stopListening().addCallback([&stopped] { stopped = true; });
    ASSERT_TRUE(runUntil(reactor(), [&] { return stopped; }));
  }
  auto agent = std::make_shared<Agent>(reactor());
  for (int n = 2; n < 102; ++n) {
    auto r = wait(reactor(), getPage(absl::StrCat("http://127.0.0.", n, ":", port, "/"),
                                     pageOptions([&](PageOptions& o) { o.agent = agent; })));
    ASSERT_TRUE(r.failure);
    EXPECT_TRUE(r.failure->check<ConnectionRefusedError>()) << r.failure->describe();
  }
  EXPECT_LT(agent->knownHosts(), 100u);
  // And the pool still works.
  CountingServer server(reactor(), "127.0.0.1");
  auto r = wait(reactor(), getPage(server.url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  EXPECT_TRUE(r.value) << r.failure->describe();
}

TEST_F(AgentLimitsTest, AHostThatKeepsAskingDoesNotStarveOneHeldBack) {
  // One connection in all; the first host asks again from each answer's callback, for ever. The
  // second host, held back meanwhile, is served in its turn.
  CountingServer first(reactor(), "127.0.0.1");
  CountingServer second(reactor(), "127.0.0.2");
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.maxConnections = 1});
  // Shared with the callbacks, which may run after this function (the reactor's teardown
  // errbacks the last request).
  struct Loop {
    int answered = 0;
    bool stop = false;
    std::function<void()> again;
  };
  auto loop = std::make_shared<Loop>();
  const std::string url = first.url("/");
  std::weak_ptr<Loop> weak = loop;
  loop->again = [weak, agent, url] {
    auto l = weak.lock();
    if (!l || l->stop) return;
    getPage(url, pageOptions([&](PageOptions& o) { o.agent = agent; }))
        .addBoth([weak](Outcome<std::string>) {
          if (auto l = weak.lock()) {
            ++l->answered;
            l->again();
          }
        });
  };
  loop->again();
  ASSERT_TRUE(runUntil(reactor(), [&] { return loop->answered >= 3; }));
  auto other = wait(reactor(), getPage(second.url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })),
                    absl::Seconds(5));
  loop->stop = true;
  ASSERT_TRUE(other.value) << (other.failure ? other.failure->describe() : "never answered");
  EXPECT_LE(agent->openConnections(), 1u);
}

class RedirectModeTest : public AgentLimitsTest {
 protected:
  RedirectModeTest() {
    for (int code : {301, 302, 303, 307, 308}) {
      for (const char* method : {"POST", "PUT"}) {
        router.route(method, absl::StrCat("/", code), [code](Request) {
          return http::ServerResponse::redirect(code, "/method");
        });
      }
    }
    auto echo = [](Request r) { return http::ServerResponse::text(200, absl::StrCat(r.method, " ", r.body)); };
    for (const char* method : {"GET", "POST", "PUT"}) router.route(method, "/method", echo);
    site = std::make_shared<http::Site>(reactor(), std::move(router));
    port = listenTCP(reactor(), 0, site, {.interface = "127.0.0.1"});
  }
  // What the final response says ("METHOD body"), or its status when the redirect was returned.
  std::string follow(const std::string& method, int code, RedirectMode mode, bool keepPost = false) {
    auto r = wait(reactor(), fetchPage(absl::StrCat("http://127.0.0.1:", port->getHost().port(), "/", code),
                                       pageOptions([&](PageOptions& o) {
                                         o.method = method;
                                         o.body = "data";
                                         o.redirectMode = mode;
                                         o.keepPostOn301 = o.keepPostOn302 = o.keepPostOn303 = keepPost;
                                       })));
    if (!r.value) return r.failure->describe();
    return r.value->status == 200 ? r.value->body : absl::StrCat(r.value->status);
  }
  http::Router router;
  std::shared_ptr<http::Site> site;
  std::shared_ptr<ListeningPort> port;
};

TEST_F(RedirectModeTest, StrictFollowsOnlyWhatTwistedsRedirectAgentFollows) {
  EXPECT_EQ(follow("POST", 301, RedirectMode::kStrict), "301");
  EXPECT_EQ(follow("POST", 302, RedirectMode::kStrict), "302");
  EXPECT_EQ(follow("PUT", 301, RedirectMode::kStrict), "301");
  EXPECT_EQ(follow("POST", 303, RedirectMode::kStrict), "GET ");
  EXPECT_EQ(follow("POST", 307, RedirectMode::kStrict), "POST data");
  EXPECT_EQ(follow("PUT", 308, RedirectMode::kStrict), "PUT data");
}

TEST_F(RedirectModeTest, BrowserTurnsPostIntoGetOn301And302UnlessKept) {
  EXPECT_EQ(follow("POST", 301, RedirectMode::kBrowser), "GET ");
  EXPECT_EQ(follow("POST", 302, RedirectMode::kBrowser), "GET ");
  EXPECT_EQ(follow("POST", 303, RedirectMode::kBrowser), "GET ");
  EXPECT_EQ(follow("PUT", 301, RedirectMode::kBrowser), "PUT data");  // only POST changes
  EXPECT_EQ(follow("PUT", 303, RedirectMode::kBrowser), "GET ");
  EXPECT_EQ(follow("POST", 307, RedirectMode::kBrowser), "POST data");
  EXPECT_EQ(follow("POST", 308, RedirectMode::kBrowser), "POST data");
  // curl's --post301, --post302, --post303.
  EXPECT_EQ(follow("POST", 301, RedirectMode::kBrowser, true), "POST data");
  EXPECT_EQ(follow("POST", 302, RedirectMode::kBrowser, true), "POST data");
  EXPECT_EQ(follow("POST", 303, RedirectMode::kBrowser, true), "POST data");
}

TEST_F(AgentLimitsTest, GetPageWithoutAnAgentSharesOneKeepAliveAgentPerReactor) {
  CountingServer server(reactor(), "127.0.0.1");
  std::shared_ptr<Agent> shared = sharedAgent(absl::Seconds(30), tls::ClientTlsOptions{});
  for (int i = 0; i < 3; ++i) {
    auto r = wait(reactor(), getPage(server.url("/")));
    ASSERT_TRUE(r.value) << r.failure->describe();
  }
  EXPECT_EQ(shared->connectionsOpened(), 1u) << "each getPage made its own connection";
  EXPECT_EQ(shared.get(), sharedAgent(absl::Seconds(30), tls::ClientTlsOptions{}).get());
  tls::ClientTlsOptions insecure;
  insecure.verify = false;
  EXPECT_NE(shared.get(), sharedAgent(absl::Seconds(30), insecure).get())
      << "other TLS options must not share an Agent";
  EXPECT_EQ(&shared->reactorRef(), &reactor());
}

}  // namespace
}  // namespace deft::web
