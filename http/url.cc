#include "http/url.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "http/internal/chars.h"
#include "strings/str_cat.h"

namespace deft::http {
namespace {

absl::Status invalid(std::string_view what, std::string_view text) {
  return absl::InvalidArgumentError(
      StrCat("invalid URL \"", absl::CHexEscape(std::string(text)), "\": ", what));
}

// A raw control character or space has no business in a URL: it would split or inject lines.
bool hasForbiddenChar(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return true;
  }
  return false;
}

// The length of "scheme:" at the start of `text`, or 0 if it does not start with a scheme.
std::size_t schemeLength(std::string_view text) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return 0;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ':') return i;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

bool validHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("-._~%!$&'()*+,;=").find(c) != std::string_view::npos;
}

// RFC 3986 §5.2.4.
std::string removeDotSegments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const std::size_t slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const std::size_t next = in.find('/', in.front() == '/' ? 1 : 0);
      const std::size_t n = next == std::string_view::npos ? in.size() : next;
      out.append(in.substr(0, n));
      in.remove_prefix(n);
    }
  }
  return out;
}

struct Split {
  std::string_view path, query, fragment;
  bool hasQuery = false, hasFragment = false;
};

// path[?query][#fragment]
Split splitPathQueryFragment(std::string_view rest) {
  Split s;
  const std::size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    s.fragment = rest.substr(hash + 1);
    s.hasFragment = true;
    rest = rest.substr(0, hash);
  }
  const std::size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    s.query = rest.substr(question + 1);
    s.hasQuery = true;
    rest = rest.substr(0, question);
  }
  s.path = rest;
  return s;
}

}  // namespace

std::uint16_t defaultPort(std::string_view scheme) {
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  return 0;
}

absl::StatusOr<Url> Url::parse(std::string_view text) {
  if (hasForbiddenChar(text)) return invalid("contains a space or a control character", text);
  const std::size_t colon = schemeLength(text);
  if (colon == 0 || text.substr(colon, 3) != "://") {
    return invalid("not an absolute URL (scheme://host/...)", text);
  }
  Url url;
  url.scheme = absl::AsciiStrToLower(std::string(text.substr(0, colon)));
  std::string_view rest = text.substr(colon + 3);

  const std::size_t authorityEnd = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authorityEnd);
  rest.remove_prefix(authorityEnd == std::string_view::npos ? rest.size() : authorityEnd);

  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view portText;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unclosed '[' in the host", text);
    url.host = absl::AsciiStrToLower(std::string(authority.substr(1, close - 1)));
    for (char c : url.host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return invalid("bad IPv6 literal", text);
      }
    }
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return invalid("junk after the IPv6 literal", text);
    }
    if (!authority.empty()) portText = authority.substr(1);
    if (url.host.empty()) return invalid("empty host", text);
  } else {
    const std::size_t portColon = authority.find(':');
    url.host = absl::AsciiStrToLower(std::string(authority.substr(0, portColon)));
    if (portColon != std::string_view::npos) portText = authority.substr(portColon + 1);
    if (url.host.empty()) return invalid("empty host", text);
    for (char c : url.host) {
      if (!validHostChar(c)) return invalid("bad character in the host", text);
    }
  }
  url.port = defaultPort(url.scheme);
  if (!portText.empty()) {
    unsigned long port = 0;
    for (char c : portText) {
      if (c < '0' || c > '9' || port > 65535) return invalid("bad port", text);
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) return invalid("port out of range", text);
    url.port = static_cast<std::uint16_t>(port);
    url.explicitPort = true;
  }
  if (url.port == 0) return invalid("no port given and no default for the scheme", text);

  const Split split = splitPathQueryFragment(rest);
  url.path = split.path.empty() ? "/" : removeDotSegments(split.path);
  if (url.path.empty()) url.path = "/";
  url.query = std::string(split.query);
  url.hasQuery = split.hasQuery;
  url.fragment = std::string(split.fragment);
  return url;
}

std::string Url::target() const { return hasQuery ? absl::StrCat(path, "?", query) : path; }

std::string Url::hostHeader() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string h = ipv6 ? absl::StrCat("[", host, "]") : host;
  if (port != defaultPort(scheme)) absl::StrAppend(&h, ":", port);
  return h;
}

std::string Url::toString() const {
  std::string s = absl::StrCat(scheme, "://");
  if (!userinfo.empty()) absl::StrAppend(&s, userinfo, "@");
  absl::StrAppend(&s, hostHeader(), target());
  if (!fragment.empty()) absl::StrAppend(&s, "#", fragment);
  return s;
}

absl::StatusOr<Url> Url::resolve(std::string_view reference) const {
  if (hasForbiddenChar(reference)) {
    return invalid("contains a space or a control character", reference);
  }
  if (schemeLength(reference) != 0) return parse(reference);
  if (reference.starts_with("//")) return parse(StrCat(scheme, ":", reference));

  const Split ref = splitPathQueryFragment(reference);
  Url url = *this;
  url.fragment = std::string(ref.fragment);
  if (ref.path.empty()) {
    if (ref.hasQuery) {
      url.query = std::string(ref.query);
      url.hasQuery = true;
    }
    return url;
  }
  url.query = std::string(ref.query);
  url.hasQuery = ref.hasQuery;
  if (ref.path.front() == '/') {
    url.path = removeDotSegments(ref.path);
  } else {
    const std::size_t slash = path.rfind('/');
    const std::string merged =
        absl::StrCat(path.substr(0, slash == std::string::npos ? 0 : slash + 1),
                     std::string(ref.path));
    url.path = removeDotSegments(merged);
  }
  if (url.path.empty() || url.path.front() != '/') url.path.insert(0, "/");
  return url;
}

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = internal::hexValue(text[i + 1]);
    const int low = internal::hexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool isValidHostField(std::string_view value) {
  if (value.empty()) return true;
  std::string_view host = value;
  std::string_view port;
  if (value.front() == '[') {
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : value.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    const std::string_view after = value.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    port = after.empty() ? after : after.substr(1);
    host = {};
  } else if (const std::size_t colon = value.rfind(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.empty()) return false;
  }
  for (std::size_t i = 0; i < host.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(host[i]);
    if (std::isalnum(c) || std::string_view("-._~!$&'()*+,;=").find(static_cast<char>(c)) !=
                               std::string_view::npos) {
      continue;
    }
    if (c == '%' && i + 2 < host.size() && internal::hexValue(host[i + 1]) >= 0 &&
        internal::hexValue(host[i + 2]) >= 0) {
      i += 2;
      continue;
    }
    return false;
  }
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace deft::http
