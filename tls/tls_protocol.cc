#include "tls/tls_protocol.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <new>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "tls/context.h"
#include "tls/errors.h"

namespace deft::tls {
namespace {

// One TLS record's worth of plaintext per SSL_read.
constexpr std::size_t kReadChunk = 16 * 1024;
// Small pieces of a writeSequence are joined into one record rather than sent as one each.
constexpr std::size_t kJoinBelow = 16 * 1024;
// Plaintext encrypted per SSL_write before its ciphertext goes down.
constexpr std::size_t kWriteSlice = 256 * 1024;
// How long a failed handshake's alert may take to leave before the connection is cut.
constexpr absl::Duration kAlertLinger = absl::Seconds(2);

}  // namespace

TlsProtocol::TlsProtocol(SSL* ssl, std::unique_ptr<Protocol> inner, Settings settings,
                         bool innerConnected)
    : ssl_(ssl),
      inner_(std::move(inner)),
      settings_(std::move(settings)),
      innerConnected_(innerConnected) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  SSL_set_bio(ssl_, in_, out_);
}

TlsProtocol::~TlsProtocol() {
  if (handshakeTimer_ && handshakeTimer_->active()) handshakeTimer_->cancel();
  SSL_free(ssl_);
}

bool TlsProtocol::sessionReused() const { return SSL_session_reused(ssl_) == 1; }

std::string TlsProtocol::negotiatedProtocol() const {
  const unsigned char* name = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &name, &length);
  return std::string(reinterpret_cast<const char*>(name), length);
}

std::vector<std::string> TlsProtocol::peerCertificates() const {
  std::vector<std::string> certificates;
  auto add = [&certificates](X509* certificate) {
    const int length = i2d_X509(certificate, nullptr);
    if (length <= 0) return;
    std::string der(static_cast<std::size_t>(length), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(certificate, &out);
    certificates.push_back(std::move(der));
  };
  // A client's view of the chain starts with the server's own certificate; a server's leaves the
  // client's own out.
  if (SSL_is_server(ssl_) == 1) {
    if (X509* own = SSL_get0_peer_certificate(ssl_)) add(own);
  }
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) add(sk_X509_value(chain, i));
  }
  return certificates;
}

// --- The transport below ----------------------------------------------------------------------

void TlsProtocol::connectionMade() {
  if (innerConnected_) inner_->setTransportLayer(this);  // startTLS: we are its transport now
  // The handshake needs the peer's bytes, whatever the protocol asked before (startTLS): a pause
  // it asks for now takes effect once the handshake is done.
  below()->resumeProducing();
  if (settings_.clock != nullptr) {
    handshakeTimer_ = settings_.clock->callLater(settings_.handshakeTimeout, scope().bind([this] {
      handshakeTimer_.reset();
      if (handshakeDone_ || lost_) return;
      fail(Failure(TlsHandshakeTimeoutError(
          absl::StrCat("TLS handshake with ", settings_.peerName, " did not finish within ",
                       absl::FormatDuration(settings_.handshakeTimeout)))));
    }));
  }
  handshake();  // a client speaks first
}

void TlsProtocol::dataReceived(std::string_view data) {
  // After close_notify the peer may send nothing more: whatever it does is dropped, not kept.
  if (lost_ || failure_ || closeNotifyReceived_) return;
  // A memory BIO takes everything it is given.
  while (!data.empty()) {
    const int n = BIO_write(in_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX)));
    if (n <= 0) {
      fail(Failure(TlsProtocolError("cannot buffer TLS input")));
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (!handshakeDone_) {
    handshake();
  } else {
    deliver();
  }
}

void TlsProtocol::readConnectionLost() {
  if (lost_ || failure_) return;
  if (!handshakeDone_) {
    failure_ = Failure(TlsHandshakeError(absl::StrCat(
        settings_.peerName, " closed the connection during the TLS handshake")));
    handshakeFailed();
    return;
  }
  // What OpenSSL holds already is the protocol's; a close_notify may be among it.
  deliver();
  // After close_notify the protocol was told (readConnectionLost) and closes when it is done: it
  // may still be answering (half-close), as on TCP.
  if (lost_ || failure_ || closeNotifyReceived_) return;
  fail(Failure(TlsTruncatedError(absl::StrCat(
      settings_.peerName, " closed the connection without a TLS close_notify: what it sent may "
                          "be cut short"))));
}

