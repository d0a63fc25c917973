#include "reactor/resolver.h"

#include <netdb.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "reactor/errors.h"
#include "reactor/reactor.h"

namespace deft {

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
