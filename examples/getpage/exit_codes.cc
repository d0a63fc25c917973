#include "examples/getpage/exit_codes.h"

#include "absl/strings/str_cat.h"
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
    return parse->kind() == http::ParseErrorKind::kTruncated ? 56 : 8;
  }
  if (f.check<web::PartialDownloadError>() || f.check<web::ResponseFailed>() ||
      f.check<ConnectionLost>() || f.check<ConnectionDone>()) {
    return 56;
  }
  return 1;
}

std::string errorLine(const deft::Failure& failure) {
  return absl::StrCat("getpage: (", exitCodeFor(failure), ") ", failure.getErrorMessage());
}

}  // namespace getpage
