// TCP on real loopback sockets: connections, closes and resets, half-close, addresses, errors.

#include "tcp/tcp.h"

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "dns/cares_resolver.h"
#include "net/errors.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/stalled_listener.h"

namespace deft {
namespace {

using testing::Echo;
using testing::OneShotClientFactory;
using testing::Recorder;
using testing::runUntil;

class TcpTest : public ::testing::Test {
 protected:
  // A client connected to `port` on 127.0.0.1, recording into the returned Record.
  std::shared_ptr<testing::Record> connect(
      std::uint16_t port, std::shared_ptr<OneShotClientFactory>* factoryOut = nullptr,
      const std::string& host = "127.0.0.1") {
    auto record = std::make_shared<testing::Record>();
    auto factory = std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(record));
    connectTCP(reactor_, host, port, factory, absl::Seconds(5));
    if (factoryOut != nullptr) *factoryOut = factory;
    return record;
  }

  void SetUp() override {
    // Names go to c-ares; any DNS query goes to a closed loopback port (refused at once), never
    // to the machine's own servers. "localhost" is loopback without a query (RFC 6761).
    reactor_.installResolver(std::make_shared<CaresResolver>(
        reactor_, CaresResolver::Options{.servers = {"127.0.0.1:9"}, .timeout = absl::Milliseconds(200)}));
  }

  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(TcpTest, EchoRoundTripAndCleanClose) {
  // Any subset of the options by designated initializer, without a -Wextra warning about the
  // others: each has a default.
  TcpListenOptions options{.backlog = 16};
  options.interface = "127.0.0.1";
  auto port = listenTCP(reactor_, 0, makeFactory<Echo>(), options);
  std::shared_ptr<OneShotClientFactory> factory;
  auto client = connect(port->getHost().port(), &factory);
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made; }));
  client->transport->write("hello, ");
  client->transport->write("world");
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->received == "hello, world"; }));
  client->transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor_, [&] { return factory->lost.has_value(); }));
  EXPECT_TRUE(factory->lost->check<ConnectionDone>());
}

TEST_F(TcpTest, PeerAndHostAddressesMatchAcrossTheConnection) {
  std::vector<std::shared_ptr<testing::Record>> servers;
  auto port = listenTCP(reactor_, 0, testing::recordingFactory(servers), {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made && !servers.empty() && servers[0]->made; }));
  EXPECT_EQ(client->transport->getPeer(), port->getHost());
  EXPECT_EQ(servers[0]->transport->getPeer(), client->transport->getHost());
  EXPECT_EQ(client->transport->getPeer().host(), "127.0.0.1");
}

// The usual reason to abort is a peer that does not read: its socket never becomes writable
// again, so the close cannot wait for writability.
TEST_F(TcpTest, AbortClosesAtOnceEvenWhenThePeerDoesNotRead) {
  std::vector<std::shared_ptr<testing::Record>> servers;
  auto port = listenTCP(reactor_, 0, testing::recordingFactory(servers), {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made && !servers.empty() && servers[0]->made; }));
  client->transport->pauseProducing();  // the client stops reading
  ITransport* server = servers[0]->transport;
  const std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 64 && server->bufferedBytes() == 0; ++i) {
    server->write(chunk);
    reactor_.iterate(absl::Milliseconds(1));
  }
  ASSERT_GT(server->bufferedBytes(), 0u) << "the kernel took everything: the test proves nothing";
  server->abortConnection();
  EXPECT_FALSE(servers[0]->lost.has_value()) << "connectionLost ran inside abortConnection";
  ASSERT_TRUE(runUntil(reactor_, [&] { return servers[0]->lost.has_value(); }, absl::Seconds(2)));
  EXPECT_TRUE(servers[0]->lost->check<ConnectionLost>());
}

TEST_F(TcpTest, LoseConnectionSendsEverythingBufferedFirst) {
  const std::string big(8 * 1024 * 1024, 'x');
  auto port = listenTCP(reactor_, 0, makeFactory([&]() -> std::unique_ptr<Protocol> {
                          struct Sender : Protocol {
                            explicit Sender(const std::string& data) : data(data) {}
                            void connectionMade() override {
                              transport()->write(data);
                              transport()->loseConnection();
                            }
                            const std::string& data;
                          };
                          return std::make_unique<Sender>(big);
                        }),
                        {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->lost.has_value(); }));
  EXPECT_EQ(client->received.size(), big.size());
  EXPECT_TRUE(client->lost->check<ConnectionDone>());
}

