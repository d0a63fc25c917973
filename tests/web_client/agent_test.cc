// The Agent and getPage against the project's own server and against a scripted server sending
// exact bytes: truncations, trickles, silence, redirects, stale pooled connections, gzip.

#include <zlib.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "http/errors.h"
#include "http_server/site.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/stalled_listener.h"
#include "tests/support/test_pki.h"
#include "tls/tls.h"
#include "unix/unix.h"
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

// `text` compressed with gzip framing, or zlib's ("deflate") with `zlibFraming`.
std::string gzipped(const std::string& text, bool zlibFraming = false) {
  return testing::zlibCompressed(text, zlibFraming ? MAX_WBITS : 16 + MAX_WBITS, Z_BEST_COMPRESSION);
}

// A handler answering with the request's header fields, one "Name=value" per line.
http::ServerResponse echoHeaders(Request request) {
  std::string seen;
  for (const auto& [name, value] : request.headers) seen += name + "=" + value + "\n";
  return http::ServerResponse::text(200, seen);
}

class AgentTest : public ::testing::Test {
 protected:
  AgentTest() {
    router.route("/", [](Request) { return http::ServerResponse::text(200, "root"); });
    router.route("/r1", [](Request) { return http::ServerResponse::redirect(302, "r2"); });
    router.route("/r2", [](Request) { return http::ServerResponse::redirect(301, "/final?x=1"); });
    router.route("/final", [](Request r) { return http::ServerResponse::text(200, "final " + r.query); });
    router.route("/loop", [](Request) { return http::ServerResponse::redirect(302, "/loop"); });
    // Redirected POSTs: 303 makes them GETs, 307 keeps them POSTs.
    router.route("POST", "/see-other",
                 [](Request) { return http::ServerResponse::redirect(303, "/method"); });
    router.route("POST", "/temporary",
                 [](Request) { return http::ServerResponse::redirect(307, "/method"); });
    auto method = [](Request r) {
      return http::ServerResponse::text(200, absl::StrCat(r.method, " ", r.body));
    };
    router.route("/method", method);
    router.route("POST", "/method", method);
    router.route("/headers", echoHeaders);
    router.route("/missing", [](Request) { return http::ServerResponse::text(404, "no such page"); });
    router.route("/gzip", [](Request) {
      http::ServerResponse r = http::ServerResponse::text(200, gzipped(std::string(10000, 'g')));
      r.headers.add("Content-Encoding", "gzip");
      return r;
    });
  }

  void start() {
    site = std::make_shared<http::Site>(reactor(), std::move(router));
    port = listenTCP(reactor(), 0, site, {.interface = "127.0.0.1"});
  }
  std::string url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port->getHost().port(), path);
  }
  Reactor& reactor() { return scope.reactor(); }

  ReactorScope scope;
  http::Router router;
  std::shared_ptr<http::Site> site;
  std::shared_ptr<ListeningPort> port;
};

