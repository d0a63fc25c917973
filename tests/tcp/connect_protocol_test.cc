// connectProtocol: one client protocol connected in one call (Twisted's connectProtocol).

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "gtest/gtest.h"
#include "net/errors.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/stalled_listener.h"

namespace deft {
namespace {

class ConnectProtocolTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

class Greeter : public Protocol {
 public:
  void connectionMade() override { madeBeforeFiring = true; }
  void dataReceived(std::string_view data) override { received.append(data); }
  void sayHello() { transport()->write("hello"); }

  bool madeBeforeFiring = false;
  std::string received;
};

TEST_F(ConnectProtocolTest, FiresWithTheProtocolOnceConnected) {
  auto port = listenTCP(reactor_, 0, makeFactory<testing::Echo>(), {.interface = "127.0.0.1"});
  Greeter* connected = nullptr;
  bool madeFirst = false;
  connectProtocol(reactor_, "127.0.0.1", port->getHost().port(), std::make_unique<Greeter>())
      .addCallback([&](Greeter* greeter) {
        madeFirst = greeter->madeBeforeFiring;
        connected = greeter;
        greeter->sayHello();
        return greeter;
      });
  ASSERT_TRUE(testing::runUntil(reactor_, [&] {
    return connected != nullptr && connected->received == "hello";
  }));
  EXPECT_TRUE(madeFirst);  // connectionMade ran before the Deferred fired
  connected->transport()->loseConnection();
}

TEST_F(ConnectProtocolTest, ErrbacksWhenNothingListens) {
  auto port = listenTCP(reactor_, 0, makeFactory<testing::Echo>(), {.interface = "127.0.0.1"});
  const std::uint16_t closedPort = port->getHost().port();
  std::optional<Failure> failure;
  port->stopListening().addCallback([&] {
    connectProtocol(reactor_, "127.0.0.1", closedPort, std::make_unique<Greeter>())
        .addErrback([&](Failure f) {
          failure = f;
          return static_cast<Greeter*>(nullptr);
        });
  });
  ASSERT_TRUE(testing::runUntil(reactor_, [&] { return failure.has_value(); }));
  EXPECT_TRUE(failure->check<ConnectionRefusedError>()) << failure->describe();
}

class Throws : public Protocol {
 public:
  void connectionMade() override { throw std::runtime_error("connectionMade broke"); }
};

TEST_F(ConnectProtocolTest, ErrbacksWhenTheProtocolsConnectionMadeThrows) {
  auto port = listenTCP(reactor_, 0, makeFactory<testing::Echo>(), {.interface = "127.0.0.1"});
  std::optional<Failure> failure;
  auto previous = setUnhandledFailureHandler([](const Failure&) {});
  connectProtocol(reactor_, "127.0.0.1", port->getHost().port(), std::make_unique<Throws>())
      .addErrback([&](Failure f) {
        failure = f;
        return static_cast<Throws*>(nullptr);
      });
  ASSERT_TRUE(testing::runUntil(reactor_, [&] { return failure.has_value(); }));
  setUnhandledFailureHandler(std::move(previous));
  EXPECT_EQ(failure->getErrorMessage(), "connectionMade broke");
}

class ClosesAtOnce : public Protocol {
 public:
  void connectionMade() override { transport()->abortConnection(); }
};

TEST_F(ConnectProtocolTest, AProtocolThatClosesInConnectionMadeIsHandedOutOnlyWhileConnected) {
  auto port = listenTCP(reactor_, 0, makeFactory<testing::Echo>(), {.interface = "127.0.0.1"});
  std::optional<bool> connectedWhenHandedOut;
  connectProtocol(reactor_, "127.0.0.1", port->getHost().port(), std::make_unique<ClosesAtOnce>())
      .addCallback([&](ClosesAtOnce* p) {
        connectedWhenHandedOut = p->connected();  // an abort takes effect in a later pass
        return p;
      });
  ASSERT_TRUE(testing::runUntil(reactor_, [&] { return connectedWhenHandedOut.has_value(); }));
  EXPECT_TRUE(*connectedWhenHandedOut);
  EXPECT_TRUE(testing::runUntil(reactor_, [&] { return reactor_.trackedCount() == 1; }));  // the port
}

TEST_F(ConnectProtocolTest, CancellingAbandonsTheAttempt) {
  testing::StalledListener listener;  // its accept queue is full: connect() never completes
  Deferred<Greeter*> d =
      connectProtocol(reactor_, "127.0.0.1", listener.port(), std::make_unique<Greeter>());
  std::optional<Failure> failure;
  d.addErrback([&](Failure f) {
    failure = f;
    return static_cast<Greeter*>(nullptr);
  });
  reactor_.iterate(absl::Milliseconds(10));
  d.cancel();
  ASSERT_TRUE(failure.has_value());
  EXPECT_TRUE(failure->check<CancelledError>()) << failure->describe();
  EXPECT_TRUE(testing::runUntil(reactor_, [&] { return reactor_.trackedCount() == 0; }));
}

}  // namespace
}  // namespace deft
