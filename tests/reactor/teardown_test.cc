// Destroying a Reactor: a defined order, and the Deferreds it was to fire errback instead of
// waiting forever.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "dns/cares_resolver.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

// What a Deferred ended with, kept past the reactor.
struct Seen {
  bool fired = false;
  std::string error;
  bool destroyed = false;  // a ReactorDestroyed
  bool cancelled = false;  // a CancelledError of any kind
};

template <class T>
void watch(Deferred<T>& d, std::shared_ptr<Seen> seen) {
  d.addBoth([seen](Outcome<T> outcome) -> Outcome<T> {
    seen->fired = true;
    if (!outcome.ok()) {
      seen->error = outcome.failure().getErrorMessage();
      seen->destroyed = outcome.failure().template check<ReactorDestroyed>();
      seen->cancelled = outcome.failure().template check<CancelledError>();
      return Outcome<T>(T{});
    }
    return outcome;
  });
}

TEST(TeardownTest, APendingDeferLaterErrbacksWhenItsReactorIsDestroyed) {
  auto seen = std::make_shared<Seen>();
  {
    Reactor reactor;
    Deferred<int> d = deferLater(reactor, absl::Hours(1), [] { return 1; });
    watch(d, seen);
  }
  EXPECT_TRUE(seen->fired);
  EXPECT_TRUE(seen->destroyed) << seen->error;
  EXPECT_NE(seen->error.find("reactor was destroyed"), std::string::npos);
}

TEST(TeardownTest, ErrbacksThatCancelOtherTimersWhileTheQueueIsClearedAreSafe) {
  std::vector<std::string> errors;
  {
    Reactor reactor;
    // The first errback fails gatherResults, which cancels the second deferLater: its canceller
    // cancels a timer the queue is dropping at that moment.
    gatherResults(std::vector<Deferred<int>>{deferLater(reactor, absl::Seconds(1), [] { return 1; }),
                                             deferLater(reactor, absl::Seconds(2), [] { return 2; })},
                  /*consumeErrors=*/true)
        .addErrback([&](Failure f) {
          errors.push_back(f.getErrorMessage());
          return std::vector<int>{};
        });
    Deferred<int> timed = deferLater(reactor, absl::Seconds(1), [] { return 3; });
    timed.addTimeout(absl::Seconds(5), reactor).addErrback([&](Failure f) {
      errors.push_back(f.getErrorMessage());
      return 0;
    });
  }
  ASSERT_EQ(errors.size(), 2u);
  for (const std::string& e : errors) EXPECT_NE(e.find("reactor was destroyed"), std::string::npos) << e;
}

TEST(TeardownTest, WorkStartedByTeardownErrbacksIsTornDownToo) {
  auto late = std::make_shared<Seen>();
  {
    Reactor reactor;
    deferLater(reactor, absl::Hours(1), [] { return 1; }).addErrback([&reactor, late](Failure) {
      // Runs during teardown: starts more work on the reactor being destroyed.
      Deferred<int> more = reactor.deferToThread([] { return 2; });
      watch(more, late);
      return 0;
    });
  }
  EXPECT_TRUE(late->fired);
  EXPECT_TRUE(late->destroyed) << late->error;
}

TEST(TeardownTest, CancellingADeferLaterIsStillACancelledErrorNotADestroyedReactor) {
  auto seen = std::make_shared<Seen>();
  Reactor reactor;
  Deferred<int> d = deferLater(reactor, absl::Hours(1), [] { return 1; });
  watch(d, seen);
  d.cancel();
  EXPECT_TRUE(seen->cancelled);
  EXPECT_FALSE(seen->destroyed);
}

TEST(TeardownTest, AThreadResultNotYetHandedBackErrbacks) {
  auto seen = std::make_shared<Seen>();
  {
    Reactor reactor;
    Deferred<int> d = reactor.deferToThread([] { return 7; });
    watch(d, seen);
    // The loop never runs: the pool finishes the work, and the hand-back is left queued.
  }
  EXPECT_TRUE(seen->fired);
  EXPECT_TRUE(seen->destroyed) << seen->error;
}

// A UDP socket on loopback that never answers: a DNS server that is there and silent.
class SilentDnsServer {
 public:
  SilentDnsServer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentDnsServer() { ::close(fd_); }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(TeardownTest, ALookupInFlightErrbacksAndTheResolverGoesBeforeThePoller) {
  SilentDnsServer dns;
  auto seen = std::make_shared<Seen>();
  {
    Reactor reactor;
    reactor.installResolver(std::make_shared<CaresResolver>(
        reactor, CaresResolver::Options{.servers = {dns.server()}, .useHostsFile = false}));
    Deferred<std::vector<Address>> d = hostResolver(reactor).resolveHost("example.test", 80);
    watch(d, seen);
    reactor.iterate(absl::Milliseconds(10));  // the query goes out; its socket is watched
  }
  EXPECT_TRUE(seen->fired);
  EXPECT_TRUE(seen->cancelled) << seen->error;
  EXPECT_NE(seen->error.find("example.test"), std::string::npos) << seen->error;
}

TEST(TeardownTest, OpenConnectionsAreClosedWithConnectionLostBeforeThePollerGoes) {
  std::vector<std::shared_ptr<testing::Record>> server;
  auto client = std::make_shared<testing::Record>();
  {
    Reactor reactor;
    auto port = listenTCP(reactor, 0, testing::recordingFactory(server), {});
    auto factory = std::make_shared<testing::OneShotClientFactory>(
        std::make_unique<testing::Recorder>(client));
    connectTCP(reactor, "127.0.0.1", port->getHost().port(), factory, absl::Seconds(5));
    ASSERT_TRUE(testing::runUntil(reactor, [&] { return client->made && !server.empty(); }));
  }
  ASSERT_TRUE(client->lost.has_value());
  ASSERT_EQ(server.size(), 1u);
  ASSERT_TRUE(server[0]->lost.has_value());
}

// Reactor::local: one object per type and reactor, destroyed first when the reactor goes, while
// its timers can still be cancelled.
TEST(TeardownTest, ALocalIsMadeOnceAndDestroyedFirstWhileTheReactorStillWorks) {
  struct Cache {
    Reactor* reactor = nullptr;
    std::shared_ptr<IDelayedCall> timer;
    std::shared_ptr<int> destroyedWhileTimerCancellable;
    ~Cache() {
      // Cancelling a timer needs the timer queue: still there.
      if (timer && timer->active()) {
        timer->cancel();
        ++*destroyedWhileTimerCancellable;
      }
    }
  };
  auto seen = std::make_shared<int>(0);
  int made = 0;
  {
    Reactor reactor;
    auto make = [&] {
      ++made;
      auto cache = std::make_unique<Cache>();
      cache->reactor = &reactor;
      cache->timer = reactor.callLater(absl::Hours(1), [] {});
      cache->destroyedWhileTimerCancellable = seen;
      return cache;
    };
    Cache& first = reactor.local<Cache>(make);
    Cache& second = reactor.local<Cache>(make);
    EXPECT_EQ(&first, &second);
    EXPECT_EQ(made, 1);
    Reactor other;
    EXPECT_NE(&other.local<Cache>(make), &first) << "one per reactor";
    EXPECT_EQ(made, 2);
  }
  EXPECT_EQ(*seen, 2);
}

}  // namespace
}  // namespace deft
