// File: net/address.h
//
// Address: an IPv4 or IPv6 address and a port (Twisted's IPv4Address / IPv6Address), or a
// Unix-domain socket's name (Twisted's UNIXAddress), convertible to and from the sockaddr the
// kernel wants.

#ifndef DEFT_NET_ADDRESS_H_
#define DEFT_NET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deft {

class Address {
 public:
  Address() = default;

  // The address for an IP literal ("127.0.0.1", "::1", "[::1]"); nullopt for anything else.
  static std::optional<Address> fromLiteral(std::string_view ip, std::uint16_t port);
  static Address fromSockaddr(const sockaddr* address, socklen_t length);
  // A Unix-domain socket: a file system path, or "@name" for a name in Linux's abstract
  // namespace (no file; gone with the last socket that holds it). nullopt if it is empty or too
  // long for sockaddr_un (107 bytes).
  static std::optional<Address> fromUnixPath(std::string_view path);

  bool isIPv6() const { return storage_.ss_family == AF_INET6; }
  bool isUnix() const { return storage_.ss_family == AF_UNIX; }
  int family() const { return storage_.ss_family; }
  std::string host() const;  // "127.0.0.1", "::1"; a Unix socket's path()
  std::uint16_t port() const;  // 0 for a Unix socket
  // A Unix socket's name as fromUnixPath takes it ("/run/x.sock", "@name"); "" for an unnamed
  // socket (the client end of a connection usually is one).
  std::string path() const;
  std::string toString() const;  // "127.0.0.1:80", "[::1]:80", "/run/x.sock"

  const sockaddr* sockaddrPointer() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }

  friend bool operator==(const Address& a, const Address& b) {
    return a.family() == b.family() && a.host() == b.host() && a.port() == b.port();
  }

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

// isLocalhostName(name)
//
// Whether `name` is "localhost" or ends in ".localhost" (any case, an optional final dot). RFC 6761
// §6.3 reserves these for the loopback interface: every resolver of deft answers them with
// loopbackHosts() itself, without the hosts file or DNS, as curl and c-ares 1.30+ do. A machine
// whose /etc/hosts lacks the entry (a minimal container) then still reaches its own servers, and
// no query for them ever leaves the machine.
bool isLocalhostName(std::string_view name);

// isInvalidName(name)
//
// Whether `name` is "invalid" or ends in ".invalid" (any case, an optional final dot). RFC 6761
// §6.4 reserves these as names that never exist: deft's resolvers answer them with a
// DNSNameError at once, without a query, so a program (or a test) can name a host that does not
// exist and know that nothing is sent anywhere.
bool isInvalidName(std::string_view name);

// The loopback addresses as text for `family` (AF_INET, AF_INET6, or AF_UNSPEC for IPv4 first,
// then IPv6).
std::vector<std::string> loopbackHosts(int family);

}  // namespace deft

#endif  // DEFT_NET_ADDRESS_H_
