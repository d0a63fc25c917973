// Content decoding as a streaming layer: each coding decoded as it arrives (before the body
// ends), codings chained, raw deflate told from zlib's, unknown codings passed on, corrupt and
// truncated streams failed, and a decompression bomb of each coding stopped with bounded memory.

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "tests/web_client/scripted_server.h"
#include "tests/web_client/test_helpers.h"
#include "web_client/agent.h"
#include "web_client/content_decoding.h"
#include "web_client/errors.h"
#include "web_client/get_page.h"

namespace deft::web {
namespace {

using deft::testing::runUntil;
using deft::testing::wait;
using testing::ScriptedConnection;
using testing::ScriptedServer;

// Text that compresses about as well as a web page (a few times, not a thousand).
std::string patterned(std::size_t size) {
  std::string s(size, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < size; ++i) {
    x = x * 1103515245 + 12345;
    s[i] = "etaoin shrdlu cmfwyp"[(x >> 16) % 20];
  }
  return s;
}

using testing::zlibCompressed;

std::string encode(const std::string& coding, const std::string& text) {
  if (coding == "gzip") return zlibCompressed(text, 16 + MAX_WBITS);
  if (coding == "deflate") return zlibCompressed(text, MAX_WBITS);
  if (coding == "raw-deflate") return zlibCompressed(text, -MAX_WBITS);
  if (coding == "br") {
    std::size_t size = BrotliEncoderMaxCompressedSize(text.size());
    std::string out(size, '\0');
    BrotliEncoderCompress(1, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, text.size(),
                          reinterpret_cast<const std::uint8_t*>(text.data()), &size,
                          reinterpret_cast<std::uint8_t*>(out.data()));
    out.resize(size);
    return out;
  }
  if (coding == "zstd") {
    std::string out(ZSTD_compressBound(text.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
    return out;
  }
  ADD_FAILURE() << "no encoder for " << coding;
  return text;
}

class ContentDecodingTest : public ::testing::Test {
 protected:
  Reactor& reactor() { return scope.reactor(); }
  // A server answering each request with that Content-Encoding and body: all at once, or (with
  // `halves`) the first half, and the rest when the test calls release().
  void serve(std::string headerValue, std::string body, bool halves = false) {
    header_ = std::move(headerValue);
    body_ = std::move(body);
    server_ = std::make_unique<ScriptedServer>(reactor(), [this, halves](ScriptedConnection& c) {
      if (c.requests != 1 || c.transport == nullptr || c.answered++ > 0) return;
      connection_ = &c;
      c.transport->write(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Encoding: ", header_,
                                      "\r\nContent-Length: ", body_.size(), "\r\n\r\n"));
      c.transport->write(halves ? body_.substr(0, body_.size() / 2) : body_);
    });
  }
  void release() {
    if (connection_ != nullptr && connection_->transport != nullptr) {
      connection_->transport->write(body_.substr(body_.size() / 2));
    }
  }
  Deferred<Response> get(ContentDecodingLimits limits = {}) {
    RequestOptions options;
    options.decodeContent = true;
    options.decodingLimits = limits;
    return agent_->request("GET", server_->url(), {}, {}, options);
  }

  ReactorScope scope;
  std::shared_ptr<Agent> agent_ = std::make_shared<Agent>(scope.reactor());
  std::unique_ptr<ScriptedServer> server_;
  ScriptedConnection* connection_ = nullptr;
  std::string header_;
  std::string body_;
};

TEST_F(ContentDecodingTest, EachCodingIsDecodedAsItArrives) {
  const std::string text = patterned(3 << 20);
  for (const std::string coding : {"gzip", "deflate", "raw-deflate", "br", "zstd"}) {
    SCOPED_TRACE(coding);
    serve(coding == "raw-deflate" ? "deflate" : coding, encode(coding, text), /*halves=*/true);
    auto response = wait(reactor(), get());
    ASSERT_TRUE(response.value) << response.failure->describe();
    EXPECT_FALSE(response.value->headers().has("Content-Encoding"));
    EXPECT_FALSE(response.value->headers().has("Content-Length"));
    std::string decoded;
    std::optional<std::optional<Failure>> end;
    response.value->deliverBody({.dataReceived = [&](std::string_view d) { decoded.append(d); },
                                 .connectionLost = [&](std::optional<Failure> f) { end = f; }});
    // Half the encoded body has been sent: decoded bytes come before the rest is.
    ASSERT_TRUE(runUntil(reactor(), [&] { return decoded.size() > 0; }));
    EXPECT_FALSE(end);
    release();
    ASSERT_TRUE(runUntil(reactor(), [&] { return end.has_value(); }));
    EXPECT_FALSE(*end) << (*end)->describe();
    EXPECT_TRUE(decoded == text) << "decoded " << decoded.size() << " bytes of " << text.size();
  }
}

TEST_F(ContentDecodingTest, TheDecodedResponseKeepsWhatIsKnownOfTheExchange) {
  // The layer makes a new body: the request, addresses, milestones and certificates come along.
  auto body = std::make_shared<internal::ResponseBody>();
  body->head.status = 200;
  body->head.headers.set("Content-Encoding", "gzip");
  body->url = *http::Url::parse("https://127.0.0.1:8443/page");
  body->redirects = 1;
  http::RequestHead request;
  request.method = "GET";
  request.target = "/page";
  body->request = std::make_shared<const http::RequestHead>(request);
  body->peer = Address::fromLiteral("127.0.0.1", 8443);
  body->sentAt = absl::FromUnixSeconds(100);
  body->connectedAt = absl::FromUnixSeconds(99);
  body->peerCertificates = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"der1", "der2"});
  body->received = encode("gzip", "hello");
  body->complete = true;
  Response decoded = decodeContent(Response(body));
  EXPECT_EQ(decoded.code(), 200);
  EXPECT_EQ(decoded.url().toString(), "https://127.0.0.1:8443/page");
  EXPECT_EQ(decoded.redirects(), 1);
  EXPECT_EQ(decoded.request().target, "/page");
  ASSERT_TRUE(decoded.peer());
  EXPECT_EQ(decoded.peer()->port(), 8443);
  EXPECT_EQ(decoded.sentAt(), absl::FromUnixSeconds(100));
  EXPECT_EQ(decoded.connectedAt(), absl::FromUnixSeconds(99));
  EXPECT_EQ(decoded.peerCertificates(), (std::vector<std::string>{"der1", "der2"}));
  auto text = wait(reactor(), decoded.readBody());
  ASSERT_TRUE(text.value) << text.failure->describe();
  EXPECT_EQ(*text.value, "hello");
}

TEST_F(ContentDecodingTest, ChainedCodingsAreUndoneInReverseAndUnknownOnesPassedOn) {
  const std::string text = patterned(100000);
  serve("gzip, br", encode("br", encode("gzip", text)));
  auto response = wait(reactor(), get());
  ASSERT_TRUE(response.value) << response.failure->describe();
  auto body = wait(reactor(), response.value->readBody());
  ASSERT_TRUE(body.value) << body.failure->describe();
  EXPECT_TRUE(*body.value == text);

  const std::string odd = "not really compressed";
  serve("compress", odd);
  auto passed = wait(reactor(), get());
  ASSERT_TRUE(passed.value);
  EXPECT_EQ(passed.value->headers().get("Content-Encoding"), "compress");
  auto raw = wait(reactor(), passed.value->readBody());
  ASSERT_TRUE(raw.value);
  EXPECT_EQ(*raw.value, odd);
}

TEST_F(ContentDecodingTest, CorruptAndTruncatedStreamsAreDecodingErrors) {
  for (const std::string coding : {"gzip", "br", "zstd"}) {
    SCOPED_TRACE(coding);
    std::string encoded = encode(coding, patterned(200000));
    std::string corrupt = encoded;
    for (std::size_t i = 20; i < corrupt.size(); i += 97) corrupt[i] = static_cast<char>(~corrupt[i]);
    serve(coding, corrupt);
    auto response = wait(reactor(), get());
    ASSERT_TRUE(response.value);
    auto body = wait(reactor(), response.value->readBody());
    ASSERT_TRUE(body.failure);
    EXPECT_TRUE(body.failure->check<DecodingError>()) << body.failure->describe();

    serve(coding, encoded.substr(0, encoded.size() - 10));  // complete framing, cut stream
    auto cut = wait(reactor(), get());
    ASSERT_TRUE(cut.value);
    auto cutBody = wait(reactor(), cut.value->readBody());
    ASSERT_TRUE(cutBody.failure);
    EXPECT_TRUE(cutBody.failure->check<DecodingError>()) << cutBody.failure->describe();
  }
}

TEST_F(ContentDecodingTest, ABombOfEachCodingIsStoppedAndTheConnectionAborted) {
  const std::string zeros(64 << 20, '\0');  // 64 MiB that compress to almost nothing
  for (const std::string coding : {"gzip", "br", "zstd"}) {
    SCOPED_TRACE(coding);
    const std::string bomb = encode(coding, zeros);
    ASSERT_LT(bomb.size(), 300u << 10);
    serve(coding, bomb);
    auto response = wait(reactor(), get());
    ASSERT_TRUE(response.value);
    std::size_t decoded = 0;
    std::optional<std::optional<Failure>> end;
    response.value->deliverBody({.dataReceived = [&](std::string_view data) { decoded += data.size(); },
                                 .connectionLost = [&](std::optional<Failure> f) { end = f; }});
    ASSERT_TRUE(runUntil(reactor(), [&] { return end.has_value(); }));
    ASSERT_TRUE(*end);
    EXPECT_TRUE((*end)->check<ResponseTooLarge>()) << (*end)->describe();
    // Stopped within a piece of the limit: max(1 MiB, 200 x what had arrived).
    EXPECT_LE(decoded, std::max<std::size_t>(kRatioFloor, 200 * bomb.size()) + (64 << 10));
    EXPECT_TRUE(runUntil(reactor(), [&] { return connection_->lost; })) << "connection not aborted";
  }
  // An absolute limit, through getPage's maxSize.
  serve("gzip", encode("gzip", patterned(5 << 20)));
  PageOptions options;
  options.compressed = true;
  options.maxSize = 1 << 20;
  options.agent = agent_;
  auto result = wait(reactor(), getPage(server_->url(), options));
  ASSERT_TRUE(result.failure);
  EXPECT_TRUE(result.failure->check<ResponseTooLarge>()) << result.failure->describe();
}

TEST_F(ContentDecodingTest, TheBodyEndsEvenWhenTheCallerDropsItsResponse) {
  const std::string text = patterned(1 << 20);
  serve("gzip", encode("gzip", text), /*halves=*/true);
  RequestOptions options;
  options.decodeContent = true;
  // The Response handle goes with the callback; only the Deferred of its body is kept.
  Deferred<std::string> body = agent_->request("GET", server_->url(), {}, std::string(), options)
                                   .addCallback([](Response r) { return r.readBody(); });
  ASSERT_TRUE(runUntil(reactor(), [&] { return connection_ != nullptr; }));
  release();
  auto result = wait(reactor(), std::move(body));
  ASSERT_TRUE(result.value) << result.failure->describe();
  EXPECT_TRUE(*result.value == text);
}

TEST_F(ContentDecodingTest, MoreThanFiveCodingsAreRefusedAndHeadHasNothingToDecode) {
  serve("gzip, gzip, gzip, gzip, gzip, gzip", "whatever");
  auto response = wait(reactor(), get());
  ASSERT_TRUE(response.value);
  auto body = wait(reactor(), response.value->readBody());
  ASSERT_TRUE(body.failure);
  EXPECT_TRUE(body.failure->check<DecodingError>()) << body.failure->describe();

  // A HEAD's response declares the coding of a body it does not carry.
  ScriptedServer head(reactor(), [](ScriptedConnection& c) {
    if (c.requests == 1 && c.transport != nullptr && c.answered++ == 0) {
      c.transport->write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1234\r\n\r\n");
    }
  });
  RequestOptions options;
  options.decodeContent = true;
  auto headResponse = wait(reactor(), agent_->request("HEAD", head.url(), {}, std::string(), options));
  ASSERT_TRUE(headResponse.value) << headResponse.failure->describe();
  auto empty = wait(reactor(), headResponse.value->readBody());
  ASSERT_TRUE(empty.value) << empty.failure->describe();
  EXPECT_EQ(*empty.value, "");
}

}  // namespace
}  // namespace deft::web
