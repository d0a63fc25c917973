#include "dns/resolver.h"

#include <netdb.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "dns/cares_resolver.h"
#include "net/errors.h"
#include "reactor/reactor.h"

namespace deft {

IHostResolver& hostResolver(Reactor& reactor) {
  if (IHostResolver* installed = reactor.installedResolver()) return *installed;
  // c-ares on this loop: no thread, no blocking (getaddrinfo would need the pool).
  reactor.installResolver(std::make_shared<CaresResolver>(reactor));
  return *reactor.installedResolver();
}

Deferred<std::string> resolve(Reactor& reactor, std::string_view name) {
  return hostResolver(reactor).resolveHost(name, 0).addCallback(
      [](std::vector<Address> addresses) { return addresses.front().host(); });
}

Deferred<std::vector<Address>> ThreadedResolver::resolveHost(std::string_view host,
                                                             std::uint16_t port) {
  if (host.empty()) return fail<std::vector<Address>>(DNSLookupError("empty host name"));
  if (std::optional<Address> literal = Address::fromLiteral(host, port)) {
    return succeed(std::vector<Address>{*literal});
  }
  if (isLocalhostName(host)) {
    std::vector<Address> loopback;
    for (const std::string& ip : loopbackHosts(AF_UNSPEC)) loopback.push_back(*Address::fromLiteral(ip, port));
    return succeed(std::move(loopback));
  }
  if (isInvalidName(host)) {
    return fail<std::vector<Address>>(
        DNSNameError(absl::StrCat(std::string(host), " does not exist (.invalid, RFC 6761)")));
  }
  return reactor_.deferToThread([name = std::string(host), port]() -> std::vector<Address> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const int status = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
    if (status != 0) {
      throw DNSLookupError(absl::StrCat("could not resolve ", name, ": ", gai_strerror(status)));
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
    std::vector<Address> v4, v6;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      Address address = Address::fromSockaddr(a->ai_addr, a->ai_addrlen);
      if (std::optional<Address> withPort = Address::fromLiteral(address.host(), port)) {
        (address.isIPv6() ? v6 : v4).push_back(*withPort);
      }
    }
    v4.insert(v4.end(), v6.begin(), v6.end());
    if (v4.empty()) throw DNSLookupError(absl::StrCat("no addresses for ", name));
    return v4;
  });
}

}  // namespace deft
