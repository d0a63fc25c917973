// File: process/internal/pipe.h
//
// The two ends of a pipe on the reactor, as a child process's stdin/stdout/stderr and as
// StandardIO's stdin/stdout see them. Not a public API: Process and StandardIO are.
//
// A pipe reports to its owner (the object holding it) through the PipeOwner interface rather
// than through callbacks, so nothing a pipe holds can point at an owner that is gone: the owner
// destroys its pipes before itself.

#ifndef DEFT_PROCESS_INTERNAL_PIPE_H_
#define DEFT_PROCESS_INTERNAL_PIPE_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "deferred/failure.h"
#include "net/write_queue.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft::internal {

class PipeOwner {
 public:
  // Data read from the pipe tagged `tag` (a child's fd number, say). Valid during the call.
  virtual void pipeDataReceived(int tag, std::string_view data) = 0;
  // The pipe is closed and forgotten: at end of file, after a writer's loseConnection drained,
  // or when the other end went away (`error`: 0 for a clean end, otherwise an errno).
  virtual void pipeClosed(int tag, int error) = 0;
  // A writer's buffer emptied (for pull producers and paused push producers it has resumed).
  virtual void pipeDrained(int tag) { (void)tag; }

 protected:
  ~PipeOwner() = default;
};

// Ignores SIGPIPE for the process if nobody set a handler: a write to a pipe whose reader has
// gone then fails with EPIPE, reported as pipeClosed, instead of killing the process. (Sockets
// need no such thing: they send with MSG_NOSIGNAL.) Children get the default back at exec.
void ignoreSigpipeOnce();

// Makes `fd` non-blocking; false if it cannot be (then it cannot be watched either).
bool setNonBlocking(int fd);

class PipeReader final : public FileDescriptor {
 public:
  // Takes ownership of `fd` (non-blocking). Reading starts with startReading().
  PipeReader(Reactor& reactor, int fd, int tag, PipeOwner& owner);
  ~PipeReader() override;
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  void startReading();
  void pauseReading();
  void resumeReading();
  // Closes without telling the owner.
  void close();
  bool closed() const { return fd_ < 0; }

  int fileno() const override { return fd_; }
  void doRead() override;
  void connectionLost(const Failure& reason) override;

 private:
  void finish(int error);

  Reactor& reactor_;
  int fd_;
  int tag_;
  PipeOwner& owner_;
  bool paused_ = false;
};

class PipeWriter final : public FileDescriptor, public IConsumer {
 public:
  // Takes ownership of `fd` (non-blocking). On a pipe, while nothing is buffered, it watches for
  // the reader going away (EPOLLERR), so that is noticed even when nothing is being written.
  // A write that finds the reader gone reports it from the loop, never inside write().
  PipeWriter(Reactor& reactor, int fd, int tag, PipeOwner& owner);
  ~PipeWriter() override;
  PipeWriter(const PipeWriter&) = delete;
  PipeWriter& operator=(const PipeWriter&) = delete;

  void start();

  // IConsumer: writes what the pipe takes now and buffers the rest. Dropped after
  // loseConnection or close.
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> pieces);
  void registerProducer(IPushProducer* producer) override;
  void registerProducer(IPullProducer* producer) override;
  void unregisterProducer() override;

  // Closes once everything buffered is written and any producer has unregistered; the owner
  // hears pipeClosed(tag, 0).
  void loseConnection();
  // Closes now, dropping what is buffered, without telling the owner.
  void close();
  bool closed() const { return fd_ < 0; }

  std::size_t bufferedBytes() const { return queue_.size(); }
  void setHighWaterMark(std::size_t bytes) { highWater_ = bytes; }

  int fileno() const override { return fd_; }
  void doRead() override;   // the reader has gone (EPOLLERR on the write end)
  void doWrite() override;
  void connectionLost(const Failure& reason) override;

 private:
  // Writes what the pipe takes; false if it failed: closed (from the loop) or marked (error_).
  bool flush(bool fromLoop);
  void afterDrain();
  void finish(int error);
  void watchForWriting(bool writing);

  Reactor& reactor_;
  int fd_;
  int tag_;
  PipeOwner& owner_;
  WriteQueue queue_;
  std::size_t highWater_ = 64 * 1024;
  IPushProducer* pushProducer_ = nullptr;
  IPullProducer* pullProducer_ = nullptr;
  bool producerPaused_ = false;
  bool disconnecting_ = false;
  int error_ = 0;  // a write failed outside the loop: reported at the next doWrite
};

}  // namespace deft::internal

#endif  // DEFT_PROCESS_INTERNAL_PIPE_H_
