// File: dns/resolver.h
//
// How a reactor turns host names into addresses: an interface, so connectTCP does not care which
// resolver is behind it (Twisted's IHostnameResolver), and the one a reactor uses.
//   - CaresResolver (dns/cares_resolver.h), the default: c-ares on the loop itself, no thread.
//   - ThreadedResolver: getaddrinfo on the reactor's thread pool, which honours nsswitch (files,
//     DNS, LDAP, mDNS...) for name sources c-ares does not read.
//
//   reactor.installResolver(std::make_shared<ThreadedResolver>(reactor));  // instead of c-ares
//   resolve(reactor, "example.com").addCallback([](std::string ip) { ... });

#ifndef DEFT_DNS_RESOLVER_H_
#define DEFT_DNS_RESOLVER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "deferred/deferred.h"
#include "net/address.h"

namespace deft {

class Reactor;

class IHostResolver {
 public:
  virtual ~IHostResolver() = default;

  // IHostResolver::resolveHost(host, port)
  //
  // The addresses of `host` (IPv4 first, then IPv6), each with `port`. An IP literal resolves at
  // once with no lookup, and so does a localhost name (isLocalhostName, address.h). Errbacks with DNSLookupError (net/errors.h) naming the host when
  // there are none. Fires on the reactor thread. Cancelling it abandons the lookup.
  virtual Deferred<std::vector<Address>> resolveHost(std::string_view host, std::uint16_t port) = 0;
};

// hostResolver(reactor)
//
// The resolver `reactor` uses: the one installed (Reactor::installResolver), or a CaresResolver
// with the system's resolv.conf, installed on first use. What connectTCP resolves names with.
IHostResolver& hostResolver(Reactor& reactor);

// resolve(reactor, name)
//
// One address for `name`, as text (Twisted's reactor.resolve). Errbacks with a DNSLookupError
// subclass naming the host.
Deferred<std::string> resolve(Reactor& reactor, std::string_view name);

// getaddrinfo on the reactor's thread pool.
class ThreadedResolver final : public IHostResolver {
 public:
  explicit ThreadedResolver(Reactor& reactor) : reactor_(reactor) {}
  Deferred<std::vector<Address>> resolveHost(std::string_view host, std::uint16_t port) override;

 private:
  Reactor& reactor_;
};

}  // namespace deft

#endif  // DEFT_DNS_RESOLVER_H_