TEST_F(AgentTest, GetPageAndPoolReuse) {
  start();
  auto agent = std::make_shared<Agent>(reactor());
  for (int i = 0; i < 3; ++i) {
    auto r =
        wait(reactor(), getPage(url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
    ASSERT_TRUE(r.value) << r.failure->describe();
    EXPECT_EQ(*r.value, "root");
  }
  EXPECT_EQ(agent->connectionsOpened(), 1u) << "keep-alive connection not reused";
  EXPECT_EQ(agent->idleConnections(), 1u);
}

TEST_F(AgentTest, PerHostCapQueuesRequests) {
  start();
  // Designated initializers name any subset of an options struct's fields without a -Wextra
  // warning: every field has a default.
  auto agent = std::make_shared<Agent>(reactor(), AgentOptions{.maxConnectionsPerHost = 2});
  std::vector<Deferred<std::string>> pages;
  for (int i = 0; i < 10; ++i)
    pages.push_back(getPage(url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  auto all = wait(reactor(), DeferredList(std::move(pages), {.consumeErrors = true}));
  ASSERT_TRUE(all.value);
  for (auto& outcome : *all.value) EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(agent->connectionsOpened(), 2u);
}

TEST_F(AgentTest, RedirectsFollowedRelativeAndCounted) {
  start();
  auto r = wait(reactor(), fetchPage(url("/r1")));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(r.value->body, "final x=1");
  EXPECT_EQ(r.value->redirects, 2);
  EXPECT_EQ(r.value->url.target(), "/final?x=1");

  auto loop = wait(reactor(),
                   getPage(url("/loop"), pageOptions([&](PageOptions& o) { o.maxRedirects = 5; })));
  ASSERT_TRUE(loop.failure);
  EXPECT_TRUE(loop.failure->check<TooManyRedirects>()) << loop.failure->describe();

  auto off =
      wait(reactor(),
           fetchPage(url("/r1"), pageOptions([&](PageOptions& o) { o.followRedirects = false; })));
  ASSERT_TRUE(off.value);
  EXPECT_EQ(off.value->status, 302);
}

TEST_F(AgentTest, SeeOtherBecomesGetAndTemporaryKeepsMethodAndBody) {
  start();
  auto seeOther = wait(reactor(), getPage(url("/see-other"), pageOptions([&](PageOptions& o) {
                                            o.method = "POST";
                                            o.body = "data";
                                          })));
  ASSERT_TRUE(seeOther.value) << seeOther.failure->describe();
  EXPECT_EQ(*seeOther.value, "GET ");
  auto temporary = wait(reactor(), getPage(url("/temporary"), pageOptions([&](PageOptions& o) {
                                             o.method = "POST";
                                             o.body = "data";
                                           })));
  ASSERT_TRUE(temporary.value) << temporary.failure->describe();
  EXPECT_EQ(*temporary.value, "POST data");
}

TEST_F(AgentTest, CrossOriginRedirectDropsCredentialsAndUpdatesHost) {
  start();
  // A second server on another port, redirected to from the first.
  http::Router other;
  other.route("/headers", echoHeaders);
  auto otherPort =
      listenTCP(reactor(), 0, std::make_shared<http::Site>(reactor(), std::move(other)),
                {.interface = "127.0.0.1"});
  const std::string target = absl::StrCat("//127.0.0.1:", otherPort->getHost().port(), "/headers");
  // Routes cannot be added to a running Site: this one redirects by a scripted server instead.
  ScriptedServer redirector(reactor(), [target](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write(absl::StrCat("HTTP/1.1 302 Found\r\nLocation: ", target,
                                      "\r\nContent-Length: 0\r\n\r\n"));
      c.requests = 2;
    }
  });
  http::Headers headers{{"Authorization", "Bearer secret"},
                        {"Proxy-Authorization", "Basic proxysecret"},
                        {"Cookie", "a=b"},
                        {"X-Keep", "1"}};
  auto r = wait(reactor(), getPage(redirector.url("/"),
                                   pageOptions([&](PageOptions& o) { o.headers = headers; })));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(r.value->find("secret"), std::string::npos) << *r.value;  // both credentials
  EXPECT_EQ(r.value->find("Authorization"), std::string::npos) << *r.value;
  EXPECT_EQ(r.value->find("Cookie"), std::string::npos) << *r.value;
  EXPECT_NE(r.value->find("X-Keep=1"), std::string::npos) << *r.value;
  EXPECT_NE(r.value->find(absl::StrCat("Host=127.0.0.1:", otherPort->getHost().port())),
            std::string::npos)
      << *r.value;
}

TEST_F(AgentTest, Non2xxIsHttpErrorWithStatusAndBody) {
  start();
  auto r = wait(reactor(), getPage(url("/missing")));
  ASSERT_TRUE(r.failure);
  const HttpError* error = r.failure->value<HttpError>();
  ASSERT_NE(error, nullptr) << r.failure->describe();
  EXPECT_EQ(error->status(), 404);
  EXPECT_EQ(error->reason(), "Not Found");
  EXPECT_EQ(error->body(), "no such page");
}

TEST_F(AgentTest, GzipDecodedWithACap) {
  start();
  auto r = wait(reactor(),
                getPage(url("/gzip"), pageOptions([&](PageOptions& o) { o.compressed = true; })));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(*r.value, std::string(10000, 'g'));
  auto capped = wait(reactor(), getPage(url("/gzip"), pageOptions([&](PageOptions& o) {
                                          o.maxSize = 5000;
                                          o.compressed = true;
                                        })));
  ASSERT_TRUE(capped.failure);
  EXPECT_TRUE(capped.failure->check<ResponseTooLarge>()) << capped.failure->describe();
  auto headers = wait(reactor(), getPage(url("/headers")));
  EXPECT_EQ(headers.value->find("Accept-Encoding"), std::string::npos)
      << "asked without --compressed";
}

// maxSize holds whatever the encoding: on the wire for a body that is not encoded (it was off
// with `compressed`), after decoding for gzip and deflate.
TEST_F(AgentTest, TheSizeCapHoldsWithCompressedForPlainGzipAndDeflateBodies) {
  const std::string big(20000, 'z');
  router.route("/plain", [big](Request) { return http::ServerResponse::text(200, big); });
  for (const char* coding : {"gzip", "deflate"}) {
    router.route(absl::StrCat("/", coding), [big, coding](Request) {
      http::ServerResponse r =
          http::ServerResponse::text(200, gzipped(big, std::string_view(coding) == "deflate"));
      r.headers.add("Content-Encoding", coding);
      return r;
    });
  }
  start();
  for (const char* path : {"/plain", "/gzip", "/deflate"}) {
    auto capped = wait(reactor(), getPage(url(path), pageOptions([&](PageOptions& o) {
                                            o.maxSize = 5000;
                                            o.compressed = true;
                                          })));
    ASSERT_TRUE(capped.failure) << path;
    EXPECT_TRUE(capped.failure->check<ResponseTooLarge>()) << path << capped.failure->describe();
    auto whole = wait(reactor(), getPage(url(path), pageOptions([&](PageOptions& o) {
                                           o.maxSize = 20000;
                                           o.compressed = true;
                                         })));
    ASSERT_TRUE(whole.value) << path << whole.failure->describe();
    EXPECT_EQ(*whole.value, big) << path;
  }
}

// 64 MiB of zeros gzip to about 64 KiB: far past the default ratio of 200, so decoding stops
// after about 13 MiB with ResponseTooLarge, whatever maxSize says; lifting the ratio decodes it.
TEST_F(AgentTest, ADecompressionBombIsStoppedByTheRatioLimit) {
  const std::string bomb = gzipped(std::string(64 << 20, '\0'));
  ASSERT_LT(bomb.size(), std::size_t{200} << 10);
  router.route("/bomb", [bomb](Request) {
    http::ServerResponse r = http::ServerResponse::text(200, bomb);
    r.headers.add("Content-Encoding", "gzip");
    return r;
  });
  start();
  auto stopped = wait(reactor(), getPage(url("/bomb"), pageOptions([&](PageOptions& o) {
                                           o.compressed = true;
                                         })));
  ASSERT_TRUE(stopped.failure);
  EXPECT_TRUE(stopped.failure->check<ResponseTooLarge>()) << stopped.failure->describe();
  EXPECT_NE(stopped.failure->describe().find("bomb"), std::string::npos)
      << stopped.failure->describe();

  auto lifted = wait(reactor(), getPage(url("/bomb"), pageOptions([&](PageOptions& o) {
                                          o.compressed = true;
                                          o.maxDecodeRatio = 0;
                                        })));
  ASSERT_TRUE(lifted.value) << lifted.failure->describe();
  EXPECT_EQ(lifted.value->size(), std::size_t{64} << 20);
}

TEST_F(AgentTest, UnsafeRequestsAreRefusedBeforeSending) {
  start();
  auto ftp = wait(reactor(), getPage("ftp://127.0.0.1:21/"));
  EXPECT_TRUE(ftp.failure && ftp.failure->check<SchemeNotSupported>());
  auto crlf = wait(reactor(), getPage(url("/"), pageOptions([&](PageOptions& o) {
                                        o.headers = {{"X", "a\r\nInjected: 1"}};
                                      })));
  EXPECT_TRUE(crlf.failure && crlf.failure->check<http::InvalidMessageError>());
  auto badUrl = wait(reactor(), getPage(url("/a\r\nInjected: 1")));
  EXPECT_TRUE(badUrl.failure && badUrl.failure->check<http::InvalidMessageError>());
  // Escapes are sent as given, and the fragment not at all.
  ScriptedServer recorder(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      c.requests = 2;
    }
  });
  auto sent = wait(reactor(), getPage(recorder.url("/p%0D%0Aq?x=%20#frag")));
  ASSERT_TRUE(sent.value);
  const std::string& request = recorder.connections->at(0)->received;
  EXPECT_TRUE(request.starts_with("GET /p%0D%0Aq?x=%20 HTTP/1.1\r\n")) << request;
  EXPECT_NE(request.find("User-Agent: "), std::string::npos);
}

// The same site over TLS, with a certificate for localhost and 127.0.0.1 from a throw-away CA.
class HttpsAgentTest : public AgentTest {
 protected:
  HttpsAgentTest() : pki(::testing::TempDir()) {
    ca = pki.makeCa("agent test CA");
    certificate = pki.issue(ca, "localhost", {.dns = {"localhost"}, .ips = {"127.0.0.1"}});
  }
  void startTls() {
    start();
    tls::ServerTlsOptions options;
    options.certificateChainFile = certificate.chainFile;
    options.privateKeyFile = certificate.keyFile;
    serverContext = tls::ServerContext::create(options);
    tlsPort = tls::listenSSL(reactor(), 0, site, serverContext, {.interface = "127.0.0.1"});
  }
  std::string httpsUrl(const std::string& path, const std::string& host = "127.0.0.1") const {
    return absl::StrCat("https://", host, ":", tlsPort->getHost().port(), path);
  }
  std::shared_ptr<Agent> trustingAgent() {
    AgentOptions options;
    options.tls.caFile = ca.certificateFile;
    return std::make_shared<Agent>(reactor(), options);
  }

  deft::testing::TestPki pki;
  deft::testing::Issued ca, certificate;
  std::shared_ptr<tls::ServerContext> serverContext;
  std::shared_ptr<ListeningPort> tlsPort;
};

TEST_F(HttpsAgentTest, FetchesOverTlsReusingTheConnectionAndResumingSessions) {
  startTls();
  auto agent = trustingAgent();
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto r = wait(reactor(), getPage(httpsUrl("/", host), pageOptions([&](PageOptions& o) { o.agent = agent; })));
    ASSERT_TRUE(r.value) << host << ": " << r.failure->describe();
    EXPECT_EQ(*r.value, "root");
  }
  auto again = wait(reactor(), getPage(httpsUrl("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(again.value) << again.failure->describe();
  EXPECT_EQ(agent->connectionsOpened(), 2u) << "one pooled connection per host";
  // A new connection to a host seen before resumes its session.
  agent->closeCachedConnections();
  auto resumed = wait(reactor(), getPage(httpsUrl("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(resumed.value) << resumed.failure->describe();
  EXPECT_EQ(serverContext->handshakes(), 3u);
  EXPECT_EQ(serverContext->resumedHandshakes(), 1u);
}

TEST_F(HttpsAgentTest, AThousandFetchesOnNewConnectionsResumeTheirSessions) {
  startTls();
  auto agent = trustingAgent();
  for (int i = 0; i < 1000; ++i) {
    // Connection: close: each fetch opens a connection of its own, and so a handshake.
    auto r = wait(reactor(), getPage(httpsUrl("/"), pageOptions([&](PageOptions& o) {
                                       o.agent = agent;
                                       o.headers.add("Connection", "close");
                                     })));
    ASSERT_TRUE(r.value) << "fetch " << i << ": " << r.failure->describe();
  }
  EXPECT_EQ(agent->connectionsOpened(), 1000u);
  // Counted by the server: every handshake after the first resumed the session.
  EXPECT_EQ(serverContext->handshakes(), 1000u);
  EXPECT_EQ(serverContext->resumedHandshakes(), 999u);
}

// curl's --unix-socket: the request goes to the socket, the URL gives the Host header and target.
TEST_F(AgentTest, RequestsGoThroughAUnixSocketWithTheUrlsHost) {
  start();
  // In /tmp: a socket path has at most 107 bytes, and the test directory can be longer.
  const std::string path = "/tmp/deft-agent-test-" + std::to_string(::getpid()) + ".sock";
  auto unixPort = listenUNIX(reactor(), path, site);
  AgentOptions options;
  options.unixSocket = path;
  auto agent = std::make_shared<Agent>(reactor(), options);
  for (int i = 0; i < 2; ++i) {
    auto r = wait(reactor(), getPage("http://example.test/headers", pageOptions([&](PageOptions& o) { o.agent = agent; })));
    ASSERT_TRUE(r.value) << r.failure->describe();
    EXPECT_NE(r.value->find("Host=example.test\n"), std::string::npos) << *r.value;
  }
  EXPECT_EQ(agent->connectionsOpened(), 1u) << "the Unix connection is pooled like a TCP one";
  unixPort->stopListening();
  agent->closeCachedConnections();
  auto refused = wait(reactor(), getPage("http://example.test/", pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(refused.failure);
  EXPECT_TRUE(refused.failure->check<ConnectError>()) << refused.failure->describe();
  EXPECT_THROW(Agent(reactor(), AgentOptions{.unixSocket = std::string(200, 'x')}), std::invalid_argument);
}

TEST_F(HttpsAgentTest, HttpsThroughAUnixSocketVerifiesTheUrlsHost) {
  startTls();
  const std::string path = "@deft-agent-tls-" + std::to_string(::getpid());
  auto unixPort = listenUNIX(reactor(), path,
                             tls::serverFactory(reactor(), site, serverContext));
  AgentOptions options;
  options.tls.caFile = ca.certificateFile;
  options.unixSocket = path;
  auto agent = std::make_shared<Agent>(reactor(), options);
  auto r = wait(reactor(), getPage("https://localhost/", pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(*r.value, "root");
  // The certificate does not name this host: refused, as it would be over TCP.
  auto wrong = wait(reactor(), getPage("https://other.test/", pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(wrong.failure);
  EXPECT_TRUE(wrong.failure->check<tls::CertificateVerifyError>()) << wrong.failure->describe();
}

TEST_F(HttpsAgentTest, AnUntrustedCertificateIsRefusedBeforeAnythingIsSent) {
  startTls();
  // The system's trust store does not know the test CA.
  auto r = wait(reactor(), getPage(httpsUrl("/")));
  ASSERT_TRUE(r.failure);
  EXPECT_NE(r.failure->value<tls::CertificateVerifyError>(), nullptr) << r.failure->describe();
  EXPECT_EQ(site->requestsAnswered(), 0u);
  // Unless verification is off, which is only ever explicit.
  auto insecure = wait(reactor(), getPage(httpsUrl("/"), pageOptions([](PageOptions& o) { o.tls.verify = false; })));
  ASSERT_TRUE(insecure.value) << insecure.failure->describe();
  EXPECT_EQ(*insecure.value, "root");
}

TEST_F(HttpsAgentTest, RedirectsGoBetweenHttpAndHttpsAndDropCredentialsCrossOrigin) {
  router.route("/to-https", [this](Request) {
    return http::ServerResponse::redirect(302, httpsUrl("/final"));
  });
  router.route("/to-http", [this](Request) {
    return http::ServerResponse::redirect(302, url("/headers"));
  });
  startTls();
  auto agent = trustingAgent();
  auto up = wait(reactor(), getPage(url("/to-https"), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(up.value) << up.failure->describe();
  EXPECT_EQ(*up.value, "final ");
  auto down = wait(reactor(), getPage(httpsUrl("/to-http"), pageOptions([&](PageOptions& o) {
                                        o.agent = agent;
                                        o.headers.add("Authorization", "Bearer secret");
                                      })));
  ASSERT_TRUE(down.value) << down.failure->describe();
  EXPECT_EQ(down.value->find("Authorization"), std::string::npos) << *down.value;
}

TEST_F(HttpsAgentTest, ABodyFramedByTheCloseIsCutWithoutCloseNotify) {
  for (const bool closeNotify : {true, false}) {
    tls::ServerTlsOptions options;
    options.certificateChainFile = certificate.chainFile;
    options.privateKeyFile = certificate.keyFile;
    serverContext = tls::ServerContext::create(options);
    struct Answer : Protocol {
      explicit Answer(bool closeNotify) : closeNotify(closeNotify) {}
      void dataReceived(std::string_view) override {
        transport()->write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it?");
        if (closeNotify) {
          transport()->loseConnection();
        } else {  // close the TCP connection under TLS
          dynamic_cast<tls::TlsProtocol*>(transport())->Protocol::transport()->loseConnection();
        }
      }
      bool closeNotify;
    };
    tlsPort = tls::listenSSL(reactor(), 0, makeFactory<Answer>(closeNotify), serverContext,
                             {.interface = "127.0.0.1"});
    auto r = wait(reactor(), getPage(httpsUrl("/"), pageOptions([&](PageOptions& o) {
                                       o.tls.caFile = ca.certificateFile;
                                     })));
    if (closeNotify) {
      ASSERT_TRUE(r.value) << r.failure->describe();
      EXPECT_EQ(*r.value, "all of it?");
    } else {
      ASSERT_TRUE(r.failure) << "a truncated body passed for complete: " << *r.value;
      const PartialDownloadError* partial = r.failure->value<PartialDownloadError>();
      ASSERT_NE(partial, nullptr) << r.failure->describe();
      EXPECT_EQ(partial->partialBody(), "all of it?");
    }
  }
}

TEST_F(AgentTest, TruncatedBodyIsPartialDownloadErrorWithThePart) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd");
      c.transport->loseConnection();
    }
  });
  auto r = wait(reactor(), getPage(server.url()));
  ASSERT_TRUE(r.failure);
  const PartialDownloadError* partial = r.failure->value<PartialDownloadError>();
  ASSERT_NE(partial, nullptr) << r.failure->describe();
  EXPECT_EQ(partial->partialBody(), "abcd");
}

// Bytes whose position shows: a part joined out of order, or twice, is seen.
std::string patterned(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

TEST_F(AgentTest, BodiesOfEveryFramingArriveWholeAndInOrder) {
  // Content-Length beyond what the client reserves up front, chunked in odd sizes, and framed by
  // the close: each is read whole through the rope of buffers, joined once, byte for byte. (The
  // script answers one request per connection: each response says so, or the shared Agent of
  // getPage would send the next request on the same connection.)
  const std::string big = patterned(11 << 20), chunkedBody = patterned(3 << 20),
                    closeBody = patterned(5 << 20);
  ScriptedServer server(reactor(), [&](ScriptedConnection& c) {
    if (c.requests != 1 || c.transport == nullptr || c.answered++ > 0) return;
    if (c.received.find("GET /length ") == 0) {
      c.transport->write(absl::StrCat("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ",
                                      big.size(), "\r\n\r\n"));
      c.transport->write(big);
    } else if (c.received.find("GET /chunked ") == 0) {
      std::string wire = "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (std::size_t at = 0; at < chunkedBody.size(); at += 7919) {
        const std::string_view chunk = std::string_view(chunkedBody).substr(at, 7919);
        absl::StrAppend(&wire, absl::Hex(chunk.size()), "\r\n", std::string(chunk), "\r\n");
      }
      wire += "0\r\n\r\n";
      c.transport->write(wire);
    } else {
      c.transport->write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
      c.transport->write(closeBody);
      c.transport->loseConnection();
    }
  });
  for (const auto& [path, expected] : {std::pair<std::string, const std::string*>{"/length", &big},
                                       {"/chunked", &chunkedBody},
                                       {"/close", &closeBody}}) {
    auto r = wait(reactor(), getPage(server.url(path)));
    ASSERT_TRUE(r.value) << path << ": " << r.failure->describe();
    ASSERT_EQ(r.value->size(), expected->size()) << path;
    EXPECT_TRUE(*r.value == *expected) << path << ": bytes out of order";
  }
}

TEST_F(AgentTest, ACutChunkedBodyIsPartialDownloadErrorWithEverythingThatArrived) {
  const std::string body = patterned(2 << 20);
  ScriptedServer server(reactor(), [&](ScriptedConnection& c) {
    if (c.requests != 1 || c.transport == nullptr || c.answered++ > 0) return;
    c.transport->write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (std::size_t at = 0; at < body.size(); at += 65536) {
      c.transport->write(absl::StrCat(absl::Hex(65536), "\r\n"));
      c.transport->write(std::string_view(body).substr(at, 65536));
      c.transport->write("\r\n");
    }
    c.transport->loseConnection();  // no last chunk
  });
  auto r = wait(reactor(), getPage(server.url()));
  ASSERT_TRUE(r.failure);
  const PartialDownloadError* partial = r.failure->value<PartialDownloadError>();
  ASSERT_NE(partial, nullptr) << r.failure->describe();
  EXPECT_TRUE(partial->partialBody() == body) << "got " << partial->partialBody().size() << " bytes";
}

TEST_F(AgentTest, ABodyCutBeforeAnyoneReadsItIsStillStreamedThenFails) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd");
      c.transport->loseConnection();
    }
  });
  auto agent = std::make_shared<Agent>(reactor());
  auto r = wait(reactor(), agent->request("GET", server.url()));
  ASSERT_TRUE(r.value);
  ASSERT_TRUE(runUntil(reactor(), [&] { return server.connections->at(0)->lost; }));
  // The client sees the close too: the response holds its end, for whoever reads it.
  ASSERT_TRUE(runUntil(reactor(), [&] { return r.value->body().failure.has_value(); }));
  std::string streamed;
  std::optional<std::optional<Failure>> end;
  r.value->deliverBody({.dataReceived = [&](std::string_view data) { streamed.append(data); },
                        .connectionLost = [&](std::optional<Failure> f) { end = std::move(f); }});
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(streamed, "abcd");
  ASSERT_TRUE(end->has_value());
  EXPECT_NE((*end)->value<PartialDownloadError>(), nullptr) << (*end)->describe();
}

TEST_F(AgentTest, CompleteResponseIsDeliveredWithoutWaitingForClose) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
      c.requests = 2;  // and hold the connection open
    }
  });
  const absl::Time begin = absl::Now();
  auto r = wait(reactor(), getPage(server.url()), absl::Seconds(2));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(*r.value, "abc");
  EXPECT_LT(absl::Now() - begin, absl::Seconds(1));
}

TEST_F(AgentTest, SilentAndTricklingServersTimeOut) {
  ScriptedServer silent(reactor(), [](ScriptedConnection&) {});
  auto r = wait(reactor(), getPage(silent.url(), pageOptions([&](PageOptions& o) {
                                     o.timeout = absl::Milliseconds(300);
                                   })));
  ASSERT_TRUE(r.failure);
  EXPECT_TRUE(r.failure->check<TimeoutError>()) << r.failure->describe();
  EXPECT_TRUE(runUntil(reactor(), [&] { return silent.connections->at(0)->lost; }))
      << "the connection was not aborted";

  // One byte every 50 ms, forever: the overall deadline still ends it.
  auto trickle = std::make_shared<std::function<void()>>();
  ScriptedServer trickler(reactor(), [&](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
      c.requests = 2;
      *trickle = [this, &c, trickle] {
        if (c.transport == nullptr) return;
        c.transport->write("x");
        reactor().callLater(absl::Milliseconds(50), *trickle);
      };
      (*trickle)();
    }
  });
  const absl::Time begin = absl::Now();
  auto slow = wait(reactor(), getPage(trickler.url(), pageOptions([&](PageOptions& o) {
                                        o.timeout = absl::Milliseconds(500);
                                      })));
  ASSERT_TRUE(slow.failure);
  EXPECT_TRUE(slow.failure->check<TimeoutError>()) << slow.failure->describe();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));
  *trickle = nullptr;  // it holds itself: break the cycle
}

