#include "tests/dns/dnsmasq.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace deft::testing {

int bindLoopbackUdp(std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

std::uint16_t freeUdpPort() {
  std::uint16_t port = 0;
  ::close(bindLoopbackUdp(&port));
  return port;
}

namespace {

// Whether something answers DNS on 127.0.0.1:port: a query for "ready.check" gets any reply.
bool answers(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval wait{0, 100'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                 5,    'r',  'e',  'a',  'd', 'y', 5, 'c', 'h', 'e', 'c', 'k', 0,
                                 0,    1,    0,    1};
  ::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
  unsigned char reply[512];
  const bool ok = ::recv(fd, reply, sizeof reply, 0) > 0;
  ::close(fd);
  return ok;
}

}  // namespace

Dnsmasq::Dnsmasq(const std::vector<std::string>& hostsFile,
                 const std::vector<std::string>& extraArguments) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  hostsPath_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/dnsmasq-hosts-" +
               std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  {
    std::ofstream hosts(hostsPath_);
    for (const std::string& line : hostsFile) hosts << line << "\n";
  }
  // dnsmasq cannot bind port 0 and report the port it got, so a port that was free a moment ago
  // is named, and another process (any TCP client: they share the port range) may take its UDP or
  // TCP side first. dnsmasq then exits at once; the next try uses another port.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (start(freeUdpPort(), extraArguments)) return;
  }
  ::unlink(hostsPath_.c_str());
  throw std::runtime_error("dnsmasq did not start (is dnsmasq-base installed? ./bazelw installs it)");
}

bool Dnsmasq::start(std::uint16_t port, const std::vector<std::string>& extraArguments) {
  std::vector<std::string> arguments = {
      "dnsmasq",          "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
      "--no-hosts",       "--bind-interfaces",    "--listen-address=127.0.0.1",
      "--port=" + std::to_string(port), "--addn-hosts=" + hostsPath_, "--local=/test/",
      "--user=root",      "--pid-file=",          "--log-facility=/dev/null"};
  arguments.insert(arguments.end(), extraArguments.begin(), extraArguments.end());
  const int pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& a : arguments) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("dnsmasq", argv.data());
    ::execv("/usr/sbin/dnsmasq", argv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 250; ++i) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // bind failed, or no binary
    if (answers(port)) {
      pid_ = pid;
      port_ = port;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

Dnsmasq::~Dnsmasq() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  ::unlink(hostsPath_.c_str());
}

}  // namespace deft::testing
