// File: http/url.h
//
// URLs as an HTTP client needs them (RFC 3986): parsing an absolute http URL into what goes on
// the wire, and resolving a redirect's Location against the URL it came from.
//
//   absl::StatusOr<Url> url = Url::parse("http://example.com:8080/a/b?q=1#frag");
//   url->host;      // "example.com"
//   url->port;      // 8080
//   url->target();  // "/a/b?q=1": the fragment is never sent
//   url->resolve("../c?x")->toString();   // "http://example.com:8080/c?x"
//
// Percent-encoding is kept as given: "%0D%0A" stays three-character escapes, never decoded into
// a CR LF. A URL with a raw CR, LF, NUL, space or other control character is refused.

#ifndef DEFT_HTTP_URL_H_
#define DEFT_HTTP_URL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace deft::http {

struct Url {
  std::string scheme;    // lower case: "http", "https", ...
  std::string userinfo;  // before '@', rarely used; never sent in the Host header
  std::string host;      // lower case for names; IPv6 literals without their brackets
  std::uint16_t port = 0;  // the scheme's default when the URL has none
  bool explicitPort = false;
  std::string path;      // "/" at least
  std::string query;     // without its '?'
  bool hasQuery = false;
  std::string fragment;  // without its '#'; never sent

  // Parses an absolute URL with an authority ("scheme://host[:port][/path][?query][#frag]").
  // InvalidArgument saying what is wrong otherwise.
  static absl::StatusOr<Url> parse(std::string_view text);

  // The request target: path and query ("/a/b?q=1").
  std::string target() const;
  // "host" or "host:port" when the port is not the scheme's default ("[::1]:8080" for IPv6):
  // the Host header's value.
  std::string hostHeader() const;
  // scheme://host[:port]/path[?query][#fragment]
  std::string toString() const;

  // The URL `reference` (a Location header) means relative to this one (RFC 3986 §5.2):
  // absolute, "//host:port/x", "/x", "x", "../x", "?q", "#f".
  absl::StatusOr<Url> resolve(std::string_view reference) const;

  // Same scheme, host and port: whether credentials may follow a redirect.
  bool sameOrigin(const Url& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
};

// RFC 3986 percent-decoding ("a%20b" -> "a b"); nullopt when a '%' is not followed by two hex
// digits. '+' stays '+' (it means a space only in form bodies).
std::optional<std::string> percentDecode(std::string_view text);

// Whether `value` may be a Host field's value (RFC 9112 §3.2, RFC 3986 §3.2.2): empty, or a host
// with an optional ":port". The host is a name of unreserved, sub-delim and percent-encoded
// characters (an IPv4 address is one), or an IPv6 literal in brackets; the port is digits.
bool isValidHostField(std::string_view value);

// The default port of a scheme: 80 for http, 443 for https, 0 when unknown.
std::uint16_t defaultPort(std::string_view scheme);

}  // namespace deft::http

#endif  // DEFT_HTTP_URL_H_
