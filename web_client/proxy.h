// File: web_client/proxy.h
//
// HTTP proxies for the Agent (Twisted's ProxyAgent and TunnelingAgent; curl's -x and its
// environment variables). An http:// request goes to the proxy with its absolute URL as the
// target; an https:// one goes through a CONNECT tunnel the proxy opens to the origin, with TLS
// to the origin inside it, so the proxy sees neither the request nor the response.
//
//   AgentOptions options;
//   options.proxy = ProxySettings::fromEnvironment();  // http_proxy, https_proxy, no_proxy
//   options.proxy.httpProxy = "http://user:secret@127.0.0.1:3128";
//
// A proxy URL's user and password go as Basic Proxy-Authorization (to the proxy only, never to an
// origin). A tunnel the proxy refuses (a 403, a 407) fails the request with ProxyConnectError.

#ifndef DEFT_WEB_CLIENT_PROXY_H_
#define DEFT_WEB_CLIENT_PROXY_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "deferred/error.h"
#include "http/url.h"
#include "net/errors.h"

namespace deft::web {

struct ProxySettings {
  // "[http://][user:password@]host[:port]" (port 1080 when none, as curl's); empty: direct.
  std::string httpProxy = {};   // for http:// URLs
  std::string httpsProxy = {};  // for https:// URLs, through CONNECT
  // Hosts reached directly: comma-separated names (each matches itself and its subdomains; a
  // leading dot is allowed), IP addresses, or "*" for every host.
  std::string noProxy = {};

  // The usual environment: http_proxy (lower case only: a CGI program's HTTP_PROXY is the
  // request's "Proxy:" header, RFC 3875), https_proxy or HTTPS_PROXY, all_proxy or ALL_PROXY for
  // either, no_proxy or NO_PROXY.
  static ProxySettings fromEnvironment();
};

// A proxy setting as a URL: the scheme http:// (anything else is InvalidArgument: SOCKS and
// https proxies are not supported), the port 1080 when it has none.
absl::StatusOr<http::Url> parseProxyUrl(std::string_view proxy);

// Whether `host` is one `noProxy` sends directly.
bool bypassesProxy(std::string_view host, std::string_view noProxy);

// The proxy would not open a tunnel: it answered CONNECT with something other than 2xx.
class ProxyConnectError : public ConnectError {
 public:
  ProxyConnectError(int status, const std::string& why)
      : ConnectError(absl::StrCat("CONNECT tunnel failed, ", why)), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_PROXY_H_
