// StringTransport: testing a Protocol with no socket and no reactor, as users' tests do.

#include "protocol/string_transport.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "net/errors.h"
#include "protocol/line_receiver.h"

namespace deft {
namespace {

// A small line protocol of the kind users write: answers PING, greets on connect, quits on QUIT,
// and starts work through its scope.
class Pinger : public LineReceiver {
 public:
  explicit Pinger(Deferred<std::string>* pending) : pending_(pending) {}

  void connectionMade() override { sendLine("hello " + transport()->getPeer().host()); }
  void lineReceived(std::string_view line) override {
    if (line == "PING") {
      sendLine("PONG");
    } else if (line == "QUIT") {
      transport()->loseConnection();
    } else if (line == "LATER") {
      scope().track(*pending_).addCallback([this](std::string answer) { sendLine(answer); });
    }
  }
  void connectionLost(const Failure& reason) override { lost = reason; }

  std::optional<Failure> lost;

 private:
  Deferred<std::string>* pending_;
};

TEST(StringTransportTest, RecordsWhatTheProtocolWritesAndWhetherItClosed) {
  Deferred<std::string> pending;
  StringTransport transport;
  Pinger pinger(&pending);
  transport.connect(pinger);
  EXPECT_EQ(transport.value(), "hello 127.0.0.1\r\n");
  transport.clear();
  pinger.dataReceived("PI");
  pinger.dataReceived("NG\r\n");
  EXPECT_EQ(transport.value(), "PONG\r\n");
  EXPECT_FALSE(transport.disconnecting());
  pinger.dataReceived("QUIT\r\n");
  EXPECT_TRUE(transport.disconnecting());
  EXPECT_FALSE(transport.aborted());
}

TEST(StringTransportTest, LosingTheConnectionCallsConnectionLostAndEndsTheProtocolsScope) {
  bool cancelled = false;
  Deferred<std::string> pending([&](Deferred<std::string>&) { cancelled = true; });
  StringTransport transport;
  Pinger pinger(&pending);
  transport.connect(pinger);
  pinger.dataReceived("LATER\r\n");
  transport.clear();
  transport.loseConnection(Failure(ConnectionDone()));
  ASSERT_TRUE(pinger.lost.has_value());
  EXPECT_TRUE(pinger.lost->check<ConnectionDone>());
  EXPECT_FALSE(pinger.connected());
  EXPECT_TRUE(cancelled);            // the scope ended: its tracked work was cancelled
  EXPECT_EQ(transport.value(), "");  // and its callback never ran
}

TEST(StringTransportTest, RecordsProducersAndPausedReading) {
  struct Producer : IPushProducer {
    void pauseProducing() override {}
    void resumeProducing() override {}
    void stopProducing() override {}
  } producer;
  StringTransport transport(*Address::fromLiteral("::1", 80), *Address::fromLiteral("::1", 4000));
  Protocol protocol;
  transport.connect(protocol);
  transport.registerProducer(&producer);
  EXPECT_EQ(transport.pushProducer(), &producer);
  protocol.transport()->pauseProducing();
  EXPECT_TRUE(transport.readingPaused());
  transport.unregisterProducer();
  EXPECT_EQ(transport.pushProducer(), nullptr);
  EXPECT_EQ(transport.getHost().port(), 80);
  EXPECT_EQ(transport.getPeer().host(), "::1");
}

}  // namespace
}  // namespace deft
