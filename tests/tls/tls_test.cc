// TLS on real loopback sockets, with certificates made at test time: a good exchange, each kind of
// refused certificate, verification off, a stalled handshake, truncation, backpressure, startTLS,
// mutual TLS, session resumption, ALPN and SNI.

#include "tls/tls.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "dns/cares_resolver.h"
#include "gtest/gtest.h"
#include "protocol/line_receiver.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/stalled_listener.h"
#include "tests/support/test_pki.h"

namespace deft::tls {
namespace {

using deft::testing::Echo;
using deft::testing::FloodProducer;
using deft::testing::IssueOptions;
using deft::testing::Issued;
using deft::testing::OneShotClientFactory;
using deft::testing::Record;
using deft::testing::Recorder;
using deft::testing::runUntil;

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : pki_(::testing::TempDir()) {
    ca_ = pki_.makeCa("deft test CA");
    server_ = pki_.issue(ca_, "localhost", {.dns = {"localhost"}, .ips = {"127.0.0.1"}});
  }

  void SetUp() override {
    // "localhost" is answered without a query; any other name goes to a closed loopback port.
    reactor().installResolver(std::make_shared<CaresResolver>(
        reactor(), CaresResolver::Options{.servers = {"127.0.0.1:9"}, .timeout = absl::Milliseconds(200)}));
  }

  Reactor& reactor() { return scope_.reactor(); }

  std::shared_ptr<ServerContext> serverContext(const Issued& certificate) {
    ServerTlsOptions options;
    options.certificateChainFile = certificate.chainFile;
    options.privateKeyFile = certificate.keyFile;
    return ServerContext::create(options);
  }
  std::shared_ptr<ClientContext> trustingOurCa() {
    ClientTlsOptions options;
    options.caFile = ca_.certificateFile;
    return ClientContext::create(options);
  }

  // An echo server over TLS with `certificate`; its context in `context_`.
  std::uint16_t listenEcho(const Issued& certificate) {
    context_ = serverContext(certificate);
    port_ = listenSSL(reactor(), 0, makeFactory<Echo>(), context_, {.interface = "127.0.0.1"});
    return port_->getHost().port();
  }

  struct Client {
    std::shared_ptr<Record> record = std::make_shared<Record>();
    std::shared_ptr<OneShotClientFactory> factory;
  };
  Client connect(const std::string& host, std::uint16_t port, std::shared_ptr<ClientContext> context,
                 absl::Duration timeout = absl::Seconds(5)) {
    Client c;
    c.factory = std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(c.record));
    connectSSL(reactor(), host, port, c.factory, std::move(context), timeout);
    return c;
  }
  // Connects, expecting a refusal: the failure clientConnectionFailed got.
  Failure refused(const std::string& host, std::uint16_t port, std::shared_ptr<ClientContext> context) {
    Client c = connect(host, port, std::move(context));
    EXPECT_TRUE(runUntil(reactor(), [&] { return c.factory->failed.has_value(); }));
    EXPECT_FALSE(c.record->made) << "the protocol saw a connection whose handshake failed";
    return c.factory->failed.value_or(Failure(std::runtime_error("not refused")));
  }

  ReactorScope scope_;
  deft::testing::TestPki pki_;
  Issued ca_, server_;
  std::shared_ptr<ServerContext> context_;
  std::shared_ptr<ListeningPort> port_;
};

TEST_F(TlsTest, EchoesOverTlsAndClosesWithCloseNotify) {
  const std::uint16_t port = listenEcho(server_);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    Client c = connect(host, port, trustingOurCa());
    ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->made || c.factory->failed; }));
    ASSERT_TRUE(c.record->made) << host << ": " << c.factory->failed->describe();
    c.record->transport->write("hello over TLS");
    ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->received == "hello over TLS"; }));
    c.record->transport->loseConnection();
    ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->lost.has_value(); }));
    EXPECT_TRUE(c.record->lost->check<ConnectionDone>()) << c.record->lost->describe();
  }
  EXPECT_EQ(context_->handshakes(), 2u);
}

