// Throw-away certificates made at test time with OpenSSL's API: a CA, certificates it issues
// (for names and addresses, valid, expired or not yet valid, for servers or clients), and
// self-signed ones, written as PEM files into a directory. EC P-256 keys, SHA-256 signatures.
//
//   TestPki pki(::testing::TempDir());
//   auto ca = pki.makeCa("Test CA");
//   auto server = pki.issue(ca, "localhost", {.dns = {"localhost"}, .ips = {"127.0.0.1"}});
//   // server.certificateFile, server.keyFile, ca.certificateFile

#ifndef DEFT_TESTS_SUPPORT_TEST_PKI_H_
#define DEFT_TESTS_SUPPORT_TEST_PKI_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace deft::testing {

struct Issued {
  std::string certificateFile;  // the certificate, PEM
  std::string keyFile;          // its private key, PEM
  std::string chainFile;        // the certificate, then its issuer's (what a server presents)
};

struct IssueOptions {
  std::vector<std::string> dns = {};
  std::vector<std::string> ips = {};
  // Validity relative to now: an expired certificate has both in the past.
  absl::Duration notBefore = absl::Hours(-1);
  absl::Duration notAfter = absl::Hours(24);
  bool client = false;  // extendedKeyUsage clientAuth instead of serverAuth
};

class TestPki {
 public:
  explicit TestPki(std::string directory);

  Issued makeCa(const std::string& name);
  Issued issue(const Issued& ca, const std::string& commonName, const IssueOptions& options = {});
  Issued selfSigned(const std::string& commonName, const IssueOptions& options = {});

 private:
  std::string directory_;
  int serial_ = 1;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_SUPPORT_TEST_PKI_H_
