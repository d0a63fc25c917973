// Happy Eyeballs (RFC 8305) in the Connector: an IPv6 address that never answers costs the
// Connection Attempt Delay, not the connect timeout; a refused address moves on at once; the
// first to connect wins and the others are closed.

#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/stalled_listener.h"

namespace deft {
namespace {

using deft::testing::Record;
using deft::testing::runUntil;
using deft::testing::StalledListener;

// Records how the attempt ended.
class Outcome : public ClientFactory {
 public:
  std::unique_ptr<Protocol> buildProtocol(const Address& peer) override {
    connectedTo = peer;
    return std::make_unique<deft::testing::Recorder>(record);
  }
  void clientConnectionFailed(Connector&, const Failure& reason) override { failure = reason; }
  std::optional<Address> connectedTo;
  std::optional<Failure> failure;
  std::shared_ptr<Record> record = std::make_shared<Record>();
};

class HappyEyeballsTest : public ::testing::Test {
 protected:
  HappyEyeballsTest() {
    server = listenTCP(reactor(), 0, makeFactory<Protocol>(), {.interface = "127.0.0.1"});
    try {
      stalledV6 = std::make_unique<StalledListener>(AF_INET6);
    } catch (const std::runtime_error&) {
      // No IPv6 loopback on this machine: the tests that need it skip.
    }
  }
  Reactor& reactor() { return scope.reactor(); }
  Address working() const { return *Address::fromLiteral("127.0.0.1", server->getHost().port()); }

  ReactorScope scope;
  std::shared_ptr<ListeningPort> server;
  std::unique_ptr<StalledListener> stalledV6;
};

TEST_F(HappyEyeballsTest, AnIpv6AddressThatNeverAnswersCostsTheAttemptDelayNotTheTimeout) {
  if (!stalledV6) GTEST_SKIP() << "no IPv6 loopback";
  auto outcome = std::make_shared<Outcome>();
  const absl::Time begin = absl::Now();
  auto connector = std::make_shared<Connector>(
      reactor(), std::vector<Address>{*Address::fromLiteral("::1", stalledV6->port()), working()},
      outcome, absl::Seconds(10));
  connector->connect();
  ASSERT_TRUE(runUntil(reactor(), [&] { return outcome->connectedTo || outcome->failure; }));
  const absl::Duration took = absl::Now() - begin;
  ASSERT_TRUE(outcome->connectedTo) << outcome->failure->describe();
  EXPECT_EQ(outcome->connectedTo->host(), "127.0.0.1");
  EXPECT_GE(took, kConnectionAttemptDelay - absl::Milliseconds(5));
  EXPECT_LT(took, absl::Seconds(2)) << "waited for the stalled address";
}

TEST_F(HappyEyeballsTest, ARefusedAddressMovesOnAtOnce) {
  // A port bound and closed: refused.
  std::uint16_t closedPort = 0;
  {
    auto closed = listenTCP(reactor(), 0, makeFactory<Protocol>(), {.interface = "127.0.0.1"});
    closedPort = closed->getHost().port();
    closed->stopListening();
  }
  auto outcome = std::make_shared<Outcome>();
  const absl::Time begin = absl::Now();
  auto connector = std::make_shared<Connector>(
      reactor(), std::vector<Address>{*Address::fromLiteral("127.0.0.1", closedPort), working()},
      outcome, absl::Seconds(10));
  connector->connect();
  ASSERT_TRUE(runUntil(reactor(), [&] { return outcome->connectedTo || outcome->failure; }));
  ASSERT_TRUE(outcome->connectedTo) << outcome->failure->describe();
  EXPECT_LT(absl::Now() - begin, kConnectionAttemptDelay) << "a refusal waited for the delay";
}

TEST_F(HappyEyeballsTest, WhenNoAddressAnswersTheTimeoutEndsItAndEverySocketIsClosed) {
  if (!stalledV6) GTEST_SKIP() << "no IPv6 loopback";
  StalledListener stalledV4;
  auto outcome = std::make_shared<Outcome>();
  auto connector = std::make_shared<Connector>(
      reactor(),
      std::vector<Address>{*Address::fromLiteral("::1", stalledV6->port()),
                           *Address::fromLiteral("127.0.0.1", stalledV4.port())},
      outcome, absl::Milliseconds(700));
  connector->connect();
  ASSERT_TRUE(runUntil(reactor(), [&] { return outcome->connectedTo || outcome->failure; }));
  ASSERT_TRUE(outcome->failure);
  EXPECT_TRUE(outcome->failure->check<TCPTimedOutError>()) << outcome->failure->describe();
  EXPECT_EQ(connector->state(), Connector::State::kDisconnected);
}

TEST_F(HappyEyeballsTest, TheFirstToConnectWinsAndTheOtherAttemptIsClosed) {
  if (!stalledV6) GTEST_SKIP() << "no IPv6 loopback";
  // The stalled address is tried first; the working one after the delay wins; the stalled
  // attempt's socket is closed then, so the connector holds one connection.
  auto outcome = std::make_shared<Outcome>();
  auto connector = std::make_shared<Connector>(
      reactor(), std::vector<Address>{*Address::fromLiteral("::1", stalledV6->port()), working()},
      outcome, absl::Seconds(10));
  connector->connect();
  ASSERT_TRUE(runUntil(reactor(), [&] { return outcome->record->made; }));
  EXPECT_EQ(connector->state(), Connector::State::kConnected);
  ASSERT_NE(connector->transport(), nullptr);
  EXPECT_EQ(connector->transport()->getPeer().host(), "127.0.0.1");
}

TEST_F(HappyEyeballsTest, OneFamilyOnlyWhenAsked) {
  auto v4 = std::make_shared<Outcome>();
  connectTCP(reactor(), "127.0.0.1", server->getHost().port(), v4, absl::Seconds(5), AF_INET);
  ASSERT_TRUE(runUntil(reactor(), [&] { return v4->connectedTo || v4->failure; }));
  EXPECT_TRUE(v4->connectedTo) << v4->failure->describe();
  // An IPv4 address when IPv6 is asked for: nothing to connect to (curl -6's exit 7, not 6).
  auto v6 = std::make_shared<Outcome>();
  connectTCP(reactor(), "127.0.0.1", server->getHost().port(), v6, absl::Seconds(5), AF_INET6);
  ASSERT_TRUE(runUntil(reactor(), [&] { return v6->connectedTo || v6->failure; }));
  ASSERT_TRUE(v6->failure);
  EXPECT_TRUE(v6->failure->check<ConnectError>()) << v6->failure->describe();
  EXPECT_FALSE(v6->failure->check<DNSLookupError>());
}

}  // namespace
}  // namespace deft
