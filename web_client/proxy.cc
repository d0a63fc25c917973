#include "web_client/proxy.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "net/address.h"

namespace deft::web {
namespace {

std::string environment(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

}  // namespace

ProxySettings ProxySettings::fromEnvironment() {
  ProxySettings settings;
  const std::string all = environment({"all_proxy", "ALL_PROXY"});
  settings.httpProxy = environment({"http_proxy"});
  if (settings.httpProxy.empty()) settings.httpProxy = all;
  settings.httpsProxy = environment({"https_proxy", "HTTPS_PROXY"});
  if (settings.httpsProxy.empty()) settings.httpsProxy = all;
  settings.noProxy = environment({"no_proxy", "NO_PROXY"});
  return settings;
}

absl::StatusOr<http::Url> parseProxyUrl(std::string_view proxy) {
  std::string text(proxy);
  if (text.find("://") == std::string::npos) text = "http://" + text;
  absl::StatusOr<http::Url> url = http::Url::parse(text);
  if (!url.ok()) return absl::InvalidArgumentError(absl::StrCat("bad proxy URL: ", std::string(proxy)));
  if (url->scheme != "http") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported proxy scheme \"", url->scheme, "\": only http:// proxies"));
  }
  if (!url->explicitPort) url->port = 1080;
  return url;
}

bool bypassesProxy(std::string_view host, std::string_view noProxy) {
  const std::string name = absl::AsciiStrToLower(std::string(host));
  const bool isAddress = Address::fromLiteral(name, 0).has_value();
  for (std::size_t start = 0; start <= noProxy.size();) {
    std::size_t end = noProxy.find(',', start);
    if (end == std::string_view::npos) end = noProxy.size();
    std::string entry = absl::AsciiStrToLower(
        std::string(absl::StripAsciiWhitespace(std::string(noProxy.substr(start, end - start)))));
    start = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    if (isAddress) {
      if (entry == name) return true;
      continue;
    }
    if (entry.front() == '.') entry.erase(0, 1);
    if (name == entry || (name.size() > entry.size() && name.ends_with(entry) &&
                          name[name.size() - entry.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

}  // namespace deft::web
