// The HTTP/1.1 parser alone: bytes per second on a typical response head, on a chunked body,
// and on a small request (what the server parses per request).

#include <string>

#include "benchmark/benchmark.h"
#include "http/parser.h"

namespace {

using deft::http::BodyFraming;
using deft::http::Headers;
using deft::http::RequestHead;
using deft::http::ResponseHead;

template <class Head>
class Counting : public deft::http::Parser<Head>::Listener {
 public:
  void onHead(Head head, const BodyFraming&) override { fields += head.headers.size(); }
  void onBody(std::string_view data) override { bytes += data.size(); }
  void onMessageComplete(Headers) override { ++messages; }
  std::size_t fields = 0, bytes = 0, messages = 0;
};

const std::string kResponseHead =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sun, 22 Nov 2026 13:00:00 GMT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 0\r\n"
    "Last-Modified: Sat, 21 Nov 2026 10:00:00 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6560a1b0-400\"\r\n"
    "Cache-Control: max-age=3600\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

void BM_ResponseHead(benchmark::State& state) {
  Counting<ResponseHead> listener;
  deft::http::ResponseParser parser(listener);
  for (auto _ : state) parser.feed(kResponseHead);
  benchmark::DoNotOptimize(listener.messages);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kResponseHead.size()));
}
BENCHMARK(BM_ResponseHead);

void BM_ChunkedBody(benchmark::State& state) {
  // 1 MiB in 4 KiB chunks, fed in 64 KiB reads as a socket would deliver it.
  std::string message = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(4096, 'c');
  for (int i = 0; i < 256; ++i) message += "1000\r\n" + chunk + "\r\n";
  message += "0\r\n\r\n";
  Counting<ResponseHead> listener;
  deft::http::ResponseParser parser(listener);
  for (auto _ : state) {
    for (std::size_t at = 0; at < message.size(); at += 65536) {
      parser.feed(std::string_view(message).substr(at, 65536));
    }
  }
  benchmark::DoNotOptimize(listener.bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_ChunkedBody);

void BM_SmallRequest(benchmark::State& state) {
  const std::string request =
      "GET /bytes/1024 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n"
      "Accept: */*\r\n\r\n";
  Counting<RequestHead> listener;
  deft::http::RequestParser parser(listener);
  for (auto _ : state) parser.feed(request);
  benchmark::DoNotOptimize(listener.messages);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
}
BENCHMARK(BM_SmallRequest);

}  // namespace

BENCHMARK_MAIN();
