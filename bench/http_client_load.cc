// Fetches one URL `--requests` times with `--in-flight` at once through deft's Agent (a pool of
// that many keep-alive connections), reading every body whole. Prints the rate and this
// process's CPU per 1,000 requests: the Agent's side of bench/http_client.sh.
//
//   http_client_load --url=http://127.0.0.1:8080/1k --requests=20000 --in-flight=100
//   --stream=true counts each body as it arrives (deliverBody), as libcurl's write callback in
//   bench/curl_multi_load does; by default bodies are read whole (readBody).
//   https URLs: --cacert=FILE trusts that CA; --close=true sends "Connection: close", so every
//   request pays a new connection and handshake (TLS sessions are still resumed, unless
//   --resume=false: a full handshake each time).

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "reactor/reactor.h"
#include "web_client/agent.h"

namespace {

struct Load {
  std::shared_ptr<deft::web::Agent> agent;
  std::string url;
  long remaining = 0;  // requests not yet started
  long completed = 0;
  long failed = 0;
  long bytes = 0;
  long inFlight = 0;

  bool stream = false;  // count the body as it arrives (as curl's write callback) vs read it whole
  deft::http::Headers headers;

  void startOne() {
    --remaining;
    ++inFlight;
    agent->request("GET", url, headers)
        .addCallback([this](deft::web::Response r) -> deft::Deferred<std::size_t> {
          if (!stream) {
            return r.readBody().addCallback([](std::string body) { return body.size(); });
          }
          auto size = std::make_shared<std::size_t>(0);
          deft::Deferred<std::size_t> done;
          r.deliverBody({.dataReceived = [size](std::string_view data) { *size += data.size(); },
                         .connectionLost = [size, done](std::optional<deft::Failure> f) mutable {
                           if (f) {
                             done.errback(*f);
                           } else {
                             done.callback(*size);
                           }
                         }});
          return done;
        })
        .addCallbacks([this](std::size_t size) { finished(size); },
                      [this](deft::Failure f) {
                        if (failed++ == 0) std::fprintf(stderr, "%s\n", f.describe().c_str());
                        finished(0);
                      });
  }
  void finished(std::size_t size) {
    --inFlight;
    ++completed;
    bytes += static_cast<long>(size);
    if (remaining > 0) {
      startOne();
    } else if (inFlight == 0) {
      deft::reactor().stop();
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  using deft::bench::flag;
  const long requests = std::atol(flag(argc, argv, "requests", "20000").c_str());
  const long inFlight = std::atol(flag(argc, argv, "in-flight", "100").c_str());
  deft::web::AgentOptions options;
  options.maxConnectionsPerHost = static_cast<std::size_t>(inFlight);
  Load load;
  options.tls.caFile = flag(argc, argv, "cacert", "");
  options.tls.resumeSessions = flag(argc, argv, "resume", "true") == "true";
  load.agent = std::make_shared<deft::web::Agent>(deft::reactor(), options);
  if (flag(argc, argv, "close", "false") == "true") load.headers.add("Connection", "close");
  load.url = flag(argc, argv, "url", "http://127.0.0.1:8080/");
  load.remaining = requests;
  load.stream = flag(argc, argv, "stream", "false") == "true";

  const double cpuBefore = deft::bench::cpuSeconds();
  const absl::Time start = absl::Now();
  deft::reactor().callWhenRunning([&] {
    for (long i = 0; i < inFlight && load.remaining > 0; ++i) load.startOne();
  });
  deft::reactor().run(false);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = deft::bench::cpuSeconds() - cpuBefore;
  std::printf("requests=%ld failed=%ld bytes=%ld seconds=%.3f rate=%.0f cpu_per_1k=%.4f\n",
              load.completed, load.failed, load.bytes, seconds, load.completed / seconds,
              cpu / load.completed * 1000);
  return load.failed == 0 ? 0 : 1;
}
