// File: process/process.h
//
// Child processes on the reactor (Twisted's reactor.spawnProcess and ProcessProtocol): the
// child's stdin, stdout and stderr are pipes on the loop, its end is an event, and nothing blocks.
//
//   class Grep : public ProcessProtocol {
//     void connectionMade() override {
//       transport()->write("one\ntwo\nthree\n");
//       transport()->closeStdin();
//     }
//     void outReceived(std::string_view data) override { out_ += data; }
//     void processEnded(const Failure& reason) override { ... reason.check<ProcessDone>() ... }
//   };
//   spawnProcess(reactor, std::make_unique<Grep>(), "grep", {"grep", "t"});
//
// EVENTS, all on the reactor thread: connectionMade() once the child runs; childDataReceived(fd,
// data) as it writes (outReceived for 1, errReceived for 2); childConnectionLost(fd) as each pipe
// closes; processExited(reason) when the child has been reaped; processEnded(reason) once it has
// been reaped and every pipe is closed (a grandchild may hold a pipe open after the child exits).
// `reason` is ProcessDone for exit status 0, ProcessTerminated with the exit code or the signal
// otherwise (process/errors.h).
//
// THE CHILD. It is started with posix_spawn (no copy of the parent's memory, whatever its size),
// with every signal at its default disposition and none blocked, and with exactly the
// descriptors SpawnOptions::childFDs names: every other descriptor of the parent is closed in
// the child, whether or not it was close-on-exec. A missing executable, a bad working directory
// or a full process table is a ProcessSpawnError thrown by spawnProcess, before any event.
//
// REAPING. The child is watched through a pidfd (Linux 5.3 and later): it is reaped with a
// non-blocking waitpid when that becomes readable, with no SIGCHLD handler and no thread.
// Without pidfds (older kernels) it is polled every 50 ms instead.
//
// FLOW CONTROL. pauseProducing() stops reading the child's output: the pipe fills and the child
// blocks in its write, so a child that floods stdout costs a pipe's buffer, not memory without
// bound. writes to stdin are buffered; a producer registered on the process (its stdin) is
// paused past the high-water mark, as on a TCP transport.
//
// OWNERSHIP. The Process owns its ProcessProtocol and destroys it after processEnded; the
// reactor keeps the Process alive until then. The protocol's scope() ends right after
// processEnded: callbacks that capture the protocol's `this` go through it. A ProcessProtocol
// that throws from an event is reported (unhandled-failure hook) and its pipes are closed, as a
// TCP protocol that throws loses its connection; the child itself runs on.
//
// SHUTDOWN. When the reactor shuts down (or is destroyed) with children still running, it kills
// them (SIGKILL) and reaps them, and their protocols get processEnded: no child outlives its
// reactor as a zombie or an orphan. (Twisted leaves them running; a daemon that must outlive its
// parent should double-fork or use a service manager.)

#ifndef DEFT_PROCESS_PROCESS_H_
#define DEFT_PROCESS_PROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "deferred/failure.h"
#include "deferred/scope.h"
#include "process/errors.h"
#include "process/internal/pipe.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft {

class Process;

// What a child's descriptor is connected to (Twisted's childFDs values "w", "r" and an fd).
class ChildFd {
 public:
  // A pipe the parent writes and the child reads: the child's stdin, usually ("w").
  static ChildFd pipeToChild() { return ChildFd(Kind::kToChild, -1); }
  // A pipe the child writes and the parent reads: childDataReceived(fd, ...) ("r").
  static ChildFd pipeFromChild() { return ChildFd(Kind::kFromChild, -1); }
  // The parent's descriptor `parentFd`, shared with the child as it is (a file, a socket, the
  // parent's own stdout). The parent keeps its own.
  static ChildFd inherit(int parentFd) { return ChildFd(Kind::kInherit, parentFd); }

  enum class Kind { kToChild, kFromChild, kInherit };
  Kind kind() const { return kind_; }
  int parentFd() const { return parentFd_; }

 private:
  ChildFd(Kind kind, int parentFd) : kind_(kind), parentFd_(parentFd) {}
  Kind kind_;
  int parentFd_;
};

struct SpawnOptions {
  // The child's environment. nullopt: the parent's (a deliberate difference from Twisted, whose
  // default is an empty environment).
  std::optional<std::map<std::string, std::string>> env = std::nullopt;
  // The child's working directory; "" for the parent's.
  std::string path = {};
  // The child's descriptors; any not named is closed in the child. By default stdin, stdout and
  // stderr are pipes to and from the parent.
  std::map<int, ChildFd> childFDs = {{0, ChildFd::pipeToChild()},
                                     {1, ChildFd::pipeFromChild()},
                                     {2, ChildFd::pipeFromChild()}};
};

// Hears a child process's events (Twisted's ProcessProtocol).
class ProcessProtocol {
 public:
  virtual ~ProcessProtocol() = default;

