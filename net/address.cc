#include "net/address.h"

#include <arpa/inet.h>
#include <strings.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace deft {

std::optional<Address> Address::fromLiteral(std::string_view ip, std::uint16_t port) {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  const std::string text(ip);
  Address address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length_ = sizeof(sockaddr_in);
    return address;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
  if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length_ = sizeof(sockaddr_in6);
    return address;
  }
  return std::nullopt;
}

Address Address::fromSockaddr(const sockaddr* from, socklen_t length) {
  Address address;
  length = std::min<socklen_t>(length, sizeof address.storage_);
  std::memcpy(&address.storage_, from, length);
  address.length_ = length;
  return address;
}

std::optional<Address> Address::fromUnixPath(std::string_view path) {
  Address address;
  auto* un = reinterpret_cast<sockaddr_un*>(&address.storage_);
  // An abstract name is its bytes after a leading NUL, with no terminator; a path ends in one.
  const bool abstract = !path.empty() && path.front() == '@';
  if (path.empty() || path.size() + (abstract ? 0 : 1) > sizeof un->sun_path) return std::nullopt;
  if (!abstract && path.find('\0') != std::string_view::npos) return std::nullopt;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  if (abstract) un->sun_path[0] = '\0';
  address.length_ =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return address;
}

std::string Address::path() const {
  if (!isUnix()) return "";
  const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
  const std::size_t offset = offsetof(sockaddr_un, sun_path);
  if (length_ <= offset) return "";  // unnamed
  std::size_t size = length_ - offset;
  if (un->sun_path[0] == '\0') return "@" + std::string(un->sun_path + 1, size - 1);
  return std::string(un->sun_path, strnlen(un->sun_path, size));
}

std::string Address::host() const {
  if (isUnix()) return path();
  char text[INET6_ADDRSTRLEN] = "";
  if (storage_.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                sizeof text);
  } else if (storage_.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
                sizeof text);
  }
  return text;
}

std::uint16_t Address::port() const {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string Address::toString() const {
  if (isUnix()) return path();
  return isIPv6() ? absl::StrCat("[", host(), "]:", port()) : absl::StrCat(host(), ":", port());
}

namespace {

// Whether `name` is `label` or ends in "." + label: any case, an optional final dot.
bool inSpecialDomain(std::string_view name, std::string_view label) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() < label.size()) return false;
  const std::string_view tail = name.substr(name.size() - label.size());
  // (Debian's Abseil has its own string_view, so absl::EqualsIgnoreCase would need a copy.)
  if (::strncasecmp(tail.data(), label.data(), label.size()) != 0) return false;
  return name.size() == label.size() || name[name.size() - label.size() - 1] == '.';
}

}  // namespace

bool isLocalhostName(std::string_view name) { return inSpecialDomain(name, "localhost"); }

bool isInvalidName(std::string_view name) { return inSpecialDomain(name, "invalid"); }

std::vector<std::string> loopbackHosts(int family) {
  switch (family) {
    case AF_INET:
      return {"127.0.0.1"};
    case AF_INET6:
      return {"::1"};
    default:
      return {"127.0.0.1", "::1"};
  }
}

}  // namespace deft