TEST_F(TlsTest, TheClientSeesTheCertificatesTheServerSent) {
  const std::uint16_t port = listenEcho(server_);
  Client c = connect("127.0.0.1", port, trustingOurCa());
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->made || c.factory->failed; }));
  ASSERT_TRUE(c.record->made) << c.factory->failed->describe();
  const auto* layer = dynamic_cast<const TlsProtocol*>(c.record->transport);
  ASSERT_NE(layer, nullptr);
  // The server presents its chain: its own certificate, then the CA's. Each is the DER of the
  // file it came from.
  const std::vector<std::string> sent = layer->peerCertificates();
  ASSERT_EQ(sent.size(), 2u);
  auto subject = [](const std::string& der) {
    const auto* data = reinterpret_cast<const unsigned char*>(der.data());
    X509* x = d2i_X509(nullptr, &data, static_cast<long>(der.size()));
    if (x == nullptr) return std::string("(not a certificate)");
    char name[256] = "";
    X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
    X509_free(x);
    return std::string(name);
  };
  EXPECT_EQ(subject(sent[0]), "/CN=localhost");
  EXPECT_EQ(subject(sent[1]), "/CN=deft test CA");
  c.record->transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->lost.has_value(); }));
}

TEST_F(TlsTest, EachBadCertificateIsRefusedWithItsOwnReason) {
  struct Case {
    const char* what;
    Issued certificate;
    long expected;
  };
  const Issued otherCa = pki_.makeCa("someone else's CA");
  const std::vector<Case> cases = {
      {"expired",
       pki_.issue(ca_, "localhost",
                  {.dns = {"localhost"}, .ips = {"127.0.0.1"}, .notBefore = absl::Hours(-48),
                   .notAfter = absl::Hours(-24)}),
       X509_V_ERR_CERT_HAS_EXPIRED},
      {"wrong name", pki_.issue(ca_, "elsewhere.test", {.dns = {"elsewhere.test"}, .ips = {"127.0.0.2"}}),
       X509_V_ERR_IP_ADDRESS_MISMATCH},
      {"self-signed", pki_.selfSigned("localhost", {.dns = {"localhost"}, .ips = {"127.0.0.1"}}),
       X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
      // The server presents its whole chain, root included: a root nobody trusts.
      {"unknown CA", pki_.issue(otherCa, "localhost", {.dns = {"localhost"}, .ips = {"127.0.0.1"}}),
       X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN},
  };
  for (const Case& c : cases) {
    const std::uint16_t port = listenEcho(c.certificate);
    const Failure failure = refused("127.0.0.1", port, trustingOurCa());
    const auto* error = failure.value<CertificateVerifyError>();
    ASSERT_NE(error, nullptr) << c.what << ": " << failure.describe();
    EXPECT_EQ(error->verifyResult(), c.expected) << c.what << ": " << error->what();
    EXPECT_NE(std::string(error->what()).find("127.0.0.1:"), std::string::npos) << error->what();
    EXPECT_EQ(context_->handshakes(), 0u) << c.what;
  }
  // A host name is checked as a name.
  const std::uint16_t port = listenEcho(pki_.issue(ca_, "elsewhere.test", {.dns = {"elsewhere.test"}}));
  const Failure failure = refused("localhost", port, trustingOurCa());
  ASSERT_NE(failure.value<CertificateVerifyError>(), nullptr) << failure.describe();
  EXPECT_EQ(failure.value<CertificateVerifyError>()->verifyResult(), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(TlsTest, TheSystemStoreDoesNotTrustATestCa) {
  const std::uint16_t port = listenEcho(server_);
  const Failure failure = refused("127.0.0.1", port, ClientContext::create({}));
  ASSERT_NE(failure.value<CertificateVerifyError>(), nullptr) << failure.describe();
}

TEST_F(TlsTest, VerificationOffAcceptsASelfSignedCertificate) {
  const std::uint16_t port = listenEcho(pki_.selfSigned("anything"));
  ClientTlsOptions options;
  options.verify = false;
  Client c = connect("127.0.0.1", port, ClientContext::create(options));
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->made || c.factory->failed; }));
  ASSERT_TRUE(c.record->made) << c.factory->failed->describe();
  c.record->transport->write("ping");
  EXPECT_TRUE(runUntil(reactor(), [&] { return c.record->received == "ping"; }));
}