  // The child runs; transport() is set.
  virtual void connectionMade() {}
  // Data the child wrote to `childFd`. Valid only during the call. By default fd 1 goes to
  // outReceived and fd 2 to errReceived.
  virtual void childDataReceived(int childFd, std::string_view data);
  virtual void outReceived(std::string_view data) { (void)data; }
  virtual void errReceived(std::string_view data) { (void)data; }
  // The pipe of `childFd` closed. By default 0, 1 and 2 go to the three below.
  virtual void childConnectionLost(int childFd);
  virtual void inConnectionLost() {}
  virtual void outConnectionLost() {}
  virtual void errConnectionLost() {}
  // The child has been reaped.
  virtual void processExited(const Failure& reason) { (void)reason; }
  // The child has been reaped and every pipe is closed: the last event.
  virtual void processEnded(const Failure& reason) { (void)reason; }

  Process* transport() const { return transport_; }
  // Work tied to this child: ends right after processEnded (deferred/scope.h).
  Scope& scope() { return scope_; }

 private:
  friend class Process;
  Process* transport_ = nullptr;
  Scope scope_;
};

// A running (or finished) child: the transport of its ProcessProtocol (Twisted's
// IProcessTransport). Its stdin is an IConsumer, and reading its output an IPushProducer.
class Process final : public FileDescriptor,
                      public Disconnectable,
                      public IConsumer,
                      public IPushProducer,
                      public internal::PipeOwner,
                      public std::enable_shared_from_this<Process> {
 public:
  Process(Reactor& reactor, std::unique_ptr<ProcessProtocol> protocol);
  ~Process() override;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The child's pid; 0 once it has been reaped (the number may belong to another process then).
  pid_t pid() const { return reaped_ ? 0 : pid_; }

  // Writes to the child's stdin (fd 0) / to its descriptor `childFd` (a pipeToChild). Dropped
  // once that pipe is closed.
  void write(std::string_view data) override { writeToChild(0, data); }
  void writeToChild(int childFd, std::string_view data);
  // Closes the pipe of `childFd`: a pipe to the child once what is buffered has been written
  // (the child then reads end of file), a pipe from the child at once.
  void closeChildFD(int childFd);
  void closeStdin() { closeChildFD(0); }
  void closeStdout() { closeChildFD(1); }
  void closeStderr() { closeChildFD(2); }
  // Closes every pipe (stdin after its buffer drains).
  void loseConnection();

  // Sends `signal` to the child (through its pidfd: never to a process that reused its pid).
  // Throws ProcessExitedAlready once it has been reaped.
  void signalProcess(int signal);

  // IConsumer, on stdin.
  void registerProducer(IPushProducer* producer) override;
  void registerProducer(IPullProducer* producer) override;
  void unregisterProducer() override;
  // Bytes written to stdin and not yet taken by the pipe.
  std::size_t bufferedBytes() const;

  // IPushProducer: stop / go on reading the child's output.
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override { loseConnection(); }

  // How the child ended, once it has been reaped.
  bool exited() const { return reaped_; }
  std::optional<int> exitCode() const { return exitCode_; }
  std::optional<int> exitSignal() const { return exitSignal_; }

  ProcessProtocol* protocol() const { return protocol_.get(); }

  // FileDescriptor: the pidfd.
  int fileno() const override { return pidfd_; }
  void doRead() override { reap(); }
  // Disconnectable: the reactor shuts down.
  void disconnect() override;

  // Used by spawnProcess.
  void start(pid_t pid, std::vector<std::pair<int, int>> toChild,
             std::vector<std::pair<int, int>> fromChild);

 private:
  // PipeOwner
  void pipeDataReceived(int childFd, std::string_view data) override;
  void pipeClosed(int childFd, int error) override;

  void reap();
  void pollLater();
  // start() failed after the child began: kill and reap it, close everything, tell nobody.
  void abandon();
  void exited(int status);
  void maybeEnded();
  void protocolFailed();
  Failure reason() const;

  Reactor& reactor_;
  std::unique_ptr<ProcessProtocol> protocol_;
  pid_t pid_ = 0;
  int pidfd_ = -1;
  bool reaped_ = false;
  bool ended_ = false;
  bool paused_ = false;
  std::optional<int> exitCode_;
  std::optional<int> exitSignal_;
  // Closed pipes stay here, closed, until the Process goes: a pipe may report its end from inside
  // its own call, so it is never destroyed there.
  std::map<int, std::unique_ptr<internal::PipeWriter>> writers_;
  std::map<int, std::unique_ptr<internal::PipeReader>> readers_;
};

// spawnProcess(reactor, protocol, executable, args, options)
//
// Starts `executable` (searched in PATH when it has no '/') with `args` as its argv (args[0] is
// the name it sees; empty: the executable's), and connects `protocol` to it. Throws
// ProcessSpawnError when the child cannot be started.
std::shared_ptr<Process> spawnProcess(Reactor& reactor, std::unique_ptr<ProcessProtocol> protocol,
                                      const std::string& executable,
                                      std::vector<std::string> args = {},
                                      SpawnOptions options = {});

}  // namespace deft

#endif  // DEFT_PROCESS_PROCESS_H_
