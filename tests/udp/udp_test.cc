// UDP on real loopback sockets: round trips over IPv4 and IPv6, connected mode and its ICMP
// refusal, multicast on the loopback interface, size limits, a 10,000-datagram burst, errors.

#include "udp/udp.h"

#include <sys/socket.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "net/errors.h"
#include "reactor/reactor.h"
#include "tests/deferred/unhandled_recorder.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::runUntil;

struct Datagram {
  std::string data;
  Address from;
};

// Records what arrives; echoes it back when asked to.
class Recorder : public DatagramProtocol {
 public:
  explicit Recorder(bool echo = false) : echo_(echo) {}
  void startProtocol() override { started = true; }
  void stopProtocol() override { stopped = true; }
  void datagramReceived(std::string_view data, const Address& from) override {
    received.push_back({std::string(data), from});
    if (echo_) transport()->write(data, from);
  }
  void connectionRefused() override { ++refusals; }

  bool started = false;
  bool stopped = false;
  int refusals = 0;
  std::vector<Datagram> received;

 private:
  bool echo_;
};

class UdpTest : public ::testing::Test {
 protected:
  std::pair<std::shared_ptr<UdpPort>, std::shared_ptr<Recorder>> listen(
      const std::string& interface = "127.0.0.1", bool echo = false, UdpListenOptions options = {}) {
    auto protocol = std::make_shared<Recorder>(echo);
    options.interface = interface;
    return {listenUDP(reactor_, 0, protocol, options), protocol};
  }
  static Address at(const std::string& host, const std::shared_ptr<UdpPort>& port) {
    return *Address::fromLiteral(host, port->getHost().port());
  }

  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(UdpTest, RoundTripOverIPv4WithTheSendersAddress) {
  auto [server, echo] = listen("127.0.0.1", /*echo=*/true);
  auto [client, record] = listen();
  EXPECT_TRUE(echo->started);
  ASSERT_TRUE(client->write("ping", at("127.0.0.1", server)));
  ASSERT_TRUE(runUntil(reactor_, [&] { return !record->received.empty(); }));
  EXPECT_EQ(record->received[0].data, "ping");
  EXPECT_EQ(record->received[0].from, server->getHost());
  EXPECT_EQ(echo->received[0].from, client->getHost());
}

TEST_F(UdpTest, RoundTripOverIPv6) {
  auto [server, echo] = listen("::1", /*echo=*/true);
  auto [client, record] = listen("::1");
  EXPECT_EQ(client->maxDatagramSize(), 65527u);
  client->write("over six", at("::1", server));
  ASSERT_TRUE(runUntil(reactor_, [&] { return !record->received.empty(); }));
  EXPECT_EQ(record->received[0].data, "over six");
  EXPECT_TRUE(record->received[0].from.isIPv6());
  EXPECT_EQ(record->received[0].from.host(), "::1");
}

TEST_F(UdpTest, AnEmptyDatagramIsADatagram) {
  auto [server, record] = listen();
  auto [client, unused] = listen();
  client->write("", at("127.0.0.1", server));
  client->write("after", at("127.0.0.1", server));
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->received.size() == 2; }));
  EXPECT_EQ(record->received[0].data, "");
  EXPECT_EQ(record->received[1].data, "after");
}

TEST_F(UdpTest, ConnectedModeHearsOnlyItsPeerAndWritesWithoutAnAddress) {
  auto [server, serverRecord] = listen("127.0.0.1", /*echo=*/true);
  auto [client, clientRecord] = listen();
  auto [stranger, unused] = listen();
  client->connect("127.0.0.1", server->getHost().port());
  EXPECT_EQ(client->getPeer(), server->getHost());
  stranger->write("from a stranger", at("127.0.0.1", client));
  client->write("to the peer");
  ASSERT_TRUE(runUntil(reactor_, [&] { return !clientRecord->received.empty(); }));
  reactor_.iterate(absl::Milliseconds(20));
  ASSERT_EQ(clientRecord->received.size(), 1u);
  EXPECT_EQ(clientRecord->received[0].data, "to the peer");
  EXPECT_THROW(client->write("x", at("127.0.0.1", stranger)), std::logic_error);
  EXPECT_THROW(server->write("no address"), std::logic_error);
  EXPECT_THROW(client->connect("localhost", 53), std::invalid_argument);
}

TEST_F(UdpTest, AConnectedPortHearsThatNobodyListensAsConnectionRefused) {
  auto [gone, unused] = listen();
  const std::uint16_t closedPort = gone->getHost().port();
  gone->stopListening();
  auto [client, record] = listen();
  client->connect("127.0.0.1", closedPort);
  client->write("anyone?");
  ASSERT_TRUE(runUntil(reactor_, [&] {
    if (record->refusals == 0) client->write("anyone?");  // the ICMP answer comes later
    return record->refusals > 0;
  }));
  // The port stays usable.
  auto [server, echo] = listen("127.0.0.1", /*echo=*/true);
  client->connect("127.0.0.1", server->getHost().port());
  client->write("still here");
  ASSERT_TRUE(runUntil(reactor_, [&] { return !record->received.empty(); }));
  EXPECT_EQ(record->received[0].data, "still here");
}

