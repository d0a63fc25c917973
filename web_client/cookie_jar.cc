#include "web_client/cookie_jar.h"

#include <libpsl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "net/address.h"

namespace deft::web {
namespace {

constexpr std::size_t kMaxSetCookieBytes = 8 << 10;
constexpr std::size_t kMaxPerDomain = 180;
constexpr std::size_t kMaxCookies = 3000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Debian's Abseil has its own string_view, which absl::StrSplit wants: split std's here.
std::vector<std::string_view> split(std::string_view s, char at) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t end = s.find(at, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string lower(std::string_view s) { return absl::AsciiStrToLower(std::string(s)); }

bool isIpAddress(std::string_view host) {
  return Address::fromLiteral(std::string(host), 0).has_value();
}

// RFC 6265 §5.1.3.
bool domainMatches(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] == '.' && !isIpAddress(host);
}

// RFC 6265 §5.1.4.
std::string defaultPath(const http::Url& url) {
  const std::string& path = url.path;
  if (path.empty() || path[0] != '/') return "/";
  const std::size_t last = path.rfind('/');
  return last == 0 ? "/" : path.substr(0, last);
}

bool pathMatches(std::string_view requestPath, std::string_view cookiePath) {
  if (requestPath == cookiePath) return true;
  return requestPath.starts_with(cookiePath) &&
         (cookiePath.ends_with('/') || requestPath[cookiePath.size()] == '/');
}

bool isDelimiter(unsigned char c) {
  return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
         (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// 1*maxDigits DIGIT at the start of `token`, followed by anything that is not a digit.
std::optional<int> leadingNumber(std::string_view token, std::size_t minDigits,
                                 std::size_t maxDigits, std::string_view* rest = nullptr) {
  std::size_t n = 0;
  while (n < token.size() && std::isdigit(static_cast<unsigned char>(token[n]))) ++n;
  if (n < minDigits || n > maxDigits) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < n; ++i) value = value * 10 + (token[i] - '0');
  if (rest != nullptr) *rest = token.substr(n);
  return value;
}

const psl_ctx_t* publicSuffixList() {
  // The system's list (the publicsuffix package) when present, else the one libpsl was built
  // with. Made once, never freed: shared by every jar in the process.
  static const psl_ctx_t* const list = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest != nullptr ? latest : psl_builtin();
  }();
  return list;
}

}  // namespace

bool isPublicSuffix(std::string_view domain) {
  const psl_ctx_t* list = publicSuffixList();
  if (list == nullptr) return false;
  return psl_is_public_suffix2(list, std::string(domain).c_str(),
                               PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

std::optional<absl::Time> parseCookieDate(std::string_view text) {
  std::optional<int> hour, minute, second, day, month, year;
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && isDelimiter(static_cast<unsigned char>(text[at]))) ++at;
    std::size_t end = at;
    while (end < text.size() && !isDelimiter(static_cast<unsigned char>(text[end]))) ++end;
    const std::string_view token = text.substr(at, end - at);
    at = end;
    if (token.empty()) continue;
    std::string_view rest;
    if (!hour) {  // hms-time: 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT ( non-digit *OCTET )
      std::string_view r1, r2, r3;
      auto h = leadingNumber(token, 1, 2, &r1);
      if (h && r1.starts_with(':')) {
        auto m = leadingNumber(r1.substr(1), 1, 2, &r2);
        if (m && r2.starts_with(':')) {
          auto s = leadingNumber(r2.substr(1), 1, 2, &r3);
          if (s) {
            hour = h, minute = m, second = s;
            continue;
          }
        }
      }
    }
    if (!day) {
      if (auto d = leadingNumber(token, 1, 2)) {
        day = d;
        continue;
      }
    }
    if (!month && token.size() >= 3) {
      const std::string prefix = lower(token.substr(0, 3));
      auto found = std::find(kMonths.begin(), kMonths.end(), prefix);
      if (found != kMonths.end()) {
        month = static_cast<int>(found - kMonths.begin()) + 1;
        continue;
      }
    }
    if (!year) {
      if (auto y = leadingNumber(token, 2, 4)) {
        year = y;
        continue;
      }
    }
  }
  if (!hour || !day || !month || !year) return std::nullopt;
  int y = *year;
  if (y >= 70 && y <= 99) y += 1900;
  if (y >= 0 && y <= 69) y += 2000;
  if (*day < 1 || *day > 31 || y < 1601 || *hour > 23 || *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  const absl::CivilSecond when(y, *month, *day, *hour, *minute, *second);
  if (when.day() != *day) return std::nullopt;  // the 31st of a month of 30 days
  return absl::FromCivil(when, absl::UTCTimeZone());
}

bool CookieJar::setCookie(const http::Url& url, std::string_view line, absl::Time now) {
  if (line.size() > kMaxSetCookieBytes) return false;
  // §5.2: the name-value pair up to the first ';', then attributes.
  const std::size_t semicolon = line.find(';');
  const std::string_view pair = line.substr(0, semicolon);
  const std::size_t equals = pair.find('=');
  if (equals == std::string_view::npos) return false;
  Cookie cookie;
  cookie.name = std::string(trim(pair.substr(0, equals)));
  cookie.value = std::string(trim(pair.substr(equals + 1)));
  if (cookie.name.empty()) return false;
  for (char c : cookie.name + cookie.value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;  // CTLs: §5.2 note
  }

  std::optional<absl::Time> expires;
  std::optional<absl::Time> maxAge;
  std::optional<std::string> domain;
  std::optional<std::string> path;
  if (semicolon != std::string_view::npos) {
    for (std::string_view attribute : split(line.substr(semicolon + 1), ';')) {
      const std::size_t eq = attribute.find('=');
      const std::string name = lower(trim(attribute.substr(0, eq)));
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : trim(attribute.substr(eq + 1));
      if (name == "expires") {
        if (auto when = parseCookieDate(value)) expires = when;
      } else if (name == "max-age") {
        if (value.empty() || !(value[0] == '-' || std::isdigit(static_cast<unsigned char>(value[0])))) {
          continue;
        }
        std::int64_t seconds = 0;
        if (!absl::SimpleAtoi(std::string(value), &seconds)) {
          // All digits but too many: as far in the future (or past) as can be.
          seconds = value[0] == '-' ? -1 : std::numeric_limits<std::int32_t>::max();
        }
        maxAge = seconds <= 0 ? absl::InfinitePast() : now + absl::Seconds(seconds);
      } else if (name == "domain") {
        if (value.empty()) continue;
        std::string_view d = value;
        if (d.front() == '.') d.remove_prefix(1);
        domain = lower(d);
      } else if (name == "path") {
        path = value.empty() || value[0] != '/' ? defaultPath(url) : std::string(value);
      } else if (name == "secure") {
        cookie.secure = true;
      } else if (name == "httponly") {
        cookie.httpOnly = true;
      }
    }
  }

  // §5.3.
  if (maxAge) {
    cookie.expires = maxAge;
  } else if (expires) {
    cookie.expires = expires;
  }
  const std::string host = lower(url.host);
  if (domain && !domain->empty()) {
    if (isPublicSuffix(*domain)) {
      if (*domain != host) return false;
      domain.reset();  // the host itself is a public suffix: a host-only cookie
    }
  }
  if (domain && !domain->empty()) {
    if (!domainMatches(host, *domain)) return false;
    cookie.hostOnly = false;
    cookie.domain = *domain;
  } else {
    cookie.hostOnly = true;
    cookie.domain = host;
  }
  cookie.path = path ? *path : defaultPath(url);
  // RFC 6265bis: only a secure origin sets a Secure cookie.
  if (cookie.secure && url.scheme != "https") return false;

  const bool expired = cookie.expires && *cookie.expires <= now;
  auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const Cookie& c) {
    return c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
  });
  if (same != cookies_.end()) {
    // 6265bis: an http:// response may not replace a Secure cookie.
    if (same->secure && url.scheme != "https") return false;
    cookie.created = same->created;
    cookies_.erase(same);
  } else {
    cookie.created = ++clock_;
  }
  if (expired) return false;
  store(std::move(cookie), now);
  return true;
}

