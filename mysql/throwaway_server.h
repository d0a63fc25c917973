// File: mysql/throwaway_server.h
//
// A MariaDB server of its own for tests, benchmarks and demos: a fresh data directory under /tmp
// (mariadb-install-db), mariadbd on a free loopback port and a Unix socket in that directory,
// root without a password on both. Deleted, files and all, when the object goes. Needs Debian's
// mariadb-server (./bazelw installs it).
//
//   mysql::ThrowawayServer server;            // blocks until the server accepts connections
//   mysql::ConnectionPool pool(reactor, server.options());
//
// The calls here block (they start and stop processes): make them before the reactor runs, or
// from a test's body between runs of the loop.

#ifndef DEFT_MYSQL_THROWAWAY_SERVER_H_
#define DEFT_MYSQL_THROWAWAY_SERVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mysql/connection.h"

namespace deft::mysql {

class ThrowawayServer {
 public:
  // Installs and starts the server; throws std::runtime_error, with the server's log, if it
  // cannot. `extraArguments` go to mariadbd (such as "--max-connections=20").
  explicit ThrowawayServer(std::vector<std::string> extraArguments = {});
  ThrowawayServer(const ThrowawayServer&) = delete;
  ThrowawayServer& operator=(const ThrowawayServer&) = delete;
  ~ThrowawayServer();

  // Root over TCP to 127.0.0.1:port().
  ConnectOptions options() const;
  // Root over the Unix socket.
  ConnectOptions socketOptions() const;
  std::uint16_t port() const { return port_; }
  const std::string& socketPath() const { return socketPath_; }
  const std::string& directory() const { return directory_; }
  int pid() const { return pid_; }

  // SIGKILL, as a crash would; waits until the process is gone.
  void kill();
  // Starts the server again on the same data, port and socket (after kill()).
  void restart();

 private:
  void start();

  std::vector<std::string> extraArguments_;
  std::string directory_;
  std::string socketPath_;
  std::uint16_t port_ = 0;
  int pid_ = -1;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, read, released): what the server is
// started on, and what a test connects to when it wants a refusal.
std::uint16_t freeLoopbackPort();

}  // namespace deft::mysql

#endif  // DEFT_MYSQL_THROWAWAY_SERVER_H_
