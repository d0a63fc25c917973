// The HTTP/1.1 parsers: every rule of RFC 9112 they enforce, each input fed whole, one byte at a
// time and split at every position (parseEverySplit checks the outcomes agree).

#include "http/parser.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/http/parse_helpers.h"

namespace deft::http {
namespace {

using testing::parseRequest;
using testing::parseResponse;
using Kind = BodyFraming::Kind;

TEST(RequestParserTest, SimpleGet) {
  auto p = parseRequest("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
  ASSERT_FALSE(p.error) << p.errorMessage;
  ASSERT_EQ(p.messages.size(), 1u);
  const auto& m = p.messages[0];
  EXPECT_EQ(m.head.method, "GET");
  EXPECT_EQ(m.head.target, "/index.html?q=1");
  EXPECT_EQ(m.head.version, (Version{1, 1}));
  EXPECT_EQ(m.head.headers.get("host"), "example.com");
  EXPECT_EQ(m.framing.kind, Kind::kNone);
  EXPECT_TRUE(m.framing.keepAlive);
  EXPECT_TRUE(m.complete);
}

TEST(RequestParserTest, RepeatedFieldsKeptInOrderAndNamesCaseInsensitive) {
  auto p = parseRequest("GET / HTTP/1.1\r\nX-A: 1\r\nx-b: 2\r\nX-a:   3  \r\n\r\n");
  ASSERT_EQ(p.messages.size(), 1u);
  const Headers& h = p.messages[0].head.headers;
  EXPECT_EQ(h.getAll("x-A"), (std::vector<std::string_view>{"1", "3"}));
  EXPECT_EQ(h.get("X-B"), "2");
}

TEST(RequestParserTest, ContentLengthBody) {
  auto p = parseRequest("POST /f HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].framing.kind, Kind::kLength);
  EXPECT_EQ(p.messages[0].body, "hello world");
  EXPECT_TRUE(p.messages[0].complete);
}

TEST(RequestParserTest, PipelinedRequestsAndBareLfLines) {
  auto p = parseRequest(
      "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "GET /b HTTP/1.1\nHost: x\n\n"
      "\r\nGET /c HTTP/1.0\r\n\r\n");
  ASSERT_FALSE(p.error) << p.errorMessage;
  ASSERT_EQ(p.messages.size(), 3u);
  EXPECT_EQ(p.messages[0].body, "abc");
  EXPECT_EQ(p.messages[1].head.target, "/b");
  EXPECT_EQ(p.messages[1].head.headers.get("Host"), "x");
  EXPECT_EQ(p.messages[2].head.target, "/c");
  EXPECT_FALSE(p.messages[2].framing.keepAlive) << "HTTP/1.0 closes unless asked";
}

// pause() from onMessageComplete stops at that message's end: what follows, in this feed and in
// later ones, is held unparsed until resume(), which may pause again.
TEST(RequestParserTest, PauseHoldsWhatFollowsUntilResume) {
  struct OneAtATime : Parser<RequestHead>::Listener {
    RequestParser* parser = nullptr;
    std::vector<std::string> targets;
    void onHead(RequestHead head, const BodyFraming&) override { targets.push_back(head.target); }
    void onBody(std::string_view) override {}
    void onMessageComplete(Headers) override { parser->pause(); }
  } listener;
  RequestParser parser(listener);
  listener.parser = &parser;
  ASSERT_TRUE(parser.feed("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HT"));
  EXPECT_EQ(listener.targets, (std::vector<std::string>{"/1"}));
  EXPECT_TRUE(parser.paused());
  ASSERT_TRUE(parser.feed("TP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n"));  // held as well
  EXPECT_EQ(listener.targets.size(), 1u);
  ASSERT_TRUE(parser.resume());
  EXPECT_EQ(listener.targets, (std::vector<std::string>{"/1", "/2"}));
  ASSERT_TRUE(parser.resume());
  ASSERT_TRUE(parser.resume());
  EXPECT_EQ(listener.targets, (std::vector<std::string>{"/1", "/2", "/3", "/4"}));
  ASSERT_TRUE(parser.resume());  // nothing held: a no-op apart from unpausing
  EXPECT_FALSE(parser.paused());
  EXPECT_TRUE(parser.idle());

  // A parse error in what was held comes out of resume().
  RequestParser bad(listener);
  listener.parser = &bad;
  ASSERT_TRUE(bad.feed("GET /5 HTTP/1.1\r\n\r\nNOT HTTP AT ALL\r\n\r\n"));
  EXPECT_FALSE(bad.resume());
  ASSERT_TRUE(bad.error());
  EXPECT_EQ(bad.error()->kind(), ParseErrorKind::kBadStartLine);
}

TEST(RequestParserTest, ControlBytesInAStartLineFailAtOnceWithoutALineEnd) {
  // The start of a TLS ClientHello, sent to a plain HTTP port: no line end will ever come.
  const std::string clientHello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  for (const std::string& input : {clientHello, std::string("GET /a\x01b"), std::string("\x7f")}) {
    testing::Parsed<RequestHead> parsed;
    testing::Collector<RequestHead> listener(parsed);
    RequestParser parser(listener);
    EXPECT_FALSE(parser.feed(input)) << ::testing::PrintToString(input);
    ASSERT_TRUE(parser.error());
    EXPECT_EQ(parser.error()->kind(), ParseErrorKind::kBadStartLine);
  }
  // A start line still arriving, with nothing wrong in it yet, waits.
  testing::Parsed<RequestHead> parsed;
  testing::Collector<RequestHead> listener(parsed);
  RequestParser parser(listener);
  EXPECT_TRUE(parser.feed("GET /still-coming HTTP/1.1\r"));
  EXPECT_FALSE(parser.error());
}

TEST(RequestParserTest, KeepAliveRules) {
  EXPECT_FALSE(parseRequest("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                   .messages[0].framing.keepAlive);
  EXPECT_FALSE(parseRequest("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n")
                   .messages[0].framing.keepAlive);
  EXPECT_TRUE(parseRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                  .messages[0].framing.keepAlive);
}

TEST(RequestParserTest, ChunkedWithExtensionsAndTrailers) {
  auto p = parseRequest(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "6 ; x\r\n world\r\n"
      "0\r\nX-Checksum: 42\r\nX-More: y\r\n\r\n");
  ASSERT_FALSE(p.error) << p.errorMessage;
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].framing.kind, Kind::kChunked);
  EXPECT_EQ(p.messages[0].body, "hello world");
  EXPECT_EQ(p.messages[0].trailers.get("x-checksum"), "42");
  EXPECT_EQ(p.messages[0].trailers.size(), 2u);
  EXPECT_TRUE(p.messages[0].complete);
}

TEST(RequestParserTest, ChunkedAndContentLengthChunkedWinsNoKeepAlive) {
  auto p = parseRequest(
      "POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n");
  ASSERT_FALSE(p.error) << p.errorMessage;
  EXPECT_EQ(p.messages[0].framing.kind, Kind::kChunked);
  EXPECT_EQ(p.messages[0].body, "abc");
  EXPECT_FALSE(p.messages[0].framing.keepAlive);
}

TEST(RequestParserTest, IdenticalRepeatedContentLengthIsAccepted) {
  auto p = parseRequest("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_FALSE(p.error) << p.errorMessage;
  EXPECT_EQ(p.messages[0].body, "ok");
}

struct BadCase {
  const char* name;
  const char* input;
  ParseErrorKind kind;
};

class BadRequestTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadRequestTest, IsItsOwnError) {
  auto p = parseRequest(GetParam().input, /*atEof=*/true);
  ASSERT_TRUE(p.error) << GetParam().name << " was accepted";
  EXPECT_EQ(*p.error, GetParam().kind) << p.errorMessage;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9112, BadRequestTest,
    ::testing::Values(
        BadCase{"TwoContentLengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                ParseErrorKind::kConflictingContentLength},
        BadCase{"PlusSign", "POST / HTTP/1.1\r\nContent-Length: +6\r\n\r\n",
                ParseErrorKind::kBadContentLength},
        BadCase{"TrailingJunk", "POST / HTTP/1.1\r\nContent-Length: 6x\r\n\r\n",
                ParseErrorKind::kBadContentLength},
        BadCase{"CommaList", "POST / HTTP/1.1\r\nContent-Length: 5, 20\r\n\r\n",
                ParseErrorKind::kBadContentLength},
        BadCase{"Negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                ParseErrorKind::kBadContentLength},
        BadCase{"Overflow", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                ParseErrorKind::kBadContentLength},
        BadCase{"EmptyLength", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
                ParseErrorKind::kBadContentLength},
        BadCase{"BadChunkSize", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ParseErrorKind::kBadChunk},
        BadCase{"ChunkSizeWithSpaceInside",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 2\r\nab\r\n",
                ParseErrorKind::kBadChunk},
        BadCase{"ChunkWithoutCrlf",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
                ParseErrorKind::kBadChunk},
        BadCase{"ChunkSizeBareLf", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
                ParseErrorKind::kBadChunk},
        BadCase{"ChunkSizeOverflow",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
                ParseErrorKind::kBadChunk},
        BadCase{"UnknownTransferCoding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                ParseErrorKind::kBadTransferEncoding},
        BadCase{"ChunkedNotAlone",
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                ParseErrorKind::kBadTransferEncoding},
        BadCase{"EmptyTransferCodingBesideALength",
                "POST / HTTP/1.1\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\nabc",
                ParseErrorKind::kBadHeader},
        BadCase{"OnlyCommasForTransferCoding",
                "POST / HTTP/1.1\r\nTransfer-Encoding: ,,\r\n\r\n", ParseErrorKind::kBadHeader},
        BadCase{"NoVersion", "GET /\r\n\r\n", ParseErrorKind::kBadStartLine},
        BadCase{"ExtraSpace", "GET  / HTTP/1.1\r\n\r\n", ParseErrorKind::kBadStartLine},
        BadCase{"LowercaseVersion", "GET / http/1.1\r\n\r\n", ParseErrorKind::kBadStartLine},
        BadCase{"BadMethod", "G(T / HTTP/1.1\r\n\r\n", ParseErrorKind::kBadStartLine},
        BadCase{"Garbage", "\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n",
                ParseErrorKind::kBadStartLine},
        BadCase{"Http2", "GET / HTTP/2.0\r\n\r\n", ParseErrorKind::kUnsupportedVersion},
        BadCase{"BareCrInHeader", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", ParseErrorKind::kBadHeader},
        BadCase{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                ParseErrorKind::kBadHeader},
        BadCase{"ObsFold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", ParseErrorKind::kBadHeader},
        BadCase{"NoColon", "GET / HTTP/1.1\r\nJustAName\r\n\r\n", ParseErrorKind::kBadHeader},
        BadCase{"CutInHead", "GET / HTTP/1.1\r\nHost: x\r\n", ParseErrorKind::kTruncated},
        BadCase{"CutInBody", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
                ParseErrorKind::kTruncated},
        BadCase{"CutInChunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                ParseErrorKind::kTruncated}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RequestParserTest, NulInHeaderIsRejected) {
  // A string literal with an embedded NUL needs its length spelled out.
  constexpr char kInput[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
  const std::string input(kInput, sizeof kInput - 1);
  auto p = parseRequest(input, true);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(*p.error, ParseErrorKind::kBadHeader);
}

TEST(RequestParserTest, Limits) {
  ParserLimits limits;
  limits.maxHeaderBytes = 64;
  auto big = parseRequest("GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n",
                          false, limits);
  ASSERT_TRUE(big.error);
  EXPECT_EQ(*big.error, ParseErrorKind::kHeaderSectionTooLarge);

  // A head that never ends is cut off at the limit, not buffered forever.
  auto endless = parseRequest("GET / HTTP/1.1\r\nX: " + std::string(200, 'a'), false, limits);
  ASSERT_TRUE(endless.error);
  EXPECT_EQ(*endless.error, ParseErrorKind::kHeaderSectionTooLarge);

  // A request line over the limit on its own is a target too long (414), not a head (431),
  // whether its end has arrived or not.
  auto longTarget =
      parseRequest("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", false, limits);
  ASSERT_TRUE(longTarget.error);
  EXPECT_EQ(*longTarget.error, ParseErrorKind::kTargetTooLong);
  auto unfinished = parseRequest("GET /" + std::string(100, 'a'), false, limits);
  ASSERT_TRUE(unfinished.error);
  EXPECT_EQ(*unfinished.error, ParseErrorKind::kTargetTooLong);

  limits = {};
  limits.maxHeaderCount = 3;
  auto many = parseRequest("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", false, limits);
  ASSERT_TRUE(many.error);
  EXPECT_EQ(*many.error, ParseErrorKind::kTooManyHeaders);

  limits = {};
  limits.maxBodyBytes = 4;
  auto declared = parseRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", false, limits);
  ASSERT_TRUE(declared.error) << "refused at the head, before any body arrives";
  EXPECT_EQ(*declared.error, ParseErrorKind::kBodyTooLarge);
  auto chunked = parseRequest(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
      false, limits);
  ASSERT_TRUE(chunked.error);
  EXPECT_EQ(*chunked.error, ParseErrorKind::kBodyTooLarge);
  auto exact = parseRequest("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", false, limits);
  EXPECT_FALSE(exact.error);
}

TEST(RequestParserTest, NoMoreInputAfterAnError) {
  testing::Parsed<RequestHead> out;
  testing::Collector<RequestHead> collector(out);
  RequestParser parser(collector);
  EXPECT_FALSE(parser.feed("BAD\r\n\r\n"));
  EXPECT_FALSE(parser.feed("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_TRUE(out.messages.empty());
}

TEST(RequestParserTest, StopEndsCallbacks) {
  struct StopAfterFirst : RequestParser::Listener {
    RequestParser* parser = nullptr;
    int completed = 0;
    void onHead(RequestHead, const BodyFraming&) override {}
    void onBody(std::string_view) override {}
    void onMessageComplete(Headers) override {
      ++completed;
      parser->stop();
    }
  } listener;
  RequestParser parser(listener);
  listener.parser = &parser;
  EXPECT_TRUE(parser.feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(listener.completed, 1);
}

TEST(ResponseParserTest, StatusLineForms) {
  auto p = parseResponse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  ASSERT_FALSE(p.error) << p.errorMessage;
  EXPECT_EQ(p.messages[0].head.status, 404);
  EXPECT_EQ(p.messages[0].head.reason, "Not Found");
  EXPECT_TRUE(p.messages[0].complete);

  auto noReason = parseResponse("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_FALSE(noReason.error) << noReason.errorMessage;
  EXPECT_EQ(noReason.messages[0].head.reason, "");
  EXPECT_EQ(noReason.messages[0].body, "ok");

  auto emptyReason = parseResponse("HTTP/1.0 200 \r\nContent-Length: 0\r\n\r\n");
  ASSERT_FALSE(emptyReason.error) << emptyReason.errorMessage;
  EXPECT_EQ(emptyReason.messages[0].head.version, (Version{1, 0}));
}

TEST(ResponseParserTest, BadStatusLines) {
  for (const char* bad : {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                          "HTTP/1.1 abc OK\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1\r\n\r\n"}) {
    auto p = parseResponse(bad, true);
    ASSERT_TRUE(p.error) << bad;
    EXPECT_EQ(*p.error, ParseErrorKind::kBadStartLine) << bad;
  }
}

TEST(ResponseParserTest, BodyUntilClose) {
  auto p = parseResponse("HTTP/1.1 200 OK\r\n\r\nall of this until the end", true);
  ASSERT_FALSE(p.error) << p.errorMessage;
  EXPECT_EQ(p.messages[0].framing.kind, Kind::kUntilClose);
  EXPECT_FALSE(p.messages[0].framing.keepAlive);
  EXPECT_EQ(p.messages[0].body, "all of this until the end");
  EXPECT_TRUE(p.messages[0].complete);

  auto open = parseResponse("HTTP/1.1 200 OK\r\n\r\npartial", false);
  EXPECT_FALSE(open.messages[0].complete) << "complete only when the connection closes";
}

TEST(ResponseParserTest, TransferCodingNotChunkedLastReadsUntilClose) {
  auto p = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz", true);
  ASSERT_FALSE(p.error) << p.errorMessage;
  EXPECT_EQ(p.messages[0].framing.kind, Kind::kUntilClose);
  EXPECT_EQ(p.messages[0].body, "xyz");
}

// RFC 9112 §5.2: a user agent MUST replace each obs-fold with a space (a server may refuse one,
// and deft's does: the ObsFold case above).
TEST(ResponseParserTest, ObsFoldIsReplacedByASpace) {
  auto p = parseResponse(
      "HTTP/1.1 200 OK\r\nX-Folded: a\r\n   b\r\n\tc \r\nContent-Length: 2\r\n\r\nok", false);
  ASSERT_FALSE(p.error) << p.errorMessage;
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].head.headers.get("X-Folded"), "a b c");
  EXPECT_EQ(p.messages[0].body, "ok");

  auto orphan = parseResponse("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", false);
  ASSERT_TRUE(orphan.error);
  EXPECT_EQ(*orphan.error, ParseErrorKind::kBadHeader);
}

TEST(ResponseParserTest, AnEmptyTransferCodingReadsUntilCloseNotByLength) {
  auto p = parseResponse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\nContent-Length: 1\r\n\r\nxyz", true);
  ASSERT_FALSE(p.error) << p.errorMessage;
  EXPECT_EQ(p.messages[0].framing.kind, Kind::kUntilClose);
  EXPECT_EQ(p.messages[0].body, "xyz");
}

TEST(ResponseParserTest, NoBodyForHead204And304) {
  auto head = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, "HEAD");
  ASSERT_EQ(head.messages.size(), 1u);
  EXPECT_TRUE(head.messages[0].complete);
  EXPECT_EQ(head.messages[0].framing.kind, Kind::kNone);
  EXPECT_TRUE(head.messages[0].framing.keepAlive);

  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    auto p = parseResponse(std::string("HTTP/1.1 ") + status +
                           "\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    ASSERT_EQ(p.messages.size(), 2u) << status;
    EXPECT_TRUE(p.messages[0].complete);
    EXPECT_EQ(p.messages[1].body, "x");
  }
}

TEST(ResponseParserTest, InterimResponsesThenFinal) {
  auto p = parseResponse(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_FALSE(p.error) << p.errorMessage;
  ASSERT_EQ(p.informational.size(), 2u);
  EXPECT_EQ(p.informational[0].status, 100);
  EXPECT_EQ(p.informational[1].headers.get("Link"), "</style.css>");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].head.status, 200);
  EXPECT_EQ(p.messages[0].body, "ok");
}

TEST(ResponseParserTest, ChunkedResponseWithLargeChunks) {
  std::string body(70000, 'q');
  std::string input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  input += "11170\r\n" + body + "\r\n0\r\n\r\n";
  // Every-split would be 70k parses of 70k bytes; whole and byte-at-a-time are enough here.
  auto whole = testing::parsePieces<ResponseHead>({input}, false);
  ASSERT_FALSE(whole.error) << whole.errorMessage;
  EXPECT_EQ(whole.messages[0].body, body);
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(std::string_view(input).substr(i, 1));
  auto byByte = testing::parsePieces<ResponseHead>(bytes, false);
  EXPECT_EQ(byByte.messages[0].body, body);
}

TEST(ResponseParserTest, TruncatedBodyKeepsWhatArrived) {
  auto p = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd", true);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(*p.error, ParseErrorKind::kTruncated);
  EXPECT_EQ(p.messages[0].body, "abcd");
  EXPECT_NE(p.errorMessage.find("4 of 10"), std::string::npos) << p.errorMessage;
}

TEST(ResponseParserTest, CleanEofBetweenMessages) {
  auto p = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", true);
  EXPECT_FALSE(p.error) << p.errorMessage;
}

}  // namespace
}  // namespace deft::http
