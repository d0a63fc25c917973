#include "web_client/request_body.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "net/errors.h"

namespace deft::web {

Deferred<void> RequestBodyWriter::write(std::string_view data) {
  if (transport_ == nullptr) {
    return fail<void>(Failure(ConnectionLost("the request is over: its body is not wanted")));
  }
  if (data.empty()) return succeed();
  written_ += data.size();
  if (chunked_) {
    transport_->write(absl::StrCat(absl::Hex(data.size()), "\r\n"));
    transport_->write(data);
    transport_->write("\r\n");
  } else {
    transport_->write(data);
  }
  if (!paused_) return succeed();
  if (!waiting_) waiting_.emplace();
  return *waiting_;
}

void RequestBodyWriter::resumeProducing() {
  paused_ = false;
  if (waiting_) {
    Deferred<void> waiting = std::move(*waiting_);
    waiting_.reset();
    waiting.callback();
  }
}

void RequestBodyWriter::close() {
  transport_ = nullptr;
  if (waiting_) {
    Deferred<void> waiting = std::move(*waiting_);
    waiting_.reset();
    waiting.errback(Failure(ConnectionLost("the request is over: its body is not wanted")));
  }
}

RequestBody RequestBody::fromString(std::string data) {
  RequestBody body;
  body.length = data.size();
  body.produce = [data = std::make_shared<const std::string>(std::move(data))](
                     std::shared_ptr<RequestBodyWriter> out) { return out->write(*data); };
  return body;
}

namespace {

// Owns the descriptor for as long as the producer runs.
struct OpenFile {
  explicit OpenFile(int descriptor) : fd(descriptor) {}
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile() {
    if (fd != STDIN_FILENO) ::close(fd);
  }
  const int fd;
};

Deferred<void> readInto(std::shared_ptr<OpenFile> file, std::shared_ptr<RequestBodyWriter> out) {
  std::string piece(64 << 10, '\0');
  for (;;) {
    const ssize_t n = ::read(file->fd, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(absl::StrCat("reading the request body: ", std::strerror(errno)));
    if (n == 0) co_return;
    co_await out->write(std::string_view(piece.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace

absl::StatusOr<RequestBody> RequestBody::fromFile(const std::string& path) {
  const int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = absl::StrCat("cannot open ", path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(why) : absl::PermissionDeniedError(why);
  }
  auto file = std::make_shared<OpenFile>(fd);
  RequestBody body;
  struct stat info {};
  if (path != "-" && ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    body.length = static_cast<std::uint64_t>(info.st_size);
  }
  // Reading a regular file blocks only for the disk, as curl's does; a pipe or terminal on
  // standard input is read as it comes.
  body.produce = [file](std::shared_ptr<RequestBodyWriter> out) { return readInto(file, std::move(out)); };
  return body;
}

}  // namespace deft::web
