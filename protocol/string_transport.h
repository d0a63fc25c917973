// File: protocol/string_transport.h
//
// StringTransport: a transport that keeps what its protocol writes in a string, for testing a
// Protocol without a socket or a reactor (Twisted's twisted.internet.testing.StringTransport).
//
//   StringTransport transport;
//   MyProtocol protocol;
//   transport.connect(protocol);                 // makeConnection: connectionMade runs
//   protocol.dataReceived("PING\r\n");
//   EXPECT_EQ(transport.value(), "PONG\r\n");    // what it wrote
//   EXPECT_TRUE(transport.disconnecting());       // it called loseConnection()
//   transport.loseConnection(ConnectionDone());  // connectionLost, and the end of its scope()
//
// Nothing is sent anywhere and nothing is buffered: bufferedBytes() is 0, so a registered push
// producer is never paused by the transport (pause it from the test with pauseProducing() on the
// producer). Single-threaded, like the protocols it drives. The protocol must outlive the
// transport's use of it; the transport does not own it.

#ifndef DEFT_PROTOCOL_STRING_TRANSPORT_H_
#define DEFT_PROTOCOL_STRING_TRANSPORT_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "deferred/failure.h"
#include "net/address.h"
#include "net/errors.h"
#include "protocol/protocol.h"

namespace deft {

class StringTransport final : public ITransport {
 public:
  // Where the fake connection runs between: loopback addresses by default.
  explicit StringTransport(Address host = *Address::fromLiteral("127.0.0.1", 8000),
                           Address peer = *Address::fromLiteral("127.0.0.1", 54321))
      : host_(host), peer_(peer) {}

  // --- Driving the protocol -------------------------------------------------------------------

  // Connects `protocol` to this transport (its connectionMade runs now).
  void connect(Protocol& protocol) {
    protocol_ = &protocol;
    protocol.makeConnection(this);
  }
  // Ends the connection as a real transport would: connectionLost(reason), then the end of the
  // protocol's scope(). ConnectionDone for a clean close, ConnectionLost for a reset.
  void loseConnection(const Failure& reason) {
    if (protocol_ == nullptr) return;
    Protocol* protocol = std::exchange(protocol_, nullptr);
    protocol->endConnection(reason);
  }

  // --- What the protocol did ------------------------------------------------------------------

  // Everything written so far, in order; clear() forgets it.
  const std::string& value() const { return written_; }
  void clear() { written_.clear(); }
  // Whether it called loseConnection() / abortConnection() / loseWriteConnection().
  bool disconnecting() const { return disconnecting_; }
  bool aborted() const { return aborted_; }
  bool writeClosed() const { return writeClosed_; }
  // Whether reading is paused (the protocol called pauseProducing() on its transport).
  bool readingPaused() const { return readingPaused_; }
  // The producer registered on the transport, if any (one of the two).
  IPushProducer* pushProducer() const { return pushProducer_; }
  IPullProducer* pullProducer() const { return pullProducer_; }
  bool noDelay() const { return noDelay_; }
  bool keepAlive() const { return keepAlive_; }

  // --- ITransport -----------------------------------------------------------------------------

  void write(std::string_view data) override { written_.append(data); }
  void writeSequence(std::span<const std::string_view> pieces) override {
    for (std::string_view piece : pieces) written_.append(piece);
  }
  void registerProducer(IPushProducer* producer) override { pushProducer_ = producer; }
  void registerProducer(IPullProducer* producer) override { pullProducer_ = producer; }
  void unregisterProducer() override {
    pushProducer_ = nullptr;
    pullProducer_ = nullptr;
  }
  void loseConnection() override { disconnecting_ = true; }
  void abortConnection() override {
    disconnecting_ = true;
    aborted_ = true;
  }
  void loseWriteConnection() override { writeClosed_ = true; }
  void stopProducing() override { loseConnection(); }
  void pauseProducing() override { readingPaused_ = true; }
  void resumeProducing() override { readingPaused_ = false; }
  Address getPeer() const override { return peer_; }
  Address getHost() const override { return host_; }
  void setTcpNoDelay(bool enabled) override { noDelay_ = enabled; }
  void setTcpKeepAlive(bool enabled) override { keepAlive_ = enabled; }
  std::size_t bufferedBytes() const override { return 0; }
  void setHighWaterMark(std::size_t) override {}

 private:
  Address host_;
  Address peer_;
  Protocol* protocol_ = nullptr;
  std::string written_;
  IPushProducer* pushProducer_ = nullptr;
  IPullProducer* pullProducer_ = nullptr;
  bool disconnecting_ = false;
  bool aborted_ = false;
  bool writeClosed_ = false;
  bool readingPaused_ = false;
  bool noDelay_ = false;
  bool keepAlive_ = false;
};

}  // namespace deft

#endif  // DEFT_PROTOCOL_STRING_TRANSPORT_H_
