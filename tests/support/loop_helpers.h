// Helpers for reactor tests: drive the loop until something happens, with a deadline, and small
// protocols that record what they see.

#ifndef DEFT_TESTS_SUPPORT_LOOP_HELPERS_H_
#define DEFT_TESTS_SUPPORT_LOOP_HELPERS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "deferred/failure.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft::testing {

// Runs the loop one pass at a time until `done()` holds; false if `limit` passes first.
inline bool runUntil(Reactor& reactor, const std::function<bool()>& done,
                     absl::Duration limit = absl::Seconds(10)) {
  const absl::Time deadline = reactor.seconds() + limit;
  while (!done()) {
    if (reactor.seconds() > deadline) return false;
    reactor.iterate(absl::Milliseconds(10));
  }
  return true;
}

// What a Recorder saw. Shared with the test, because the transport frees its protocol soon after
// connectionLost: `transport` is valid only while `lost` is empty.
struct Record {
  bool made = false;
  bool peerHalfClosed = false;
  bool closeOnPeerEof = true;
  std::string received;
  std::optional<Failure> lost;
  ITransport* transport = nullptr;
};

// Records everything: data, half-close, the reason the connection ended.
class Recorder : public Protocol {
 public:
  explicit Recorder(std::shared_ptr<Record> record) : record_(std::move(record)) {}
  void connectionMade() override {
    record_->made = true;
    record_->transport = transport();
  }
  void dataReceived(std::string_view data) override { record_->received.append(data); }
  void readConnectionLost() override {
    record_->peerHalfClosed = true;
    if (record_->closeOnPeerEof) transport()->loseConnection();
  }
  void connectionLost(const Failure& reason) override {
    record_->lost = reason;
    record_->transport = nullptr;
  }

 private:
  std::shared_ptr<Record> record_;
};

// A factory of Recorders; each connection's Record is appended to `records`.
inline std::shared_ptr<Factory> recordingFactory(std::vector<std::shared_ptr<Record>>& records) {
  return makeFactory([&records]() -> std::unique_ptr<Protocol> {
    records.push_back(std::make_shared<Record>());
    return std::make_unique<Recorder>(records.back());
  });
}

class Echo : public Protocol {
 public:
  void dataReceived(std::string_view data) override { transport()->write(data); }
};

// A ClientFactory building one given protocol and recording the attempt's end.
class OneShotClientFactory : public ClientFactory {
 public:
  explicit OneShotClientFactory(std::unique_ptr<Protocol> protocol)
      : protocol_(std::move(protocol)) {}
  std::unique_ptr<Protocol> buildProtocol(const Address&) override { return std::move(protocol_); }
  void clientConnectionFailed(Connector&, const Failure& reason) override { failed = reason; }
  void clientConnectionLost(Connector&, const Failure& reason) override { lost = reason; }

  std::optional<Failure> failed;
  std::optional<Failure> lost;

 private:
  std::unique_ptr<Protocol> protocol_;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_SUPPORT_LOOP_HELPERS_H_
