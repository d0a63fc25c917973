// File: tls/context.h
//
// What a TLS connection is configured from: client and server options, made once into a context
// (an OpenSSL SSL_CTX) that every connection of a client or server shares.
//
//   auto client = tls::ClientContext::create({});                 // the system's trust store
//   auto pinned = tls::ClientContext::create({.caFile = "ca.pem"});
//   auto server = tls::ServerContext::create({.certificateChainFile = "chain.pem",
//                                             .privateKeyFile = "key.pem"});
//
// POLICY. Clients verify by default, the way Twisted's optionsForClientTLS does: the chain
// against the trust store, then the host name (or, for an IP literal, the address) against the
// certificate. SNI is sent for names. TLS 1.2 is the minimum; renegotiation is refused. Turning
// verification off is only explicit (`verify = false`): a command line says so to its user.
//
// SESSIONS. A ClientContext remembers the last session of each host and port it connected to and
// offers it on the next connection (resumption: no certificate exchange, one round trip less).
// A ServerContext resumes with session tickets (OpenSSL's default).
//
// Contexts are built on the reactor thread and used there; they are immutable once made.

#ifndef DEFT_TLS_CONTEXT_H_
#define DEFT_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace deft::tls {

struct ClientTlsOptions {
  // Verify the server's certificate chain and name. Off only when asked (curl's --insecure).
  bool verify = true;
  // Trust these instead of the system's store (Debian's ca-certificates): a PEM bundle
  // (--cacert) and/or a directory of hashed certificates (--capath).
  std::string caFile = {};
  std::string caPath = {};
  // A client certificate chain and its key, for servers that ask for one (mutual TLS).
  std::string certificateFile = {};
  std::string privateKeyFile = {};
  // Application protocols offered, most preferred first (ALPN).
  std::vector<std::string> alpn = {"http/1.1"};
  // Offer the previous session of the same host and port.
  bool resumeSessions = true;
};

struct ServerTlsOptions {
  // The certificate chain (leaf first) and its private key, PEM.
  std::string certificateChainFile = {};
  std::string privateKeyFile = {};
  // More certificates, chosen by the name the client sends (SNI). A name matches exactly, or a
  // "*.example.com" entry matches one label. Clients that send no name, or another one, get the
  // default certificate above.
  struct NamedCertificate {
    std::string serverName = {};
    std::string certificateChainFile = {};
    std::string privateKeyFile = {};
  };
  std::vector<NamedCertificate> namedCertificates = {};
  // Application protocols accepted, most preferred first. A client that offers none of them
  // proceeds without ALPN.
  std::vector<std::string> alpn = {"http/1.1"};
  // Mutual TLS: ask clients for a certificate issued by these CAs (PEM bundle); with
  // requireClientCertificate, refuse the handshake without one.
  std::string clientCaFile = {};
  bool requireClientCertificate = false;
};

namespace internal {
struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslSessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;
}  // namespace internal

class ClientContext {
 public:
  // Throws TlsConfigurationError naming the file and OpenSSL's reason when a CA, certificate or
  // key cannot be loaded.
  static std::shared_ptr<ClientContext> create(const ClientTlsOptions& options);

  const ClientTlsOptions& options() const { return options_; }
  SSL_CTX* get() const { return ctx_.get(); }

  // A new SSL object for a connection to `host` (a name or an IP literal): SNI, name or address
  // checks, and the session to resume, set. The caller owns it.
  SSL* newConnection(std::string_view host, std::uint16_t port);

  // How many sessions are kept to offer again.
  std::size_t cachedSessions() const { return sessions_.size(); }

 private:
  ClientContext(ClientTlsOptions options, internal::SslCtxPtr ctx);
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

  ClientTlsOptions options_;
  internal::SslCtxPtr ctx_;
  absl::flat_hash_map<std::string, internal::SslSessionPtr> sessions_;  // "host:port" -> last
};

class ServerContext {
 public:
  // Throws TlsConfigurationError naming the file and OpenSSL's reason.
  static std::shared_ptr<ServerContext> create(const ServerTlsOptions& options);

  const ServerTlsOptions& options() const { return options_; }
  SSL* newConnection();

  // Handshakes completed, and how many of them resumed a session: what tells a client's
  // resumption works, from the server's side.
  std::uint64_t handshakes() const { return handshakes_; }
  std::uint64_t resumedHandshakes() const { return resumed_; }
  void countHandshake(bool resumed) {
    ++handshakes_;
    if (resumed) ++resumed_;
  }

 private:
  ServerContext(ServerTlsOptions options, internal::SslCtxPtr ctx,
                std::vector<std::pair<std::string, internal::SslCtxPtr>> named);
  static int onServerName(SSL* ssl, int* alert, void* arg);

  ServerTlsOptions options_;
  internal::SslCtxPtr ctx_;
  std::vector<std::pair<std::string, internal::SslCtxPtr>> named_;  // SNI name -> its context
  std::string alpnWire_;  // options_.alpn in ALPN's wire format, for the selection callback
  std::uint64_t handshakes_ = 0;
  std::uint64_t resumed_ = 0;
};

// OpenSSL's queued errors, as one line ("error:0A000086:SSL routines::certificate verify
// failed"), emptying the queue; `fallback` when there are none.
std::string takeOpenSslErrors(std::string_view fallback = "unknown TLS error");

}  // namespace deft::tls

#endif  // DEFT_TLS_CONTEXT_H_
