// Helpers for parser tests: collect everything a parser reports, and feed the same input whole,
// one byte at a time, and split in two at every position, expecting the same outcome.

#ifndef DEFT_TESTS_HTTP_PARSE_HELPERS_H_
#define DEFT_TESTS_HTTP_PARSE_HELPERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "http/parser.h"

namespace deft::http::testing {

template <class Head>
struct Message {
  Head head;
  BodyFraming framing;
  std::string body;
  Headers trailers;
  bool complete = false;
};

// Everything one run of a parser saw.
template <class Head>
struct Parsed {
  std::vector<ResponseHead> informational;
  std::vector<Message<Head>> messages;
  std::optional<ParseErrorKind> error;
  std::string errorMessage;
};

template <class Head>
class Collector : public Parser<Head>::Listener {
 public:
  explicit Collector(Parsed<Head>& out) : out_(out) {}
  void onInformational(ResponseHead head) override { out_.informational.push_back(head); }
  void onHead(Head head, const BodyFraming& framing) override {
    out_.messages.push_back({std::move(head), framing, "", {}, false});
  }
  void onBody(std::string_view data) override { out_.messages.back().body.append(data); }
  void onMessageComplete(Headers trailers) override {
    out_.messages.back().trailers = std::move(trailers);
    out_.messages.back().complete = true;
  }

 private:
  Parsed<Head>& out_;
};

// Feeds `pieces` in order, then finish() if `atEof`.
template <class Head>
Parsed<Head> parsePieces(const std::vector<std::string_view>& pieces, bool atEof,
                         ParserLimits limits = {}, std::string_view method = "GET") {
  Parsed<Head> out;
  Collector<Head> collector(out);
  Parser<Head> parser(collector, limits);
  if constexpr (std::is_same_v<Head, ResponseHead>) parser.expectResponseTo(method);
  bool ok = true;
  for (std::string_view piece : pieces) {
    ok = parser.feed(piece);
    if (!ok) break;
  }
  if (ok && atEof) ok = parser.finish();
  if (!ok) {
    out.error = parser.error()->kind();
    out.errorMessage = parser.error()->what();
  }
  return out;
}

template <class Head>
std::string summary(const Parsed<Head>& p) {
  std::string s;
  for (const auto& m : p.messages) {
    s += "[";
    for (const auto& [name, value] : m.head.headers) s += name + "=" + value + ";";
    s += " body " + std::to_string(m.body.size()) + "B \"" + m.body.substr(0, 40) + "\"";
    for (const auto& [name, value] : m.trailers) s += " trailer " + name + "=" + value;
    s += m.complete ? ", complete]" : "]";
  }
  if (p.error) s += " error: " + p.errorMessage;
  return s;
}

// Parses `input` whole, byte by byte and split at every position; checks they all agree and
// returns the whole-input result.
template <class Head>
Parsed<Head> parseEverySplit(std::string_view input, bool atEof = false, ParserLimits limits = {},
                             std::string_view method = "GET") {
  const Parsed<Head> whole = parsePieces<Head>({input}, atEof, limits, method);
  const std::string expected = summary(whole);
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_EQ(summary(parsePieces<Head>(bytes, atEof, limits, method)), expected)
      << "fed one byte at a time";
  for (std::size_t i = 1; i < input.size(); ++i) {
    EXPECT_EQ(summary(parsePieces<Head>({input.substr(0, i), input.substr(i)}, atEof, limits,
                                        method)),
              expected)
        << "split at " << i;
  }
  return whole;
}

inline Parsed<RequestHead> parseRequest(std::string_view input, bool atEof = false,
                                        ParserLimits limits = {}) {
  return parseEverySplit<RequestHead>(input, atEof, limits);
}

inline Parsed<ResponseHead> parseResponse(std::string_view input, bool atEof = false,
                                          std::string_view method = "GET",
                                          ParserLimits limits = {}) {
  return parseEverySplit<ResponseHead>(input, atEof, limits, method);
}

}  // namespace deft::http::testing

#endif  // DEFT_TESTS_HTTP_PARSE_HELPERS_H_