TEST_F(TlsTest, AServerThatNeverAnswersTheHandshakeTimesOut) {
  // A plain TCP server that accepts and says nothing.
  std::vector<std::shared_ptr<Record>> silent;
  auto port = listenTCP(reactor(), 0, deft::testing::recordingFactory(silent), {.interface = "127.0.0.1"});
  const absl::Time begin = absl::Now();
  Client c = connect("127.0.0.1", port->getHost().port(), trustingOurCa(), absl::Milliseconds(300));
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.factory->failed.has_value(); }, absl::Seconds(5)));
  EXPECT_NE(c.factory->failed->value<TlsHandshakeTimeoutError>(), nullptr) << c.factory->failed->describe();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));
  EXPECT_FALSE(c.record->made);
}

// Writes a greeting, then closes the TCP connection under the TLS layer: no close_notify.
class Truncator : public Protocol {
 public:
  void connectionMade() override {
    transport()->write("the first half of");
    auto* tls = dynamic_cast<TlsProtocol*>(transport());
    ASSERT_NE(tls, nullptr);
    tls->Protocol::transport()->loseConnection();
  }
};

TEST_F(TlsTest, ACloseWithoutCloseNotifyIsTruncationNotAnEnd) {
  context_ = serverContext(server_);
  port_ = listenSSL(reactor(), 0, makeFactory<Truncator>(), context_, {.interface = "127.0.0.1"});
  Client c = connect("127.0.0.1", port_->getHost().port(), trustingOurCa());
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->lost.has_value() || c.factory->failed; }));
  ASSERT_TRUE(c.record->lost) << c.factory->failed->describe();
  EXPECT_EQ(c.record->received, "the first half of");
  EXPECT_NE(c.record->lost->value<TlsTruncatedError>(), nullptr) << c.record->lost->describe();
  EXPECT_FALSE(c.record->lost->check<ConnectionDone>());
}

TEST_F(TlsTest, ASlowReaderPausesAFastWriterThroughTls) {
  constexpr std::size_t kBlocks = 512;  // 8 MiB
  FloodProducer::pauses = 0;
  FloodProducer::maxBuffered = 0;
  context_ = serverContext(server_);
  port_ = listenSSL(reactor(), 0, makeFactory<FloodProducer>(kBlocks), context_, {.interface = "127.0.0.1"});
  Client c = connect("127.0.0.1", port_->getHost().port(), trustingOurCa());
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->made; }));
  c.record->transport->pauseProducing();
  ASSERT_TRUE(runUntil(reactor(), [&] { return FloodProducer::pauses > 0; }));
  for (int i = 0; i < 20; ++i) reactor().iterate(absl::Milliseconds(5));
  EXPECT_LT(FloodProducer::maxBuffered, 256u * 1024) << "the writer was not held back";
  const std::size_t whilePaused = c.record->received.size();
  for (int i = 0; i < 10; ++i) reactor().iterate(absl::Milliseconds(5));
  EXPECT_EQ(c.record->received.size(), whilePaused) << "data arrived while the reader was paused";
  c.record->transport->resumeProducing();
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->lost.has_value(); }));
  ASSERT_EQ(c.record->received.size(), kBlocks * 16 * 1024);
  for (std::size_t b = 0; b < kBlocks; ++b) {
    ASSERT_EQ(c.record->received[b * 16 * 1024], static_cast<char>('a' + b % 26)) << "block " << b;
  }
  EXPECT_TRUE(c.record->lost->check<ConnectionDone>()) << c.record->lost->describe();
}