void CookieJar::store(Cookie cookie, absl::Time now) {
  cookie.lastUsed = ++clock_;
  const std::string domain = cookie.domain;
  cookies_.push_back(std::move(cookie));
  if (cookies_.size() > kMaxCookies) removeExpired(now);
  evictFrom(domain);
  while (cookies_.size() > kMaxCookies) {
    auto lru = std::min_element(cookies_.begin(), cookies_.end(), [](const Cookie& a, const Cookie& b) {
      return a.lastUsed < b.lastUsed;
    });
    cookies_.erase(lru);
  }
}

void CookieJar::evictFrom(const std::string& domain) {
  std::size_t count = std::count_if(cookies_.begin(), cookies_.end(),
                                    [&](const Cookie& c) { return c.domain == domain; });
  while (count-- > kMaxPerDomain) {
    auto lru = cookies_.end();
    for (auto it = cookies_.begin(); it != cookies_.end(); ++it) {
      if (it->domain == domain && (lru == cookies_.end() || it->lastUsed < lru->lastUsed)) lru = it;
    }
    cookies_.erase(lru);
  }
}

void CookieJar::setCookies(const http::Url& url, const http::Headers& headers, absl::Time now) {
  for (std::string_view line : headers.getAll("Set-Cookie")) setCookie(url, line, now);
}

