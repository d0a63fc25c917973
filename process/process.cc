#include "process/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace deft {
namespace {

std::string errnoText(int error) { return std::strerror(error); }

int pidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int pidfdSendSignal(int pidfd, int signal) {
#ifdef SYS_pidfd_send_signal
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
#else
  (void)pidfd;
  (void)signal;
  errno = ENOSYS;
  return -1;
#endif
}

// Closes what it holds unless released: the descriptors of a spawn in progress.
class FdList {
 public:
  FdList() = default;
  FdList(const FdList&) = delete;
  FdList& operator=(const FdList&) = delete;
  ~FdList() {
    for (int fd : fds_) ::close(fd);
  }
  int add(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  void release(int fd) { fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end()); }

 private:
  std::vector<int> fds_;
};

// posix_spawn's attribute and file-action objects, destroyed however the spawn ends.
struct SpawnPlan {
  SpawnPlan() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attributes);
  }
  ~SpawnPlan() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
};

}  // namespace

// --- ProcessProtocol --------------------------------------------------------------------------

void ProcessProtocol::childDataReceived(int childFd, std::string_view data) {
  if (childFd == 1) {
    outReceived(data);
  } else if (childFd == 2) {
    errReceived(data);
  }
}

void ProcessProtocol::childConnectionLost(int childFd) {
  if (childFd == 0) {
    inConnectionLost();
  } else if (childFd == 1) {
    outConnectionLost();
  } else if (childFd == 2) {
    errConnectionLost();
  }
}

// --- Process ----------------------------------------------------------------------------------

Process::Process(Reactor& reactor, std::unique_ptr<ProcessProtocol> protocol)
    : reactor_(reactor), protocol_(std::move(protocol)) {}

Process::~Process() {
  if (pidfd_ >= 0) {
    reactor_.removeReader(this);
    ::close(pidfd_);
  }
}

void Process::start(pid_t pid, std::vector<std::pair<int, int>> toChild,
                    std::vector<std::pair<int, int>> fromChild) {
  pid_ = pid;
  // Every descriptor gets its owner first, so none leaks if watching one fails below.
  for (auto [childFd, fd] : toChild) {
    writers_[childFd] = std::make_unique<internal::PipeWriter>(reactor_, fd, childFd, *this);
  }
  for (auto [childFd, fd] : fromChild) {
    readers_[childFd] = std::make_unique<internal::PipeReader>(reactor_, fd, childFd, *this);
  }
  try {
    for (auto& [childFd, writer] : writers_) writer->start();
    for (auto& [childFd, reader] : readers_) reader->startReading();
    pidfd_ = pidfdOpen(pid);
    if (pidfd_ >= 0) {
      reactor_.addReader(this);
    } else {
      pollLater();
    }
  } catch (const std::exception& e) {
    // The child runs, but cannot be watched (out of epoll watches, say): it must not be left
    // behind unreaped. The protocol never connected, so it hears nothing; the caller gets the
    // error from spawnProcess.
    abandon();
    throw ProcessSpawnError(absl::StrCat("watching child ", pid, ": ", e.what()));
  }
  protocol_->transport_ = this;
  try {
    protocol_->connectionMade();
  } catch (...) {
    protocolFailed();
  }
}

void Process::pollLater() {
  reactor_.callLater(absl::Milliseconds(50), [self = weak_from_this()] {
    if (std::shared_ptr<Process> process = self.lock(); process && !process->reaped_) {
      process->reap();
      if (!process->reaped_) process->pollLater();
    }
  });
}

void Process::reap() {
  if (reaped_) return;
  int status = 0;
  const pid_t result = ::waitpid(pid_, &status, WNOHANG);
  if (result == pid_) {
    exited(status);
  } else if (result < 0 && errno == ECHILD) {
    // Someone else reaped it (a waitpid(-1) elsewhere in the program): the status is lost.
    exited(W_EXITCODE(255, 0));
  }
}