TEST_F(AgentTest, MalformedResponseIsAParseError) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
      c.requests = 2;
    }
  });
  auto r = wait(reactor(), getPage(server.url()));
  ASSERT_TRUE(r.failure);
  const http::ParseError* error = r.failure->value<http::ParseError>();
  ASSERT_NE(error, nullptr) << r.failure->describe();
  EXPECT_EQ(error->kind(), http::ParseErrorKind::kConflictingContentLength);
}

TEST_F(AgentTest, StalePooledConnectionIsRetriedOnce) {
  // Answers one request per connection with keep-alive, then closes as soon as the next arrives
  // (a server whose idle timeout raced our request).
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.transport == nullptr) return;
    if (c.requests == 1) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      c.requests = 100;
    } else if (c.requests > 100) {
      c.transport->abortConnection();
    }
  });
  auto agent = std::make_shared<Agent>(reactor());
  ASSERT_TRUE(
      wait(reactor(), getPage(server.url(), pageOptions([&](PageOptions& o) { o.agent = agent; })))
          .value);
  auto again =
      wait(reactor(), getPage(server.url(), pageOptions([&](PageOptions& o) { o.agent = agent; })));
  ASSERT_TRUE(again.value) << again.failure->describe();
  EXPECT_EQ(*again.value, "ok");
  EXPECT_EQ(server.connections->size(), 2u);

  // Not for a POST: it might have been acted on.
  auto post = wait(reactor(), getPage(server.url(), pageOptions([&](PageOptions& o) {
                                        o.method = "POST";
                                        o.body = "x";
                                        o.agent = agent;
                                      })));
  EXPECT_TRUE(post.failure) << "a non-idempotent request was retried";
}

