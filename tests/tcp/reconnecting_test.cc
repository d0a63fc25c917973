// ReconnectingClientFactory against a real loopback server that comes and goes; the retry
// delays run on a fake Clock so the test does not sleep.

#include "tcp/reconnecting_client_factory.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "reactor/clock.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::runUntil;

// A loopback port that refuses connections now and that the test can listen on later without
// racing other processes for it: a socket bound with SO_REUSEPORT and not listening holds the
// port (connections to it are refused), and a listenTCP with reusePort joins it later.
class ReservedPort {
 public:
  ReservedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("ReservedPort: cannot bind on loopback");
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~ReservedPort() { ::close(fd_); }
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

class CountingFactory : public ReconnectingClientFactory {
 public:
  std::unique_ptr<Protocol> buildProtocol(const Address&) override {
    ++connections;
    resetDelay();
    return std::make_unique<testing::Echo>();
  }
  void clientConnectionFailed(Connector& c, const Failure& reason) override {
    ++failures;
    ReconnectingClientFactory::clientConnectionFailed(c, reason);
  }
  void clientConnectionLost(Connector& c, const Failure& reason) override {
    ++losses;
    ReconnectingClientFactory::clientConnectionLost(c, reason);
  }
  int connections = 0;
  int failures = 0;
  int losses = 0;
};

TEST(ReconnectingClientFactoryTest, RetriesWithGrowingDelaysThenConnectsAndReconnectsAfterLoss) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  Clock clock;
  ReservedPort reserved;
  const std::uint16_t port = reserved.port();

  auto factory = std::make_shared<CountingFactory>();
  factory->clock = &clock;
  factory->jitter = 0;
  connectTCP(reactor, "127.0.0.1", port, factory, absl::Seconds(5));
  ASSERT_TRUE(runUntil(reactor, [&] { return factory->failures == 1; }));
  const absl::Duration firstDelay = factory->delay();
  clock.advance(firstDelay);
  ASSERT_TRUE(runUntil(reactor, [&] { return factory->failures == 2; }));
  EXPECT_GT(factory->delay(), firstDelay);  // grows (by e)
  EXPECT_EQ(factory->retries(), 2);

  // The server comes up: the next retry connects, and the delay resets.
  std::shared_ptr<ListeningPort> server;
  std::vector<std::shared_ptr<testing::Record>> serverSide;
  server = listenTCP(reactor, port, testing::recordingFactory(serverSide),
                     {.interface = "127.0.0.1", .reusePort = true});
  clock.advance(factory->delay());
  ASSERT_TRUE(runUntil(reactor, [&] { return factory->connections == 1; }));
  EXPECT_EQ(factory->retries(), 0);

  // The server drops the connection: the client notices and reconnects.
  ASSERT_TRUE(runUntil(reactor, [&] { return !serverSide.empty() && serverSide[0]->made; }));
  serverSide[0]->transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor, [&] { return factory->losses == 1; }));
  clock.advance(factory->delay());
  ASSERT_TRUE(runUntil(reactor, [&] { return factory->connections == 2; }));

  // stopTrying: no more attempts after the next loss.
  factory->stopTrying();
  ASSERT_TRUE(runUntil(reactor, [&] { return serverSide.size() == 2 && serverSide[1]->made; }));
  serverSide[1]->transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor, [&] { return factory->losses == 2; }));
  clock.advance(absl::Hours(2));
  for (int i = 0; i < 10; ++i) reactor.iterate(absl::Milliseconds(5));
  EXPECT_EQ(factory->connections, 2);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(ReconnectingClientFactoryTest, MaxRetriesBoundsTheAttempts) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  Clock clock;
  ReservedPort reserved;
  const std::uint16_t port = reserved.port();
  auto factory = std::make_shared<CountingFactory>();
  factory->clock = &clock;
  factory->maxRetries = 2;
  connectTCP(reactor, "127.0.0.1", port, factory, absl::Seconds(5));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(runUntil(reactor, [&] { return factory->failures == attempt; }));
    clock.advance(absl::Hours(2));
  }
  for (int i = 0; i < 10; ++i) reactor.iterate(absl::Milliseconds(5));
  EXPECT_EQ(factory->failures, 3);  // the first attempt and two retries
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(ReconnectingClientFactoryTest, RetriesAreScheduledOnTheConnectorsReactor) {
  ReactorScope installed;  // what deft::reactor() returns
  Reactor own;             // the reactor the connection was made with
  ReservedPort reserved;
  auto factory = std::make_shared<CountingFactory>();
  connectTCP(own, "127.0.0.1", reserved.port(), factory, absl::Seconds(5));
  ASSERT_TRUE(runUntil(own, [&] { return factory->failures == 1; }));
  EXPECT_FALSE(own.getDelayedCalls().empty());  // the retry
  EXPECT_TRUE(installed.reactor().getDelayedCalls().empty());
  factory->stopTrying();
}

}  // namespace
}  // namespace deft
