#include "web_client/request_body.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "http/errors.h"
#include "net/errors.h"
#include "reactor/reactor.h"
#include "reactor/thread_pool.h"

namespace deft::web {

Deferred<void> RequestBodyWriter::write(std::string_view data) {
  if (transport_ == nullptr) {
    return fail<void>(Failure(ConnectionLost("the request is over: its body is not wanted")));
  }
  if (data.empty()) return succeed();
  if (length_ && data.size() > *length_ - written_) {
    return fail<void>(Failure(http::InvalidMessageError(absl::StrCat(
        "the request body's producer wrote more than the ", *length_, " bytes its length promised"))));
  }
  written_ += data.size();
  if (!length_) {
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

// Owns the descriptor for as long as any copy of the body may be produced.
struct OpenFile {
  explicit OpenFile(int descriptor, bool seekable) : fd(descriptor), seekable(seekable) {}
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile() {
    if (fd != STDIN_FILENO) ::close(fd);
  }
  const int fd;
  const bool seekable;  // a regular file: read from its start each time (pread)
  bool produced = false;
};

// One piece of the file: from `offset` of a regular file, or the next bytes of a pipe, read on
// the thread pool so that a slow writer does not hold up the loop.
Deferred<std::string> readPiece(std::shared_ptr<OpenFile> file, std::uint64_t offset) {
  auto read = [file, offset]() -> std::string {
    std::string piece(64 << 10, '\0');
    for (;;) {
      const ssize_t n = file->seekable ? ::pread(file->fd, piece.data(), piece.size(), static_cast<off_t>(offset))
                                       : ::read(file->fd, piece.data(), piece.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(absl::StrCat("reading the request body: ", std::strerror(errno)));
      piece.resize(static_cast<std::size_t>(n));
      return piece;
    }
  };
  if (file->seekable) return succeed(read());  // a regular file waits only for the disk
  return deft::reactor().deferToThread(std::move(read));
}

Deferred<void> produceFile(std::shared_ptr<OpenFile> file, std::shared_ptr<RequestBodyWriter> out) {
  if (!file->seekable && file->produced) {
    throw std::runtime_error("standard input was sent already: it cannot be sent again");
  }
  file->produced = true;
  std::uint64_t offset = 0;
  for (;;) {
    std::string piece = co_await readPiece(file, offset);
    if (piece.empty()) co_return;
    offset += piece.size();
    co_await out->write(piece);
  }
}

}  // namespace

absl::StatusOr<RequestBody> RequestBody::fromFile(const std::string& path) {
  const int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = absl::StrCat("cannot open ", path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(why) : absl::PermissionDeniedError(why);
  }
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  auto file = std::make_shared<OpenFile>(fd, regular);
  RequestBody body;
  if (regular && path != "-") body.length = static_cast<std::uint64_t>(info.st_size);
  body.produce = [file](std::shared_ptr<RequestBodyWriter> out) { return produceFile(file, std::move(out)); };
  return body;
}

}  // namespace deft::web
