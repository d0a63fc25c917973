// File: web_client/cookie_jar.h
//
// CookieJar: HTTP cookies as RFC 6265 stores and returns them (Twisted's CookieAgent with a
// cookielib jar; libcurl's cookie engine). Give one to an Agent (AgentOptions::cookieJar) and it
// keeps what every response's Set-Cookie says and sends the matching cookies with every request,
// redirects included:
//
//   auto jar = std::make_shared<CookieJar>();
//   auto agent = std::make_shared<Agent>(reactor, AgentOptions{.cookieJar = jar});
//
// WHAT IS KEPT. Domain and path matching (RFC 6265 §5.1.3, §5.1.4); a Domain attribute must
// domain-match the request's host and must not be a public suffix (Debian's libpsl: "co.uk",
// "github.io"), so example.com cannot set cookies for every .com site; an IP address gets
// host-only cookies. Expires (the RFC's forgiving date parser) and Max-Age, which wins. Secure
// cookies go over https only, and an http:// response cannot set one (RFC 6265bis, as curl and
// browsers do). HttpOnly is kept and reported; this jar serves HTTP only, so it changes nothing.
//
// BOUNDS. A Set-Cookie over 8 KiB is ignored; a domain keeps at most 180 cookies and the jar
// 3000, the least recently used going first: a server cannot grow it without end.
//
// THREADS. Not thread-safe: use it from the loop's thread, as the Agent does.

#ifndef DEFT_WEB_CLIENT_COOKIE_JAR_H_
#define DEFT_WEB_CLIENT_COOKIE_JAR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "http/headers.h"
#include "http/url.h"

namespace deft::web {

struct Cookie {
  std::string name;
  std::string value;
  std::string domain;     // lower case, without a leading dot
  bool hostOnly = true;   // sent to `domain` only, not to its subdomains
  std::string path = "/";
  bool secure = false;
  bool httpOnly = false;
  std::optional<absl::Time> expires;  // nullopt: a session cookie, gone with the jar
  std::uint64_t created = 0;          // order of creation: older first among equal paths
  std::uint64_t lastUsed = 0;
};

// The order of cookies in a Cookie header. Servers must not depend on it (RFC 6265 §4.2.2), but
// a drop-in curl sends what curl sends.
enum class CookieOrder {
  kRfc6265,  // longer paths first, then older first (§5.4)
  kCurl,     // longer paths first, then longer domains, longer names, newer first (libcurl's)
};

class CookieJar {
 public:
  explicit CookieJar(CookieOrder order = CookieOrder::kRfc6265) : order_(order) {}

  // Stores what the Set-Cookie header fields of a response to `url` say (RFC 6265 §5.3).
  void setCookies(const http::Url& url, const http::Headers& responseHeaders,
                  absl::Time now = absl::Now());
  // One Set-Cookie value; false when it was ignored (malformed, a foreign or public-suffix
  // domain, Secure over http, over the size limit) or only removed a cookie (expired).
  bool setCookie(const http::Url& url, std::string_view setCookie, absl::Time now = absl::Now());

  // The Cookie header value for a request to `url` ("a=1; b=2", longer paths first), or nullopt
  // when no cookie matches (RFC 6265 §5.4).
  std::optional<std::string> cookieHeader(const http::Url& url, absl::Time now = absl::Now());

  // Every cookie not yet expired, oldest first.
  std::vector<Cookie> cookies(absl::Time now = absl::Now()) const;
  std::size_t size() const { return cookies_.size(); }
  void clear() { cookies_.clear(); }
  // Drops the session cookies (what ends with a browser session; curl's --junk-session-cookies).
  void clearSessionCookies();

  // Netscape cookie files, as curl's -b FILE reads and -c FILE writes them: one cookie per line,
  // seven tab-separated fields (domain, include subdomains, path, secure, expiry in Unix seconds
  // or 0 for a session cookie, name, value), "#HttpOnly_" before the domain of an HttpOnly one.
  // Loading adds to the jar; lines it cannot read are skipped, as curl skips them. Returns how
  // many cookies were loaded.
  std::size_t loadNetscape(std::string_view text, absl::Time now = absl::Now());
  // The jar in that format, with curl's header comment, newest cookie first as curl writes it.
  std::string toNetscape(absl::Time now = absl::Now()) const;

 private:
  void store(Cookie cookie, absl::Time now);
  void removeExpired(absl::Time now);
  void evictFrom(const std::string& domain);

  CookieOrder order_;
  std::vector<Cookie> cookies_;
  std::uint64_t clock_ = 0;  // for `created` and `lastUsed`
};

// RFC 6265 §5.1.1's cookie-date: the forgiving parse browsers use for Expires. nullopt when it
// is not a date.
std::optional<absl::Time> parseCookieDate(std::string_view text);

// Whether `domain` is a public suffix ("com", "co.uk", "github.io"), by Debian's libpsl.
bool isPublicSuffix(std::string_view domain);

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_COOKIE_JAR_H_