TEST_F(AgentTest, CancellingMidBodyAbortsTheConnection) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
      c.requests = 2;
    }
  });
  auto agent = std::make_shared<Agent>(reactor());
  auto response = wait(reactor(), agent->request("GET", server.url()));
  ASSERT_TRUE(response.value);
  Deferred<std::string> body = response.value->readBody();
  auto failure = std::make_shared<std::optional<Failure>>();
  body.addErrback([failure](Failure f) -> std::string {
    *failure = f;
    return "";
  });
  body.cancel();
  ASSERT_TRUE(failure->has_value());
  EXPECT_TRUE((*failure)->check<CancelledError>());
  EXPECT_TRUE(runUntil(reactor(), [&] { return server.connections->at(0)->lost; }));
}

TEST_F(AgentTest, OversizedHeadAndResetMidBody) {
  ScriptedServer bigHead(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nX-Big: " + std::string(100000, 'h') + "\r\n\r\n");
      c.requests = 2;
    }
  });
  auto big = wait(reactor(), getPage(bigHead.url()));
  ASSERT_TRUE(big.failure);
  const http::ParseError* error = big.failure->value<http::ParseError>();
  ASSERT_NE(error, nullptr) << big.failure->describe();
  EXPECT_EQ(error->kind(), http::ParseErrorKind::kHeaderSectionTooLarge);

  ScriptedServer reset(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
      c.requests = 2;
      c.transport->abortConnection();  // an RST, not a FIN
    }
  });
  auto cut = wait(reactor(), getPage(reset.url()));
  ASSERT_TRUE(cut.failure);
  EXPECT_TRUE(cut.failure->check<PartialDownloadError>()) << cut.failure->describe();
}

