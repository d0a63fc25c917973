// File: net/errors.h
//
// Why a connection ended or never began: Twisted's twisted.internet.error, as deft::Error
// subclasses (so Failure::toStatus keeps their kind). They reach protocols through
// connectionLost(reason) and clients through errbacks and clientConnectionFailed.

#ifndef DEFT_NET_ERRORS_H_
#define DEFT_NET_ERRORS_H_

#include <string>

#include "deferred/errors.h"

namespace deft {

// The connection was closed cleanly (by us, or by the peer's orderly shutdown).
class ConnectionDone : public Error {
 public:
  explicit ConnectionDone(const std::string& message = "Connection was closed cleanly.")
      : Error(message, absl::StatusCode::kCancelled) {}
};

// The connection was lost in a non-clean way: a reset, an error, an abort.
class ConnectionLost : public Error {
 public:
  explicit ConnectionLost(const std::string& message)
      : Error("Connection to the other side was lost in a non-clean fashion: " + message,
              absl::StatusCode::kUnavailable) {}
};

// A connection attempt failed.
class ConnectError : public Error {
 public:
  explicit ConnectError(const std::string& message,
                        absl::StatusCode code = absl::StatusCode::kUnavailable)
      : Error(message, code) {}
};

class ConnectionRefusedError : public ConnectError {
 public:
  explicit ConnectionRefusedError(const std::string& where)
      : ConnectError("Connection was refused by other side: " + where) {}
};

class TCPTimedOutError : public ConnectError {
 public:
  explicit TCPTimedOutError(const std::string& where)
      : ConnectError("TCP connection timed out: " + where, absl::StatusCode::kDeadlineExceeded) {}
};

// A host name did not resolve.
class DNSLookupError : public ConnectError {
 public:
  explicit DNSLookupError(const std::string& message)
      : ConnectError(message, absl::StatusCode::kNotFound) {}
};

// The kinds of DNS failure, each naming the host (Twisted's twisted.names.error). All are
// DNSLookupErrors, so code that only cares that a name did not resolve traps that.
class DNSNameError : public DNSLookupError {  // NXDOMAIN: the name does not exist
 public:
  using DNSLookupError::DNSLookupError;
};
class DNSNoDataError : public DNSLookupError {  // the name exists, with no address of that type
 public:
  using DNSLookupError::DNSLookupError;
};
// The server answered SERVFAIL or REFUSED, or could not be reached. (c-ares 1.18's getaddrinfo
// does not tell these apart, so neither can this.)
class DNSServerError : public DNSLookupError {
 public:
  using DNSLookupError::DNSLookupError;
};
class DNSQueryTimeoutError : public DNSLookupError {  // no answer within the tries or the deadline
 public:
  using DNSLookupError::DNSLookupError;
};

// listenTCP could not bind or listen.
class CannotListenError : public Error {
 public:
  explicit CannotListenError(const std::string& message)
      : Error(message, absl::StatusCode::kUnavailable) {}
};

}  // namespace deft

#endif  // DEFT_NET_ERRORS_H_