void Process::exited(int status) {
  reaped_ = true;
  if (WIFSIGNALED(status)) {
    exitSignal_ = WTERMSIG(status);
  } else {
    exitCode_ = WEXITSTATUS(status);
  }
  if (pidfd_ >= 0) {
    reactor_.removeReader(this);
    ::close(pidfd_);
    pidfd_ = -1;
  }
  std::shared_ptr<Process> keep = shared_from_this();
  try {
    protocol_->processExited(reason());
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  maybeEnded();
}

Failure Process::reason() const {
  if (exitCode_ == 0) return Failure(ProcessDone());
  return Failure(ProcessTerminated(exitCode_, exitSignal_));
}

void Process::maybeEnded() {
  if (ended_ || !reaped_) return;
  for (const auto& [fd, writer] : writers_) {
    if (!writer->closed()) return;
  }
  for (const auto& [fd, reader] : readers_) {
    if (!reader->closed()) return;
  }
  ended_ = true;
  try {
    protocol_->processEnded(reason());
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  try {
    protocol_->scope_.end();
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  reactor_.untrack(this);
}

void Process::pipeDataReceived(int childFd, std::string_view data) {
  try {
    protocol_->childDataReceived(childFd, data);
  } catch (...) {
    protocolFailed();
  }
}

void Process::pipeClosed(int childFd, int error) {
  (void)error;  // a pipe's end is the same event however it came
  try {
    protocol_->childConnectionLost(childFd);
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  maybeEnded();
}

void Process::protocolFailed() {
  internal::reportUnhandledFailure(Failure::fromCurrentException());
  // Closed from the loop, not under the protocol's call.
  reactor_.callLater(absl::ZeroDuration(), [self = weak_from_this()] {
    if (std::shared_ptr<Process> process = self.lock()) process->loseConnection();
  });
}

void Process::writeToChild(int childFd, std::string_view data) {
  auto it = writers_.find(childFd);
  if (it != writers_.end()) it->second->write(data);
}

void Process::closeChildFD(int childFd) {
  if (auto it = writers_.find(childFd); it != writers_.end()) it->second->loseConnection();
  if (auto it = readers_.find(childFd); it != readers_.end() && !it->second->closed()) {
    it->second->close();
    pipeClosed(childFd, 0);
  }
}

void Process::loseConnection() {
  std::shared_ptr<Process> keep = shared_from_this();
  for (auto& [childFd, writer] : writers_) writer->loseConnection();
  std::vector<int> open;
  for (auto& [childFd, reader] : readers_) {
    if (!reader->closed()) open.push_back(childFd);
  }
  for (int childFd : open) closeChildFD(childFd);
}

void Process::signalProcess(int signal) {
  if (reaped_) throw ProcessExitedAlready();
  if (pidfd_ >= 0 ? pidfdSendSignal(pidfd_, signal) != 0 : ::kill(pid_, signal) != 0) {
    if (errno == ESRCH) throw ProcessExitedAlready();  // exited, not yet reaped
    throw std::system_error(errno, std::generic_category(), "signalProcess");
  }
}

void Process::registerProducer(IPushProducer* producer) {
  auto it = writers_.find(0);
  if (it == writers_.end()) throw std::logic_error("the child's stdin is not a pipe");
  it->second->registerProducer(producer);
}

void Process::registerProducer(IPullProducer* producer) {
  auto it = writers_.find(0);
  if (it == writers_.end()) throw std::logic_error("the child's stdin is not a pipe");
  it->second->registerProducer(producer);
}

void Process::unregisterProducer() {
  if (auto it = writers_.find(0); it != writers_.end()) it->second->unregisterProducer();
}

std::size_t Process::bufferedBytes() const {
  auto it = writers_.find(0);
  return it == writers_.end() ? 0 : it->second->bufferedBytes();
}

void Process::pauseProducing() {
  paused_ = true;
  for (auto& [childFd, reader] : readers_) reader->pauseReading();
}

void Process::resumeProducing() {
  if (!paused_) return;
  paused_ = false;
  for (auto& [childFd, reader] : readers_) reader->resumeReading();
}

void Process::abandon() {
  for (auto& [childFd, writer] : writers_) writer->close();
  for (auto& [childFd, reader] : readers_) reader->close();
  if (pidfd_ >= 0) {
    reactor_.removeReader(this);
    ::close(pidfd_);
    pidfd_ = -1;
  }
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  reaped_ = ended_ = true;
  reactor_.untrack(this);
}

void Process::disconnect() {
  std::shared_ptr<Process> keep = shared_from_this();
  for (auto& [childFd, writer] : writers_) writer->close();
  for (auto& [childFd, reader] : readers_) reader->close();
  if (!reaped_) {
    // The reactor is going: nobody would reap the child later. SIGKILL ends it promptly, so this
    // one waitpid blocks only for as long as the kernel takes to tear it down.
    if (pidfd_ >= 0) {
      pidfdSendSignal(pidfd_, SIGKILL);
    } else {
      ::kill(pid_, SIGKILL);
    }
    int status = SIGKILL;  // as a SIGKILL's status, should someone else have reaped it
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exited(status);  // ends it, too: every pipe is closed
  }
  maybeEnded();
}

// --- spawnProcess -----------------------------------------------------------------------------

std::shared_ptr<Process> spawnProcess(Reactor& reactor, std::unique_ptr<ProcessProtocol> protocol,
                                      const std::string& executable, std::vector<std::string> args,
                                      SpawnOptions options) {
  if (protocol == nullptr) throw std::invalid_argument("spawnProcess: no protocol");
  internal::ignoreSigpipeOnce();
  if (args.empty()) args.push_back(executable);

  FdList fds;  // closed on every way out; what the Process takes is released
  int highestChildFd = 2;
  for (const auto& [childFd, spec] : options.childFDs) highestChildFd = std::max(highestChildFd, childFd);

  SpawnPlan plan;
  std::vector<std::pair<int, int>> toChild;    // (child fd, parent's end)
  std::vector<std::pair<int, int>> fromChild;
  for (const auto& [childFd, spec] : options.childFDs) {
    if (childFd < 0) throw std::invalid_argument("spawnProcess: a negative child descriptor");
    int childEnd = -1;
    if (spec.kind() == ChildFd::Kind::kInherit) {
      childEnd = spec.parentFd();
    } else {
      int ends[2];
      if (::pipe2(ends, O_CLOEXEC) != 0) {
        throw ProcessSpawnError(absl::StrCat("spawning ", executable, ": pipe: ", errnoText(errno)));
      }
      fds.add(ends[0]);
      fds.add(ends[1]);
      const bool parentWrites = spec.kind() == ChildFd::Kind::kToChild;
      const int parentEnd = parentWrites ? ends[1] : ends[0];
      childEnd = parentWrites ? ends[0] : ends[1];
      internal::setNonBlocking(parentEnd);
      (parentWrites ? toChild : fromChild).push_back({childFd, parentEnd});
    }
    // Each source goes first to a number above every target, so that no dup2 below overwrites a
    // source another one still needs (childFDs may swap 1 and 2, say).
    const int staged = ::fcntl(childEnd, F_DUPFD_CLOEXEC, highestChildFd + 1);
    if (staged < 0) {
      throw ProcessSpawnError(absl::StrCat("spawning ", executable, ": descriptor ",
                                           spec.parentFd(), ": ", errnoText(errno)));
    }
    fds.add(staged);
    ::posix_spawn_file_actions_adddup2(&plan.actions, staged, childFd);
  }
  for (int fd = 0; fd <= highestChildFd; ++fd) {
    if (!options.childFDs.contains(fd)) ::posix_spawn_file_actions_addclose(&plan.actions, fd);
  }
  // Everything else, close-on-exec or not, stays in the parent.
  ::posix_spawn_file_actions_addclosefrom_np(&plan.actions, highestChildFd + 1);
  if (!options.path.empty()) {
    ::posix_spawn_file_actions_addchdir_np(&plan.actions, options.path.c_str());
  }

  // Default dispositions for every signal (an ignored SIGPIPE is not the child's business) and
  // nothing blocked (the reactor's threads may block some).
  sigset_t all;
  sigset_t none;
  ::sigfillset(&all);
  ::sigemptyset(&none);
  ::posix_spawnattr_setsigdefault(&plan.attributes, &all);
  ::posix_spawnattr_setsigmask(&plan.attributes, &none);
  ::posix_spawnattr_setflags(&plan.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment;
  std::vector<char*> envp;
  if (options.env) {
    for (const auto& [name, value] : *options.env) environment.push_back(name + "=" + value);
    for (std::string& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }

  pid_t pid = 0;
  const bool searchPath = executable.find('/') == std::string::npos;
  const int error =
      (searchPath ? ::posix_spawnp : ::posix_spawn)(&pid, executable.c_str(), &plan.actions,
                                                    &plan.attributes, argv.data(),
                                                    options.env ? envp.data() : environ);
  if (error != 0) {
    throw ProcessSpawnError(absl::StrCat("spawning ", executable,
                                         options.path.empty() ? "" : " in " + options.path, ": ",
                                         errnoText(error)));
  }
  for (auto [childFd, fd] : toChild) fds.release(fd);
  for (auto [childFd, fd] : fromChild) fds.release(fd);
  // ~FdList closes the child's ends and the staged copies: the child has its own now.

  auto process = std::make_shared<Process>(reactor, std::move(protocol));
  reactor.track(process);
  process->start(pid, std::move(toChild), std::move(fromChild));
  return process;
}

}  // namespace deft