TEST_F(UdpTest, MulticastOnLoopbackJoinAndLeave) {
  const std::string group = "239.255.77.1";
  auto [receiver, record] = listen("0.0.0.0", false, {.reusePort = true});
  receiver->joinGroup(group, "127.0.0.1");
  auto [sender, unused] = listen();
  sender->setOutgoingInterface("127.0.0.1");
  sender->setLoopbackMode(true);
  EXPECT_TRUE(sender->getLoopbackMode());
  sender->setTTL(0);  // never past this host
  EXPECT_EQ(sender->getTTL(), 0);
  const Address groupAddress = *Address::fromLiteral(group, receiver->getHost().port());
  sender->write("to the group", groupAddress);
  ASSERT_TRUE(runUntil(reactor_, [&] { return !record->received.empty(); }));
  EXPECT_EQ(record->received[0].data, "to the group");

  receiver->leaveGroup(group, "127.0.0.1");
  sender->write("after leaving", groupAddress);
  sender->write("unicast marker", at("127.0.0.1", receiver));
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->received.size() == 2; }));
  reactor_.iterate(absl::Milliseconds(20));
  ASSERT_EQ(record->received.size(), 2u);
  EXPECT_EQ(record->received[1].data, "unicast marker");

  EXPECT_THROW(receiver->joinGroup("127.0.0.1"), MulticastJoinError);  // not a group
  EXPECT_THROW(receiver->leaveGroup(group, "127.0.0.1"), MulticastJoinError);  // not a member
  EXPECT_THROW(receiver->joinGroup(group, "no-such-interface0"), MulticastJoinError);
}

TEST_F(UdpTest, TheLargestDatagramArrivesWholeAndOneByteMoreIsRefused) {
  auto [server, record] = listen("127.0.0.1", false, {.receiveBufferSize = 1 << 20});
  auto [client, unused] = listen();
  ASSERT_EQ(client->maxDatagramSize(), 65507u);
  std::string largest(65507, '\0');
  for (std::size_t i = 0; i < largest.size(); ++i) largest[i] = static_cast<char>(i * 7);
  client->write(largest, at("127.0.0.1", server));
  EXPECT_THROW(client->write(std::string(65508, 'x'), at("127.0.0.1", server)), MessageLengthError);
  ASSERT_TRUE(runUntil(reactor_, [&] { return !record->received.empty(); }));
  EXPECT_EQ(record->received[0].data, largest);
}

TEST_F(UdpTest, ADatagramOverMaxPacketSizeIsDroppedAndCountedNotCut) {
  auto [server, record] = listen("127.0.0.1", false, {.maxPacketSize = 100});
  auto [client, unused] = listen();
  client->write(std::string(101, 'l'), at("127.0.0.1", server));
  client->write(std::string(100, 's'), at("127.0.0.1", server));
  ASSERT_TRUE(runUntil(reactor_, [&] { return !record->received.empty(); }));
  EXPECT_EQ(record->received[0].data, std::string(100, 's'));
  EXPECT_EQ(server->droppedDatagrams(), 1u);
}

TEST_F(UdpTest, ABurstOfTenThousandArrivesWithoutLoss) {
  constexpr int kCount = 10000;
  auto [server, record] = listen("127.0.0.1", false, {.receiveBufferSize = 32 << 20});
  int granted = 0;
  socklen_t length = sizeof granted;
  ::getsockopt(server->fileno(), SOL_SOCKET, SO_RCVBUF, &granted, &length);
  if (granted < (24 << 20)) GTEST_SKIP() << "the kernel allows a receive buffer of " << granted;
  auto [client, unused] = listen();
  const Address to = at("127.0.0.1", server);
  for (int i = 0; i < kCount; ++i) {
    std::string datagram(64, ' ');
    const std::string number = std::to_string(i);
    datagram.replace(0, number.size(), number);
    ASSERT_TRUE(client->write(datagram, to));
  }
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->received.size() == kCount; }))
      << record->received.size() << " of " << kCount;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(record->received[i].data.substr(0, std::to_string(i).size()), std::to_string(i));
  }
  EXPECT_EQ(server->droppedDatagrams(), 0u);
}