TEST_F(AgentTest, RedirectToAQueryOnlyLocation) {
  ScriptedServer server(reactor(), [](ScriptedConnection& c) {
    if (c.transport == nullptr || c.answered == c.requests) return;
    ++c.answered;
    if (c.received.find("GET /search?q=2 ") != std::string::npos) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
    } else {
      c.transport->write("HTTP/1.1 301 Moved\r\nLocation: ?q=2\r\nContent-Length: 0\r\n\r\n");
    }
  });
  auto r = wait(reactor(), fetchPage(server.url("/search?q=1")));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(r.value->body, "done");
  EXPECT_EQ(r.value->url.target(), "/search?q=2");
}

TEST_F(AgentTest, BodyStreamedWithBackpressure) {
  router.route("/large",
               [](Request) { return http::ServerResponse::text(200, std::string(4 << 20, 'L')); });
  start();
  auto agent = std::make_shared<Agent>(reactor());
  auto response = wait(reactor(), agent->request("GET", url("/large")));
  ASSERT_TRUE(response.value);
  Response r = *response.value;
  std::size_t received = 0;
  bool ended = false;
  r.deliverBody({.dataReceived = [&](std::string_view data) { received += data.size(); },
                 .connectionLost =
                     [&](std::optional<Failure> f) {
                       EXPECT_FALSE(f) << f->describe();
                       ended = true;
                     }});
  r.pauseProducing();
  for (int i = 0; i < 20; ++i) reactor().iterate(absl::Milliseconds(5));
  const std::size_t whilePaused = received;
  for (int i = 0; i < 20; ++i) reactor().iterate(absl::Milliseconds(5));
  EXPECT_EQ(received, whilePaused) << "data kept coming while paused";
  EXPECT_LT(received, std::size_t{4 << 20});
  r.resumeProducing();
  ASSERT_TRUE(runUntil(reactor(), [&] { return ended; }));
  EXPECT_EQ(received, std::size_t{4 << 20});
}

