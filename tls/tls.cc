#include "tls/tls.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace deft::tls {
namespace {

std::string peerName(const std::string& host, std::uint16_t port) {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

// Twisted's TLSMemoryBIOFactory, client side: wraps each protocol in TLS, and turns a connection
// whose handshake failed into the failed connection attempt it is for the factory it wraps.
class TlsClientFactory final : public ClientFactory,
                               public std::enable_shared_from_this<TlsClientFactory> {
 public:
  TlsClientFactory(Reactor& reactor, std::shared_ptr<ClientFactory> wrapped,
                   std::shared_ptr<ClientContext> context, std::string host, std::uint16_t port,
                   absl::Duration timeout)
      : reactor_(reactor),
        wrapped_(std::move(wrapped)),
        context_(std::move(context)),
        host_(std::move(host)),
        port_(port),
        timeout_(timeout) {}

  std::unique_ptr<Protocol> buildProtocol(const Address& address) override {
    std::unique_ptr<Protocol> inner = wrapped_->build(address);
    if (!inner) return nullptr;
    handshakeFailure_.reset();
    TlsProtocol::Settings settings;
    settings.clock = &reactor_;
    settings.handshakeTimeout = timeout_;
    settings.peerName = peerName(host_, port_);
    settings.context = context_;
    settings.onHandshakeFailed = [weak = weak_from_this()](const Failure& reason) {
      if (auto self = weak.lock()) self->handshakeFailure_ = reason;
    };
    return std::make_unique<TlsProtocol>(context_->newConnection(host_, port_), std::move(inner),
                                         std::move(settings));
  }
  void startFactory() override { wrapped_->doStart(); }
  void stopFactory() override { wrapped_->doStop(); }
  void startedConnecting(Connector& connector) override { wrapped_->startedConnecting(connector); }
  void clientConnectionFailed(Connector& connector, const Failure& reason) override {
    wrapped_->clientConnectionFailed(connector, reason);
  }
  void clientConnectionLost(Connector& connector, const Failure& reason) override {
    if (handshakeFailure_) {
      // The protocol never connected: for the wrapped factory, the attempt failed.
      Failure failure = std::move(*handshakeFailure_);
      handshakeFailure_.reset();
      wrapped_->clientConnectionFailed(connector, failure);
      return;
    }
    wrapped_->clientConnectionLost(connector, reason);
  }

 private:
  Reactor& reactor_;
  std::shared_ptr<ClientFactory> wrapped_;
  std::shared_ptr<ClientContext> context_;
  std::string host_;
  std::uint16_t port_;
  absl::Duration timeout_;
  std::optional<Failure> handshakeFailure_;
};

class TlsServerFactory final : public Factory {
 public:
  TlsServerFactory(Reactor& reactor, std::shared_ptr<Factory> wrapped,
                   std::shared_ptr<ServerContext> context, absl::Duration timeout)
      : reactor_(reactor), wrapped_(std::move(wrapped)), context_(std::move(context)), timeout_(timeout) {}

  std::unique_ptr<Protocol> buildProtocol(const Address& address) override {
    std::unique_ptr<Protocol> inner = wrapped_->build(address);
    if (!inner) return nullptr;
    TlsProtocol::Settings settings;
    settings.clock = &reactor_;
    settings.handshakeTimeout = timeout_;
    settings.peerName = address.toString();
    settings.context = context_;
    settings.server = context_.get();
    return std::make_unique<TlsProtocol>(context_->newConnection(), std::move(inner),
                                         std::move(settings));
  }
  void startFactory() override { wrapped_->doStart(); }
  void stopFactory() override { wrapped_->doStop(); }

 private:
  Reactor& reactor_;
  std::shared_ptr<Factory> wrapped_;
  std::shared_ptr<ServerContext> context_;
  absl::Duration timeout_;
};

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

void insertTls(Protocol& protocol, SSL* newSsl, TlsProtocol::Settings settings) {
  std::unique_ptr<SSL, SslFree> ssl(newSsl);  // until the layer takes it
  ITransport* below = protocol.transport();
  if (below == nullptr || !protocol.connected()) {
    throw std::logic_error("startTLS on a protocol that is not connected");
  }
  TlsProtocol* layer = nullptr;
  below->insertLayer([&](std::unique_ptr<Protocol> top) -> std::unique_ptr<Protocol> {
    auto tls = std::make_unique<TlsProtocol>(ssl.release(), std::move(top), std::move(settings),
                                             /*innerConnected=*/true);
    layer = tls.get();
    return tls;
  });
  // A wrapper between the transport and `protocol` (connectProtocol's) forwards events without
  // writing: `protocol` itself must write through the layer.
  protocol.setTransportLayer(layer);
}

}  // namespace

std::shared_ptr<Connector> connectSSL(Reactor& reactor, std::string host, std::uint16_t port,
                                      std::shared_ptr<ClientFactory> factory,
                                      std::shared_ptr<ClientContext> context,
                                      absl::Duration timeout, int family) {
  auto tlsFactory = std::make_shared<TlsClientFactory>(reactor, std::move(factory),
                                                       std::move(context), host, port, timeout);
  return connectTCP(reactor, std::move(host), port, std::move(tlsFactory), timeout, family);
}

std::shared_ptr<Connector> connectSSL(Reactor& reactor, Address address, std::string host,
                                      std::uint16_t port, std::shared_ptr<ClientFactory> factory,
                                      std::shared_ptr<ClientContext> context,
                                      absl::Duration timeout) {
  auto tlsFactory = std::make_shared<TlsClientFactory>(reactor, std::move(factory),
                                                       std::move(context), host, port, timeout);
  auto connector = std::make_shared<Connector>(reactor, std::move(address), std::move(tlsFactory),
                                               timeout);
  connector->connect();
  return connector;
}

std::shared_ptr<ListeningPort> listenSSL(Reactor& reactor, std::uint16_t port,
                                         std::shared_ptr<Factory> factory,
                                         std::shared_ptr<ServerContext> context,
                                         TcpListenOptions options,
                                         absl::Duration handshakeTimeout) {
  return listenTCP(reactor, port,
                   serverFactory(reactor, std::move(factory), std::move(context), handshakeTimeout),
                   std::move(options));
}

std::shared_ptr<Factory> serverFactory(Reactor& reactor, std::shared_ptr<Factory> factory,
                                       std::shared_ptr<ServerContext> context,
                                       absl::Duration handshakeTimeout) {
  return std::make_shared<TlsServerFactory>(reactor, std::move(factory), std::move(context),
                                            handshakeTimeout);
}

void startTLS(Reactor& reactor, Protocol& protocol, std::shared_ptr<ClientContext> context,
              const std::string& host) {
  TlsProtocol::Settings settings;
  settings.clock = &reactor;
  const Address peer = protocol.transport() ? protocol.transport()->getPeer() : Address();
  settings.peerName = peerName(host, peer.port());
  SSL* ssl = context->newConnection(host, peer.port());
  settings.context = std::move(context);
  insertTls(protocol, ssl, std::move(settings));
}

void startTLS(Reactor& reactor, Protocol& protocol, std::shared_ptr<ServerContext> context) {
  TlsProtocol::Settings settings;
  settings.clock = &reactor;
  settings.peerName = protocol.transport() ? protocol.transport()->getPeer().toString() : "";
  settings.server = context.get();
  SSL* ssl = context->newConnection();
  settings.context = std::move(context);
  insertTls(protocol, ssl, std::move(settings));
}

}  // namespace deft::tls
