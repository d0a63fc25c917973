#include "web_client/multipart.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace deft::web {
namespace {

// A name or filename inside a quoted-string: '"', CR and LF percent-escaped, as browsers (and curl
// since 7.81) do.
std::string quotedName(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') {
      out += "%22";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Deferred<void> streamFile(std::string path, std::shared_ptr<RequestBodyWriter> out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::string piece(64 << 10, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(absl::StrCat("reading ", path, ": ", std::strerror(errno)));
    if (n == 0) co_return;
    co_await out->write(std::string_view(piece.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace

std::string guessContentType(std::string_view filename) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".gif", "image/gif"},  {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
      {".png", "image/png"},  {".svg", "image/svg+xml"},   {".txt", "text/plain"},
      {".htm", "text/html"},  {".html", "text/html"},      {".pdf", "application/pdf"},
      {".xml", "application/xml"}};
  const std::string name = absl::AsciiStrToLower(std::string(filename));
  for (const auto& [extension, type] : kTypes) {
    if (name.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

MultipartForm::MultipartForm() {
  std::random_device random;
  boundary_ = absl::StrFormat("------------------------%08x%08x", random(), random());
}

void MultipartForm::addField(std::string name, std::string value, std::string contentType) {
  Part part;
  part.head = absl::StrCat("--", boundary_, "\r\nContent-Disposition: form-data; name=", quotedName(name), "\r\n");
  if (!contentType.empty()) absl::StrAppend(&part.head, "Content-Type: ", contentType, "\r\n");
  part.head += "\r\n";
  part.data = std::move(value);
  parts_.push_back(std::move(part));
}

absl::Status MultipartForm::addFile(std::string name, std::string path, std::string contentType,
                                    std::optional<std::string> filename) {
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  if (!filename) filename = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (contentType.empty()) contentType = guessContentType(*filename);
  Part part;
  part.head = absl::StrCat("--", boundary_, "\r\nContent-Disposition: form-data; name=", quotedName(name),
                           "; filename=", quotedName(*filename), "\r\nContent-Type: ", contentType,
                           "\r\n\r\n");
  part.path = std::move(path);
  parts_.push_back(std::move(part));
  return absl::OkStatus();
}

absl::StatusOr<RequestBody> MultipartForm::body() const {
  std::uint64_t length = 0;
  for (const Part& part : parts_) {
    length += part.head.size() + 2;  // and the CRLF ending the part's data
    if (!part.path) {
      length += part.data.size();
      continue;
    }
    struct stat info {};
    if (::stat(part.path->c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("not a readable file: ", *part.path));
    }
    length += static_cast<std::uint64_t>(info.st_size);
  }
  const std::string close = absl::StrCat("--", boundary_, "--\r\n");
  length += close.size();
  RequestBody body;
  body.length = length;
  auto parts = std::make_shared<const std::vector<Part>>(parts_);
  body.produce = [parts, close](std::shared_ptr<RequestBodyWriter> out) -> Deferred<void> {
    for (const Part& part : *parts) {
      co_await out->write(part.head);
      if (part.path) {
        co_await streamFile(*part.path, out);
      } else {
        co_await out->write(part.data);
      }
      co_await out->write("\r\n");
    }
    co_await out->write(close);
  };
  return body;
}

}  // namespace deft::web
