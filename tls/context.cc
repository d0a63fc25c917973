#include "tls/context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "tls/errors.h"

namespace deft::tls {
namespace {

// The "host:port" key a client SSL carries, for the new-session callback.
int sessionKeyIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr,
                                                [](void*, void* p, CRYPTO_EX_DATA*, int, long, void*) {
                                                  delete static_cast<std::string*>(p);
                                                });
  return index;
}

// Sessions a client context keeps to resume, one per host and port.
constexpr std::size_t kMaxCachedSessions = 1024;

bool isIpLiteral(std::string_view host) {
  const std::string h(host);
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buffer) == 1 || inet_pton(AF_INET6, h.c_str(), buffer) == 1;
}

// ALPN's wire format: each name preceded by its length.
std::string alpnWire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) throw TlsConfigurationError("invalid ALPN protocol name");
    wire.push_back(static_cast<char>(p.size()));
    wire.append(p);
  }
  return wire;
}

internal::SslCtxPtr newContext(const SSL_METHOD* method) {
  internal::SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) throw TlsConfigurationError("SSL_CTX_new: " + takeOpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Writes go to a memory buffer whose address may move between retries.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

void loadChainAndKey(SSL_CTX* ctx, const std::string& chain, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, chain.c_str()) != 1) {
    throw TlsConfigurationError(
        absl::StrCat("cannot load certificate chain ", chain, ": ", takeOpenSslErrors()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw TlsConfigurationError(
        absl::StrCat("cannot load private key ", key, ": ", takeOpenSslErrors()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw TlsConfigurationError(absl::StrCat("private key ", key, " does not match certificate ",
                                             chain, ": ", takeOpenSslErrors()));
  }
}

// Server side: pick the first of our protocols the client offers; none in common is not fatal.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
               unsigned int inLength, void* arg) {
  const std::string& ours = *static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outLength, reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned int>(ours.size()), in,
                            inLength) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

bool nameMatches(std::string_view pattern, std::string_view name) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };
  const std::string p = lower(pattern), n = lower(name);
  if (p.rfind("*.", 0) == 0) {
    const std::size_t dot = n.find('.');
    return dot != std::string::npos && dot > 0 && n.substr(dot) == p.substr(1);
  }
  return p == n;
}

}  // namespace

std::string takeOpenSslErrors(std::string_view fallback) {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? std::string(fallback) : out;
}

// --- Client -----------------------------------------------------------------------------------

std::shared_ptr<ClientContext> ClientContext::create(const ClientTlsOptions& options) {
  internal::SslCtxPtr ctx = newContext(TLS_client_method());
  SSL_CTX* c = ctx.get();
  if (options.verify) {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    if (options.caFile.empty() && options.caPath.empty()) {
      if (SSL_CTX_set_default_verify_paths(c) != 1) {
        throw CaCertificateError("cannot load the system's trust store: " + takeOpenSslErrors());
      }
    } else if (SSL_CTX_load_verify_locations(
                   c, options.caFile.empty() ? nullptr : options.caFile.c_str(),
                   options.caPath.empty() ? nullptr : options.caPath.c_str()) != 1) {
      throw CaCertificateError(absl::StrCat("cannot load CA certificates from ",
                                            options.caFile.empty() ? options.caPath : options.caFile,
                                               ": ", takeOpenSslErrors()));
    }
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.certificateFile.empty()) {
    loadChainAndKey(c, options.certificateFile,
                    options.privateKeyFile.empty() ? options.certificateFile : options.privateKeyFile);
  }
  if (!options.alpn.empty()) {
    const std::string wire = alpnWire(options.alpn);
    if (SSL_CTX_set_alpn_protos(c, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      throw TlsConfigurationError("cannot set ALPN: " + takeOpenSslErrors());
    }
  }
  if (options.resumeSessions) {
    // Sessions are kept here, per host and port, not in OpenSSL's internal cache (which clients
    // do not consult by themselves).
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, &ClientContext::onNewSession);
  }
  auto context = std::shared_ptr<ClientContext>(new ClientContext(options, std::move(ctx)));
  SSL_CTX_set_app_data(context->ctx_.get(), context.get());
  return context;
}

ClientContext::ClientContext(ClientTlsOptions options, internal::SslCtxPtr ctx)
    : options_(std::move(options)), ctx_(std::move(ctx)) {}

int ClientContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* context = static_cast<ClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, sessionKeyIndex()));
  if (context == nullptr || key == nullptr || !SSL_SESSION_is_resumable(session)) return 0;
  if (context->sessions_.size() >= kMaxCachedSessions && !context->sessions_.contains(*key)) {
    // Full (a crawler meets many hosts): make room by forgetting one, any one.
    context->sessions_.erase(context->sessions_.begin());
  }
  context->sessions_[*key] = internal::SslSessionPtr(session);
  return 1;  // we keep the reference OpenSSL gave us
}

