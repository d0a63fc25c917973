// File: tls/tls_protocol.h
//
// TLS as a layer between a transport and a protocol (Twisted's TLSMemoryBIOProtocol). OpenSSL
// never touches the socket: ciphertext arrives through dataReceived and leaves through the
// transport below, by way of memory buffers. So TLS runs over any transport, and the protocol
// above sees the same ITransport it would see on TCP: any protocol runs over TLS unchanged.
//
//   TcpConnection  --ciphertext-->  TlsProtocol  --plaintext-->  your Protocol
//                  <--ciphertext--  (ITransport) <--plaintext--
//
// Most code does not build one: connectSSL, listenSSL and startTLS (tls/tls.h) do.
//
// THE HANDSHAKE comes first. A layer made by connectSSL or listenSSL connects the protocol above
// (its connectionMade) only once the handshake has succeeded; a failed handshake, or one that
// does not finish within the timeout, never reaches it: a client's factory gets
// clientConnectionFailed with the TlsError, a server drops the connection. A layer inserted under
// a connected protocol (startTLS) holds what the protocol writes until the handshake is done, and
// a failed handshake ends that protocol's connection with the TlsError.
//
// THE END. loseConnection() sends close_notify once everything written (and any registered
// producer) is done, then closes. A peer that closes without close_notify after the handshake
// ends the connection with TlsTruncatedError, never with a clean ConnectionDone: a body framed by
// the close must not pass for complete (RFC 9112 §9.8).
//
// BACKPRESSURE passes straight through: producers register on the transport below, and the
// protocol's pauseProducing() stops reading there; plaintext OpenSSL has already decrypted waits
// until resumeProducing().
//
// OWNERSHIP. The layer owns the protocol above and the OpenSSL connection; the transport below
// owns the layer. The layer keeps its context alive.

#ifndef DEFT_TLS_TLS_PROTOCOL_H_
#define DEFT_TLS_TLS_PROTOCOL_H_

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/reactor_time.h"
#include "protocol/protocol.h"

namespace deft::tls {

class ServerContext;

class TlsProtocol final : public Protocol, public ITransport {
 public:
  struct Settings {
    // Where the handshake timeout runs.
    IReactorTime* clock = nullptr;
    absl::Duration handshakeTimeout = absl::Seconds(30);
    // Who the peer is, for error messages ("127.0.0.1:8443", "example.com:443").
    std::string peerName = {};
    // Keeps the SSL's context alive (a ClientContext or ServerContext).
    std::shared_ptr<const void> context = nullptr;
    // Counts handshakes and resumptions, for a server.
    ServerContext* server = nullptr;
    // Called when the handshake fails before the protocol above was connected.
    absl::AnyInvocable<void(const Failure&)> onHandshakeFailed = nullptr;
  };

  // Takes ownership of `ssl` (set to connect or accept) and of `inner`. With `innerConnected`,
  // `inner` already runs on the transport this layer is inserted under (startTLS).
  TlsProtocol(SSL* ssl, std::unique_ptr<Protocol> inner, Settings settings,
              bool innerConnected = false);
  ~TlsProtocol() override;

  // The protocol above.
  Protocol* wrappedProtocol() const { return inner_.get(); }
  // After the handshake: whether it resumed a session, and the protocol ALPN chose ("" if none).
  bool handshakeDone() const { return handshakeDone_; }
  bool sessionReused() const;
  std::string negotiatedProtocol() const;
  // After the handshake: the certificates the peer sent, DER-encoded, its own first and then the
  // chain it offered (Twisted's getPeerCertificate, with the chain). Empty when it sent none (a
  // client without a certificate) or when a resumed session did not keep them.
  std::vector<std::string> peerCertificates() const;
  // The OpenSSL connection, for what this interface does not cover (read-only use).
  const SSL* ssl() const { return ssl_; }

  // Protocol: the transport below.
  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void readConnectionLost() override;
  void connectionLost(const Failure& reason) override;

  // ITransport: what the protocol above writes to.
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> pieces) override;
  void loseConnection() override;
  void abortConnection() override;
  void loseWriteConnection() override;
  Address getPeer() const override { return below()->getPeer(); }
  Address getHost() const override { return below()->getHost(); }
  void setTcpNoDelay(bool enabled) override { below()->setTcpNoDelay(enabled); }
  void setTcpKeepAlive(bool enabled) override { below()->setTcpKeepAlive(enabled); }
  std::size_t bufferedBytes() const override { return below()->bufferedBytes() + pending_.size(); }
  std::size_t unsentBytes() const override { return below()->unsentBytes() + pending_.size(); }
  void setHighWaterMark(std::size_t bytes) override { below()->setHighWaterMark(bytes); }
  void registerProducer(IPushProducer* producer) override;
  void registerProducer(IPullProducer* producer) override;
  void unregisterProducer() override;
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override { loseConnection(); }

 private:
  ITransport* below() const { return Protocol::transport(); }
  void handshake();
  void handshakeFailed();
  void deliver();
  void sendPlaintext(std::string_view data);
  void flushCiphertext();
  void shutdownNow();
  // Ends the connection with `reason` (given to the protocol above), discarding what is queued.
  void fail(Failure reason);

  SSL* ssl_;
  BIO* in_ = nullptr;   // ciphertext from the peer, for OpenSSL to read (owned by ssl_)
  BIO* out_ = nullptr;  // ciphertext OpenSSL wrote, for the transport below (owned by ssl_)
  std::unique_ptr<Protocol> inner_;
  Settings settings_;
  std::shared_ptr<IDelayedCall> handshakeTimer_;

  std::string pending_;  // written before the handshake finished
  IPushProducer* heldPushProducer_ = nullptr;  // registered before the handshake finished
  IPullProducer* heldPullProducer_ = nullptr;
  bool innerConnected_;
  bool handshakeDone_ = false;
  bool producerRegistered_ = false;
  bool closeRequested_ = false;       // loseConnection(): close_notify once written data is out
  bool writeCloseRequested_ = false;  // loseWriteConnection(): the same, then a half-close
  bool closeNotifySent_ = false;
  bool closeNotifyReceived_ = false;
  bool readPaused_ = false;  // the protocol above paused reading
  bool aborted_ = false;
  bool delivering_ = false;
  bool lost_ = false;
  std::optional<Failure> failure_;  // why the connection ends, when not the transport's reason
};

}  // namespace deft::tls

#endif  // DEFT_TLS_TLS_PROTOCOL_H_