void CookieJar::removeExpired(absl::Time now) {
  std::erase_if(cookies_, [now](const Cookie& c) { return c.expires && *c.expires <= now; });
}

std::optional<std::string> CookieJar::cookieHeader(const http::Url& url, absl::Time now) {
  removeExpired(now);
  const std::string host = lower(url.host);
  std::vector<Cookie*> matching;
  for (Cookie& c : cookies_) {
    const bool hostMatches = c.hostOnly ? host == c.domain : domainMatches(host, c.domain);
    if (!hostMatches || !pathMatches(url.path.empty() ? "/" : url.path, c.path)) continue;
    if (c.secure && url.scheme != "https") continue;
    matching.push_back(&c);
  }
  if (matching.empty()) return std::nullopt;
  std::stable_sort(matching.begin(), matching.end(), [this](const Cookie* a, const Cookie* b) {
    if (a->path.size() != b->path.size()) return a->path.size() > b->path.size();
    if (order_ == CookieOrder::kRfc6265) return a->created < b->created;
    if (a->domain.size() != b->domain.size()) return a->domain.size() > b->domain.size();
    if (a->name.size() != b->name.size()) return a->name.size() > b->name.size();
    return a->created > b->created;
  });
  std::string header;
  for (Cookie* c : matching) {
    c->lastUsed = ++clock_;
    if (!header.empty()) header += "; ";
    absl::StrAppend(&header, c->name, "=", c->value);
  }
  return header;
}

std::vector<Cookie> CookieJar::cookies(absl::Time now) const {
  std::vector<Cookie> live;
  for (const Cookie& c : cookies_) {
    if (!c.expires || *c.expires > now) live.push_back(c);
  }
  std::sort(live.begin(), live.end(),
            [](const Cookie& a, const Cookie& b) { return a.created < b.created; });
  return live;
}

void CookieJar::clearSessionCookies() {
  std::erase_if(cookies_, [](const Cookie& c) { return !c.expires; });
}

std::size_t CookieJar::loadNetscape(std::string_view text, absl::Time now) {
  std::size_t loaded = 0;
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool httpOnly = false;
    if (line.starts_with("#HttpOnly_")) {
      httpOnly = true;
      line.remove_prefix(10);
    }
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> fields = split(line, '\t');
    if (fields.size() == 6) fields.push_back("");  // a cookie with no value
    if (fields.size() != 7) continue;
    Cookie cookie;
    std::string_view domain = fields[0];
    if (domain.starts_with('.')) domain.remove_prefix(1);
    if (domain.empty() || fields[5].empty()) continue;
    cookie.domain = lower(domain);
    cookie.hostOnly = !absl::EqualsIgnoreCase(std::string(fields[1]), "TRUE");
    cookie.path = fields[2].empty() ? "/" : std::string(fields[2]);
    cookie.secure = absl::EqualsIgnoreCase(std::string(fields[3]), "TRUE");
    std::int64_t expires = 0;
    if (!absl::SimpleAtoi(std::string(fields[4]), &expires)) continue;
    if (expires != 0) {
      cookie.expires = absl::FromUnixSeconds(expires);
      if (*cookie.expires <= now) continue;
    }
    cookie.name = std::string(fields[5]);
    cookie.value = std::string(fields[6]);
    cookie.httpOnly = httpOnly;
    std::erase_if(cookies_, [&](const Cookie& c) {
      return c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
    });
    cookie.created = ++clock_;
    store(std::move(cookie), now);
    ++loaded;
  }
  return loaded;
}

std::string CookieJar::toNetscape(absl::Time now) const {
  std::string out =
      "# Netscape HTTP Cookie File\n"
      "# https://curl.se/docs/http-cookies.html\n"
      "# This file was generated by libcurl! Edit at your own risk.\n\n";
  std::vector<Cookie> live = cookies(now);
  std::reverse(live.begin(), live.end());  // newest first, as curl writes them
  for (const Cookie& c : live) {
    absl::StrAppend(&out, c.httpOnly ? "#HttpOnly_" : "", c.hostOnly ? "" : ".", c.domain, "\t",
                    c.hostOnly ? "FALSE" : "TRUE", "\t", c.path, "\t", c.secure ? "TRUE" : "FALSE",
                    "\t", c.expires ? absl::ToUnixSeconds(*c.expires) : 0, "\t", c.name, "\t",
                    c.value, "\n");
  }
  return out;
}

}  // namespace deft::web
