// Request bodies that stream: a multipart form with a file, parsed back by the project's server;
// a generated body of 64 MiB held back by a server that does not read (backpressure); Expect:
// 100-continue answered and refused; a producer that lies about its length or fails; a server
// that answers before the body is sent; standard input as a pipe, and a reactor that ends while
// the body waits for it.

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "http/errors.h"
#include "http/multipart.h"
#include "http_server/site.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "tests/web_client/scripted_server.h"
#include "web_client/agent.h"
#include "web_client/multipart.h"
#include "web_client/request_body.h"

namespace deft::web {
namespace {

using deft::testing::runUntil;
using deft::testing::wait;
using http::Request;
using http::ServerResponse;
using testing::ScriptedConnection;
using testing::ScriptedServer;

std::string randomBytes(std::size_t n) {
  std::mt19937 random(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(random());
  return s;
}

class UploadTest : public ::testing::Test {
 protected:
  UploadTest() {
    router.route("POST", "/form", [](Request r) {
      auto parts = http::parseMultipart(r.body, r.headers.get("Content-Type").value_or(""));
      if (!parts.ok()) return ServerResponse::text(400, std::string(parts.status().message()));
      std::string out;
      for (const http::FormPart& p : *parts) {
        absl::StrAppend(&out, p.name, "|", p.filename.value_or("-"), "|", p.contentType, "|",
                        p.data.size(), "|", std::hash<std::string>()(p.data), "\n");
      }
      return ServerResponse::text(200, out);
    });
    // Reads nothing for 300 ms, then counts the body.
    router.route(
        "PUT", "/slow-reader",
        [this](Request r) -> Deferred<ServerResponse> {
          co_await deferLater(reactor(), absl::Milliseconds(300), [] {});
          std::size_t total = 0;
          for (;;) {
            std::string piece = co_await r.bodyStream->read();
            if (piece.empty()) break;
            total += piece.size();
          }
          co_return ServerResponse::text(200, absl::StrCat(total));
        },
        {.streamBody = true});
    router.route("PUT", "/count", [](Request r) { return ServerResponse::text(200, absl::StrCat(r.body.size())); });
    http::ServerOptions options;
    options.limits.maxBodyBytes = 128 << 20;  // the 64 MiB stream
    site = std::make_shared<http::Site>(reactor(), std::move(router), options);
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
  std::shared_ptr<Agent> agent = std::make_shared<Agent>(scope.reactor());
};

TEST_F(UploadTest, AMultipartFormIsParsedBackByTheServer) {
  const std::string file = absl::StrCat(::testing::TempDir(), "/upload.bin");
  const std::string contents = randomBytes(3 << 20);
  std::ofstream(file, std::ios::binary) << contents;
  MultipartForm form;
  form.addField("name", "deft");
  form.addField("quote\"d", "value\r\nwith CRLF", "text/plain");
  ASSERT_TRUE(form.addFile("upload", file).ok());
  ASSERT_TRUE(form.addFile("named", file, "image/png", "picture.png").ok());
  EXPECT_FALSE(form.addFile("missing", file + ".nowhere").ok());
  http::Headers headers;
  headers.set("Content-Type", form.contentType());
  auto body = form.body();
  ASSERT_TRUE(body.ok());
  auto response = wait(reactor(), agent->request("POST", *http::Url::parse(url("/form")), headers, *body));
  ASSERT_TRUE(response.value) << response.failure->describe();
  auto text = wait(reactor(), response.value->readBody());
  ASSERT_TRUE(text.value);
  const std::size_t hash = std::hash<std::string>()(contents);
  EXPECT_EQ(*text.value, absl::StrCat("name|-||4|", std::hash<std::string>()("deft"), "\n",
                                      "quote%22d|-|text/plain|16|", std::hash<std::string>()("value\r\nwith CRLF"), "\n",
                                      "upload|upload.bin|application/octet-stream|", contents.size(), "|", hash, "\n",
                                      "named|picture.png|image/png|", contents.size(), "|", hash, "\n"));
  EXPECT_EQ(response.value->request().headers.get("Expect"), "100-continue") << "over 1 MiB: asked first";
}

TEST_F(UploadTest, AServerThatDoesNotReadHoldsTheProducerBack) {
  constexpr std::size_t kTotal = 64 << 20;
  auto produced = std::make_shared<std::size_t>(0);
  RequestBody body;  // no length: chunked
  body.produce = [produced](std::shared_ptr<RequestBodyWriter> out) -> Deferred<void> {
    const std::string piece(64 << 10, 'p');
    while (*produced < kTotal) {
      co_await out->write(piece);
      *produced += piece.size();
    }
  };
  std::size_t producedWhileUnread = 0;
  auto sample = reactor().callLater(absl::Milliseconds(250), [&] { producedWhileUnread = *produced; });
  auto response = wait(reactor(), agent->request("PUT", *http::Url::parse(url("/slow-reader")), {}, body),
                       absl::Seconds(30));
  ASSERT_TRUE(response.value) << response.failure->describe();
  auto text = wait(reactor(), response.value->readBody());
  ASSERT_TRUE(text.value);
  EXPECT_EQ(*text.value, absl::StrCat(kTotal));
  EXPECT_GT(producedWhileUnread, 0u);
  // Socket buffers on loopback take a few MiB; without backpressure it would all be produced.
  EXPECT_LT(producedWhileUnread, 16u << 20) << "the producer ran ahead of a server that read nothing";
  EXPECT_EQ(response.value->request().headers.get("Transfer-Encoding"), "chunked");
}

TEST_F(UploadTest, AFileIsStreamedWithItsLength) {
  const std::string file = absl::StrCat(::testing::TempDir(), "/file.bin");
  std::ofstream(file, std::ios::binary) << randomBytes(5 << 20);
  auto body = RequestBody::fromFile(file);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->length, 5u << 20);
  auto response = wait(reactor(), agent->request("PUT", *http::Url::parse(url("/count")), {}, *body));
  ASSERT_TRUE(response.value) << response.failure->describe();
  EXPECT_EQ(*wait(reactor(), response.value->readBody()).value, absl::StrCat(5 << 20));
  EXPECT_FALSE(RequestBody::fromFile(file + ".nowhere").ok());
}

TEST_F(UploadTest, StandardInputIsSentAsItComesAndAReactorThatEndsLetsGoOfTheRead) {
  // This process's standard input becomes a pipe for the test.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int saved = ::dup(STDIN_FILENO);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  absl::Cleanup restore = [saved] {
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
  };
  // Nothing on the pipe at first: the body waits for it, then takes what comes, to the end.
  auto body = RequestBody::fromFile("-");
  ASSERT_TRUE(body.ok());
  EXPECT_FALSE(body->length);
  Deferred<Response> sent = agent->request("PUT", *http::Url::parse(url("/count")), {}, *body);
  reactor().callLater(absl::Milliseconds(100), [&fds] {
    ASSERT_EQ(::write(fds[1], "from a pipe", 11), 11);
    ::close(fds[1]);
  });
  auto response = wait(reactor(), std::move(sent));
  ASSERT_TRUE(response.value) << response.failure->describe();
  EXPECT_EQ(*wait(reactor(), response.value->readBody()).value, "11");

  // A reactor destroyed while the body waits for standard input: the request fails rather than
  // wait, and the pending read is let go of (LeakSanitizer, in the sanitizer pass, would see it
  // otherwise).
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  std::optional<Failure> failed;
  {
    ReactorScope inner;
    // The server asks for the body (100 Continue) and waits for it.
    bool reading = false;
    http::Router waiting;
    waiting.route(
        "PUT", "/count",
        [&reading](Request r) -> Deferred<ServerResponse> {
          reading = true;
          std::string piece = co_await r.bodyStream->read();
          co_return ServerResponse::text(200, absl::StrCat(piece.size()));
        },
        {.streamBody = true});
    auto innerSite = std::make_shared<http::Site>(inner.reactor(), std::move(waiting));
    auto innerPort = listenTCP(inner.reactor(), 0, innerSite, {.interface = "127.0.0.1"});
    auto innerAgent = std::make_shared<Agent>(inner.reactor());
    auto stdinBody = RequestBody::fromFile("-");
    ASSERT_TRUE(stdinBody.ok());
    innerAgent
        ->request("PUT", *http::Url::parse(absl::StrCat("http://127.0.0.1:", innerPort->getHost().port(), "/count")),
                  {}, *stdinBody)
        .addBoth([&failed](Outcome<Response> o) {
          if (!o.ok()) failed = o.failure();
        });
    ASSERT_TRUE(runUntil(inner.reactor(), [&] { return reading; }));
    // The go-ahead reaches the client, which starts reading standard input.
    const absl::Time until = inner.reactor().seconds() + absl::Milliseconds(200);
    ASSERT_TRUE(runUntil(inner.reactor(), [&] { return inner.reactor().seconds() >= until; }));
  }
  ::close(fds[1]);
  ASSERT_TRUE(failed) << "the request was left waiting";
}

TEST_F(UploadTest, AProducerThatBreaksItsWordOrFailsFailsTheRequest) {
  RequestBody liar;
  liar.length = 10;
  liar.produce = [](std::shared_ptr<RequestBodyWriter> out) { return out->write("short"); };
  auto lied = wait(reactor(), agent->request("PUT", *http::Url::parse(url("/count")), {}, liar));
  ASSERT_TRUE(lied.failure);
  EXPECT_TRUE(lied.failure->check<http::InvalidMessageError>()) << lied.failure->describe();

  // More than promised: the excess is never sent (it would be read as another request).
  ScriptedServer counting(reactor(), [](ScriptedConnection&) {});
  RequestBody over;
  over.length = 4;
  over.produce = [](std::shared_ptr<RequestBodyWriter> out) -> Deferred<void> {
    co_await out->write("four");
    co_await out->write("GET /smuggled HTTP/1.1\r\n\r\n");
  };
  RequestOptions noWait;
  noWait.expectContinue = false;
  auto overran = wait(reactor(), agent->request("PUT", *http::Url::parse(counting.url()), {}, over, noWait));
  ASSERT_TRUE(overran.failure);
  EXPECT_TRUE(overran.failure->check<http::InvalidMessageError>()) << overran.failure->describe();
  ASSERT_FALSE(counting.connections->empty());
  ASSERT_TRUE(runUntil(reactor(), [&] { return counting.connections->at(0)->lost; }));
  EXPECT_EQ(counting.connections->at(0)->received.find("smuggled"), std::string::npos)
      << counting.connections->at(0)->received;

  RequestBody failing;
  failing.produce = [](std::shared_ptr<RequestBodyWriter> out) -> Deferred<void> {
    co_await out->write("some");
    throw std::runtime_error("the disk went away");
  };
  auto failed = wait(reactor(), agent->request("PUT", *http::Url::parse(url("/count")), {}, failing));
  ASSERT_TRUE(failed.failure);
  EXPECT_NE(failed.failure->getErrorMessage().find("the disk went away"), std::string::npos);
}

TEST_F(UploadTest, AFinalAnswerInsteadOf100ContinueMeansTheBodyIsNeverSent) {
  ScriptedServer refusing(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr && c.answered++ == 0) {
      c.transport->write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope");
    }
  });
  auto produced = std::make_shared<bool>(false);
  RequestBody body;
  body.length = 5;
  body.produce = [produced](std::shared_ptr<RequestBodyWriter> out) {
    *produced = true;
    return out->write("hello");
  };
  RequestOptions options;
  options.expectContinue = true;
  auto response = wait(reactor(), agent->request("PUT", *http::Url::parse(refusing.url()), {}, body, options));
  ASSERT_TRUE(response.value) << response.failure->describe();
  EXPECT_EQ(response.value->code(), 401);
  EXPECT_EQ(*wait(reactor(), response.value->readBody()).value, "nope");
  runUntil(reactor(), [] { return false; }, absl::Milliseconds(1200));  // past the 1 s wait
  EXPECT_FALSE(*produced) << "the body was sent after a final answer";
  EXPECT_TRUE(refusing.connections->at(0)->received.ends_with("\r\n\r\n"));
}

