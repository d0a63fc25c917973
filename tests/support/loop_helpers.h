// Helpers for reactor tests: drive the loop until something happens, with a deadline, and small
// protocols that record what they see.

#ifndef DEFT_TESTS_SUPPORT_LOOP_HELPERS_H_
#define DEFT_TESTS_SUPPORT_LOOP_HELPERS_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "deferred/failure.h"
#include "gtest/gtest.h"
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

// What a Deferred fired with, as wait() saw it.
template <class T>
struct Result {
  std::optional<T> value;
  std::optional<Failure> failure;
  bool done() const { return value || failure; }
};

// Runs the loop until `d` fires (a test failure if `limit` passes first) and returns its outcome.
template <class T>
Result<T> wait(Reactor& reactor, Deferred<T> d, absl::Duration limit = absl::Seconds(10)) {
  auto result = std::make_shared<Result<T>>();
  std::move(d).addCallbacks([result](T v) { result->value = std::move(v); },
                            [result](Failure f) { result->failure = std::move(f); });
  EXPECT_TRUE(runUntil(reactor, [&] { return result->done(); }, limit)) << "never fired";
  return std::move(*result);  // moved, for move-only results
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

// Writes `blocks` numbered 16 KiB blocks (block b is filled with 'a' + b % 26) as fast as the
// transport lets it, then closes: a streaming (push) producer, for backpressure tests. One at a
// time: what it saw is kept in static counters, which a test resets first.
class FloodProducer : public Protocol, public IPushProducer {
 public:
  explicit FloodProducer(std::size_t blocks) : blocks_(blocks) {}
  void connectionMade() override {
    transport()->registerProducer(static_cast<IPushProducer*>(this));
    produce();
  }
  void pauseProducing() override {
    paused_ = true;
    ++pauses;
  }
  void resumeProducing() override {
    paused_ = false;
    produce();
  }
  void stopProducing() override { paused_ = true; }

  static inline int pauses = 0;
  static inline std::size_t maxBuffered = 0;

 private:
  void produce() {
    // Produce until paused: the transport's only signal to stop. Loop, do not recurse.
    while (!paused_ && sent_ < blocks_) {
      std::string block(16 * 1024, static_cast<char>('a' + sent_ % 26));
      ++sent_;
      transport()->write(block);
      maxBuffered = std::max(maxBuffered, transport()->bufferedBytes());
    }
    if (sent_ == blocks_ && !paused_) {
      transport()->unregisterProducer();
      transport()->loseConnection();
    }
  }
  std::size_t blocks_;
  std::size_t sent_ = 0;
  bool paused_ = false;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_SUPPORT_LOOP_HELPERS_H_
