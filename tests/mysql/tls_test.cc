// TLS to MariaDB: a server started with a certificate made at test time, a client that verifies
// it (chain and address), and one that refuses a server it cannot verify.

#include <string>

#include "dns/cares_resolver.h"
#include "gtest/gtest.h"
#include "mysql/connection.h"
#include "mysql/errors.h"
#include "mysql/throwaway_server.h"
#include "reactor/reactor.h"
#include "tests/dns/dnsmasq.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/test_pki.h"

namespace deft {
namespace {

using testing::wait;

class MysqlTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new testing::TestPki(::testing::TempDir());
    ca_ = new testing::Issued(pki_->makeCa("deft test CA"));
    otherCa_ = new testing::Issued(pki_->makeCa("someone else's CA"));
    // Names db.test and 127.0.0.1, not localhost.
    const testing::Issued server =
        pki_->issue(*ca_, "db.test", {.dns = {"db.test"}, .ips = {"127.0.0.1"}});
    server_ = new mysql::ThrowawayServer({"--ssl-cert=" + server.chainFile,
                                          "--ssl-key=" + server.keyFile,
                                          "--ssl-ca=" + ca_->certificateFile});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete otherCa_;
    delete ca_;
    delete pki_;
  }

  static inline testing::TestPki* pki_ = nullptr;
  static inline testing::Issued* ca_ = nullptr;
  static inline testing::Issued* otherCa_ = nullptr;
  static inline mysql::ThrowawayServer* server_ = nullptr;
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(MysqlTlsTest, AVerifiedConnectionIsEncrypted) {
  mysql::ConnectOptions options = server_->options();
  options.tls.enabled = true;
  options.tls.caFile = ca_->certificateFile;
  auto c = wait(reactor_, mysql::connect(reactor_, options));
  ASSERT_TRUE(c.value) << c.failure->describe();
  auto cipher = wait(reactor_, c.value->query("SHOW SESSION STATUS LIKE 'Ssl_version'"));
  ASSERT_TRUE(cipher.value) << cipher.failure->describe();
  ASSERT_EQ(cipher.value->size(), 1u);
  EXPECT_EQ((*cipher.value)[0].get<std::string>(1).value_or("").substr(0, 4), "TLSv");

  mysql::ConnectOptions plain = server_->options();  // without TLS the same server says none
  auto p = wait(reactor_, mysql::connect(reactor_, plain));
  ASSERT_TRUE(p.value);
  auto none = wait(reactor_, p.value->query("SHOW SESSION STATUS LIKE 'Ssl_version'"));
  ASSERT_TRUE(none.value);
  EXPECT_EQ((*none.value)[0].get<std::string>(1), "");
}

// A host name is checked against the certificate as a name, not as the address it resolved to.
TEST_F(MysqlTlsTest, TheNameConnectedToIsWhatTheCertificateMustCarry) {
  testing::Dnsmasq dns({"127.0.0.1 db.test"}, {});
  reactor_.installResolver(
      std::make_shared<CaresResolver>(reactor_, CaresResolver::Options{.servers = {dns.server()}}));
  mysql::ConnectOptions options = server_->options();
  options.tls.enabled = true;
  options.tls.caFile = ca_->certificateFile;
  options.host = "db.test";
  auto named = wait(reactor_, mysql::connect(reactor_, options));
  EXPECT_TRUE(named.value) << named.failure->describe();

  options.host = "localhost";  // the same server, by a name its certificate does not carry
  auto wrongName = wait(reactor_, mysql::connect(reactor_, options));
  ASSERT_TRUE(wrongName.failure);
  EXPECT_NE(wrongName.failure->getErrorMessage().find("does not name localhost"), std::string::npos)
      << wrongName.failure->describe();
}

TEST_F(MysqlTlsTest, AServerThatCannotBeVerifiedIsRefused) {
  mysql::ConnectOptions options = server_->options();
  options.tls.enabled = true;
  options.tls.caFile = otherCa_->certificateFile;
  auto c = wait(reactor_, mysql::connect(reactor_, options));
  ASSERT_TRUE(c.failure);
  EXPECT_TRUE(c.failure->check<mysql::MysqlError>()) << c.failure->describe();

  options.tls.verifyServerCertificate = false;  // encrypted, but anyone's
  auto unverified = wait(reactor_, mysql::connect(reactor_, options));
  EXPECT_TRUE(unverified.value) << unverified.failure->describe();
}

}  // namespace
}  // namespace deft
