#include "unix/unix.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/errors.h"

namespace deft {
namespace {

std::string errnoText(int error) { return std::strerror(error); }

CannotListenError cannotListen(const std::string& path, const std::string& why) {
  return CannotListenError(absl::StrCat("Couldn't listen on ", path, ": ", why));
}

// Twisted's FilesystemLock: the lock is a symbolic link whose target is the holder's pid, made
// atomically by symlink(2). A lock whose holder is gone is taken over.
class PidLock {
 public:
  explicit PidLock(std::string path) : path_(std::move(path)) {}

  // Takes the lock, or throws naming the live holder.
  void acquire(const std::string& socketPath) {
    const std::string self = std::to_string(::getpid());
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (::symlink(self.c_str(), path_.c_str()) == 0) return;
      if (errno != EEXIST) throw cannotListen(socketPath, absl::StrCat(path_, ": ", errnoText(errno)));
      char target[32];
      const ssize_t n = ::readlink(path_.c_str(), target, sizeof target - 1);
      if (n < 0) {
        if (errno == ENOENT) continue;  // its holder just let go
        throw cannotListen(socketPath, absl::StrCat(path_, ": ", errnoText(errno)));
      }
      pid_t holder = 0;
      const auto parsed = std::from_chars(target, target + n, holder);
      const bool valid = parsed.ec == std::errc() && parsed.ptr == target + n && holder > 0;
      if (valid && (::kill(holder, 0) == 0 || errno == EPERM)) {
        throw cannotListen(socketPath, absl::StrCat("in use by process ", holder, " (", path_, ")"));
      }
      ::unlink(path_.c_str());  // a dead holder's, or not a pid at all: stale
    }
    throw cannotListen(socketPath, absl::StrCat(path_, ": could not be taken"));
  }

  void release() { ::unlink(path_.c_str()); }

 private:
  std::string path_;
};

// Makes way for a new socket at `path`: nothing there, or a socket file nobody accepts on
// (removed). Throws when a server answers there or something else is in the way.
void clearStaleSocket(const std::string& path, const Address& address) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return;  // nothing there
  if (!S_ISSOCK(info.st_mode)) throw cannotListen(path, "exists and is not a socket");
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) throw cannotListen(path, absl::StrCat("socket: ", errnoText(errno)));
  const int result = ::connect(probe, address.sockaddrPointer(), address.length());
  const int error = errno;
  ::close(probe);
  // EAGAIN: a live server whose accept queue is full.
  if (result == 0 || error == EAGAIN) throw cannotListen(path, "a server is listening there");
  if (error != ECONNREFUSED) throw cannotListen(path, errnoText(error));
  ::unlink(path.c_str());  // a dead server's
}

}  // namespace

std::shared_ptr<ListeningPort> listenUNIX(Reactor& reactor, const std::string& path,
                                          std::shared_ptr<Factory> factory,
                                          UnixListenOptions options) {
  std::optional<Address> address = Address::fromUnixPath(path);
  if (!address) throw cannotListen(path, "not a valid Unix socket name (empty, or over 107 bytes)");
  const bool abstract = path.front() == '@';

  std::optional<PidLock> lock;
  if (!abstract && options.wantPID) {
    lock.emplace(path + ".lock");
    lock->acquire(path);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  try {
    if (fd < 0) throw cannotListen(path, absl::StrCat("socket: ", errnoText(errno)));
    if (!abstract) clearStaleSocket(path, *address);
    if (::bind(fd, address->sockaddrPointer(), address->length()) != 0) {
      throw cannotListen(path, errnoText(errno));
    }
    // Before listen(): nobody can connect yet, so nobody connects under the wrong mode.
    if (!abstract && ::chmod(path.c_str(), options.mode) != 0) {
      const int error = errno;
      ::unlink(path.c_str());
      throw cannotListen(path, absl::StrCat("chmod: ", errnoText(error)));
    }
    if (::listen(fd, options.backlog) != 0) {
      const int error = errno;
      if (!abstract) ::unlink(path.c_str());
      throw cannotListen(path, errnoText(error));
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    if (lock) lock->release();
    throw;
  }
  absl::AnyInvocable<void()> removeFiles;
  if (!abstract) {
    removeFiles = [path, lock]() mutable {
      ::unlink(path.c_str());
      if (lock) lock->release();
    };
  }
  auto listening = std::make_shared<ListeningPort>(reactor, fd, factory, std::move(removeFiles));
  factory->doStart();
  reactor.track(listening);
  reactor.addReader(listening.get());
  return listening;
}

std::shared_ptr<Connector> connectUNIX(Reactor& reactor, const std::string& path,
                                       std::shared_ptr<ClientFactory> factory,
                                       absl::Duration timeout) {
  std::optional<Address> address = Address::fromUnixPath(path);
  if (!address) {
    throw ConnectError(absl::StrCat(path, ": not a valid Unix socket name"));
  }
  auto connector = std::make_shared<Connector>(reactor, std::move(*address), std::move(factory),
                                               timeout);
  connector->connect();
  return connector;
}

std::optional<PeerCredentials> getPeerCredentials(const ITransport& transport) {
  const auto* connection = dynamic_cast<const TcpConnection*>(&transport);
  if (connection == nullptr || !connection->getPeer().isUnix()) return std::nullopt;
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(connection->fileno(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return std::nullopt;
  }
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

}  // namespace deft