// Bytes whose position shows: a piece queued from the wrong offset, or out of order, is seen.
std::string patterned(std::size_t size, std::size_t seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i + seed) % 251);
  return s;
}

TEST_F(TcpTest, WriteOwnedKeepsOrderWithCopiedWritesAndEmptiesWhatItTook) {
  // A peer that is not reading yet: the first owned write is partly taken by the kernel and the
  // rest queued from an offset; what follows queues behind it, owned or copied, big or small.
  const std::string head = "head", big = patterned(6 << 20, 1), small = patterned(100, 2),
                    tail = "tail", big2 = patterned(3 << 20, 3);
  std::vector<std::size_t> leftOver;
  auto port = listenTCP(reactor_, 0, makeFactory([&]() -> std::unique_ptr<Protocol> {
                          struct Sender : Protocol {
                            std::function<void(ITransport*)> send;
                            void connectionMade() override { send(transport()); }
                          };
                          auto sender = std::make_unique<Sender>();
                          sender->send = [&](ITransport* t) {
                            std::array<std::string, 3> first{head, big, small};
                            t->writeOwned(first);
                            t->write(tail);
                            std::array<std::string, 1> second{big2};
                            t->writeOwned(second);
                            for (const auto& piece : first) leftOver.push_back(piece.size());
                            leftOver.push_back(second[0].size());
                            EXPECT_GT(t->bufferedBytes(), 0u) << "the kernel took 9 MiB at once";
                            t->loseConnection();
                          };
                          return sender;
                        }),
                        {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->lost.has_value(); }));
  EXPECT_EQ(leftOver, (std::vector<std::size_t>{0, 0, 0, 0}));
  ASSERT_EQ(client->received.size(), head.size() + big.size() + small.size() + tail.size() + big2.size());
  EXPECT_TRUE(client->received == head + big + small + tail + big2) << "bytes out of order";
  EXPECT_TRUE(client->lost->check<ConnectionDone>());
}

TEST_F(TcpTest, HalfCloseLetsTheOtherSideKeepWriting) {
  // The server answers only after the client's EOF, then closes: a request/response over a
  // half-closed connection.
  auto port = listenTCP(reactor_, 0, makeFactory([]() -> std::unique_ptr<Protocol> {
                          struct Summer : Protocol {
                            void dataReceived(std::string_view data) override { total += data.size(); }
                            void readConnectionLost() override {
                              transport()->write("got " + std::to_string(total));
                              transport()->loseConnection();
                            }
                            std::size_t total = 0;
                          };
                          return std::make_unique<Summer>();
                        }),
                        {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  client->closeOnPeerEof = true;
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made; }));
  client->transport->write(std::string(1000, 'a'));
  client->transport->loseWriteConnection();
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->lost.has_value(); }));
  EXPECT_EQ(client->received, "got 1000");
  EXPECT_TRUE(client->peerHalfClosed);
}

TEST_F(TcpTest, AbortResetsTheConnectionAndThePeerSeesConnectionLost) {
  std::vector<std::shared_ptr<testing::Record>> servers;
  auto port = listenTCP(reactor_, 0, testing::recordingFactory(servers), {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made && !servers.empty(); }));
  client->transport->write("partial");
  client->transport->abortConnection();
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->lost.has_value(); }));
  EXPECT_TRUE(client->lost->check<ConnectionLost>());
  // The server side ends too: with a reset or with EOF, depending on timing, but it ends.
  ASSERT_TRUE(runUntil(reactor_, [&] { return servers[0]->lost.has_value(); }));
}

