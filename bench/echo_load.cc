// Load client for the echo benchmark, on raw epoll so it favours no server library.
//
//   echo_load --port=P [--connections=100] [--seconds=5] [--size=64]
//   echo_load --unix=PATH ...          (a Unix socket instead of 127.0.0.1:P)
//
// Keeps N connections each doing ping-pong: send `size` bytes, wait for all of them to come
// back, send again. Prints messages, seconds and messages/s on one line.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace {

long flag(int argc, char** argv, const char* name, long fallback) {
  const std::string value = deft::bench::flag(argc, argv, name, "");
  return value.empty() ? fallback : std::strtol(value.c_str(), nullptr, 10);
}

struct Connection {
  int fd;
  std::size_t pending;  // bytes of the current echo still to come back
};

}  // namespace

int main(int argc, char** argv) {
  const int port = static_cast<int>(flag(argc, argv, "port", 8000));
  const int connections = static_cast<int>(flag(argc, argv, "connections", 100));
  const double seconds = static_cast<double>(flag(argc, argv, "seconds", 5));
  const std::size_t size = static_cast<std::size_t>(flag(argc, argv, "size", 64));
  const std::string message(size, 'm');

  const std::string unixPath = deft::bench::flag(argc, argv, "unix", "");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  unixPath.copy(local.sun_path, sizeof local.sun_path - 1);

  const int epoll = ::epoll_create1(0);
  std::vector<Connection> all(static_cast<std::size_t>(connections));
  for (int i = 0; i < connections; ++i) {
    const int fd = ::socket(unixPath.empty() ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    const int connected =
        unixPath.empty()
            ? ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address)
            : ::connect(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
    if (connected != 0) {
      std::perror("connect");
      return 1;
    }
    const int one = 1;
    if (unixPath.empty()) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    all[static_cast<std::size_t>(i)] = {fd, size};
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(i);
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    if (::send(fd, message.data(), size, 0) != static_cast<ssize_t>(size)) return 1;
  }

  long messages = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<char> buffer(64 * 1024);
  epoll_event events[256];
  while (std::chrono::steady_clock::now() < end) {
    const int ready = ::epoll_wait(epoll, events, 256, 100);
    for (int i = 0; i < ready; ++i) {
      Connection& c = all[events[i].data.u32];
      const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) {
        std::fprintf(stderr, "connection closed by the server\n");
        return 1;
      }
      c.pending -= std::min(c.pending, static_cast<std::size_t>(n));
      if (c.pending == 0) {
        ++messages;
        c.pending = size;
        if (::send(c.fd, message.data(), size, 0) != static_cast<ssize_t>(size)) return 1;
      }
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("messages=%ld seconds=%.2f rate=%.0f\n", messages, elapsed,
              static_cast<double>(messages) / elapsed);
  for (Connection& c : all) ::close(c.fd);
  return 0;
}