void TlsProtocol::connectionLost(const Failure& reason) {
  lost_ = true;
  if (handshakeTimer_ && handshakeTimer_->active()) handshakeTimer_->cancel();
  handshakeTimer_.reset();
  if (!innerConnected_) {
    // The protocol above never saw the connection. Tell whoever waits for it why.
    if (settings_.onHandshakeFailed) settings_.onHandshakeFailed(failure_ ? *failure_ : reason);
    return;
  }
  inner_->endConnection(failure_ ? *failure_ : reason);
}

void TlsProtocol::handshake() {
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  flushCiphertext();
  if (result == 1) {
    handshakeDone_ = true;
    if (handshakeTimer_ && handshakeTimer_->active()) handshakeTimer_->cancel();
    handshakeTimer_.reset();
    if (settings_.server != nullptr) settings_.server->countHandshake(sessionReused());
    if (!innerConnected_) {
      innerConnected_ = true;
      inner_->makeConnection(this);
      if (lost_ || failure_) return;
    }
    if (!pending_.empty()) {
      std::string queued = std::move(pending_);
      pending_.clear();
      sendPlaintext(queued);
    }
    if (lost_ || failure_) return;
    // A producer registered during the handshake was held paused here: it goes down now.
    if (heldPushProducer_ != nullptr) {
      IPushProducer* producer = std::exchange(heldPushProducer_, nullptr);
      below()->registerProducer(producer);
      producer->resumeProducing();
    } else if (heldPullProducer_ != nullptr) {
      below()->registerProducer(std::exchange(heldPullProducer_, nullptr));
    }
    if (lost_ || failure_) return;
    if (readPaused_) below()->pauseProducing();
    if ((closeRequested_ || writeCloseRequested_) && !producerRegistered_) shutdownNow();
    if (!lost_ && !failure_) deliver();  // application data may have come with the last flight
    return;
  }
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) return;
  const long verify = SSL_get_verify_result(ssl_);
  if ((SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0 && verify != X509_V_OK) {
    ERR_clear_error();
    failure_ = Failure(CertificateVerifyError(
        absl::StrCat("the TLS certificate of ", settings_.peerName, " was refused: ",
                     X509_verify_cert_error_string(verify)),
        verify));
  } else {
    failure_ = Failure(TlsHandshakeError(absl::StrCat(
        "TLS handshake with ", settings_.peerName, " failed: ", takeOpenSslErrors())));
  }
  handshakeFailed();
}

void TlsProtocol::handshakeFailed() {
  // The alert OpenSSL wrote is queued (flushCiphertext ran): close after it, not with a reset
  // that could destroy it before the peer reads why. A peer that never reads it is cut later.
  pending_.clear();
  below()->loseConnection();
  if (settings_.clock != nullptr) {
    settings_.clock->callLater(kAlertLinger, scope().bind([this] {
      if (!lost_) below()->abortConnection();
    }));
  }
}

void TlsProtocol::deliver() {
  if (delivering_) return;  // the loop below is on the stack: it will see what changed
  delivering_ = true;
  absl::Cleanup done = [this] { delivering_ = false; };
  char buffer[kReadChunk];
  while (!readPaused_ && !lost_ && !failure_ && !closeNotifyReceived_ && !closeRequested_ &&
         !aborted_) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n > 0) {
      inner_->dataReceived(std::string_view(buffer, static_cast<std::size_t>(n)));
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_ZERO_RETURN) {
      closeNotifyReceived_ = true;
      flushCiphertext();
      inner_->readConnectionLost();
      break;
    }
    fail(Failure(TlsProtocolError(
        absl::StrCat("TLS error from ", settings_.peerName, ": ", takeOpenSslErrors()))));
    return;
  }
  flushCiphertext();  // reading can write: key updates, alerts
}

void TlsProtocol::flushCiphertext() {
  char* data = nullptr;
  const long n = BIO_get_mem_data(out_, &data);
  if (n <= 0) return;
  below()->write(std::string_view(data, static_cast<std::size_t>(n)));
  (void)BIO_reset(out_);
}

void TlsProtocol::fail(Failure reason) {
  if (lost_ || failure_) return;
  failure_ = std::move(reason);
  pending_.clear();
  below()->abortConnection();
}

// --- The protocol above -----------------------------------------------------------------------