TEST_F(AgentTest, IdlePooledConnectionsCloseAfterTheIdleTimeout) {
  start();
  AgentOptions options;
  options.idleTimeout = absl::Milliseconds(100);
  auto agent = std::make_shared<Agent>(reactor(), options);
  ASSERT_TRUE(
      wait(reactor(), getPage(url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })))
          .value);
  EXPECT_EQ(agent->idleConnections(), 1u);
  EXPECT_TRUE(runUntil(
      reactor(), [&] { return site->openConnections() == 0; }, absl::Seconds(3)));
  EXPECT_EQ(agent->idleConnections(), 0u);
  ASSERT_TRUE(
      wait(reactor(), getPage(url("/"), pageOptions([&](PageOptions& o) { o.agent = agent; })))
          .value);
  EXPECT_EQ(agent->connectionsOpened(), 2u);
}

TEST_F(AgentTest, HostNamesResolveThroughTheReactorsResolver) {
  start();
  // "localhost" is answered by the resolver itself (RFC 6761 §6.3), whatever /etc/hosts holds.
  auto r = wait(reactor(), getPage(absl::StrCat("http://localhost:", port->getHost().port(), "/")));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_EQ(*r.value, "root");
}

TEST_F(AgentTest, ConnectTimeoutIsATimeoutError) {
  deft::testing::StalledListener listener;
  const absl::Time begin = absl::Now();
  PageOptions options;
  options.connectTimeout = absl::Milliseconds(300);
  auto r = wait(reactor(),
                getPage(absl::StrCat("http://127.0.0.1:", listener.port(), "/"), options));
  ASSERT_TRUE(r.failure);
  EXPECT_TRUE(r.failure->check<TimeoutError>()) << r.failure->describe();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));
}

TEST_F(AgentTest, ConnectAndDnsFailures) {
  auto refused = wait(reactor(), getPage("http://127.0.0.1:1/"));
  ASSERT_TRUE(refused.failure);
  EXPECT_TRUE(refused.failure->check<ConnectError>()) << refused.failure->describe();
}

}  // namespace
}  // namespace deft::web
