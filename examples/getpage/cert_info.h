// curl's certificate report (CURLINFO_CERTINFO, -w '%{certs}'), from the certificates a server
// sent: for each, "Label:value" lines in the order and wording of curl's OpenSSL backend
// (Subject, Issuer, Version, Serial Number, the algorithms, each extension, the dates, the public
// key's numbers, the signature), then the certificate itself in PEM.

#ifndef DEFT_EXAMPLES_GETPAGE_CERT_INFO_H_
#define DEFT_EXAMPLES_GETPAGE_CERT_INFO_H_

#include <string>
#include <vector>

namespace getpage {

// `certificates` DER-encoded, the server's own first (web::Response::peerCertificates). One that
// does not parse is skipped.
std::string certificateReport(const std::vector<std::string>& certificates);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_CERT_INFO_H_