void TlsProtocol::sendPlaintext(std::string_view data) {
  // In slices, each handed down at once: the ciphertext buffer stays small however large the
  // write (the transport below holds what the peer has not taken, as for TCP).
  while (!data.empty() && !lost_ && !failure_) {
    ERR_clear_error();
    const int n = SSL_write(ssl_, data.data(), static_cast<int>(std::min(data.size(), kWriteSlice)));
    if (n <= 0) {
      fail(Failure(TlsProtocolError(
          absl::StrCat("TLS write to ", settings_.peerName, " failed: ", takeOpenSslErrors()))));
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    flushCiphertext();
  }
}

void TlsProtocol::write(std::string_view data) {
  if (lost_ || failure_ || closeRequested_ || writeCloseRequested_ || data.empty()) return;
  if (!handshakeDone_) {
    pending_.append(data);
    return;
  }
  sendPlaintext(data);
}

void TlsProtocol::writeSequence(std::span<const std::string_view> pieces) {
  std::size_t total = 0;
  for (std::string_view piece : pieces) total += piece.size();
  if (total < kJoinBelow && pieces.size() > 1) {
    std::string joined;
    joined.reserve(total);
    for (std::string_view piece : pieces) joined.append(piece);
    write(joined);
    return;
  }
  for (std::string_view piece : pieces) write(piece);
}

void TlsProtocol::loseConnection() {
  if (lost_ || failure_ || closeRequested_) return;
  closeRequested_ = true;
  if (handshakeDone_ && !producerRegistered_) shutdownNow();
}

void TlsProtocol::loseWriteConnection() {
  if (lost_ || failure_ || writeCloseRequested_ || closeRequested_) return;
  writeCloseRequested_ = true;
  if (handshakeDone_ && !producerRegistered_) shutdownNow();
}

void TlsProtocol::shutdownNow() {
  if (lost_ || failure_) return;
  if (!closeNotifySent_) {
    closeNotifySent_ = true;
    ERR_clear_error();
    SSL_shutdown(ssl_);  // queues close_notify; the peer's answer, if any, comes through deliver()
    flushCiphertext();
  }
  if (closeRequested_) {
    below()->loseConnection();
  } else {
    below()->loseWriteConnection();
  }
}

void TlsProtocol::abortConnection() {
  if (lost_) return;
  aborted_ = true;
  pending_.clear();
  below()->abortConnection();
}

void TlsProtocol::registerProducer(IPushProducer* producer) {
  producerRegistered_ = true;
  if (!handshakeDone_) {
    // What it writes now would only pile up in pending_: paused until the handshake is done.
    heldPushProducer_ = producer;
    producer->pauseProducing();
    return;
  }
  below()->registerProducer(producer);
}

void TlsProtocol::registerProducer(IPullProducer* producer) {
  producerRegistered_ = true;
  if (!handshakeDone_) {
    heldPullProducer_ = producer;  // asked for its first chunk once the handshake is done
    return;
  }
  below()->registerProducer(producer);
}

void TlsProtocol::unregisterProducer() {
  producerRegistered_ = false;
  if (heldPushProducer_ != nullptr || heldPullProducer_ != nullptr) {
    heldPushProducer_ = nullptr;
    heldPullProducer_ = nullptr;
  } else {
    below()->unregisterProducer();
  }
  // A close asked for while the producer ran waited for it.
  if (handshakeDone_ && (closeRequested_ || writeCloseRequested_)) shutdownNow();
}

void TlsProtocol::pauseProducing() {
  readPaused_ = true;
  if (handshakeDone_) below()->pauseProducing();  // the handshake itself keeps reading
}

void TlsProtocol::resumeProducing() {
  readPaused_ = false;
  below()->resumeProducing();
  // Plaintext OpenSSL already holds would wait for more ciphertext: deliver it from the loop,
  // never inside this call (as TCP does).
  if (handshakeDone_ && settings_.clock != nullptr &&
      (SSL_pending(ssl_) > 0 || BIO_ctrl_pending(in_) > 0)) {
    settings_.clock->callLater(absl::ZeroDuration(), scope().bind([this] {
      if (lost_ || failure_) return;
      try {
        deliver();
      } catch (...) {
        // As on TCP: a protocol that throws from dataReceived loses its connection, with why.
        Failure failure = Failure::fromCurrentException();
        deft::internal::reportUnhandledFailure(failure);
        fail(std::move(failure));
      }
    }));
  }
}

}  // namespace deft::tls
