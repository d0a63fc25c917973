// parseDsn: connect options from a mysql:// URL.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "mysql/connection.h"

namespace deft::mysql {

namespace {

absl::StatusOr<std::string> percentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int value = 0;
    if (i + 2 >= text.size()) {
      return absl::InvalidArgumentError(absl::StrCat("a cut percent-escape in \"", std::string(text), "\""));
    }
    for (int k = 1; k <= 2; ++k) {
      const char c = text[i + k];
      value *= 16;
      if (c >= '0' && c <= '9') {
        value += c - '0';
      } else if (c >= 'a' && c <= 'f') {
        value += c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        value += c - 'A' + 10;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("a bad percent-escape in \"", std::string(text), "\""));
      }
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

absl::StatusOr<absl::Duration> seconds(std::string_view key, std::string_view value) {
  double s = 0;
  if (!absl::SimpleAtod(std::string(value), &s) || s < 0) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(key), " must be a number of seconds, not \"", std::string(value), "\""));
  }
  return absl::Seconds(s);
}

}  // namespace

absl::StatusOr<ConnectOptions> parseDsn(std::string_view dsn) {
  ConnectOptions options;
  constexpr std::string_view kScheme = "mysql://";
  if (dsn.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(absl::StrCat("a DSN starts with mysql://, not \"", std::string(dsn), "\""));
  }
  std::string_view rest = dsn.substr(kScheme.size());
  std::string_view query;
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    auto database = percentDecode(rest.substr(slash + 1));
    if (!database.ok()) return database.status();
    options.database = *database;
  }
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userInfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userInfo;
    if (const std::size_t colon = userInfo.find(':'); colon != std::string_view::npos) {
      user = userInfo.substr(0, colon);
      auto password = percentDecode(userInfo.substr(colon + 1));
      if (!password.ok()) return password.status();
      options.password = *password;
    }
    auto decoded = percentDecode(user);
    if (!decoded.ok()) return decoded.status();
    options.user = *decoded;
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:3306
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("an unclosed [ in the DSN's host");
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return absl::InvalidArgumentError("junk after the DSN's [host]");
    }
    if (!authority.empty()) {
      int port = 0;
      if (!absl::SimpleAtoi(std::string(authority.substr(1)), &port) || port < 1 || port > 65535) {
        return absl::InvalidArgumentError(absl::StrCat("a bad port in the DSN: \"", std::string(authority.substr(1)), "\""));
      }
      options.port = static_cast<std::uint16_t>(port);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    int port = 0;
    if (!absl::SimpleAtoi(std::string(authority.substr(colon + 1)), &port) || port < 1 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("a bad port in the DSN: \"", std::string(authority.substr(colon + 1)), "\""));
    }
    options.port = static_cast<std::uint16_t>(port);
  }
  if (!host.empty()) options.host = std::string(host);

  const std::string queryText(query);
  for (absl::string_view piece : absl::StrSplit(queryText, '&', absl::SkipEmpty())) {
    const std::string_view pair(piece.data(), piece.size());
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    auto value = percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    if (key == "unix_socket") {
      options.unixSocket = *value;
    } else if (key == "charset") {
      options.charset = *value;
    } else if (key == "connect_timeout" || key == "read_timeout") {
      auto duration = seconds(key, *value);
      if (!duration.ok()) return duration.status();
      (key == "connect_timeout" ? options.connectTimeout : options.readTimeout) = *duration;
    } else if (key == "ssl") {
      if (*value != "true" && *value != "false" && *value != "1" && *value != "0") {
        return absl::InvalidArgumentError(absl::StrCat("ssl is true or false, not \"", *value, "\""));
      }
      options.tls.enabled = *value == "true" || *value == "1";
    } else if (key == "ssl_ca") {
      options.tls.caFile = *value;
      options.tls.enabled = true;
    } else if (key == "ssl_cert") {
      options.tls.certFile = *value;
    } else if (key == "ssl_key") {
      options.tls.keyFile = *value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown DSN option \"", std::string(key), "\""));
    }
  }
  return options;
}

}  // namespace deft::mysql