TEST_F(UploadTest, AServerAnsweringMidBodyStopsTheProducer) {
  ScriptedServer early(reactor(), [](ScriptedConnection& c) {
    if (c.requests >= 1 && c.transport != nullptr && c.answered++ == 0) {
      c.transport->write("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      c.transport->pauseProducing();  // and reads no more
    }
  });
  auto stopped = std::make_shared<std::optional<Failure>>();
  RequestBody body;
  body.produce = [stopped](std::shared_ptr<RequestBodyWriter> out) -> Deferred<void> {
    const std::string piece(64 << 10, 'x');
    try {
      for (int i = 0; i < 2000; ++i) co_await out->write(piece);
    } catch (...) {
      *stopped = Failure::fromCurrentException();
      throw;
    }
  };
  RequestOptions options;
  options.expectContinue = false;
  auto response = wait(reactor(), agent->request("PUT", *http::Url::parse(early.url()), {}, body, options));
  ASSERT_TRUE(response.value) << response.failure->describe();
  EXPECT_EQ(response.value->code(), 413);
  ASSERT_TRUE(runUntil(reactor(), [&] { return stopped->has_value(); })) << "the producer was not stopped";
  EXPECT_TRUE((*stopped)->check<ConnectionLost>()) << (*stopped)->describe();
}

}  // namespace
}  // namespace deft::web
