#include "process/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "net/errors.h"

namespace deft {
namespace {

constexpr std::size_t kFileChunk = 64 * 1024;

// A descriptor of our own for `fd` (close-on-exec), so closing ours never closes the caller's.
int duplicate(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 0); }

}  // namespace

StandardIO::StandardIO(Reactor& reactor, std::unique_ptr<Protocol> protocol, int stdinFd,
                       int stdoutFd)
    : reactor_(reactor), protocol_(std::move(protocol)), stdinFd_(stdinFd), stdoutFd_(stdoutFd) {}

StandardIO::~StandardIO() {
  scope_.end();
  reader_.reset();
  writer_.reset();
  if (fileIn_ >= 0) ::close(fileIn_);
  if (fileOut_ >= 0) ::close(fileOut_);
}

void StandardIO::start() {
  internal::ignoreSigpipeOnce();
  // stdin: watched by the loop when epoll can (pipes, sockets, terminals), else read a chunk per
  // pass (regular files, /dev/null).
  // Both descriptors' flags before either changes: they may share one open file (a terminal, a
  // socket), whose O_NONBLOCK is then one flag for both.
  stdinFlags_ = ::fcntl(stdinFd_, F_GETFL);
  stdoutFlags_ = ::fcntl(stdoutFd_, F_GETFL);
  struct stat inInfo {};
  struct stat outInfo {};
  sharedFile_ = ::fstat(stdinFd_, &inInfo) == 0 && ::fstat(stdoutFd_, &outInfo) == 0 &&
                inInfo.st_dev == outInfo.st_dev && inInfo.st_ino == outInfo.st_ino;
  const int in = duplicate(stdinFd_);
  if (in < 0) {
    readDone_ = true;
    stdinFlags_ = -1;
  } else {
    internal::setNonBlocking(in);
    reader_ = std::make_unique<internal::PipeReader>(reactor_, in, 0, *this);
    try {
      reader_->startReading();
    } catch (const std::exception&) {  // EPERM: epoll cannot watch it
      reader_.reset();
      ::fcntl(stdinFd_, F_SETFL, stdinFlags_);
      stdinFlags_ = -1;
      stdinIsFile_ = true;
      fileIn_ = duplicate(stdinFd_);
      reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { readFileChunk(); }));
    }
  }
  const int out = duplicate(stdoutFd_);
  if (out < 0) {
    writeDone_ = true;
    stdoutFlags_ = -1;
  } else {
    internal::setNonBlocking(out);
    writer_ = std::make_unique<internal::PipeWriter>(reactor_, out, 1, *this);
    try {
      writer_->start();
    } catch (const std::exception&) {
      writer_.reset();
      ::fcntl(stdoutFd_, F_SETFL, stdoutFlags_);
      stdoutFlags_ = -1;
      stdoutIsFile_ = true;
      fileOut_ = duplicate(stdoutFd_);
    }
  }
  try {
    protocol_->makeConnection(this);
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
    abortConnection();
  }
}

// --- Reading ----------------------------------------------------------------------------------

void StandardIO::pipeDataReceived(int, std::string_view data) {
  try {
    protocol_->dataReceived(data);
  } catch (...) {
    // As for TCP: a protocol that throws loses its connection, with the error reported.
    internal::reportUnhandledFailure(Failure::fromCurrentException());
    abortConnection();
  }
}

void StandardIO::readFileChunk() {
  if (readDone_ || readPaused_ || fileIn_ < 0) return;
  static thread_local char buffer[kFileChunk];
  const ssize_t n = ::read(fileIn_, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { readFileChunk(); }));
    return;
  }
  if (n <= 0) {
    readEnded();
    return;
  }
  pipeDataReceived(0, std::string_view(buffer, static_cast<std::size_t>(n)));
  reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { readFileChunk(); }));
}

void StandardIO::pipeClosed(int tag, int error) {
  if (tag == 0) {
    readEnded();
  } else {
    writeEnded(error);
  }
}

void StandardIO::readEnded() {
  if (readDone_) return;
  readDone_ = true;
  std::shared_ptr<StandardIO> keep = shared_from_this();
  if (reader_) reader_->close();
  release(stdinFlags_, stdinFd_);
  if (!disconnecting_ && !writeDone_) {
    try {
      protocol_->readConnectionLost();
    } catch (...) {
      internal::reportUnhandledFailure(Failure::fromCurrentException());
      abortConnection();
      return;
    }
  }
  maybeEnded();
}

void StandardIO::pauseProducing() {
  readPaused_ = true;
  if (reader_) reader_->pauseReading();
}

void StandardIO::resumeProducing() {
  if (!readPaused_) return;
  readPaused_ = false;
  if (readDone_) return;
  if (reader_) {
    reader_->resumeReading();
  } else if (stdinIsFile_) {
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { readFileChunk(); }));
  }
}

// --- Writing ----------------------------------------------------------------------------------

void StandardIO::write(std::string_view data) {
  writeSequence(std::span<const std::string_view>(&data, 1));
}