SSL* ClientContext::newConnection(std::string_view host, std::uint16_t port) {
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl == nullptr) throw TlsConfigurationError("SSL_new: " + takeOpenSslErrors());
  const std::string name(host);
  if (isIpLiteral(host)) {
    // Addresses are checked as addresses (the certificate's IP SANs), and never sent as SNI.
    if (options_.verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1) {
      SSL_free(ssl);
      throw TlsConfigurationError("cannot verify address " + name + ": " + takeOpenSslErrors());
    }
  } else {
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      SSL_free(ssl);
      throw TlsConfigurationError("cannot send host name " + name + ": " + takeOpenSslErrors());
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (options_.verify && SSL_set1_host(ssl, name.c_str()) != 1) {
      SSL_free(ssl);
      throw TlsConfigurationError("cannot verify host " + name + ": " + takeOpenSslErrors());
    }
  }
  if (options_.resumeSessions) {
    auto key = std::make_unique<std::string>(absl::StrCat(name, ":", port));
    if (auto it = sessions_.find(*key); it != sessions_.end()) SSL_set_session(ssl, it->second.get());
    SSL_set_ex_data(ssl, sessionKeyIndex(), key.release());
  }
  SSL_set_connect_state(ssl);
  return ssl;
}

// --- Server -----------------------------------------------------------------------------------

std::shared_ptr<ServerContext> ServerContext::create(const ServerTlsOptions& options) {
  auto configure = [&options](const std::string& chain, const std::string& key) {
    internal::SslCtxPtr ctx = newContext(TLS_server_method());
    loadChainAndKey(ctx.get(), chain, key);
    // Sessions resumed are sessions of this server: OpenSSL refuses to resume without it when
    // client certificates are asked for.
    static constexpr unsigned char kSessionContext[] = "deft";
    SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
    if (!options.clientCaFile.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), options.clientCaFile.c_str(), nullptr) != 1) {
        throw CaCertificateError(absl::StrCat("cannot load client CA certificates from ",
                                                 options.clientCaFile, ": ", takeOpenSslErrors()));
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.clientCaFile.c_str());
      if (names == nullptr) {
        throw CaCertificateError(absl::StrCat("no CA names in ", options.clientCaFile, ": ",
                                              takeOpenSslErrors()));
      }
      SSL_CTX_set_client_CA_list(ctx.get(), names);
      SSL_CTX_set_verify(ctx.get(),
                         SSL_VERIFY_PEER | (options.requireClientCertificate
                                                ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                : 0),
                         nullptr);
    }
    return ctx;
  };
  if (options.certificateChainFile.empty() || options.privateKeyFile.empty()) {
    throw TlsConfigurationError("a TLS server needs a certificate chain and a private key");
  }
  if (options.requireClientCertificate && options.clientCaFile.empty()) {
    throw TlsConfigurationError("requireClientCertificate needs clientCaFile: the CAs to accept");
  }
  internal::SslCtxPtr ctx = configure(options.certificateChainFile, options.privateKeyFile);
  std::vector<std::pair<std::string, internal::SslCtxPtr>> named;
  for (const ServerTlsOptions::NamedCertificate& n : options.namedCertificates) {
    named.emplace_back(n.serverName, configure(n.certificateChainFile, n.privateKeyFile));
  }
  auto context = std::shared_ptr<ServerContext>(
      new ServerContext(options, std::move(ctx), std::move(named)));
  return context;
}

ServerContext::ServerContext(ServerTlsOptions options, internal::SslCtxPtr ctx,
                             std::vector<std::pair<std::string, internal::SslCtxPtr>> named)
    : options_(std::move(options)), ctx_(std::move(ctx)), named_(std::move(named)) {
  alpnWire_ = alpnWire(options_.alpn);
  auto setUp = [this](SSL_CTX* c) {
    if (!alpnWire_.empty()) SSL_CTX_set_alpn_select_cb(c, selectAlpn, &alpnWire_);
  };
  setUp(ctx_.get());
  for (auto& [name, c] : named_) setUp(c.get());
  if (!named_.empty()) {
    SSL_CTX_set_tlsext_servername_callback(ctx_.get(), &ServerContext::onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx_.get(), this);
  }
}

int ServerContext::onServerName(SSL* ssl, int*, void* arg) {
  auto* self = static_cast<ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  for (auto& [pattern, ctx] : self->named_) {
    if (nameMatches(pattern, name)) {
      SSL_set_SSL_CTX(ssl, ctx.get());
      // SSL_set_SSL_CTX keeps the first context's verify settings: carry the chosen one's.
      SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx.get()), nullptr);
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_OK;  // the default certificate
}

SSL* ServerContext::newConnection() {
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl == nullptr) throw TlsConfigurationError("SSL_new: " + takeOpenSslErrors());
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace deft::tls
