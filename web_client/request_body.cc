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

namespace deft::web {

Deferred<void> RequestBodyWriter::write(std::string_view data) {
  if (transport_ == nullptr) {
    return fail<void>(Failure(ConnectionLost("the request is over: its body is not wanted")));
  }
  if (data.empty()) return succeed();
  if (length_ && data.size() > *length_ - written_) {
    overran_ = true;
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
  OpenFile(int descriptor, bool seekable, bool pollable)
      : fd(descriptor), seekable(seekable), pollable(pollable) {}
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile() {
    if (fd != STDIN_FILENO) ::close(fd);
  }
  const int fd;
  const bool seekable;  // a regular file: read from its start each time (pread)
  const bool pollable;  // a pipe, socket or terminal: read when readable
  bool produced = false;
};

// The next bytes of a pipe or terminal, read when the reactor reports it readable: one read(2)
// then, which cannot block. The reactor keeps it alive while it waits (Reactor::track); a
// reactor that shuts down or is destroyed first disconnects it, and the read fails.
class PipePiece final : public FileDescriptor, public Disconnectable {
 public:
  PipePiece(Reactor& reactor, std::shared_ptr<OpenFile> file) : reactor_(reactor), file_(std::move(file)) {}

  static Deferred<std::string> read(Reactor& reactor, std::shared_ptr<OpenFile> file) {
    auto piece = std::make_shared<PipePiece>(reactor, std::move(file));
    reactor.track(piece);
    reactor.addReader(piece.get());
    return piece->waiting_;
  }
  int fileno() const override { return file_->fd; }
  void doRead() override {
    if (done_) return;
    std::string piece(64 << 10, '\0');
    const ssize_t n = ::read(file_->fd, piece.data(), piece.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    const int error = errno;
    finish();
    if (n < 0) {
      waiting_.errback(Failure(std::runtime_error(absl::StrCat("reading the request body: ", std::strerror(error)))));
      return;
    }
    piece.resize(static_cast<std::size_t>(n));
    waiting_.callback(std::move(piece));
  }
  void connectionLost(const Failure& reason) override {
    if (done_) return;
    finish();
    waiting_.errback(reason);
  }
  void disconnect() override {
    if (done_) return;
    finish();
    waiting_.errback(Failure(ConnectionDone("the reactor stopped while the request body was being read")));
  }

 private:
  // Stops watching; the reactor lets go of it at the end of this pass, never under this call.
  void finish() {
    done_ = true;
    reactor_.removeReader(this);
    reactor_.untrack(this);
  }

  Reactor& reactor_;
  std::shared_ptr<OpenFile> file_;
  Deferred<std::string> waiting_;
  bool done_ = false;
};

// One piece of the file: from `offset` of a regular file (waiting only for the disk), or the
// next bytes of a pipe.
Deferred<std::string> readPiece(Reactor& reactor, std::shared_ptr<OpenFile> file, std::uint64_t offset) {
  if (!file->seekable && file->pollable) return PipePiece::read(reactor, std::move(file));
  // A regular file, or a device epoll cannot watch (/dev/null, /dev/zero), which never blocks.
  std::string piece(64 << 10, '\0');
  for (;;) {
    const ssize_t n = file->seekable ? ::pread(file->fd, piece.data(), piece.size(), static_cast<off_t>(offset))
                                     : ::read(file->fd, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(absl::StrCat("reading the request body: ", std::strerror(errno)));
    piece.resize(static_cast<std::size_t>(n));
    return succeed(std::move(piece));
  }
}

Deferred<void> produceFile(std::shared_ptr<OpenFile> file, std::shared_ptr<RequestBodyWriter> out) {
  if (!file->seekable && file->produced) {
    throw std::runtime_error("standard input was sent already: it cannot be sent again");
  }
  file->produced = true;
  std::uint64_t offset = 0;
  for (;;) {
    std::string piece = co_await readPiece(out->reactor(), file, offset);
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
  const bool known = ::fstat(fd, &info) == 0;
  const bool regular = known && S_ISREG(info.st_mode);
  const bool pollable = known && (S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode) || ::isatty(fd));
  auto file = std::make_shared<OpenFile>(fd, regular, pollable);
  RequestBody body;
  if (regular && path != "-") body.length = static_cast<std::uint64_t>(info.st_size);
  body.produce = [file](std::shared_ptr<RequestBodyWriter> out) { return produceFile(file, std::move(out)); };
  return body;
}

}  // namespace deft::web
