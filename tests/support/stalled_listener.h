// A loopback port where connection attempts hang: a listening socket whose accept queue is
// full, so the kernel drops further SYNs. Nothing leaves the machine. For connect-timeout tests.

#ifndef DEFT_TESTS_SUPPORT_STALLED_LISTENER_H_
#define DEFT_TESTS_SUPPORT_STALLED_LISTENER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace deft::testing {

class StalledListener {
 public:
  // On 127.0.0.1, or on ::1 with AF_INET6 (throws when this machine has no IPv6 loopback).
  explicit StalledListener(int family = AF_INET) {
    listener_ = ::socket(family, SOCK_STREAM, 0);
    sockaddr_storage address{};
    socklen_t length = 0;
    if (family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
      v6->sin6_family = AF_INET6;
      v6->sin6_addr = in6addr_loopback;
      length = sizeof *v6;
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
      v4->sin_family = AF_INET;
      v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof *v4;
    }
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 0) != 0) {
      if (listener_ >= 0) ::close(listener_);
      throw std::runtime_error("StalledListener: cannot listen on loopback");
    }
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    for (int i = 0; i < 4; ++i) {  // more than a backlog of 0 admits
      const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), length);
      fillers_.push_back(fd);
    }
  }
  ~StalledListener() {
    for (int fd : fillers_) ::close(fd);
    ::close(listener_);
  }
  StalledListener(const StalledListener&) = delete;
  StalledListener& operator=(const StalledListener&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_SUPPORT_STALLED_LISTENER_H_
