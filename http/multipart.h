// File: http/multipart.h
//
// Reading a multipart/form-data body (RFC 7578) whole, as a server's handler receives a form with
// file inputs (Twisted's request.args for such a form). The client side, streamed, is
// web_client/multipart.h.
//
//   absl::StatusOr<std::vector<FormPart>> parts =
//       parseMultipart(request.body, request.headers.get("Content-Type").value_or(""));

#ifndef DEFT_HTTP_MULTIPART_H_
#define DEFT_HTTP_MULTIPART_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "http/headers.h"

namespace deft::http {

struct FormPart {
  std::string name;
  std::optional<std::string> filename;  // a file input's
  std::string contentType;              // "" when the part has none
  Headers headers;                      // all of the part's header fields
  std::string data;
};

// The parts of `body`, whose Content-Type (with its boundary) is `contentType`.
// InvalidArgument for a body that is not multipart, lacks its boundary, or is cut short. At most
// `maxParts` parts (a form of a million empty parts is refused rather than built).
absl::StatusOr<std::vector<FormPart>> parseMultipart(std::string_view body,
                                                     std::string_view contentType,
                                                     std::size_t maxParts = 1000);

}  // namespace deft::http

#endif  // DEFT_HTTP_MULTIPART_H_