void StandardIO::writeSequence(std::span<const std::string_view> pieces) {
  if (writeDone_ || disconnecting_) return;
  if (writer_) {
    writer_->writeSequence(pieces);
    return;
  }
  // A regular file takes everything now.
  for (std::string_view piece : pieces) {
    while (!piece.empty()) {
      const ssize_t n = ::write(fileOut_, piece.data(), piece.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        reactor_.callLater(absl::ZeroDuration(),
                           scope_.bind([this, error] { writeEnded(error); }));
        return;
      }
      piece.remove_prefix(static_cast<std::size_t>(n));
    }
  }
}

std::size_t StandardIO::bufferedBytes() const { return writer_ ? writer_->bufferedBytes() : 0; }

void StandardIO::setHighWaterMark(std::size_t bytes) {
  if (writer_) writer_->setHighWaterMark(bytes);
}

void StandardIO::registerProducer(IPushProducer* producer) {
  if (writer_) writer_->registerProducer(producer);
}

void StandardIO::registerProducer(IPullProducer* producer) {
  if (writer_) {
    writer_->registerProducer(producer);
    return;
  }
  // A regular file is always ready: ask for a chunk a pass until the producer unregisters.
  if (!stdoutIsFile_) return;
  filePullProducer_ = producer;
  reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { pullFromProducer(); }));
}

void StandardIO::pullFromProducer() {
  if (filePullProducer_ == nullptr || writeDone_) return;
  filePullProducer_->resumeProducing();
  if (filePullProducer_ != nullptr) {
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { pullFromProducer(); }));
  }
}

void StandardIO::unregisterProducer() {
  filePullProducer_ = nullptr;
  if (writer_) writer_->unregisterProducer();
}

void StandardIO::writeEnded(int error) {
  if (writeDone_) {
    maybeEnded();  // after a half-close, the read side may just have ended too
    return;
  }
  writeDone_ = true;
  std::shared_ptr<StandardIO> keep = shared_from_this();
  if (IPullProducer* producer = std::exchange(filePullProducer_, nullptr)) producer->stopProducing();
  if (writer_) writer_->close();
  release(stdoutFlags_, stdoutFd_);
  if (error != 0) {
    // The reader of our stdout has gone: nothing we do can be seen; stop reading too.
    writeFailure_ = Failure(ConnectionLost(std::strerror(error)));
    if (!readDone_) {
      readDone_ = true;
      if (reader_) reader_->close();
      release(stdinFlags_, stdinFd_);
    }
  }
  maybeEnded();
}

// --- Closing ----------------------------------------------------------------------------------

void StandardIO::loseConnection() {
  if (disconnecting_ || ended_) return;
  disconnecting_ = true;
  if (!readDone_) {
    readDone_ = true;
    if (reader_) reader_->close();
    release(stdinFlags_, stdinFd_);
  }
  if (writer_ && !writeDone_) {
    writer_->loseConnection();  // pipeClosed(1, 0) once drained
  } else {
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { writeEnded(0); }));
  }
}

void StandardIO::loseWriteConnection() {
  if (writeDone_) return;
  if (writer_) {
    writer_->loseConnection();
  } else {
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { writeEnded(0); }));
  }
}

void StandardIO::abortConnection() {
  if (ended_) return;
  disconnecting_ = true;
  writeFailure_ = Failure(ConnectionLost("connection was aborted"));
  reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] {
    readDone_ = true;
    if (reader_) reader_->close();
    release(stdinFlags_, stdinFd_);
    writeEnded(0);
  }));
}

void StandardIO::disconnect() {
  if (ended_) return;
  std::shared_ptr<StandardIO> keep = shared_from_this();
  readDone_ = true;
  if (reader_) reader_->close();
  release(stdinFlags_, stdinFd_);
  writeEnded(0);
}

void StandardIO::release(int& savedFlags, int originalFd) {
  // A terminal shared with the shell gets its blocking mode back; when stdin and stdout share one
  // open file, only once neither side uses it any more.
  const bool otherSideActive = sharedFile_ && (originalFd == stdinFd_ ? !writeDone_ : !readDone_);
  if (savedFlags >= 0 && !otherSideActive) ::fcntl(originalFd, F_SETFL, savedFlags);
  savedFlags = -1;
  // Our side is closed: the peer must see it, so the description goes, and fd 0/1 stays a valid
  // descriptor (of /dev/null) rather than a number the next open() would take.
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup3(null, originalFd, 0);
    ::close(null);
  }
  if (originalFd == stdinFd_ && fileIn_ >= 0) {
    ::close(fileIn_);
    fileIn_ = -1;
  }
  if (originalFd == stdoutFd_ && fileOut_ >= 0) {
    ::close(fileOut_);
    fileOut_ = -1;
  }
}

void StandardIO::maybeEnded() {
  if (ended_ || !readDone_ || !writeDone_) return;
  ended_ = true;
  protocol_->endConnection(writeFailure_ ? *writeFailure_ : Failure(ConnectionDone()));
  scope_.end();
  reactor_.untrack(this);
}

std::shared_ptr<StandardIO> startStandardIO(Reactor& reactor, std::unique_ptr<Protocol> protocol,
                                            int stdinFd, int stdoutFd) {
  auto io = std::make_shared<StandardIO>(reactor, std::move(protocol), stdinFd, stdoutFd);
  reactor.track(io);
  io->start();
  return io;
}

}  // namespace deft
