// File: reactor/resolver.h
//
// How the reactor turns host names into addresses: an interface, so connectTCP does not care
// which resolver is behind it (Twisted's IHostnameResolver). The default, ThreadedResolver,
// calls getaddrinfo on the reactor's thread pool, which honours nsswitch (files, DNS, mDNS...);
// the c-ares resolver (reactor/dns_resolver.h, the default) answers on the loop itself.

#ifndef DEFT_REACTOR_RESOLVER_H_
#define DEFT_REACTOR_RESOLVER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "deferred/deferred.h"
#include "reactor/address.h"

namespace deft {

class Reactor;

class IHostResolver {
 public:
  virtual ~IHostResolver() = default;

  // IHostResolver::resolveHost(host, port)
  //
  // The addresses of `host` (IPv4 first, then IPv6), each with `port`. An IP literal resolves at
  // once with no lookup, and so does a localhost name (isLocalhostName, address.h). Errbacks with DNSLookupError (reactor/errors.h) naming the host when
  // there are none. Fires on the reactor thread. Cancelling it abandons the lookup.
  virtual Deferred<std::vector<Address>> resolveHost(std::string_view host, std::uint16_t port) = 0;
};

// getaddrinfo on the reactor's thread pool.
class ThreadedResolver final : public IHostResolver {
 public:
  explicit ThreadedResolver(Reactor& reactor) : reactor_(reactor) {}
  Deferred<std::vector<Address>> resolveHost(std::string_view host, std::uint16_t port) override;

 private:
  Reactor& reactor_;
};

}  // namespace deft

#endif  // DEFT_REACTOR_RESOLVER_H_