// The STARTTLS dance, both sides line protocols: "STARTTLS" / "GO", then TLS, then lines again.
class StartTlsServer : public LineReceiver {
 public:
  StartTlsServer(Reactor& reactor, std::shared_ptr<ServerContext> context)
      : reactor_(reactor), context_(std::move(context)) {}
  void lineReceived(std::string_view line) override {
    if (line == "STARTTLS") {
      sendLine("GO");
      startTLS(reactor_, *this, context_);
    } else {
      sendLine("secure: " + std::string(line));
    }
  }

 private:
  Reactor& reactor_;
  std::shared_ptr<ServerContext> context_;
};

class StartTlsClient : public LineReceiver {
 public:
  StartTlsClient(Reactor& reactor, std::shared_ptr<ClientContext> context,
                 std::shared_ptr<std::vector<std::string>> lines)
      : reactor_(reactor), context_(std::move(context)), lines_(std::move(lines)) {}
  void connectionMade() override { sendLine("STARTTLS"); }
  void lineReceived(std::string_view line) override {
    lines_->emplace_back(line);
    if (line == "GO") {
      // Paused across the upgrade: the handshake still reads; the pause holds after it.
      transport()->pauseProducing();
      startTLS(reactor_, *this, context_, "127.0.0.1");
      sendLine("the password");  // held until the handshake is done, then encrypted
      reactor_.callLater(absl::Milliseconds(50), scope().bind([this] {
        transport()->resumeProducing();
      }));
    }
  }

 private:
  Reactor& reactor_;
  std::shared_ptr<ClientContext> context_;
  std::shared_ptr<std::vector<std::string>> lines_;
};

TEST_F(TlsTest, StartTlsUpgradesAnOpenConnection) {
  context_ = serverContext(server_);
  auto serverContextCopy = context_;
  Reactor& r = reactor();
  port_ = listenTCP(r, 0, makeFactory([&r, serverContextCopy]() -> std::unique_ptr<Protocol> {
                      return std::make_unique<StartTlsServer>(r, serverContextCopy);
                    }),
                    {.interface = "127.0.0.1"});
  auto lines = std::make_shared<std::vector<std::string>>();
  auto factory = std::make_shared<OneShotClientFactory>(
      std::make_unique<StartTlsClient>(r, trustingOurCa(), lines));
  connectTCP(r, "127.0.0.1", port_->getHost().port(), factory);
  ASSERT_TRUE(runUntil(r, [&] { return lines->size() == 2 || factory->lost.has_value(); }));
  ASSERT_EQ(*lines, (std::vector<std::string>{"GO", "secure: the password"}));
  EXPECT_EQ(context_->handshakes(), 1u);
}

// Collects what the client sends and answers only once it has finished sending (half-close).
class AnswerAtTheEnd : public Protocol {
 public:
  void dataReceived(std::string_view data) override { received_.append(data); }
  void readConnectionLost() override {
    transport()->write("got: " + received_);
    transport()->loseConnection();
  }

 private:
  std::string received_;
};

TEST_F(TlsTest, AHalfClosedConnectionStillCarriesTheAnswer) {
  context_ = serverContext(server_);
  port_ = listenSSL(reactor(), 0, makeFactory<AnswerAtTheEnd>(), context_, {.interface = "127.0.0.1"});
  Client c = connect("127.0.0.1", port_->getHost().port(), trustingOurCa());
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->made || c.factory->failed; }));
  ASSERT_TRUE(c.record->made) << c.factory->failed->describe();
  c.record->transport->write("the question");
  c.record->transport->loseWriteConnection();  // close_notify, then our FIN
  ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->lost.has_value(); }));
  EXPECT_EQ(c.record->received, "got: the question");
  EXPECT_TRUE(c.record->lost->check<ConnectionDone>()) << c.record->lost->describe();
}

