#include "mysql/throwaway_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace deft::mysql {

namespace {

// Runs `argv` with stdout and stderr to `logPath`; returns the pid.
int spawn(const std::vector<std::string>& argv, const std::string& logPath) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    const int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null = ::open("/dev/null", O_RDONLY);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    if (null >= 0) ::dup2(null, 0);
    ::setpgid(0, 0);  // a Ctrl-C to the test does not reach the server first
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool acceptsOn(const std::string& socketPath) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socketPath.c_str(), sizeof address.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

const char* findProgram(const std::vector<const char*>& candidates) {
  for (const char* path : candidates) {
    if (::access(path, X_OK) == 0) return path;
  }
  return nullptr;
}

int removeEntry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

}  // namespace

std::uint16_t freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

ThrowawayServer::ThrowawayServer(std::vector<std::string> extraArguments)
    : extraArguments_(std::move(extraArguments)) {
  char pattern[] = "/tmp/deft-mariadb-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  directory_ = pattern;
  socketPath_ = directory_ + "/mysqld.sock";
  const char* install = findProgram({"/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"});
  if (install == nullptr) {
    throw std::runtime_error("mariadb-install-db not found: install Debian's mariadb-server");
  }
  std::vector<std::string> argv = {install,
                                   "--no-defaults",
                                   "--datadir=" + directory_ + "/data",
                                   "--auth-root-authentication-method=normal",
                                   "--skip-test-db",
                                   // A minimal system may not resolve its own host name (no
                                   // /etc/hosts entry): grants by address, and no check.
                                   "--skip-name-resolve",
                                   "--force",
                                   "--innodb-log-file-size=16M",
                                   // Its own: bootstraps running at once collide in /tmp.
                                   "--tmpdir=" + directory_};
  if (::geteuid() == 0) argv.push_back("--user=root");
  const std::string log = directory_ + "/install.log";
  const int pid = spawn(argv, log);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string text = readFile(log);
    ::nftw(directory_.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
    throw std::runtime_error("mariadb-install-db failed:\n" + text);
  }
  start();
}

void ThrowawayServer::start() {
  const char* server = findProgram({"/usr/sbin/mariadbd", "/usr/sbin/mysqld"});
  if (server == nullptr) throw std::runtime_error("mariadbd not found: install Debian's mariadb-server");
  const std::string log = directory_ + "/error.log";
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = freeLoopbackPort();
    std::vector<std::string> argv = {server,
                                     "--no-defaults",
                                     "--datadir=" + directory_ + "/data",
                                     "--socket=" + socketPath_,
                                     "--port=" + std::to_string(port_),
                                     "--bind-address=127.0.0.1",
                                     "--pid-file=" + directory_ + "/mysqld.pid",
                                     "--log-error=" + log,
                                     "--tmpdir=" + directory_,
                                     "--skip-name-resolve",
                                     "--skip-log-bin",
                                     "--innodb-buffer-pool-size=64M",
                                     "--innodb-log-file-size=16M",
                                     "--innodb-flush-log-at-trx-commit=2",
                                     "--max-connections=500"};
    if (::geteuid() == 0) argv.push_back("--user=root");
    for (const std::string& a : extraArguments_) argv.push_back(a);
    pid_ = spawn(argv, directory_ + "/stdout.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;  // it exited: most likely the port was taken; try another
      }
      if (acceptsOn(socketPath_)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) kill();
  }
  throw std::runtime_error("mariadbd did not start:\n" + readFile(log));
}

void ThrowawayServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  ::unlink(socketPath_.c_str());
}

void ThrowawayServer::restart() {
  kill();
  start();
}

ThrowawayServer::~ThrowawayServer() {
  kill();
  ::nftw(directory_.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

ConnectOptions ThrowawayServer::options() const {
  ConnectOptions options;
  options.host = "127.0.0.1";
  options.port = port_;
  options.user = "root";
  return options;
}

ConnectOptions ThrowawayServer::socketOptions() const {
  ConnectOptions options;
  options.unixSocket = socketPath_;
  options.user = "root";
  return options;
}

}  // namespace deft::mysql
