// A client for server tests that sends exact bytes and parses what comes back with the project's
// response parser: it can send garbage, trickle, pipeline, vanish.

#ifndef DEFT_TESTS_HTTP_SERVER_RAW_CLIENT_H_
#define DEFT_TESTS_HTTP_SERVER_RAW_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "tcp/tcp.h"
#include "tests/http/parse_helpers.h"
#include "tests/support/loop_helpers.h"

namespace deft::http::testing {

class RawClient {
 public:
  RawClient(Reactor& reactor, std::uint16_t port)
      : reactor_(reactor),
        record_(std::make_shared<deft::testing::Record>()),
        factory_(std::make_shared<deft::testing::OneShotClientFactory>(
            std::make_unique<deft::testing::Recorder>(record_))) {
    connectTCP(reactor, "127.0.0.1", port, factory_, absl::Seconds(5));
    deft::testing::runUntil(reactor, [&] { return record_->made || factory_->failed; });
  }

  bool connected() const { return record_->made && !record_->lost; }
  bool closed() const { return record_->lost.has_value(); }
  // Why the connection ended: ConnectionDone for a clean close, ConnectionLost for a reset.
  const std::optional<Failure>& lostReason() const { return record_->lost; }
  // By default the client closes when the server half-closes; this one keeps its side open.
  void keepOpenOnPeerEof() { record_->closeOnPeerEof = false; }
  const std::string& received() const { return record_->received; }
  ITransport* transport() const { return record_->transport; }

  void send(std::string_view bytes) { record_->transport->write(bytes); }
  void abort() { record_->transport->abortConnection(); }

  // The responses received so far (`method` is what they answer, for HEAD).
  Parsed<ResponseHead> responses(std::string_view method = "GET") const {
    return parsePieces<ResponseHead>({record_->received}, closed(), {}, method);
  }
  std::size_t completeResponses(std::string_view method = "GET") const {
    std::size_t n = 0;
    for (const auto& m : responses(method).messages) n += m.complete ? 1 : 0;
    return n;
  }

  bool waitForResponses(std::size_t n, absl::Duration limit = absl::Seconds(10),
                        std::string_view method = "GET") {
    return deft::testing::runUntil(
        reactor_, [&] { return completeResponses(method) >= n || closed(); }, limit) &&
           completeResponses(method) >= n;
  }
  bool waitForClose(absl::Duration limit = absl::Seconds(10)) {
    return deft::testing::runUntil(reactor_, [&] { return closed(); }, limit);
  }
  bool waitForBytes(std::string_view text, absl::Duration limit = absl::Seconds(10)) {
    return deft::testing::runUntil(
        reactor_, [&] { return received().find(text) != std::string::npos || closed(); },
        limit) &&
           received().find(text) != std::string::npos;
  }

 private:
  Reactor& reactor_;
  std::shared_ptr<deft::testing::Record> record_;
  std::shared_ptr<deft::testing::OneShotClientFactory> factory_;
};

}  // namespace deft::http::testing

#endif  // DEFT_TESTS_HTTP_SERVER_RAW_CLIENT_H_