TEST_F(TlsTest, MutualTlsAcceptsAClientCertificateAndRefusesNone) {
  ServerTlsOptions options;
  options.certificateChainFile = server_.chainFile;
  options.privateKeyFile = server_.keyFile;
  options.clientCaFile = ca_.certificateFile;
  options.requireClientCertificate = true;
  context_ = ServerContext::create(options);
  port_ = listenSSL(reactor(), 0, makeFactory<Echo>(), context_, {.interface = "127.0.0.1"});
  const std::uint16_t port = port_->getHost().port();

  const Issued clientCertificate = pki_.issue(ca_, "a client", {.client = true});
  ClientTlsOptions withCertificate;
  withCertificate.caFile = ca_.certificateFile;
  withCertificate.certificateFile = clientCertificate.chainFile;
  withCertificate.privateKeyFile = clientCertificate.keyFile;
  Client good = connect("127.0.0.1", port, ClientContext::create(withCertificate));
  ASSERT_TRUE(runUntil(reactor(), [&] { return good.record->made || good.factory->failed; }));
  ASSERT_TRUE(good.record->made) << good.factory->failed->describe();
  good.record->transport->write("it is me");
  ASSERT_TRUE(runUntil(reactor(), [&] { return good.record->received == "it is me"; }));
  good.record->transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor(), [&] { return good.record->lost.has_value(); }));
  // Sessions resume with client certificates too (the server sets its session id context).
  auto certified = ClientContext::create(withCertificate);
  for (int i = 0; i < 2; ++i) {
    Client again = connect("127.0.0.1", port, certified);
    ASSERT_TRUE(runUntil(reactor(), [&] { return again.record->made || again.factory->failed; }));
    ASSERT_TRUE(again.record->made) << again.factory->failed->describe();
    again.record->transport->write("again");
    ASSERT_TRUE(runUntil(reactor(), [&] { return again.record->received == "again"; }));
    again.record->transport->loseConnection();
    ASSERT_TRUE(runUntil(reactor(), [&] { return again.record->lost.has_value(); }));
  }
  EXPECT_EQ(context_->handshakes(), 3u);
  EXPECT_EQ(context_->resumedHandshakes(), 1u);

  // Without one: with TLS 1.3 the client finishes its side of the handshake before the server
  // refuses, so the refusal arrives as a TLS error on the connection, and nothing is echoed.
  Client anonymous = connect("127.0.0.1", port, trustingOurCa());
  ASSERT_TRUE(runUntil(reactor(), [&] {
    return anonymous.factory->failed.has_value() || anonymous.record->lost.has_value();
  }));
  if (anonymous.record->made && !anonymous.record->lost) {
    anonymous.record->transport->write("let me in");
    ASSERT_TRUE(runUntil(reactor(), [&] { return anonymous.record->lost.has_value(); }));
  }
  const Failure& why = anonymous.factory->failed ? *anonymous.factory->failed : *anonymous.record->lost;
  EXPECT_TRUE(why.check<TlsError>() || why.check<TlsProtocolError>()) << why.describe();
  // The server's alert arrives (a close, not a reset that could destroy it): it says why.
  EXPECT_NE(why.getErrorMessage().find("certificate required"), std::string::npos) << why.describe();
  EXPECT_EQ(anonymous.record->received, "");
  EXPECT_EQ(context_->handshakes(), 3u);

  // What the server sees of the client: its certificate (on a full handshake).
  struct SeesTheClient : Protocol {
    explicit SeesTheClient(std::shared_ptr<std::vector<std::string>> seen) : seen(std::move(seen)) {}
    void connectionMade() override {
      if (const auto* layer = dynamic_cast<const TlsProtocol*>(transport())) *seen = layer->peerCertificates();
    }
    void dataReceived(std::string_view) override {}
    std::shared_ptr<std::vector<std::string>> seen;
  };
  auto seen = std::make_shared<std::vector<std::string>>();
  auto watching = listenSSL(reactor(), 0, makeFactory<SeesTheClient>(seen), context_, {.interface = "127.0.0.1"});
  Client watched = connect("127.0.0.1", watching->getHost().port(), ClientContext::create(withCertificate));
  ASSERT_TRUE(runUntil(reactor(), [&] { return !seen->empty(); }));
  ASSERT_GE(seen->size(), 1u);
  const auto* data = reinterpret_cast<const unsigned char*>((*seen)[0].data());
  X509* client = d2i_X509(nullptr, &data, static_cast<long>((*seen)[0].size()));
  ASSERT_NE(client, nullptr);
  char name[256] = "";
  X509_NAME_oneline(X509_get_subject_name(client), name, sizeof(name));
  X509_free(client);
  EXPECT_STREQ(name, "/CN=a client");
  ASSERT_TRUE(runUntil(reactor(), [&] { return watched.record->made; }));
  watched.record->transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor(), [&] { return watched.record->lost.has_value(); }));
  watching->stopListening();
}

