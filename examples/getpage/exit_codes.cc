#include "examples/getpage/exit_codes.h"

#include "absl/strings/str_cat.h"
#include "http/url.h"
#include "http/errors.h"
#include "net/errors.h"
#include "tls/errors.h"
#include "web_client/errors.h"
#include "web_client/proxy.h"

namespace getpage {

int exitCodeFor(const deft::Failure& f) {
  using namespace deft;
  if (f.check<web::SchemeNotSupported>()) return 1;
  if (f.check<http::InvalidMessageError>()) return 3;
  if (f.check<DNSLookupError>()) return 6;
  if (f.check<TimeoutError>() || f.check<TCPTimedOutError>() ||
      f.check<tls::TlsHandshakeTimeoutError>()) {
    return 28;
  }
  if (f.check<web::ProxyConnectError>()) return 56;
  if (f.check<tls::CertificateVerifyError>()) return 60;
  if (f.check<tls::TlsHandshakeError>()) return 35;
  if (f.check<tls::CaCertificateError>()) return 77;
  if (f.check<tls::TlsConfigurationError>()) return 58;
  if (f.check<ConnectError>()) return 7;
  if (f.check<web::HttpError>()) return 22;
  if (f.check<web::TooManyRedirects>()) return 47;
  if (f.check<web::ResponseTooLarge>()) return 63;
  if (f.check<web::DecodingError>()) return 61;
  if (const auto* parse = f.value<http::ParseError>()) {
    return parse->kind() == http::ParseErrorKind::kTruncated ? 18 : 8;
  }
  if (const auto* cut = f.value<web::PartialDownloadError>()) return cut->tlsTruncated() ? 56 : 18;
  if (const auto* never = f.value<web::ResponseNeverStarted>(); never != nullptr && never->cleanClose()) {
    return 52;  // an empty reply; a reset or an alert instead is a receive failure (56)
  }
  if (f.check<web::ResponseFailed>() ||
      f.check<ConnectionLost>() || f.check<ConnectionDone>()) {
    return 56;
  }
  return 1;
}

std::string curlMessage(const deft::Failure& f, const std::string& url, absl::Duration elapsed) {
  using namespace deft;
  std::string host, port;
  if (absl::StatusOr<http::Url> parsed = http::Url::parse(url); parsed.ok()) {
    host = parsed->host;
    port = absl::StrCat(parsed->port);
  }
  const std::string ms = absl::StrCat(absl::ToInt64Milliseconds(elapsed));
  switch (exitCodeFor(f)) {
    case 1:
      if (f.check<web::SchemeNotSupported>() && url.find("://") != std::string::npos) {
        return absl::StrCat("Protocol \"", url.substr(0, url.find("://")), "\" not supported or disabled in libcurl");
      }
      break;
    case 3:
      return "URL using bad/illegal format or missing URL";
    case 6:
      if (!host.empty()) return "Could not resolve host: " + host;
      break;
    case 7:
      if (!host.empty() && !f.check<web::ProxyConnectError>()) {
        return absl::StrCat("Failed to connect to ", host, " port ", port, " after ", ms, " ms: ",
                            f.check<ConnectionRefusedError>() ? "Couldn't connect to server"
                                                              : f.getErrorMessage());
      }
      break;
    case 18:
      return "transfer closed with outstanding read data remaining";
    case 28:
      return f.check<TCPTimedOutError>() || f.getErrorMessage().starts_with("connect timed out")
                 ? absl::StrCat("Connection timed out after ", ms, " milliseconds")
                 : absl::StrCat("Operation timed out after ", ms, " milliseconds");
    case 47:
      if (const auto* redirects = f.value<web::TooManyRedirects>()) {
        return absl::StrCat("Maximum (", redirects->limit(), ") redirects followed");
      }
      break;
    case 52:
      return "Empty reply from server";
  }
  return f.getErrorMessage();
}

std::string errorLine(const deft::Failure& failure, const std::string& url, absl::Duration elapsed) {
  return absl::StrCat("getpage: (", exitCodeFor(failure), ") ",
                      url.empty() ? failure.getErrorMessage() : curlMessage(failure, url, elapsed));
}

}  // namespace getpage
