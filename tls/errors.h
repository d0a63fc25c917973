// File: tls/errors.h
//
// Why a TLS connection failed, as deft::Error subclasses. Each names the peer and OpenSSL's own
// reason. They reach clients as clientConnectionFailed / errbacks (the handshake is part of
// connecting) and protocols as connectionLost reasons (once connected).
//
//   ConnectError
//     TlsError                    a TLS failure while connecting
//       TlsHandshakeError         the handshake failed: an alert, no common version or cipher...
//         TlsHandshakeTimeoutError  ... or did not finish in time
//       CertificateVerifyError    the peer's certificate was refused: expired, wrong name,
//                                 self-signed, unknown issuer
//   ConnectionLost
//     TlsTruncatedError           the peer closed without close_notify after the handshake
//     TlsProtocolError            a fatal TLS error on an established connection

#ifndef DEFT_TLS_ERRORS_H_
#define DEFT_TLS_ERRORS_H_

#include <string>

#include "net/errors.h"

namespace deft::tls {

class TlsError : public ConnectError {
 public:
  explicit TlsError(const std::string& message,
                    absl::StatusCode code = absl::StatusCode::kUnavailable)
      : ConnectError(message, code) {}
};

class TlsHandshakeError : public TlsError {
 public:
  using TlsError::TlsError;
};

class TlsHandshakeTimeoutError : public TlsHandshakeError {
 public:
  explicit TlsHandshakeTimeoutError(const std::string& message)
      : TlsHandshakeError(message, absl::StatusCode::kDeadlineExceeded) {}
};

class CertificateVerifyError : public TlsError {
 public:
  CertificateVerifyError(const std::string& message, long verifyResult)
      : TlsError(message, absl::StatusCode::kUnauthenticated), verifyResult_(verifyResult) {}
  // OpenSSL's X509_V_ERR_* code (X509_V_ERR_CERT_HAS_EXPIRED, ...).
  long verifyResult() const { return verifyResult_; }

 private:
  long verifyResult_;
};

class TlsTruncatedError : public ConnectionLost {
 public:
  using ConnectionLost::ConnectionLost;
};

class TlsProtocolError : public ConnectionLost {
 public:
  using ConnectionLost::ConnectionLost;
};

// Bad TLS configuration: a certificate, key or CA file that cannot be loaded.
class TlsConfigurationError : public Error {
 public:
  explicit TlsConfigurationError(const std::string& message)
      : Error(message, absl::StatusCode::kInvalidArgument) {}
};

// ... the CA certificates to verify peers against, in particular (curl tells it apart).
class CaCertificateError : public TlsConfigurationError {
 public:
  using TlsConfigurationError::TlsConfigurationError;
};

}  // namespace deft::tls

#endif  // DEFT_TLS_ERRORS_H_
