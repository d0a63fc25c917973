// File: dns/cares_resolver.h
//
// CaresResolver: asynchronous DNS on the reactor's own loop, through c-ares. No thread: the
// c-ares sockets are watched by the reactor like any other descriptor, and one reactor timer,
// re-armed from ares_timeout() after every call into c-ares, drives retries.
//
//   CaresResolver resolver(reactor(), {.servers = {"127.0.0.1:5353"}});
//   resolver.lookupIPv4("example.test").addCallback([](std::vector<std::string> ips) { ... });
//
// It is the reactor's default IHostResolver: connectTCP(reactor, "name", ...) and
// resolve(reactor, name) use it.
//
// WHERE ANSWERS COME FROM. The hosts file first (/etc/hosts unless `hostsFile` says otherwise;
// re-read when it changes), then the DNS servers: those of /etc/resolv.conf unless `servers` says
// otherwise. (The hosts file is read here, not by c-ares: c-ares 1.18's getaddrinfo offers no way
// to name the file.)
// An IP literal resolves at once, without a query; so do "localhost" and names ending in
// ".localhost", to 127.0.0.1 and ::1, whatever the hosts file says (RFC 6761 §6.3; address.h).
// CNAMEs are followed.
//
// FAILURES. Errbacks with a DNSLookupError subclass naming the host (net/errors.h):
// DNSNameError (NXDOMAIN), DNSNoDataError, DNSServerError (SERVFAIL, REFUSED or unreachable:
// c-ares 1.18 reports these alike), DNSQueryTimeoutError (all tries, or the overall deadline, ran
// out), CancelledError.
//
// WHEN CALLBACKS RUN. Always from the loop, never from inside a call into c-ares (c-ares can
// answer synchronously: numbers, hosts-file hits, early errors); a lookup answered at once gives
// a Deferred that has fired already. Cancelling a lookup's Deferred abandons it: it errbacks now
// with CancelledError and nothing fires later. Reactor thread only.

#ifndef DEFT_DNS_CARES_RESOLVER_H_
#define DEFT_DNS_CARES_RESOLVER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "dns/resolver.h"

struct ares_channeldata;
struct ares_addrinfo;

namespace deft {

class Reactor;

class CaresResolver final : public IHostResolver {
 public:
  struct Options {
    // "ip" or "ip:port" (IPv6 as "[::1]:53"); empty: the servers of /etc/resolv.conf.
    std::vector<std::string> servers = {};
    // How long to wait for one answer, and how many tries (c-ares's own defaults, 5 s x 4, are
    // far too long for a client).
    absl::Duration timeout = absl::Milliseconds(1500);
    int tries = 2;
    // The most a lookup may take, whatever the retries: DNSQueryTimeoutError after that.
    absl::Duration deadline = absl::Seconds(5);
    // Queries handed to c-ares at once; more lookups wait their turn (their deadline runs from
    // the call). A burst of thousands of UDP queries overflows a server's receive buffer, and
    // c-ares's retries, all timed alike, come back as bursts again.
    std::size_t maxQueriesInFlight = 256;
    // Consult the hosts file before DNS, and which one.
    bool useHostsFile = true;
    std::string hostsFile = "/etc/hosts";
  };

  // Throws std::runtime_error when c-ares cannot be initialised or a server is malformed.
  explicit CaresResolver(Reactor& reactor);
  CaresResolver(Reactor& reactor, Options options);
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;
  // Lookups still pending errback with CancelledError.
  ~CaresResolver() override;

  // All IPv4 addresses of `name`; all IPv6; both (IPv4 first). As text ("10.0.0.1", "::1").
  Deferred<std::vector<std::string>> lookupIPv4(std::string_view name);
  Deferred<std::vector<std::string>> lookupIPv6(std::string_view name);
  Deferred<std::vector<std::string>> lookupAll(std::string_view name);

  // One address for `name` (IPv4 preferred), following CNAMEs: Twisted's getHostByName.
  Deferred<std::string> getHostByName(std::string_view name);

  // IHostResolver: the addresses as Addresses with `port`.
  Deferred<std::vector<Address>> resolveHost(std::string_view host, std::uint16_t port) override;

  // Lookups not yet answered (abandoned ones included until c-ares lets go of them).
  std::size_t pendingLookups() const { return pending_; }

 private:
  struct Query;
  class Socket;

  Deferred<std::vector<std::string>> lookup(std::string_view name, int family);
  // The hosts file's addresses for `name` of `family` (AF_UNSPEC: all, IPv4 first).
  std::vector<std::string> fromHostsFile(std::string_view name, int family);
  // Hands waiting lookups to c-ares while fewer than maxQueriesInFlight are there.
  void startWaiting();
  // Runs c-ares on ready sockets (or for timeouts, with both ARES_SOCKET_BAD).
  void process(int readFd, int writeFd);
  // After every call into c-ares: fire what it answered, and re-arm the one timer.
  // `queriesOnlyStarted`: the call only sent new queries (so their first timeout is known).
  void afterAresCall(bool queriesOnlyStarted = false);
  // A query c-ares has answered: out of flight, then complete().
  void finish(Query* query);
  // Fires the query's Deferred unless it was abandoned, and frees it.
  void complete(Query* query);

  static void onSocketState(void* resolver, int fd, int readable, int writable);
  static void onAddrInfo(void* query, int status, int timeouts, ares_addrinfo* result);

  Reactor& reactor_;
  Options options_;
  ares_channeldata* channel_ = nullptr;
  absl::flat_hash_map<int, std::unique_ptr<Socket>> sockets_;
  std::vector<std::unique_ptr<Socket>> closedSockets_;  // freed at the next process()
  std::vector<Query*> answered_;  // fired by afterAresCall(), kept for its capacity
  bool draining_ = false;         // afterAresCall() is firing answered_
  std::shared_ptr<IDelayedCall> timer_;
  // Lookups not yet finished, oldest first, linked through the queries themselves (no node to
  // allocate). Every lookup gets the same deadline length, so this is also deadline order: one
  // timer, on the oldest, serves them all.
  Query* oldest_ = nullptr;
  Query* newest_ = nullptr;
  std::shared_ptr<IDelayedCall> deadlineTimer_;
  absl::Time aresTimerDue_;  // when timer_ fires; moved only when c-ares needs it sooner
  void armDeadlineTimer();
  void expireDeadlines();
  void forgetDeadline(Query* query);
  std::size_t pending_ = 0;    // waiting + in c-ares
  std::size_t inFlight_ = 0;   // in c-ares
  std::deque<Query*> waiting_;
  bool destroying_ = false;
  // The hosts file, parsed: lower-cased name -> addresses in file order; reloaded on change.
  absl::flat_hash_map<std::string, std::vector<std::string>> hosts_;
  std::int64_t hostsModified_ = -1;
};

}  // namespace deft

#endif  // DEFT_DNS_CARES_RESOLVER_H_
