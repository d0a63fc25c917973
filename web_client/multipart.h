// File: web_client/multipart.h
//
// MultipartForm: a multipart/form-data request body (RFC 7578), as an HTML form with file inputs
// sends it (curl -F, aiohttp's FormData, treq's files=). Files are read as the connection takes
// them, never held whole.
//
//   MultipartForm form;
//   form.addField("name", "deft");
//   if (absl::Status s = form.addFile("upload", "report.pdf"); !s.ok()) ...
//   http::Headers headers;
//   headers.set("Content-Type", form.contentType());
//   agent->request("POST", url, headers, form.body().value());

#ifndef DEFT_WEB_CLIENT_MULTIPART_H_
#define DEFT_WEB_CLIENT_MULTIPART_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "web_client/request_body.h"

namespace deft::web {

class MultipartForm {
 public:
  // A random boundary, of curl's shape (24 dashes and 16 hex digits).
  MultipartForm();
  // Or one of the caller's; it must not occur in any part.
  explicit MultipartForm(std::string boundary) : boundary_(std::move(boundary)) {}

  // A plain field; `contentType` is sent only when given.
  void addField(std::string name, std::string value, std::string contentType = "");
  // A file: its contents, read when the body is sent, with a filename (the path's last segment
  // unless given) and a Content-Type (given, or guessed from the extension as curl does:
  // application/octet-stream when unknown). NotFound when it cannot be read now.
  absl::Status addFile(std::string name, std::string path, std::string contentType = "",
                       std::optional<std::string> filename = std::nullopt);

  // "multipart/form-data; boundary=...": the request's Content-Type.
  std::string contentType() const { return "multipart/form-data; boundary=" + boundary_; }
  const std::string& boundary() const { return boundary_; }

  // The body, with its length (file sizes taken now). Each call gives a body that can be sent
  // again (for a redirect that keeps it). FailedPrecondition when a file has gone.
  absl::StatusOr<RequestBody> body() const;

 private:
  struct Part {
    std::string head;  // the delimiter and the part's header fields
    std::string data;  // a field's value
    std::optional<std::string> path;  // or a file's
  };
  std::string boundary_;
  std::vector<Part> parts_;
};

// The Content-Type curl gives a file of this name: by its extension, else
// application/octet-stream.
std::string guessContentType(std::string_view filename);

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_MULTIPART_H_
