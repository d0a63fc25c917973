// The cpp blocks of docs/twisted-to-deft.md, compiled (docs_blocks_test checks that each block
// is here, line for line), and the ones that can run without the network run in
// twisted_to_deft_test.

#include "tests/docs/twisted_to_deft.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred_list.h"
#include "mysql/pool.h"
#include "process/utils.h"
#include "protocol/line_receiver.h"
#include "reactor/clock.h"
#include "reactor/looping_call.h"
#include "tcp/tcp.h"
#include "tls/tls.h"
#include "udp/udp.h"
#include "web_client/agent.h"
#include "web_client/get_page.h"
using namespace deft;
using web::getPage;

Deferred<std::size_t> pageSize(std::string url) {
  return getPage(url)
      .addCallback([](std::string body) { return body.size(); })
      .addErrback([](Failure f) -> std::size_t {
        f.trap<TimeoutError, ConnectionRefusedError>();  // others go on down the chain
        return 0;
      });
}

Deferred<std::size_t> totalSize(std::vector<std::string> urls) {
  std::size_t total = 0;
  for (const std::string& url : urls) {
    try {
      total += (co_await getPage(url)).size();
    } catch (const TimeoutError&) {
      // skipped, as an errback that traps it would
    }
  }
  co_return total;
}

Deferred<void> fetchAll(std::vector<std::string> urls) {
  std::vector<Deferred<std::string>> pages;
  for (const std::string& url : urls) pages.push_back(getPage(url));
  DeferredListOptions options{.consumeErrors = true};  // named: g++ 12
  std::vector<Outcome<std::string>> results = co_await DeferredList(std::move(pages), options);
  for (const Outcome<std::string>& r : results) {
    if (!r.ok()) std::printf("failed: %s\n", r.failure().getErrorMessage().c_str());
  }
}

Deferred<std::vector<std::string>> fetchAllOrNothing(std::vector<Deferred<std::string>> pages) {
  return gatherResults(std::move(pages));  // FirstError at the first failure; the rest cancelled
}

void timers(Reactor& reactor) {
  auto call = reactor.callLater(absl::Seconds(5), [] { std::puts("five seconds later"); });
  call->reset(absl::Seconds(10));  // IDelayedCall: cancel(), reset(), delay(), active()
  static LoopingCall heartbeat(reactor, [] { std::puts("tick"); });
  heartbeat.start(absl::Seconds(1));  // a Deferred that fires when stop() is called
}

class Upper : public LineReceiver {
  void lineReceived(std::string_view line) override {
    std::string upper(line);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    sendLine(upper);
  }
};

std::shared_ptr<ListeningPort> serveUpper(Reactor& reactor) {
  return listenTCP(reactor, 8007, makeFactory<Upper>());
}

Deferred<std::uint64_t> sumOnAThread(Reactor& reactor, std::uint64_t n) {
  return reactor.deferToThread([n] {  // blocking or CPU-bound code, off the loop
    std::uint64_t sum = 0;
    for (std::uint64_t i = 1; i <= n; ++i) sum += i;
    return sum;
  });
}

Deferred<std::string> gitHead(Reactor& reactor) {
  std::vector<std::string> args = {"git", "rev-parse", "HEAD"};  // named: g++ 12
  std::string out = co_await getProcessOutput(reactor, "/usr/bin/git", args);
  co_return out.substr(0, 12);
}

class Echo : public DatagramProtocol {
  void datagramReceived(std::string_view data, const Address& from) override {
    transport()->write(data, from);
  }
};

std::shared_ptr<UdpPort> echoUdp(Reactor& reactor) {
  return listenUDP(reactor, 9999, std::make_shared<Echo>());
}

Deferred<std::string> withAgent(Reactor& reactor) {
  auto agent = std::make_shared<web::Agent>(reactor);  // keep-alive pool, https, redirects off
  web::Response response = co_await agent->request("GET", "https://example.org/");
  if (response.code() != 200) throw std::runtime_error("unexpected status");
  co_return co_await response.readBody();
}

void overTls(Reactor& reactor, std::shared_ptr<ClientFactory> factory) {
  auto client = tls::ClientContext::create({});  // verifies against the system's trust store
  tls::connectSSL(reactor, "example.org", 443, factory, client);
}

Deferred<std::string> userName(mysql::ConnectionPool& pool, std::int64_t id) {
  mysql::Result r = co_await pool.execute("SELECT name FROM users WHERE id = ?", id);
  if (r.empty()) throw std::runtime_error("no such user");
  co_return *r[0].get<std::string>("name");
}

int timeoutAfterFiveSeconds() {
  Clock clock;  // task.Clock: time moves only when told to
  Deferred<int> d = deferLater(clock, absl::Seconds(5), [] { return 42; });
  clock.advance(absl::Seconds(4));
  const bool early = d.called();
  clock.advance(absl::Seconds(1));
  return early ? -1 : 42;  // fired at five seconds, not before
}

int mainLikeReact() {
  return react([](Reactor& reactor) -> Deferred<void> {
    co_await deferLater(reactor, absl::Milliseconds(10));
    std::puts("done");  // the reactor stops when this Deferred fires; the exit code says how
  });
}
