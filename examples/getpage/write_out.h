// curl's -w/--write-out for getpage: %{variable}s, %%, the \n \t \r \\ escapes, @FILE and @- for
// the format, and %{stdout}/%{stderr} to switch where the rest goes.

#ifndef DEFT_EXAMPLES_GETPAGE_WRITE_OUT_H_
#define DEFT_EXAMPLES_GETPAGE_WRITE_OUT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "http/headers.h"

namespace getpage {

// What -w can tell of one transfer.
struct Transfer {
  std::string url;           // as given
  std::string effectiveUrl;  // after redirects
  std::string method;
  std::string filename;  // where the body went ("" for stdout)
  int status = 0;        // 0: no response
  int redirects = 0;
  std::size_t bodyBytes = 0;
  std::size_t headerBytes = 0;
  std::size_t headerCount = 0;
  std::string contentType;
  std::string remoteIp;  // "" when nothing answered
  int remotePort = 0;
  std::string localIp;
  int localPort = 0;
  std::string referer;      // the Referer sent
  std::string redirectUrl;  // where a redirect not followed points
  std::size_t requestBytes = 0;  // the request's head and body as sent
  std::size_t uploadBytes = 0;   // its body
  const deft::http::Headers* responseHeaders = nullptr;  // for %header{name}
  // The certificates of the https connection the transfer opened (none on a reused one, as
  // curl's): for %{certs} and %{num_certs}.
  const std::vector<std::string>* certificates = nullptr;
  std::size_t urlNum = 0;       // its place among the command line's URLs, from 0
  absl::Duration startTransfer;  // until the response's head arrived
  absl::Duration timeNamelookup, timeConnect, timeAppconnect, timePretransfer, timeRedirect;
  int numConnects = 0;
  absl::Duration total;
  int exitCode = 0;
  std::string errorMessage;
};

// The format -w was given: itself, or the contents of FILE for "@FILE" ("@-": stdin); nullopt
// when the file cannot be read.
std::optional<std::string> writeOutFormat(const std::string& argument);

// Expands `format` for `transfer` and writes it (to stdout, or stderr after %{stderr}).
void writeOut(const std::string& format, const Transfer& transfer);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_WRITE_OUT_H_
