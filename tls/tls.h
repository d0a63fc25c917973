// File: tls/tls.h
//
// TLS connections on the reactor: connectSSL and listenSSL (Twisted's IReactorSSL), and startTLS
// on a connection already open (Twisted's ITLSTransport). The protocol is the same one TCP would
// run; TLS sits between it and the socket (tls/tls_protocol.h).
//
//   auto client = tls::ClientContext::create({});
//   tls::connectSSL(reactor, "example.com", 443, factory, client);
//
//   auto server = tls::ServerContext::create({.certificateChainFile = "chain.pem",
//                                             .privateKeyFile = "key.pem"});
//   tls::listenSSL(reactor, 8443, makeFactory<Echo>(), server);
//
// A client's factory hears of a failed handshake as clientConnectionFailed with the TlsError
// (CertificateVerifyError, TlsHandshakeError, TlsHandshakeTimeoutError): the handshake is part
// of connecting, and the protocol is connected only once it has succeeded.

#ifndef DEFT_TLS_TLS_H_
#define DEFT_TLS_TLS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "tls/context.h"
#include "tls/errors.h"
#include "tls/tls_protocol.h"

namespace deft::tls {

// Connects to `host` (a name or an IP literal; the certificate is checked against it) and runs
// the factory's protocol over TLS. `timeout` bounds the TCP connect, and the handshake again.
// `family` as connectTCP's.
std::shared_ptr<Connector> connectSSL(Reactor& reactor, std::string host, std::uint16_t port,
                                      std::shared_ptr<ClientFactory> factory,
                                      std::shared_ptr<ClientContext> context,
                                      absl::Duration timeout = absl::Seconds(30),
                                      int family = AF_UNSPEC);

// connectSSL to `address` as it is (a Unix socket, say), with no name to resolve: the server is
// verified as `host` (and `port` keys its session cache), as the URL it serves names it.
std::shared_ptr<Connector> connectSSL(Reactor& reactor, Address address, std::string host,
                                      std::uint16_t port, std::shared_ptr<ClientFactory> factory,
                                      std::shared_ptr<ClientContext> context,
                                      absl::Duration timeout = absl::Seconds(30));

// Listens on `port` and runs the factory's protocol over TLS for each connection whose handshake
// succeeds within `handshakeTimeout`; others are dropped without reaching the factory's protocol.
std::shared_ptr<ListeningPort> listenSSL(Reactor& reactor, std::uint16_t port,
                                         std::shared_ptr<Factory> factory,
                                         std::shared_ptr<ServerContext> context,
                                         TcpListenOptions options = {},
                                         absl::Duration handshakeTimeout = absl::Seconds(30));

// The factory listenSSL listens with (Twisted's TLSMemoryBIOFactory): `factory`'s protocols over
// TLS, for any listener, listenUNIX included.
std::shared_ptr<Factory> serverFactory(Reactor& reactor, std::shared_ptr<Factory> factory,
                                       std::shared_ptr<ServerContext> context,
                                       absl::Duration handshakeTimeout = absl::Seconds(30));

// Twisted's transport.startTLS: from now on, `protocol`'s connection speaks TLS, as the client
// (to `host`, checked as connectSSL checks it) or as the server. What `protocol` writes from here
// is held until the handshake is done; a failed handshake ends its connection with the TlsError.
// Call it when the plaintext exchange is over, after the peer's "go ahead": bytes the protocol
// already holds (a LineReceiver's buffer: what came after the command in the same read) stay
// plaintext, so a client must not pipeline past STARTTLS, as RFC 3207 also says.
void startTLS(Reactor& reactor, Protocol& protocol, std::shared_ptr<ClientContext> context,
              const std::string& host);
void startTLS(Reactor& reactor, Protocol& protocol, std::shared_ptr<ServerContext> context);

}  // namespace deft::tls

#endif  // DEFT_TLS_TLS_H_
