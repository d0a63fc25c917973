// Load client for the UDP echo benchmark, on raw epoll so it favours no server library.
//
//   udp_load --port=P [--sockets=100] [--window=4] [--seconds=5] [--size=64]
//
// Each of N sockets keeps `window` datagrams of `size` bytes in flight to 127.0.0.1:P and sends
// one more for each that comes back. A socket that hears nothing for 200 ms (datagrams lost in a
// full buffer) sends its window again. Prints datagrams echoed, seconds and datagrams/s.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace {

long flag(int argc, char** argv, const char* name, long fallback) {
  const std::string value = deft::bench::flag(argc, argv, name, "");
  return value.empty() ? fallback : std::strtol(value.c_str(), nullptr, 10);
}

using Clock = std::chrono::steady_clock;

}  // namespace

int main(int argc, char** argv) {
  const int port = static_cast<int>(flag(argc, argv, "port", 9999));
  const int sockets = static_cast<int>(flag(argc, argv, "sockets", 100));
  const int window = static_cast<int>(flag(argc, argv, "window", 4));
  const double seconds = static_cast<double>(flag(argc, argv, "seconds", 5));
  const std::size_t size = static_cast<std::size_t>(flag(argc, argv, "size", 64));
  const std::string message(size, 'u');

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  const int epoll = ::epoll_create1(0);
  std::vector<int> fds;
  std::vector<Clock::time_point> heard(static_cast<std::size_t>(sockets), Clock::now());
  for (int i = 0; i < sockets; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    fds.push_back(fd);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(i);
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    for (int w = 0; w < window; ++w) ::send(fd, message.data(), size, 0);
  }

  long echoed = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto lastCheck = start;
  char buffer[65536];
  epoll_event events[256];
  while (Clock::now() < end) {
    const int ready = ::epoll_wait(epoll, events, 256, 50);
    const auto now = Clock::now();
    for (int i = 0; i < ready; ++i) {
      const uint32_t index = events[i].data.u32;
      while (::recv(fds[index], buffer, sizeof buffer, 0) > 0) {
        ++echoed;
        ::send(fds[index], message.data(), size, 0);
      }
      heard[index] = now;
    }
    if (now - lastCheck > std::chrono::milliseconds(100)) {
      lastCheck = now;
      for (int i = 0; i < sockets; ++i) {
        if (now - heard[static_cast<std::size_t>(i)] > std::chrono::milliseconds(200)) {
          heard[static_cast<std::size_t>(i)] = now;
          for (int w = 0; w < window; ++w) ::send(fds[static_cast<std::size_t>(i)], message.data(), size, 0);
        }
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("messages=%ld seconds=%.2f rate=%.0f\n", echoed, elapsed,
              static_cast<double>(echoed) / elapsed);
  for (int fd : fds) ::close(fd);
  return 0;
}
