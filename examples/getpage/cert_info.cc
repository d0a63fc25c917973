#include "examples/getpage/cert_info.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string_view>

#include "absl/strings/str_format.h"

namespace getpage {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;
using PublicKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// Collects one certificate's entries: what is printed into `bio` becomes the value of the next
// label, as curl's push_certinfo takes it.
class Entries {
 public:
  explicit Entries(std::string& out) : out_(out), bio_(BIO_new(BIO_s_mem()), &BIO_free) {}
  BIO* bio() const { return bio_.get(); }

  void push(std::string_view label) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio_.get(), &data);
    const std::string_view value(data, length > 0 ? static_cast<std::size_t>(length) : 0);
    // curl writes the PEM ("Cert:") without its label, and ends every entry with a newline.
    if (label != "Cert") {
      out_.append(label);
      out_.push_back(':');
    }
    out_.append(value);
    if (!out_.empty() && out_.back() != '\n') out_.push_back('\n');
    (void)BIO_reset(bio_.get());
  }

  // A number of the public key: "rsa(n):C0FFEE...", in BN_print's hexadecimal.
  void pushNumber(const EVP_PKEY* key, const char* param, const char* type, const char* name) {
    BIGNUM* number = nullptr;
    if (EVP_PKEY_get_bn_param(key, param, &number) == 1) BN_print(bio_.get(), number);
    BN_free(number);
    push(absl::StrFormat("%s(%s)", type, name));
  }

 private:
  std::string& out_;
  Bio bio_;
};

void report(X509* x, std::string& out) {
  Entries entries(out);
  BIO* bio = entries.bio();
  X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_ONELINE);
  entries.push("Subject");
  X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0, XN_FLAG_ONELINE);
  entries.push("Issuer");
  BIO_printf(bio, "%lx", X509_get_version(x));
  entries.push("Version");
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  if (serial->type == V_ASN1_NEG_INTEGER) BIO_puts(bio, "-");
  for (int i = 0; i < serial->length; ++i) BIO_printf(bio, "%02x", serial->data[i]);
  entries.push("Serial Number");

  const ASN1_BIT_STRING* signature = nullptr;
  const X509_ALGOR* signatureAlgorithm = nullptr;
  X509_get0_signature(&signature, &signatureAlgorithm, x);
  if (signatureAlgorithm != nullptr) {
    i2a_ASN1_OBJECT(bio, signatureAlgorithm->algorithm);
    entries.push("Signature Algorithm");
  }
  if (X509_PUBKEY* key = X509_get_X509_PUBKEY(x)) {
    ASN1_OBJECT* algorithm = nullptr;
    X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, nullptr, key);
    if (algorithm != nullptr) {
      i2a_ASN1_OBJECT(bio, algorithm);
      entries.push("Public Key Algorithm");
    }
  }
  const STACK_OF(X509_EXTENSION)* extensions = X509_get0_extensions(x);
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    char name[128] = "";
    i2t_ASN1_OBJECT(name, sizeof(name), X509_EXTENSION_get_object(extension));
    if (X509V3_EXT_print(bio, extension, 0, 0) != 1) {
      ASN1_STRING_print(bio, X509_EXTENSION_get_data(extension));
    }
    entries.push(name);
  }
  ASN1_TIME_print(bio, X509_get0_notBefore(x));
  entries.push("Start date");
  ASN1_TIME_print(bio, X509_get0_notAfter(x));
  entries.push("Expire date");

  // The key's numbers, for the kinds curl reports (not EC keys: curl says nothing of those).
  if (PublicKey key(X509_get_pubkey(x), &EVP_PKEY_free); key) {
    switch (EVP_PKEY_get_base_id(key.get())) {
      case EVP_PKEY_RSA:
        BIO_printf(bio, "%d", EVP_PKEY_get_bits(key.get()));
        entries.push("RSA Public Key");
        entries.pushNumber(key.get(), OSSL_PKEY_PARAM_RSA_N, "rsa", "n");
        entries.pushNumber(key.get(), OSSL_PKEY_PARAM_RSA_E, "rsa", "e");
        break;
      case EVP_PKEY_DSA:
      case EVP_PKEY_DH: {
        const char* type = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_DSA ? "dsa" : "dh";
        entries.pushNumber(key.get(), OSSL_PKEY_PARAM_FFC_P, type, "p");
        entries.pushNumber(key.get(), OSSL_PKEY_PARAM_FFC_Q, type, "q");
        entries.pushNumber(key.get(), OSSL_PKEY_PARAM_FFC_G, type, "g");
        entries.pushNumber(key.get(), OSSL_PKEY_PARAM_PUB_KEY, type, "pub_key");
        break;
      }
      default:
        break;
    }
  }
  if (signature != nullptr) {
    for (int i = 0; i < signature->length; ++i) BIO_printf(bio, "%02x:", signature->data[i]);
    entries.push("Signature");
  }
  PEM_write_bio_X509(bio, x);
  entries.push("Cert");
}

}  // namespace

std::string certificateReport(const std::vector<std::string>& certificates) {
  std::string out;
  for (const std::string& der : certificates) {
    const auto* data = reinterpret_cast<const unsigned char*>(der.data());
    Certificate x(d2i_X509(nullptr, &data, static_cast<long>(der.size())), &X509_free);
    if (x) report(x.get(), out);
  }
  return out;
}

}  // namespace getpage
