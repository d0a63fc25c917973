// The c-ares resolver against a real DNS server (dnsmasq, started here on loopback), a UDP port
// that never answers, a generated hosts file, and cancellation. No other DNS server is touched:
// every resolver here names its servers.

#include "dns/cares_resolver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred_list.h"
#include "gtest/gtest.h"
#include "net/errors.h"
#include "dns/resolver.h"
#include "tcp/tcp.h"
#include "tests/dns/dnsmasq.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::runUntil;
using Addresses = std::vector<std::string>;

int openDescriptors() {
  int count = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (::readdir(dir) != nullptr) ++count;
    ::closedir(dir);
  }
  return count;
}

class DnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::Dnsmasq(
        {"10.1.2.3 web.test", "fd00::1 web.test", "10.9.9.9 v4only.test", "10.0.0.1 many.test",
         "10.0.0.2 many.test", "10.0.0.3 many.test", "10.0.0.4 many.test", "10.0.0.5 many.test"},
        {"--cname=alias.test,web.test"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  CaresResolver::Options options() {
    return {.servers = {server_->server()}, .timeout = absl::Milliseconds(500), .tries = 3,
            .deadline = absl::Seconds(5), .useHostsFile = false};
  }

  // Runs the loop until `d` fires; its outcome.
  template <class T>
  Outcome<T> wait(Deferred<T> d) {
    std::optional<Outcome<T>> outcome;
    std::move(d).addBoth([&](Outcome<T> o) { outcome.emplace(std::move(o)); });
    EXPECT_TRUE(runUntil(reactor_, [&] { return outcome.has_value(); }));
    return outcome ? std::move(*outcome) : Outcome<T>(Failure(TimeoutError("never fired")));
  }

  static inline testing::Dnsmasq* server_ = nullptr;
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(DnsTest, LooksUpIPv4IPv6AndBoth) {
  CaresResolver resolver(reactor_, options());
  EXPECT_EQ(wait(resolver.lookupIPv4("web.test")).value(), (Addresses{"10.1.2.3"}));
  EXPECT_EQ(wait(resolver.lookupIPv6("web.test")).value(), (Addresses{"fd00::1"}));
  EXPECT_EQ(wait(resolver.lookupAll("web.test")).value(), (Addresses{"10.1.2.3", "fd00::1"}));
}

TEST_F(DnsTest, ANameWithManyAddressesGivesThemAll) {
  CaresResolver resolver(reactor_, options());
  Addresses all = wait(resolver.lookupIPv4("many.test")).value();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (Addresses{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}));
}

TEST_F(DnsTest, GetHostByNameFollowsCnames) {
  CaresResolver resolver(reactor_, options());
  EXPECT_EQ(wait(resolver.getHostByName("alias.test")).value(), "10.1.2.3");
}

TEST_F(DnsTest, NonexistentNameIsDnsNameErrorNamingTheHost) {
  CaresResolver resolver(reactor_, options());
  Outcome<Addresses> result = wait(resolver.lookupIPv4("nope.test"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSNameError>()) << result.failure().describe();
  EXPECT_NE(result.failure().getErrorMessage().find("nope.test"), std::string::npos);
}

TEST_F(DnsTest, NameWithoutThatKindOfAddressIsNoData) {
  CaresResolver resolver(reactor_, options());
  Outcome<Addresses> result = wait(resolver.lookupIPv6("v4only.test"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSNoDataError>()) << result.failure().describe();
}

TEST_F(DnsTest, RefusedQueryIsDnsServerError) {
  // dnsmasq has no upstream: a name outside its local domain is refused.
  CaresResolver resolver(reactor_, options());
  Outcome<Addresses> result = wait(resolver.lookupIPv4("elsewhere.example"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSServerError>()) << result.failure().describe();
  EXPECT_NE(result.failure().getErrorMessage().find("elsewhere.example"), std::string::npos);
}

// A DNS server that answers every query with a fixed response code (2: SERVFAIL, 5: REFUSED),
// on a thread of its own; a few bytes of protocol are enough for that.
class FixedAnswerServer {
 public:
  explicit FixedAnswerServer(int rcode) {
    fd_ = testing::bindLoopbackUdp(&port_);
    timeval wait{0, 50'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    thread_ = std::thread([this, rcode] {
      unsigned char packet[512];
      while (!stop_.load()) {
        sockaddr_in from{};
        socklen_t fromLength = sizeof from;
        const ssize_t n = ::recvfrom(fd_, packet, sizeof packet, 0,
                                     reinterpret_cast<sockaddr*>(&from), &fromLength);
        if (n < 12) continue;
        packet[2] |= 0x80;                                                  // a response
        packet[3] = static_cast<unsigned char>((packet[3] & 0xf0) | rcode);  // with this rcode
        ::sendto(fd_, packet, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
                 fromLength);
      }
    });
  }
  ~FixedAnswerServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(DnsTest, ServerFailureIsDnsServerError) {
  FixedAnswerServer failing(/*rcode=SERVFAIL*/ 2);
  CaresResolver resolver(reactor_, {.servers = {failing.server()}, .timeout = absl::Seconds(2),
                                    .tries = 1, .useHostsFile = false});
  Outcome<Addresses> result = wait(resolver.lookupIPv4("x.fail.test"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSServerError>()) << result.failure().describe();
  EXPECT_NE(result.failure().getErrorMessage().find("x.fail.test"), std::string::npos);
}

// A UDP socket that receives queries and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = testing::bindLoopbackUdp(&port_);
  }
  ~SilentServer() { ::close(fd_); }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_;
};

TEST_F(DnsTest, UnansweredQueryTimesOutAfterItsTries) {
  SilentServer silent;
  CaresResolver resolver(reactor_, {.servers = {silent.server()}, .timeout = absl::Milliseconds(100),
                                    .tries = 2, .deadline = absl::Seconds(5), .useHostsFile = false});
  const absl::Time start = reactor_.seconds();
  Outcome<Addresses> result = wait(resolver.lookupIPv4("slow.test"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSQueryTimeoutError>()) << result.failure().describe();
  EXPECT_LT(reactor_.seconds() - start, absl::Seconds(2));
  EXPECT_EQ(resolver.pendingLookups(), 0u);
}

TEST_F(DnsTest, OverallDeadlineCutsRetriesShort) {
  SilentServer silent;
  CaresResolver resolver(reactor_, {.servers = {silent.server()}, .timeout = absl::Seconds(1),
                                    .tries = 10, .deadline = absl::Milliseconds(200),
                                    .useHostsFile = false});
  const absl::Time start = reactor_.seconds();
  Outcome<Addresses> result = wait(resolver.lookupIPv4("slow.test"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSQueryTimeoutError>());
  EXPECT_LT(reactor_.seconds() - start, absl::Seconds(1));
}

TEST_F(DnsTest, CancellingAbandonsTheLookupAndNothingFiresLater) {
  SilentServer silent;
  CaresResolver resolver(reactor_, {.servers = {silent.server()}, .timeout = absl::Milliseconds(100),
                                    .tries = 2, .useHostsFile = false});
  Deferred<Addresses> lookup = resolver.lookupIPv4("slow.test");
  int fired = 0;
  bool cancelled = false;
  lookup.addBoth([&](Outcome<Addresses> o) {
    ++fired;
    cancelled = !o.ok() && o.failure().check<CancelledError>();
    return o;
  });
  lookup.addErrback([](Failure) { return Addresses{}; });
  lookup.cancel();
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(cancelled);
  // c-ares gives up on the query by itself later; nothing more may fire.
  ASSERT_TRUE(runUntil(reactor_, [&] { return resolver.pendingLookups() == 0; }));
  EXPECT_EQ(fired, 1);
}

TEST_F(DnsTest, IpLiteralResolvesAtOnceWithoutAQuery) {
  SilentServer silent;  // would time out if asked
  CaresResolver resolver(reactor_, {.servers = {silent.server()}, .useHostsFile = false});
  Deferred<Addresses> d = resolver.lookupAll("192.0.2.7");
  EXPECT_TRUE(d.called());
  EXPECT_EQ(wait(std::move(d)).value(), (Addresses{"192.0.2.7"}));
  EXPECT_EQ(wait(resolver.lookupIPv6("::1")).value(), (Addresses{"::1"}));
}

TEST_F(DnsTest, LocalhostNamesAreLoopbackWithoutHostsFileOrDns) {
  // Both the hosts file and the DNS server it would ask say otherwise; RFC 6761 §6.3 wins, and
  // a server that never answers shows that no query is sent.
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/hosts-localhost";
  std::ofstream(path) << "10.5.5.5 localhost app.localhost\n";
  SilentServer silent;
  CaresResolver resolver(reactor_, {.servers = {silent.server()},
                                    .useHostsFile = true,
                                    .hostsFile = path});
  for (const char* name : {"localhost", "LocalHost", "localhost.", "app.localhost",
                           "a.b.LOCALHOST"}) {
    Deferred<Addresses> d = resolver.lookupAll(name);
    EXPECT_TRUE(d.called()) << name;
    EXPECT_EQ(wait(std::move(d)).value(), (Addresses{"127.0.0.1", "::1"})) << name;
  }
  EXPECT_EQ(wait(resolver.lookupIPv4("localhost")).value(), (Addresses{"127.0.0.1"}));
  EXPECT_EQ(wait(resolver.lookupIPv6("x.localhost")).value(), (Addresses{"::1"}));
  // Only the whole label counts: these are ordinary names.
  EXPECT_FALSE(isLocalhostName("notlocalhost"));
  EXPECT_FALSE(isLocalhostName("localhost.test"));
  EXPECT_FALSE(isLocalhostName("localhos"));

  ThreadedResolver threaded(reactor_);
  Outcome<std::vector<Address>> viaThreads = wait(threaded.resolveHost("db.localhost", 5432));
  ASSERT_TRUE(viaThreads.ok());
  ASSERT_EQ(viaThreads.value().size(), 2u);
  EXPECT_EQ(viaThreads.value()[0].toString(), "127.0.0.1:5432");
  EXPECT_EQ(viaThreads.value()[1].toString(), "[::1]:5432");
}

TEST_F(DnsTest, InvalidNamesDoNotExistWithoutAQuery) {
  // RFC 6761 §6.4: a server that never answers shows that no query is sent.
  SilentServer silent;
  CaresResolver resolver(reactor_, {.servers = {silent.server()}, .useHostsFile = false});
  for (const char* name : {"invalid", "fakedomain.invalid", "a.b.INVALID."}) {
    Deferred<Addresses> d = resolver.lookupAll(name);
    EXPECT_TRUE(d.called()) << name;
    Outcome<Addresses> result = wait(std::move(d));
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_TRUE(result.failure().check<DNSNameError>()) << name;
  }
  EXPECT_FALSE(isInvalidName("invalid.test"));
  EXPECT_FALSE(isInvalidName("notinvalid"));
  ThreadedResolver threaded(reactor_);
  Outcome<std::vector<Address>> viaThreads = wait(threaded.resolveHost("x.invalid", 80));
  ASSERT_FALSE(viaThreads.ok());
  EXPECT_TRUE(viaThreads.failure().check<DNSNameError>());
}

TEST_F(DnsTest, EmptyNameIsAnError) {
  CaresResolver resolver(reactor_, options());
  Outcome<Addresses> result = wait(resolver.lookupIPv4(""));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.failure().check<DNSLookupError>());
}

TEST_F(DnsTest, HostsFileIsHonouredBeforeDnsAndReReadWhenItChanges) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/hosts";
  std::ofstream(path) << "# a comment\n10.7.7.7 hostsonly.test  # trailing\n10.8.8.8 Web.Test\n";
  CaresResolver::Options withHosts = options();
  withHosts.useHostsFile = true;
  withHosts.hostsFile = path;
  CaresResolver resolver(reactor_, withHosts);
  EXPECT_EQ(wait(resolver.lookupIPv4("hostsonly.test")).value(), (Addresses{"10.7.7.7"}));
  EXPECT_EQ(wait(resolver.lookupIPv4("web.test")).value(), (Addresses{"10.8.8.8"}));  // not DNS's
  EXPECT_EQ(wait(resolver.lookupIPv6("web.test")).value(), (Addresses{"fd00::1"}));  // DNS's
  std::ofstream(path) << "10.6.6.6 hostsonly.test\n";
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  timespec later[2] = {{0, UTIME_NOW}, {::time(nullptr) + 5, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), later, 0);
  EXPECT_EQ(wait(resolver.lookupIPv4("hostsonly.test")).value(), (Addresses{"10.6.6.6"}));
  EXPECT_EQ(wait(resolver.lookupIPv4("web.test")).value(), (Addresses{"10.1.2.3"}));
}

TEST_F(DnsTest, TenThousandLookupsInFlightShareSocketsAndLeakNothing) {
  const int descriptorsBefore = openDescriptors();
  {
    CaresResolver resolver(reactor_, {.servers = {server_->server()},
                                      .timeout = absl::Milliseconds(500), .tries = 4,
                                      .deadline = absl::Seconds(60), .useHostsFile = false});
    std::vector<Deferred<Addresses>> lookups;
    for (int i = 0; i < 10'000; ++i) lookups.push_back(resolver.lookupIPv4(i % 2 ? "web.test" : "many.test"));
    int peakDescriptors = 0;
    std::optional<Outcome<std::vector<Addresses>>> all;
    gatherResults(std::move(lookups)).addBoth([&](Outcome<std::vector<Addresses>> o) {
      all.emplace(std::move(o));
    });
    ASSERT_TRUE(runUntil(reactor_, [&] {
      peakDescriptors = std::max(peakDescriptors, openDescriptors());
      return all.has_value();
    }, absl::Seconds(90)));
    ASSERT_TRUE(all->ok()) << all->failure().describe();
    EXPECT_EQ(all->value().size(), 10'000u);
    EXPECT_EQ(all->value()[1], (Addresses{"10.1.2.3"}));  // odd lookups asked for web.test
    EXPECT_EQ(all->value()[0].size(), 5u);                 // even ones for many.test
    EXPECT_LT(peakDescriptors - descriptorsBefore, 16);  // c-ares shares its sockets
  }
  for (int i = 0; i < 5; ++i) reactor_.iterate(absl::Milliseconds(1));
  EXPECT_EQ(openDescriptors(), descriptorsBefore);
}

TEST_F(DnsTest, ConnectTcpResolvesHostNamesThroughIt) {
  reactor_.installResolver(std::make_shared<CaresResolver>(reactor_, options()));
  // web.test is 10.1.2.3 in dnsmasq: unreachable here, so use a name that maps to loopback.
  testing::Dnsmasq local({"127.0.0.1 loop.test"}, {});
  reactor_.installResolver(std::make_shared<CaresResolver>(
      reactor_, CaresResolver::Options{.servers = {local.server()}, .useHostsFile = false}));
  auto port = listenTCP(reactor_, 0, makeFactory<testing::Echo>(), {.interface = "127.0.0.1"});
  auto record = std::make_shared<testing::Record>();
  auto factory = std::make_shared<testing::OneShotClientFactory>(std::make_unique<testing::Recorder>(record));
  connectTCP(reactor_, "loop.test", port->getHost().port(), factory, absl::Seconds(5));
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->made || factory->failed.has_value(); }));
  ASSERT_TRUE(record->made) << factory->failed->describe();
  EXPECT_EQ(wait(resolve(reactor_, "loop.test")).value(), "127.0.0.1");
}

TEST_F(DnsTest, DestroyingTheResolverErrbacksPendingLookups) {
  SilentServer silent;
  std::optional<Outcome<Addresses>> result;
  {
    CaresResolver resolver(reactor_, {.servers = {silent.server()}, .useHostsFile = false});
    resolver.lookupIPv4("slow.test").addBoth([&](Outcome<Addresses> o) { result.emplace(o); });
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->failure().check<CancelledError>());
}

}  // namespace
}  // namespace deft