TEST_F(TcpTest, ConnectionRefusedIsReportedToTheFactory) {
  // A port that was free a moment ago, with nobody listening on it now.
  auto port = listenTCP(reactor_, 0, makeFactory<Echo>(), {.interface = "127.0.0.1"});
  const std::uint16_t number = port->getHost().port();
  bool stopped = false;
  port->stopListening().addCallback([&] { stopped = true; });
  ASSERT_TRUE(runUntil(reactor_, [&] { return stopped; }));
  std::shared_ptr<OneShotClientFactory> factory;
  connect(number, &factory);
  ASSERT_TRUE(runUntil(reactor_, [&] { return factory->failed.has_value(); }));
  EXPECT_TRUE(factory->failed->check<ConnectionRefusedError>());
  EXPECT_NE(factory->failed->getErrorMessage().find(std::to_string(number)), std::string::npos);
}

TEST_F(TcpTest, ConnectTimesOutWhenThePeerNeverAnswers) {
  testing::StalledListener listener;
  auto factory = std::make_shared<OneShotClientFactory>(
      std::make_unique<Recorder>(std::make_shared<testing::Record>()));
  connectTCP(reactor_, "127.0.0.1", listener.port(), factory, absl::Milliseconds(300));
  ASSERT_TRUE(runUntil(reactor_, [&] { return factory->failed.has_value(); }));
  EXPECT_TRUE(factory->failed->check<TCPTimedOutError>()) << factory->failed->describe();
}

TEST_F(TcpTest, HostNamesResolveThroughTheReactorsResolver) {
  auto port = listenTCP(reactor_, 0, makeFactory<Echo>(), {.interface = "127.0.0.1"});
  std::shared_ptr<OneShotClientFactory> factory;
  auto client = connect(port->getHost().port(), &factory, "localhost");
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made || factory->failed.has_value(); }));
  ASSERT_TRUE(client->made) << factory->failed->describe();
}

TEST_F(TcpTest, UnknownHostFailsWithDnsLookupError) {
  std::shared_ptr<OneShotClientFactory> factory;
  connect(80, &factory, "no-such-host.invalid");
  ASSERT_TRUE(runUntil(reactor_, [&] { return factory->failed.has_value(); }));
  EXPECT_TRUE(factory->failed->check<DNSLookupError>());
  EXPECT_NE(factory->failed->getErrorMessage().find("no-such-host.invalid"), std::string::npos);
}

TEST_F(TcpTest, IPv6Loopback) {
  auto port = listenTCP(reactor_, 0, makeFactory<Echo>(), {.interface = "::1"});
  std::shared_ptr<OneShotClientFactory> factory;
  auto client = connect(port->getHost().port(), &factory, "::1");
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made || factory->failed.has_value(); }));
  ASSERT_TRUE(client->made);
  EXPECT_TRUE(client->transport->getPeer().isIPv6());
  client->transport->write("six");
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->received == "six"; }));
}

TEST_F(TcpTest, ReusePortLetsTwoListenersShareAPort) {
  auto first = listenTCP(reactor_, 0, makeFactory<Echo>(), {.interface = "127.0.0.1", .reusePort = true});
  const std::uint16_t number = first->getHost().port();
  EXPECT_NO_THROW(listenTCP(reactor_, number, makeFactory<Echo>(),
                            {.interface = "127.0.0.1", .reusePort = true}));
  EXPECT_THROW(listenTCP(reactor_, number, makeFactory<Echo>(), {.interface = "127.0.0.1"}),
               CannotListenError);
}

TEST_F(TcpTest, CannotListenErrorNamesTheAddressAndReason) {
  try {
    listenTCP(reactor_, 1, makeFactory<Echo>(), {.interface = "192.0.2.1"});  // not ours
    FAIL() << "listened on an address this machine does not have";
  } catch (const CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find("192.0.2.1:1"), std::string::npos);
  }
}

TEST_F(TcpTest, ExceptionInDataReceivedClosesThatConnectionOnly) {
  std::vector<std::string> reported;
  auto previous = setUnhandledFailureHandler(
      [&](const Failure& f) { reported.push_back(f.getErrorMessage()); });
  struct Throws : Protocol {
    void dataReceived(std::string_view data) override {
      if (data.find("boom") != std::string_view::npos) throw std::runtime_error("protocol bug");
      transport()->write(data);
    }
  };
  auto port = listenTCP(reactor_, 0, makeFactory<Throws>(), {.interface = "127.0.0.1"});
  auto bad = connect(port->getHost().port());
  auto good = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return bad->made && good->made; }));
  bad->transport->write("boom");
  ASSERT_TRUE(runUntil(reactor_, [&] { return bad->lost.has_value(); }));
  good->transport->write("still here");
  ASSERT_TRUE(runUntil(reactor_, [&] { return good->received == "still here"; }));
  setUnhandledFailureHandler(std::move(previous));
  EXPECT_EQ(reported, (std::vector<std::string>{"protocol bug"}));
}

