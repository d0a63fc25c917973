#include "tests/support/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace deft::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(absl::StrCat("TestPki: ", what, " failed"));
}

KeyPtr newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "fopen");
  const bool ok = cert != nullptr ? PEM_write_X509(f, cert) == 1
                                  : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  check(ok, "PEM_write");
}

// The CA's key is read back from its file: Issued carries paths only.
KeyPtr readKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  check(f != nullptr, "fopen key");
  KeyPtr key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  check(key != nullptr, "PEM_read_PrivateKey");
  return key;
}

CertPtr readCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  check(f != nullptr, "fopen certificate");
  CertPtr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  check(cert != nullptr, "PEM_read_X509");
  return cert;
}

}  // namespace

TestPki::TestPki(std::string directory) : directory_(std::move(directory)) {}

Issued TestPki::makeCa(const std::string& name) {
  IssueOptions options;
  options.notAfter = absl::Hours(24 * 30);
  Issued ca;
  const std::string base = absl::StrCat(directory_, "/ca", serial_);
  KeyPtr key = newKey();
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial_++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  X509_set_pubkey(cert.get(), key.get());
  addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  ca.certificateFile = base + ".pem";
  ca.keyFile = base + ".key";
  ca.chainFile = ca.certificateFile;
  writePem(ca.certificateFile, cert.get(), nullptr);
  writePem(ca.keyFile, nullptr, key.get());
  return ca;
}

Issued TestPki::issue(const Issued& ca, const std::string& commonName, const IssueOptions& options) {
  const bool selfSigned = ca.certificateFile.empty();
  const std::string base = absl::StrCat(directory_, "/cert", serial_);
  KeyPtr key = newKey();
  CertPtr caCert = selfSigned ? nullptr : readCert(ca.certificateFile);
  KeyPtr caKey = selfSigned ? nullptr : readKey(ca.keyFile);
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial_++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), absl::ToInt64Seconds(options.notBefore));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(options.notAfter));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), selfSigned ? subject : X509_get_subject_name(caCert.get()));
  X509_set_pubkey(cert.get(), key.get());
  X509* issuer = selfSigned ? cert.get() : caCert.get();
  addExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  addExtension(cert.get(), issuer, NID_ext_key_usage, options.client ? "clientAuth" : "serverAuth");
  std::vector<std::string> names;
  for (const std::string& dns : options.dns) names.push_back("DNS:" + dns);
  for (const std::string& ip : options.ips) names.push_back("IP:" + ip);
  if (!names.empty()) {
    addExtension(cert.get(), issuer, NID_subject_alt_name, absl::StrJoin(names, ","));
  }
  check(X509_sign(cert.get(), selfSigned ? key.get() : caKey.get(), EVP_sha256()) > 0, "X509_sign");
  Issued issued;
  issued.certificateFile = base + ".pem";
  issued.keyFile = base + ".key";
  issued.chainFile = base + ".chain.pem";
  writePem(issued.certificateFile, cert.get(), nullptr);
  writePem(issued.keyFile, nullptr, key.get());
  std::ofstream(issued.chainFile)
      << readFile(issued.certificateFile) << (selfSigned ? "" : readFile(ca.certificateFile));
  return issued;
}

Issued TestPki::selfSigned(const std::string& commonName, const IssueOptions& options) {
  return issue(Issued{}, commonName, options);
}

}  // namespace deft::testing