TEST_F(UdpTest, RepliesFromDatagramReceivedAllGoOutInOrder) {
  // An echo server answering a burst: its replies are held during each batch and sent together.
  auto [server, echo] = listen("127.0.0.1", /*echo=*/true, {.receiveBufferSize = 4 << 20});
  auto [client, record] = listen("127.0.0.1", false, {.receiveBufferSize = 4 << 20});
  for (int i = 0; i < 500; ++i) client->write(std::to_string(i), at("127.0.0.1", server));
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->received.size() == 500; }));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(record->received[i].data, std::to_string(i));
}

// Replies held during a batch count against maxQueuedBytes too: a protocol that answers one
// datagram with many cannot make the port buffer without bound.
TEST_F(UdpTest, RepliesHeldDuringABatchAreBounded) {
  class Amplifier : public DatagramProtocol {
   public:
    void datagramReceived(std::string_view, const Address& from) override {
      for (int i = 0; i < 100; ++i) accepted += transport()->write(std::string(1000, 'a'), from) ? 1 : 0;
    }
    int accepted = 0;
  };
  auto amplifier = std::make_shared<Amplifier>();
  auto server = listenUDP(reactor_, 0, amplifier, {.interface = "127.0.0.1", .maxQueuedBytes = 10000});
  auto [client, record] = listen("127.0.0.1", false, {.receiveBufferSize = 1 << 20});
  client->write("go", at("127.0.0.1", server));
  ASSERT_TRUE(runUntil(reactor_, [&] { return amplifier->accepted > 0; }));
  EXPECT_EQ(amplifier->accepted, 10);
  EXPECT_EQ(server->droppedDatagrams(), 90u);
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->received.size() == 10; }));
}

TEST_F(UdpTest, AThrowingDatagramReceivedIsReportedAndTheNextStillArrives) {
  class Thrower : public DatagramProtocol {
   public:
    void datagramReceived(std::string_view data, const Address&) override {
      if (data == "boom") throw std::runtime_error("bad datagram");
      received.emplace_back(data);
    }
    std::vector<std::string> received;
  };
  testing::UnhandledRecorder unhandled;
  auto thrower = std::make_shared<Thrower>();
  auto server = listenUDP(reactor_, 0, thrower, {.interface = "127.0.0.1"});
  auto [client, unused] = listen();
  client->write("boom", at("127.0.0.1", server));
  client->write("fine", at("127.0.0.1", server));
  ASSERT_TRUE(runUntil(reactor_, [&] { return !thrower->received.empty(); }));
  EXPECT_EQ(thrower->received[0], "fine");
  ASSERT_EQ(unhandled.messages().size(), 1u);
  EXPECT_EQ(unhandled.messages()[0], "bad datagram");
}

TEST_F(UdpTest, StopListeningStopsTheProtocolAndEndsItsScope) {
  auto [server, record] = listen();
  bool cut = true;
  record->scope().track(Deferred<int>()).addCallback([&](int) { cut = false; });
  Deferred<void> stopped = server->stopListening();
  EXPECT_TRUE(record->stopped);
  EXPECT_EQ(record->transport(), nullptr);
  EXPECT_THROW(server->write("late", *Address::fromLiteral("127.0.0.1", 9)), std::logic_error);
  ASSERT_TRUE(runUntil(reactor_, [&] { return stopped.called(); }));
  EXPECT_TRUE(cut);
  EXPECT_TRUE(server->stopListening().called());  // again: already fired
  EXPECT_EQ(reactor_.trackedCount(), 0u);
}

// A protocol may stop its own port from datagramReceived: the rest of that batch is not delivered.
TEST_F(UdpTest, AProtocolStoppingItsPortMidBatchGetsNothingMore) {
  class Stopper : public DatagramProtocol {
   public:
    void datagramReceived(std::string_view data, const Address&) override {
      received.emplace_back(data);
      if (data == "stop") transport()->stopListening();
    }
    std::vector<std::string> received;
  };
  auto stopper = std::make_shared<Stopper>();
  auto server = listenUDP(reactor_, 0, stopper, {.interface = "127.0.0.1"});
  const Address to = at("127.0.0.1", server);
  auto [client, unused] = listen();
  for (const char* datagram : {"one", "stop", "three", "four"}) client->write(datagram, to);
  server.reset();  // only the reactor holds the port now
  ASSERT_TRUE(runUntil(reactor_, [&] { return reactor_.trackedCount() == 1; }));  // the client
  EXPECT_EQ(stopper->received, (std::vector<std::string>{"one", "stop"}));
}

TEST_F(UdpTest, BindingAPortInUseFailsWithTheReason) {
  auto [server, record] = listen();
  try {
    listenUDP(reactor_, server->getHost().port(), std::make_shared<Recorder>(),
              {.interface = "127.0.0.1"});
    FAIL() << "bound a port in use";
  } catch (const CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
  EXPECT_THROW(listenUDP(reactor_, 0, std::make_shared<Recorder>(), {.interface = "nowhere"}),
               CannotListenError);
}

}  // namespace
}  // namespace deft