TEST_F(TlsTest, SessionsAreResumedAcrossConnections) {
  const std::uint16_t port = listenEcho(server_);
  auto client = trustingOurCa();
  for (int i = 0; i < 5; ++i) {
    Client c = connect("127.0.0.1", port, client);
    ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->made || c.factory->failed; }));
    ASSERT_TRUE(c.record->made) << c.factory->failed->describe();
    // An exchange, so the session ticket (sent after the handshake in TLS 1.3) is read.
    c.record->transport->write("x");
    ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->received == "x"; }));
    c.record->transport->loseConnection();
    ASSERT_TRUE(runUntil(reactor(), [&] { return c.record->lost.has_value(); }));
  }
  EXPECT_EQ(context_->handshakes(), 5u);
  EXPECT_EQ(context_->resumedHandshakes(), 4u);
  EXPECT_EQ(client->cachedSessions(), 1u);
}

// A client built by hand on the layer: any SSL, any name, over a TCP connection to loopback.
struct Layered {
  std::shared_ptr<Record> record = std::make_shared<Record>();
  TlsProtocol* layer = nullptr;
  // Why the handshake failed, when it did (the protocol above then never connects).
  std::shared_ptr<std::optional<Failure>> handshakeFailure =
      std::make_shared<std::optional<Failure>>();
};
Layered connectLayered(Reactor& reactor, std::uint16_t port, std::shared_ptr<ClientContext> context,
                       const std::string& serverName) {
  Layered l;
  auto record = l.record;
  auto* out = &l;
  auto factory = makeFactory<ClientFactory>([&reactor, context, serverName, port, record, out]()
                                                -> std::unique_ptr<Protocol> {
    TlsProtocol::Settings settings;
    settings.clock = &reactor;
    settings.peerName = serverName;
    settings.context = context;
    auto layer = std::make_unique<TlsProtocol>(context->newConnection(serverName, port),
                                               std::make_unique<Recorder>(record), std::move(settings));
    out->layer = layer.get();
    return layer;
  });
  connectTCP(reactor, "127.0.0.1", port, factory);
  return l;
}

