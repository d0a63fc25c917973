// File: process/stdio.h
//
// The process's own stdin and stdout as a transport (Twisted's stdio.StandardIO): a Protocol
// reads what arrives on stdin with dataReceived and writes to stdout, on the reactor, as it would
// over a TCP connection. For command-line tools, and for the process pool's workers.
//
//   int main() {
//     auto io = deft::startStandardIO(deft::reactor(), std::make_unique<deft::LineReceiver...>());
//     deft::reactor().run();
//   }
//
// EVENTS. connectionMade at once; dataReceived for each chunk of stdin; readConnectionLost at
// stdin's end of file (by default: loseConnection, as for TCP); connectionLost once both sides are
// closed, ConnectionDone for a clean end, ConnectionLost when stdout's reader went away (EPIPE).
//
// DESCRIPTORS. Pipes, sockets and terminals are watched by the loop, switched to non-blocking
// for the duration and put back as they were at the end. Regular files (`tool < input.txt`,
// `tool > out`) cannot be watched by epoll: they are read a chunk per pass of the loop, and
// written at once. When the transport closes a side, that descriptor is pointed at /dev/null,
// so the peer sees the end, and a later open() cannot land on fd 0 or 1 for printf to scribble
// on.
//
// OWNERSHIP. The StandardIO owns its protocol and destroys it after connectionLost; the reactor
// keeps it alive until then and closes it when it shuts down. Only one per process should exist.

#ifndef DEFT_PROCESS_STDIO_H_
#define DEFT_PROCESS_STDIO_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "deferred/failure.h"
#include "deferred/scope.h"
#include "process/internal/pipe.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft {

class StandardIO final : public ITransport,
                         public Disconnectable,
                         public internal::PipeOwner,
                         public std::enable_shared_from_this<StandardIO> {
 public:
  StandardIO(Reactor& reactor, std::unique_ptr<Protocol> protocol, int stdinFd, int stdoutFd);
  ~StandardIO() override;
  StandardIO(const StandardIO&) = delete;
  StandardIO& operator=(const StandardIO&) = delete;

  void start();

  // ITransport
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> pieces) override;
  void loseConnection() override;
  void abortConnection() override;
  void loseWriteConnection() override;
  Address getPeer() const override { return Address(); }
  Address getHost() const override { return Address(); }
  void setTcpNoDelay(bool) override {}
  void setTcpKeepAlive(bool) override {}
  std::size_t bufferedBytes() const override;
  void setHighWaterMark(std::size_t bytes) override;
  void registerProducer(IPushProducer* producer) override;
  void registerProducer(IPullProducer* producer) override;
  void unregisterProducer() override;
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override { loseConnection(); }

  // Disconnectable
  void disconnect() override;

  Protocol* protocol() const { return protocol_.get(); }

 private:
  // PipeOwner
  void pipeDataReceived(int tag, std::string_view data) override;
  void pipeClosed(int tag, int error) override;

  void readFileChunk();
  void pullFromProducer();
  void readEnded();
  void writeEnded(int error);
  void maybeEnded();
  void release(int& savedFlags, int originalFd);

  Reactor& reactor_;
  std::unique_ptr<Protocol> protocol_;
  int stdinFd_;
  int stdoutFd_;
  int stdinFlags_ = -1;   // the descriptors' flags before, to put back
  int stdoutFlags_ = -1;
  bool stdinIsFile_ = false;
  bool stdoutIsFile_ = false;
  bool sharedFile_ = false;  // stdin and stdout are one file (a terminal, a socket)
  IPullProducer* filePullProducer_ = nullptr;  // a pull producer on a regular-file stdout
  std::unique_ptr<internal::PipeReader> reader_;  // stdin, unless a regular file
  std::unique_ptr<internal::PipeWriter> writer_;  // stdout, unless a regular file
  int fileIn_ = -1;   // stdin as a regular file: read a chunk per pass
  int fileOut_ = -1;  // stdout as a regular file: written at once
  bool readDone_ = false;
  bool writeDone_ = false;
  bool disconnecting_ = false;
  bool readPaused_ = false;
  bool ended_ = false;
  std::optional<Failure> writeFailure_;
  Scope scope_;  // the file-reading passes
};

// startStandardIO(reactor, protocol, stdinFd, stdoutFd)
//
// Connects `protocol` to the process's stdin and stdout (or the two descriptors given; they are
// taken over until the transport closes).
std::shared_ptr<StandardIO> startStandardIO(Reactor& reactor, std::unique_ptr<Protocol> protocol,
                                            int stdinFd = 0, int stdoutFd = 1);

}  // namespace deft

#endif  // DEFT_PROCESS_STDIO_H_
