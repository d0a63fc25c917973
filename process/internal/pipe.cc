#include "process/internal/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

namespace deft::internal {
namespace {

constexpr std::size_t kReadSize = 64 * 1024;
constexpr int kMaxIovecs = 64;

}  // namespace

void ignoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      ::signal(SIGPIPE, SIG_IGN);
    }
  });
}

bool setNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// --- PipeReader -------------------------------------------------------------------------------

PipeReader::PipeReader(Reactor& reactor, int fd, int tag, PipeOwner& owner)
    : reactor_(reactor), fd_(fd), tag_(tag), owner_(owner) {}

PipeReader::~PipeReader() { close(); }

void PipeReader::startReading() {
  if (fd_ >= 0 && !paused_) reactor_.addReader(this);
}

void PipeReader::pauseReading() {
  paused_ = true;
  if (fd_ >= 0) reactor_.removeReader(this);
}

void PipeReader::resumeReading() {
  paused_ = false;
  if (fd_ >= 0) reactor_.addReader(this);
}

void PipeReader::close() {
  if (fd_ < 0) return;
  reactor_.removeReader(this);
  ::close(fd_);
  fd_ = -1;
}

void PipeReader::doRead() {
  static thread_local char buffer[kReadSize];
  const ssize_t n = ::read(fd_, buffer, sizeof buffer);
  if (n > 0) {
    owner_.pipeDataReceived(tag_, std::string_view(buffer, static_cast<std::size_t>(n)));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  finish(n == 0 ? 0 : errno);
}

void PipeReader::connectionLost(const Failure&) { finish(EIO); }

void PipeReader::finish(int error) {
  if (fd_ < 0) return;
  close();
  owner_.pipeClosed(tag_, error);
}

// --- PipeWriter -------------------------------------------------------------------------------

PipeWriter::PipeWriter(Reactor& reactor, int fd, int tag, PipeOwner& owner)
    : reactor_(reactor), fd_(fd), tag_(tag), owner_(owner) {}

PipeWriter::~PipeWriter() { close(); }

void PipeWriter::start() {
  // Only a pipe's write end is never readable, so only there does readability mean the reader
  // went away. A tty or socket may be stdout and stdin at once: its input is not an error.
  struct stat info {};
  if (fd_ >= 0 && ::fstat(fd_, &info) == 0 && S_ISFIFO(info.st_mode)) reactor_.addReader(this);
}

void PipeWriter::watchForWriting(bool writing) {
  if (fd_ < 0) return;
  if (writing) {
    if (!reactor_.isWriting(this)) reactor_.addWriter(this);
  } else {
    reactor_.removeWriter(this);
  }
}

void PipeWriter::write(std::string_view data) {
  writeSequence(std::span<const std::string_view>(&data, 1));
}

void PipeWriter::writeSequence(std::span<const std::string_view> pieces) {
  if (fd_ < 0 || disconnecting_ || error_ != 0) return;
  for (std::string_view piece : pieces) queue_.append(piece);
  if (queue_.empty()) return;
  if (!flush(/*fromLoop=*/false)) return;
  if (!queue_.empty()) watchForWriting(true);
  if (pushProducer_ != nullptr && !producerPaused_ && queue_.size() > highWater_) {
    producerPaused_ = true;
    pushProducer_->pauseProducing();
  }
}

bool PipeWriter::flush(bool fromLoop) {
  while (!queue_.empty()) {
    iovec iov[kMaxIovecs];
    const int count = queue_.gather(iov, kMaxIovecs);
    const ssize_t n = ::writev(fd_, iov, count);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      // EPIPE: the reader has gone. Inside write() the owner is not told now (it may be in the
      // middle of using this pipe): the loop tells it, on the next pass.
      if (fromLoop) {
        finish(errno);
      } else {
        error_ = errno;
        queue_.clear();
        watchForWriting(true);
      }
      return false;
    }
    queue_.consume(static_cast<std::size_t>(n));
    if (count < kMaxIovecs && !queue_.empty()) return true;  // the pipe is full
  }
  return true;
}

void PipeWriter::doWrite() {
  if (fd_ < 0) return;
  if (error_ != 0) {
    finish(error_);
    return;
  }
  if (!flush(/*fromLoop=*/true)) return;
  if (queue_.empty()) afterDrain();
}

void PipeWriter::afterDrain() {
  if (pullProducer_ != nullptr) {
    pullProducer_->resumeProducing();
    if (pullProducer_ != nullptr && fd_ >= 0) watchForWriting(true);
    return;
  }
  watchForWriting(false);
  if (pushProducer_ != nullptr && producerPaused_) {
    producerPaused_ = false;
    pushProducer_->resumeProducing();
    return;
  }
  if (disconnecting_) {
    finish(0);
    return;
  }
  owner_.pipeDrained(tag_);
}

void PipeWriter::doRead() {
  // A write end is never readable: this is EPOLLERR/EPOLLHUP, the reader closed its end.
  finish(EPIPE);
}

void PipeWriter::connectionLost(const Failure&) { finish(EIO); }

void PipeWriter::registerProducer(IPushProducer* producer) {
  if (pushProducer_ != nullptr || pullProducer_ != nullptr) {
    throw std::logic_error("a producer is already registered on this pipe");
  }
  pushProducer_ = producer;
  producerPaused_ = queue_.size() > highWater_;
  if (producerPaused_) producer->pauseProducing();
}

void PipeWriter::registerProducer(IPullProducer* producer) {
  if (pushProducer_ != nullptr || pullProducer_ != nullptr) {
    throw std::logic_error("a producer is already registered on this pipe");
  }
  pullProducer_ = producer;
  watchForWriting(true);  // the first drain asks for the first chunk
}

void PipeWriter::unregisterProducer() {
  pushProducer_ = nullptr;
  pullProducer_ = nullptr;
  producerPaused_ = false;
  if (disconnecting_) watchForWriting(true);  // loseConnection waited for it
}

void PipeWriter::loseConnection() {
  if (fd_ < 0 || disconnecting_) return;
  disconnecting_ = true;
  // Closes from doWrite once drained (at once if it is): never inside this call.
  if (pushProducer_ == nullptr && pullProducer_ == nullptr) watchForWriting(true);
}

void PipeWriter::close() {
  if (fd_ < 0) return;
  reactor_.removeReader(this);
  reactor_.removeWriter(this);
  ::close(fd_);
  fd_ = -1;
  queue_.clear();
}

void PipeWriter::finish(int error) {
  if (fd_ < 0) return;
  close();
  IProducer* producer = pushProducer_ != nullptr ? static_cast<IProducer*>(pushProducer_)
                                                 : pullProducer_;
  pushProducer_ = nullptr;
  pullProducer_ = nullptr;
  if (producer != nullptr) producer->stopProducing();
  owner_.pipeClosed(tag_, error);
}

}  // namespace deft::internal
