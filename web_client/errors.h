// File: web_client/errors.h
//
// How a fetch fails, beyond the reactor's connection errors (ConnectError, DNSLookupError,
// ConnectionLost) and http/'s ParseError for a malformed response. Twisted's names where it has
// them (twisted.web.error.Error, PageRedirect, PartialDownloadError, SchemeNotSupported).

#ifndef DEFT_WEB_CLIENT_ERRORS_H_
#define DEFT_WEB_CLIENT_ERRORS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "deferred/error.h"
#include "deferred/errors.h"

namespace deft::web {

// The final response was not 2xx (getPage only). Carries what the server said.
class HttpError : public Error {
 public:
  HttpError(int status, std::string reason, std::string body)
      : Error(absl::StrCat("HTTP ", status, " ", reason), absl::StatusCode::kFailedPrecondition),
        status_(status),
        reason_(std::move(reason)),
        body_(std::move(body)) {}
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }
  const std::string& body() const { return body_; }

 private:
  int status_;
  std::string reason_;
  std::string body_;
};

// The connection ended before the response's framing said it was complete. Carries the part of
// the body that arrived.
class PartialDownloadError : public Error {
 public:
  // `tlsTruncated`: the TLS connection ended without close_notify (an attack, or a careless
  // server), rather than the body's framing being cut short.
  PartialDownloadError(const std::string& why, std::string partialBody, bool tlsTruncated = false)
      : Error("response cut short: " + why, absl::StatusCode::kDataLoss),
        why_(why),
        partial_(std::move(partialBody)),
        tlsTruncated_(tlsTruncated) {}
  const std::string& why() const { return why_; }  // the message without its prefix
  const std::string& partialBody() const { return partial_; }
  bool tlsTruncated() const { return tlsTruncated_; }

 private:
  std::string why_;
  std::string partial_;
  bool tlsTruncated_;
};

// The connection failed after the request was sent and before the response was complete, with
// no more precise diagnosis (a reset, a close before any byte of the response).
class ResponseFailed : public Error {
 public:
  explicit ResponseFailed(const std::string& why)
      : Error("response failed: " + why, absl::StatusCode::kUnavailable) {}
};

// The connection closed before any byte of the response: on a connection reused from the pool
// that is a server's idle timeout racing our request, and the Agent retries an idempotent
// request once on a new connection.
class ResponseNeverStarted : public ResponseFailed {
 public:
  // `cleanClose`: the server closed in good order (an empty reply), rather than with a reset or
  // a TLS alert.
  explicit ResponseNeverStarted(const std::string& why, bool cleanClose = false)
      : ResponseFailed(why), cleanClose_(cleanClose) {}
  bool cleanClose() const { return cleanClose_; }

 private:
  bool cleanClose_;
};

// The request was never sent: its Agent was destroyed while it waited for a connection (Twisted's
// RequestNotSent).
class RequestNotSent : public Error {
 public:
  explicit RequestNotSent(const std::string& why)
      : Error("request not sent: " + why, absl::StatusCode::kCancelled) {}
};

// `https://` (until TLS exists) and any other scheme but http.
class SchemeNotSupported : public Error {
 public:
  explicit SchemeNotSupported(const std::string& scheme)
      : Error("unsupported scheme \"" + scheme + "\": only http:// and https:// are supported",
              absl::StatusCode::kUnimplemented) {}
};

// No byte of the response arrived for the read timeout (AgentOptions::readTimeout,
// RequestOptions::readTimeout). A TimeoutError, so code that handles timeouts handles this one.
class ReadTimeoutError : public TimeoutError {
 public:
  explicit ReadTimeoutError(absl::Duration timeout)
      : TimeoutError(absl::StrCat("no byte of the response for ", absl::FormatDuration(timeout))) {}
};

class TooManyRedirects : public Error {
 public:
  TooManyRedirects(int limit, const std::string& lastUrl)
      : Error(absl::StrCat("more than ", limit, " redirects (last to ", lastUrl, ")"),
              absl::StatusCode::kOutOfRange),
        limit_(limit) {}
  int limit() const { return limit_; }

 private:
  int limit_;
};

// The body's Content-Encoding could not be decoded (a corrupt or truncated stream).
class DecodingError : public Error {
 public:
  explicit DecodingError(const std::string& why)
      : Error("cannot decode the response body: " + why, absl::StatusCode::kDataLoss) {}
};

// The body (or its decoded form) is over the size allowed.
class ResponseTooLarge : public Error {
 public:
  explicit ResponseTooLarge(const std::string& why)
      : Error("response too large: " + why, absl::StatusCode::kResourceExhausted) {}
};

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_ERRORS_H_