// What a protocol starts through scope() cannot call back into it once the connection has gone:
// the work is cancelled at connectionLost, and the protocol, freed later, is never touched (ASan
// would report the write into freed memory).
TEST_F(TcpTest, ProtocolScopeEndsAtConnectionLost) {
  struct Shared {
    Deferred<std::string> page;  // stands for getPage(): held by "the network"
    bool pageCancelled = false;
    int protocolsAlive = 0;
  };
  auto shared = std::make_shared<Shared>();
  shared->page = Deferred<std::string>([shared = shared.get()](Deferred<std::string>&) {
    shared->pageCancelled = true;
  });
  struct Fetching : Protocol {
    explicit Fetching(Shared* s) : shared(s) { ++shared->protocolsAlive; }
    ~Fetching() override { --shared->protocolsAlive; }
    void connectionMade() override {
      scope().track(Deferred<std::string>(shared->page)).addBoth([this](Outcome<std::string>) {
        written = "late";  // would be a use after free
      });
      timer = reactor().callLater(absl::Milliseconds(30), scope().bind([this] { written = "timer"; }));
    }
    Shared* shared;
    std::string written;
    std::shared_ptr<IDelayedCall> timer;
  };
  auto port = listenTCP(reactor_, 0, makeFactory([s = shared.get()]() -> std::unique_ptr<Protocol> {
                          return std::make_unique<Fetching>(s);
                        }),
                        {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return shared->protocolsAlive == 1; }));
  client->transport->abortConnection();
  ASSERT_TRUE(runUntil(reactor_, [&] { return shared->protocolsAlive == 0; }));
  if (!shared->page.called()) shared->page.callback("the page, too late");  // without the scope
  EXPECT_TRUE(shared->pageCancelled);
  EXPECT_TRUE(shared->page.called());          // with CancelledError, which the scope consumed
  for (int i = 0; i < 10; ++i) reactor_.iterate(absl::Milliseconds(10));  // the timer comes due
}

TEST_F(TcpTest, ShutdownClosesOpenConnectionsWithConnectionDone) {
  std::vector<std::shared_ptr<testing::Record>> servers;
  auto port = listenTCP(reactor_, 0, testing::recordingFactory(servers), {.interface = "127.0.0.1"});
  auto client = connect(port->getHost().port());
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made && !servers.empty() && servers[0]->made; }));
  bool serverLostDuringShutdown = false;
  reactor_.addSystemEventTrigger(EventPhase::kAfter, SystemEvent::kShutdown, [&] {
    serverLostDuringShutdown = servers[0]->lost.has_value() && servers[0]->lost->check<ConnectionDone>();
  });
  reactor_.callWhenRunning([&] { reactor_.stop(); });
  reactor_.run(false);
  EXPECT_TRUE(serverLostDuringShutdown);
  EXPECT_EQ(reactor_.trackedCount(), 0u);
}

TEST_F(TcpTest, StopListeningRefusesNewConnectionsAndKeepsOldOnes) {
  auto port = listenTCP(reactor_, 0, makeFactory<Echo>(), {.interface = "127.0.0.1"});
  const std::uint16_t number = port->getHost().port();
  auto existing = connect(number);
  ASSERT_TRUE(runUntil(reactor_, [&] { return existing->made; }));
  bool stopped = false;
  port->stopListening().addCallback([&] { stopped = true; });
  ASSERT_TRUE(runUntil(reactor_, [&] { return stopped; }));
  std::shared_ptr<OneShotClientFactory> factory;
  connect(number, &factory);
  ASSERT_TRUE(runUntil(reactor_, [&] { return factory->failed.has_value(); }));
  existing->transport->write("ping");
  ASSERT_TRUE(runUntil(reactor_, [&] { return existing->received == "ping"; }));
}

}  // namespace
}  // namespace deft
