#include "udp/udp.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/errors.h"

namespace deft {
namespace {

// Datagrams per recvmmsg/sendmmsg, and recvmmsg calls per wake-up: enough to amortise the
// system calls, few enough that one busy port does not starve the rest of the loop.
constexpr unsigned kBatch = 32;
constexpr int kBatchesPerRead = 8;

// IPv4: 65,535 minus the IP (20) and UDP (8) headers. IPv6's payload length excludes its own
// header: 65,535 minus UDP's 8.
constexpr std::size_t kMaxIPv4Datagram = 65507;
constexpr std::size_t kMaxIPv6Datagram = 65527;

std::string errnoText(int error) { return std::strerror(error); }

bool wouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS; }

// The receive side's buffers: one set per thread (reads happen one at a time on the reactor
// thread), grown to the largest maxPacketSize asked for.
struct ReceiveBuffers {
  std::vector<char> bytes;
  std::size_t slot = 0;
  std::array<mmsghdr, kBatch> messages{};
  std::array<iovec, kBatch> iovecs{};
  std::array<sockaddr_storage, kBatch> addresses{};

  void prepare(std::size_t slotSize) {
    if (slotSize > slot) {
      slot = slotSize;
      bytes.assign(slot * kBatch, '\0');
    }
    for (unsigned i = 0; i < kBatch; ++i) {
      iovecs[i] = {bytes.data() + i * slot, slotSize};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &iovecs[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &addresses[i];
      messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
  }
};

// An interface given as an IP literal (IPv4) or a name ("lo"): its index, 0 for "".
unsigned interfaceIndex(const std::string& interface) {
  if (interface.empty()) return 0;
  const unsigned index = ::if_nametoindex(interface.c_str());
  if (index == 0) throw MulticastJoinError(absl::StrCat("no such interface: ", interface));
  return index;
}

ip_mreqn ipv4Request(const std::string& group, const std::string& interface) {
  ip_mreqn request{};
  std::optional<Address> groupAddress = Address::fromLiteral(group, 0);
  if (!groupAddress || groupAddress->isIPv6()) {
    throw MulticastJoinError(absl::StrCat("not an IPv4 group address: ", group));
  }
  request.imr_multiaddr =
      reinterpret_cast<const sockaddr_in*>(groupAddress->sockaddrPointer())->sin_addr;
  std::optional<Address> local = Address::fromLiteral(interface, 0);
  if (local && !local->isIPv6()) {
    request.imr_address = reinterpret_cast<const sockaddr_in*>(local->sockaddrPointer())->sin_addr;
  } else {
    request.imr_address.s_addr = htonl(INADDR_ANY);
    request.imr_ifindex = static_cast<int>(interfaceIndex(interface));
  }
  return request;
}

}  // namespace

UdpPort::UdpPort(Reactor& reactor, int fd, std::shared_ptr<DatagramProtocol> protocol,
                 UdpListenOptions options)
    : reactor_(reactor), fd_(fd), protocol_(std::move(protocol)), options_(std::move(options)) {}

UdpPort::~UdpPort() {
  if (fd_ >= 0) ::close(fd_);
}

void UdpPort::start() {
  listening_ = true;
  ipv6_ = getHost().isIPv6();
  protocol_->transport_ = this;
  reactor_.addReader(this);
  try {
    protocol_->startProtocol();
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
}

void UdpPort::checkOpen() const {
  if (!listening_) throw std::logic_error("UdpPort: the port has stopped listening");
}

Address UdpPort::getHost() const {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length);
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

std::size_t UdpPort::maxDatagramSize() const {
  return ipv6_ ? kMaxIPv6Datagram : kMaxIPv4Datagram;
}

// --- Receiving --------------------------------------------------------------------------------

void UdpPort::doRead() {
  // A callback may stop the port: the reactor lets go of it only at the end of this pass.
  static thread_local ReceiveBuffers buffers;
  for (int round = 0; round < kBatchesPerRead && listening_; ++round) {
    buffers.prepare(options_.maxPacketSize);
    const int n = ::recvmmsg(fd_, buffers.messages.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      const int error = errno;
      if (error == ECONNREFUSED && peer_) {
        try {
          protocol_->connectionRefused();
        } catch (...) {
          internal::reportUnhandledFailure(Failure::fromCurrentException());
        }
        continue;
      }
      return;  // EAGAIN: drained. Anything else is the next datagram's, not this port's, fault.
    }
    delivering_ = true;
    for (int i = 0; i < n && listening_; ++i) {
      const msghdr& header = buffers.messages[i].msg_hdr;
      if ((header.msg_flags & MSG_TRUNC) != 0) {
        ++dropped_;  // longer than maxPacketSize: never delivered cut
        continue;
      }
      const Address from = Address::fromSockaddr(
          static_cast<const sockaddr*>(header.msg_name), header.msg_namelen);
      try {
        protocol_->datagramReceived(
            std::string_view(static_cast<const char*>(buffers.iovecs[i].iov_base),
                             buffers.messages[i].msg_len),
            from);
      } catch (...) {
        internal::reportUnhandledFailure(Failure::fromCurrentException());
      }
    }
    delivering_ = false;
    sendHeld();
    if (static_cast<unsigned>(n) < kBatch) return;
  }
}

void UdpPort::connectionLost(const Failure& reason) {
  (void)reason;  // reported by the reactor already
  stopListening();
}

// --- Sending ----------------------------------------------------------------------------------

bool UdpPort::write(std::string_view datagram, const Address& to) {
  checkOpen();
  if (peer_ && !(to == *peer_)) {
    throw std::logic_error(absl::StrCat("UdpPort::write: connected to ", peer_->toString(),
                                        ", not ", to.toString()));
  }
  return send(datagram, &to);
}

bool UdpPort::write(std::string_view datagram) {
  checkOpen();
  if (!peer_) throw std::logic_error("UdpPort::write without an address: the port is not connected");
  return send(datagram, nullptr);
}

bool UdpPort::send(std::string_view datagram, const Address* to) {
  if (datagram.size() > maxDatagramSize()) {
    throw MessageLengthError(absl::StrCat("a datagram of ", datagram.size(),
                                          " bytes is over the largest UDP allows (",
                                          maxDatagramSize(), ")"));
  }
  if (delivering_) {
    // Held replies count against the same bound as queued ones.
    if (heldBytes_.size() + queuedBytes_ + datagram.size() > options_.maxQueuedBytes) {
      ++dropped_;
      return false;
    }
    held_.push_back({to ? std::optional<Address>(*to) : std::nullopt, heldBytes_.size(),
                     datagram.size()});
    heldBytes_.append(datagram);
    return true;
  }
  if (!queue_.empty()) return enqueue(datagram, to);
  const ssize_t sent = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                                to ? to->sockaddrPointer() : nullptr, to ? to->length() : 0);
  if (sent >= 0) return true;
  const int error = errno;
  if (wouldBlock(error)) return enqueue(datagram, to);
  if (error == ECONNREFUSED && peer_) {
    refusedLater();
    return true;  // the datagram was sent; the refusal is of an earlier one
  }
  if (error == EMSGSIZE) {
    throw MessageLengthError(absl::StrCat("a datagram of ", datagram.size(),
                                          " bytes is over what the path allows"));
  }
  throw DatagramSendError(absl::StrCat("sending to ", to ? to->toString() : peer_->toString(),
                                       ": ", errnoText(error)));
}

bool UdpPort::enqueue(std::string_view datagram, const Address* to) {
  if (queuedBytes_ + datagram.size() > options_.maxQueuedBytes) {
    ++dropped_;
    return false;
  }
  queue_.push_back({to ? std::optional<Address>(*to) : std::nullopt, std::string(datagram)});
  queuedBytes_ += datagram.size();
  if (!reactor_.isWriting(this)) reactor_.addWriter(this);
  return true;
}

void UdpPort::sendHeld() {
  std::size_t next = 0;
  while (next < held_.size() && listening_) {
    std::array<mmsghdr, kBatch> messages{};
    std::array<iovec, kBatch> iovecs{};
    const std::size_t count = std::min<std::size_t>(kBatch, held_.size() - next);
    for (std::size_t i = 0; i < count; ++i) {
      Held& out = held_[next + i];
      iovecs[i] = {heldBytes_.data() + out.offset, out.size};
      messages[i].msg_hdr.msg_iov = &iovecs[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      if (out.to) {
        messages[i].msg_hdr.msg_name = const_cast<sockaddr*>(out.to->sockaddrPointer());
        messages[i].msg_hdr.msg_namelen = out.to->length();
      }
    }
    const int sent = queue_.empty()
                         ? ::sendmmsg(fd_, messages.data(), static_cast<unsigned>(count),
                                      MSG_DONTWAIT | MSG_NOSIGNAL)
                         : 0;
    if (sent > 0) {
      next += static_cast<std::size_t>(sent);
      continue;
    }
    const int error = sent < 0 ? errno : EAGAIN;
    if (wouldBlock(error)) {
      for (; next < held_.size(); ++next) {
        Held& out = held_[next];
        enqueue(std::string_view(heldBytes_).substr(out.offset, out.size),
                out.to ? &*out.to : nullptr);
      }
      break;
    }
    // This datagram was refused (an unreachable host, a connected peer's ICMP): drop it, go on.
    if (error == ECONNREFUSED && peer_) {
      refusedLater();
    } else {
      ++dropped_;
    }
    ++next;
  }
  held_.clear();
  heldBytes_.clear();
}

bool UdpPort::flushQueue() {
  while (!queue_.empty()) {
    Outgoing& out = queue_.front();
    const ssize_t sent =
        ::sendto(fd_, out.data.data(), out.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 out.to ? out.to->sockaddrPointer() : nullptr, out.to ? out.to->length() : 0);
    if (sent < 0 && wouldBlock(errno)) return false;
    if (sent < 0) {
      if (errno == ECONNREFUSED && peer_) {
        refusedLater();
      } else {
        ++dropped_;
      }
    }
    queuedBytes_ -= out.data.size();
    queue_.pop_front();
  }
  return true;
}

void UdpPort::doWrite() {
  if (!listening_ || flushQueue()) reactor_.removeWriter(this);
}

void UdpPort::refusedLater() {
  reactor_.callLater(absl::ZeroDuration(), [self = weak_from_this()] {
    std::shared_ptr<UdpPort> port = self.lock();
    if (!port || !port->listening_) return;
    try {
      port->protocol_->connectionRefused();
    } catch (...) {
      internal::reportUnhandledFailure(Failure::fromCurrentException());
    }
  });
}

// --- Connected mode ---------------------------------------------------------------------------

void UdpPort::connect(const std::string& host, std::uint16_t port) {
  checkOpen();
  std::optional<Address> address = Address::fromLiteral(host, port);
  if (!address) {
    throw std::invalid_argument(absl::StrCat("UdpPort::connect: ", host,
                                             " is not an IP address (resolve names first)"));
  }
  if (address->isIPv6() != ipv6_) {
    throw std::invalid_argument(absl::StrCat("UdpPort::connect: ", host,
                                             " is not of the port's address family"));
  }
  if (::connect(fd_, address->sockaddrPointer(), address->length()) != 0) {
    throw DatagramSendError(absl::StrCat("connecting to ", address->toString(), ": ",
                                         errnoText(errno)));
  }
  peer_ = std::move(address);
}

// --- Multicast --------------------------------------------------------------------------------

void UdpPort::setMulticastOption(int v4Level, int v4Option, int v6Level, int v6Option, int value,
                                 const char* what) {
  checkOpen();
  const bool v6 = ipv6_;
  if (::setsockopt(fd_, v6 ? v6Level : v4Level, v6 ? v6Option : v4Option, &value,
                   sizeof value) != 0) {
    throw MulticastJoinError(absl::StrCat(what, ": ", errnoText(errno)));
  }
}

int UdpPort::getMulticastOption(int v4Level, int v4Option, int v6Level, int v6Option) const {
  const bool v6 = ipv6_;
  int value = 0;
  socklen_t length = sizeof value;
  ::getsockopt(fd_, v6 ? v6Level : v4Level, v6 ? v6Option : v4Option, &value, &length);
  return value;
}

void UdpPort::changeMembership(bool join, const std::string& group, const std::string& interface) {
  checkOpen();
  const char* what = join ? "joinGroup" : "leaveGroup";
  int result = 0;
  if (ipv6_) {
    std::optional<Address> groupAddress = Address::fromLiteral(group, 0);
    if (!groupAddress || !groupAddress->isIPv6()) {
      throw MulticastJoinError(absl::StrCat(what, ": not an IPv6 group address: ", group));
    }
    ipv6_mreq request{};
    request.ipv6mr_multiaddr =
        reinterpret_cast<const sockaddr_in6*>(groupAddress->sockaddrPointer())->sin6_addr;
    request.ipv6mr_interface = interfaceIndex(interface);
    result = ::setsockopt(fd_, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &request,
                          sizeof request);
  } else {
    const ip_mreqn request = ipv4Request(group, interface);
    result = ::setsockopt(fd_, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &request,
                          sizeof request);
  }
  if (result != 0) {
    throw MulticastJoinError(absl::StrCat(what, " ", group, ": ", errnoText(errno)));
  }
}

void UdpPort::joinGroup(const std::string& group, const std::string& interface) {
  changeMembership(true, group, interface);
}

void UdpPort::leaveGroup(const std::string& group, const std::string& interface) {
  changeMembership(false, group, interface);
}

void UdpPort::setTTL(int ttl) {
  setMulticastOption(IPPROTO_IP, IP_MULTICAST_TTL, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl,
                     "setTTL");
}

int UdpPort::getTTL() const {
  return getMulticastOption(IPPROTO_IP, IP_MULTICAST_TTL, IPPROTO_IPV6, IPV6_MULTICAST_HOPS);
}

void UdpPort::setLoopbackMode(bool enabled) {
  setMulticastOption(IPPROTO_IP, IP_MULTICAST_LOOP, IPPROTO_IPV6, IPV6_MULTICAST_LOOP,
                     enabled ? 1 : 0, "setLoopbackMode");
}

bool UdpPort::getLoopbackMode() const {
  return getMulticastOption(IPPROTO_IP, IP_MULTICAST_LOOP, IPPROTO_IPV6, IPV6_MULTICAST_LOOP) != 0;
}

void UdpPort::setOutgoingInterface(const std::string& interface) {
  checkOpen();
  int result = 0;
  if (ipv6_) {
    const int index = static_cast<int>(interfaceIndex(interface));
    result = ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index);
  } else {
    ip_mreqn request{};
    std::optional<Address> local = Address::fromLiteral(interface, 0);
    if (local && !local->isIPv6()) {
      request.imr_address =
          reinterpret_cast<const sockaddr_in*>(local->sockaddrPointer())->sin_addr;
    } else {
      request.imr_ifindex = static_cast<int>(interfaceIndex(interface));
    }
    result = ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &request, sizeof request);
  }
  if (result != 0) {
    throw MulticastJoinError(absl::StrCat("setOutgoingInterface ", interface, ": ",
                                          errnoText(errno)));
  }
}

void UdpPort::setBroadcastAllowed(bool enabled) {
  checkOpen();
  const int value = enabled ? 1 : 0;
  ::setsockopt(fd_, SOL_SOCKET, SO_BROADCAST, &value, sizeof value);
}

bool UdpPort::getBroadcastAllowed() const {
  int value = 0;
  socklen_t length = sizeof value;
  ::getsockopt(fd_, SOL_SOCKET, SO_BROADCAST, &value, &length);
  return value != 0;
}

// --- Stopping ---------------------------------------------------------------------------------

Deferred<void> UdpPort::stopListening() {
  if (!listening_) return succeed();
  listening_ = false;
  std::shared_ptr<UdpPort> self = shared_from_this();
  reactor_.removeReader(this);
  reactor_.removeWriter(this);
  ::close(fd_);
  fd_ = -1;
  queue_.clear();
  queuedBytes_ = 0;
  held_.clear();
  heldBytes_.clear();
  try {
    protocol_->stopProtocol();
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  protocol_->transport_ = nullptr;
  try {
    protocol_->scope_.end();
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  Deferred<void> closed;
  reactor_.callLater(absl::ZeroDuration(), [closed]() mutable { closed.callback(); });
  reactor_.untrack(this);
  return closed;
}

std::shared_ptr<UdpPort> listenUDP(Reactor& reactor, std::uint16_t port,
                                   std::shared_ptr<DatagramProtocol> protocol,
                                   UdpListenOptions options) {
  if (protocol == nullptr) throw std::invalid_argument("listenUDP: no protocol");
  if (protocol->transport() != nullptr) {
    throw std::logic_error("listenUDP: this protocol already serves a port");
  }
  const std::string interface = options.interface.empty() ? "0.0.0.0" : options.interface;
  std::optional<Address> address = Address::fromLiteral(interface, port);
  if (!address) {
    throw CannotListenError(absl::StrCat("Couldn't listen on ", interface, ":", port,
                                         " (UDP): not an IP address"));
  }
  const int fd = ::socket(address->family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw CannotListenError(absl::StrCat("socket: ", errnoText(errno)));
  const int on = 1;
  if (options.reusePort) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  }
  // The *FORCE options pass net.core.[rw]mem_max when the process may (CAP_NET_ADMIN); the plain
  // ones are capped there.
  if (options.receiveBufferSize > 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.receiveBufferSize, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receiveBufferSize, sizeof(int));
  }
  if (options.sendBufferSize > 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &options.sendBufferSize, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options.sendBufferSize, sizeof(int));
  }
  if (::bind(fd, address->sockaddrPointer(), address->length()) != 0) {
    const int error = errno;
    ::close(fd);
    throw CannotListenError(absl::StrCat("Couldn't listen on ", address->toString(),
                                         " (UDP): ", errnoText(error)));
  }
  options.maxPacketSize = std::clamp<std::size_t>(options.maxPacketSize, 1, 65535);
  auto listening = std::make_shared<UdpPort>(reactor, fd, std::move(protocol), std::move(options));
  reactor.track(listening);
  listening->start();
  return listening;
}

}  // namespace deft
