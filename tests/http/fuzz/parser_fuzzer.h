// The oracle both parser fuzzers share: a message parsed whole and parsed in pieces (split where
// the input's first bytes say) must give the same heads, bodies and error; and nothing parsed
// may hold a CR, LF or NUL where the rules forbid one.

#ifndef DEFT_TESTS_HTTP_FUZZ_PARSER_FUZZER_H_
#define DEFT_TESTS_HTTP_FUZZ_PARSER_FUZZER_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/parser.h"

namespace deft::http::fuzz {

template <class Head>
struct Transcript : Parser<Head>::Listener {
  std::string log;
  void onInformational(ResponseHead head) override { log += "1xx " + std::to_string(head.status); }
  void onHead(Head head, const BodyFraming& framing) override {
    for (const auto& [name, value] : head.headers) {
      for (char c : name + value) {
        if (c == '\r' || c == '\n' || c == '\0') std::abort();  // a field kept a control char
      }
      log += name + ":" + value + ";";
    }
    log += "|framing " + std::to_string(static_cast<int>(framing.kind)) +
           (framing.keepAlive ? " ka|" : "|");
  }
  void onBody(std::string_view data) override { log.append(data); }
  void onMessageComplete(Headers trailers) override {
    log += "|end " + std::to_string(trailers.size()) + "|";
  }
};

template <class Head>
std::string parse(const std::vector<std::string_view>& pieces) {
  Transcript<Head> transcript;
  ParserLimits limits;
  limits.maxHeaderBytes = 4096;
  limits.maxBodyBytes = 1 << 16;
  Parser<Head> parser(transcript, limits);
  bool ok = true;
  for (std::string_view piece : pieces) {
    if (!(ok = parser.feed(piece))) break;
  }
  if (ok) ok = parser.finish();
  if (!ok) transcript.log += "|error " + std::to_string(static_cast<int>(parser.error()->kind()));
  return transcript.log;
}

template <class Head>
int fuzzOne(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t split = data[0] % (size - 1);
  const std::size_t step = 1 + data[1] % 7;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  const std::string whole = parse<Head>({input});
  if (parse<Head>({input.substr(0, split), input.substr(split)}) != whole) std::abort();
  std::vector<std::string_view> small;
  for (std::size_t at = 0; at < input.size(); at += step) small.push_back(input.substr(at, step));
  if (parse<Head>(small) != whole) std::abort();
  return 0;
}

}  // namespace deft::http::fuzz

#endif  // DEFT_TESTS_HTTP_FUZZ_PARSER_FUZZER_H_