TEST_F(TlsTest, AlpnAndSniChooseTheProtocolAndTheCertificate) {
  const Issued other = pki_.issue(ca_, "other.test", {.dns = {"other.test"}});
  const Issued wildcard = pki_.issue(ca_, "*.wild.test", {.dns = {"*.wild.test"}});
  ServerTlsOptions options;
  options.certificateChainFile = server_.chainFile;
  options.privateKeyFile = server_.keyFile;
  options.namedCertificates = {{"other.test", other.chainFile, other.keyFile},
                               {"*.wild.test", wildcard.chainFile, wildcard.keyFile}};
  context_ = ServerContext::create(options);
  port_ = listenSSL(reactor(), 0, makeFactory<Echo>(), context_, {.interface = "127.0.0.1"});
  const std::uint16_t port = port_->getHost().port();
  // Each name verifies only if the server chose that name's certificate.
  for (const std::string name : {"other.test", "a.wild.test", "localhost"}) {
    Layered l = connectLayered(reactor(), port, trustingOurCa(), name);
    ASSERT_TRUE(runUntil(reactor(), [&] { return l.record->made || l.record->lost; }));
    ASSERT_TRUE(l.record->made) << name << ": " << l.record->lost->describe();
    EXPECT_EQ(l.layer->negotiatedProtocol(), "http/1.1");
    l.record->transport->loseConnection();
    ASSERT_TRUE(runUntil(reactor(), [&] { return l.record->lost.has_value(); }));
  }
  EXPECT_EQ(context_->handshakes(), 3u);
}

// A client that offers exactly one protocol version, verification off: the server's own rules
// are what is tested.
Layered connectWithVersion(Reactor& reactor, std::uint16_t port, int version) {
  // Kept by the factory: the SSL is made when the connection is.
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_security_level(ctx.get(), 0);  // Debian's defaults would refuse TLS 1.1 here first
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  Layered l;
  auto record = l.record;
  auto failure = l.handshakeFailure;
  auto factory = makeFactory<ClientFactory>([&reactor, ctx, record, failure]() -> std::unique_ptr<Protocol> {
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_connect_state(ssl);
    TlsProtocol::Settings settings;
    settings.clock = &reactor;
    settings.peerName = "test server";
    settings.onHandshakeFailed = [failure](const Failure& why) { *failure = why; };
    return std::make_unique<TlsProtocol>(ssl, std::make_unique<Recorder>(record), std::move(settings));
  });
  connectTCP(reactor, "127.0.0.1", port, factory);
  return l;
}

TEST_F(TlsTest, ServersRefuseVersionsBeforeTls12) {
  const std::uint16_t port = listenEcho(server_);
  Layered old = connectWithVersion(reactor(), port, TLS1_1_VERSION);
  ASSERT_TRUE(runUntil(reactor(), [&] { return old.handshakeFailure->has_value() || old.record->made; }));
  EXPECT_FALSE(old.record->made);
  ASSERT_TRUE(old.handshakeFailure->has_value());
  // The server's protocol_version alert reached the client: it says why.
  EXPECT_NE((*old.handshakeFailure)->getErrorMessage().find("version"), std::string::npos)
      << (*old.handshakeFailure)->describe();
  EXPECT_EQ(context_->handshakes(), 0u);
  // The same client with TLS 1.2 is served: it was the version that was refused.
  Layered current = connectWithVersion(reactor(), port, TLS1_2_VERSION);
  ASSERT_TRUE(runUntil(reactor(), [&] { return current.record->made; }));
  current.record->transport->write("1.2");
  ASSERT_TRUE(runUntil(reactor(), [&] { return current.record->received == "1.2"; }));
  EXPECT_EQ(context_->handshakes(), 1u);
}

TEST_F(TlsTest, ConfigurationErrorsNameTheFile) {
  ServerTlsOptions options;
  options.certificateChainFile = "/nonexistent/chain.pem";
  options.privateKeyFile = server_.keyFile;
  try {
    ServerContext::create(options);
    FAIL() << "a missing certificate was accepted";
  } catch (const TlsConfigurationError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/chain.pem"), std::string::npos) << e.what();
  }
  const Issued another = pki_.issue(ca_, "another");
  options.certificateChainFile = server_.chainFile;
  options.privateKeyFile = another.keyFile;
  EXPECT_THROW(ServerContext::create(options), TlsConfigurationError);
  options.privateKeyFile = server_.keyFile;
  options.requireClientCertificate = true;  // ... but from which CAs?
  EXPECT_THROW(ServerContext::create(options), TlsConfigurationError);
}

}  // namespace
}  // namespace deft::tls
