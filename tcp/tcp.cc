#include "tcp/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/errors.h"
#include "dns/resolver.h"

namespace deft {
namespace {

std::string errnoText(int error) { return std::strerror(error); }

Address localAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

Address peerAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

void setFlag(int fd, int level, int option, bool enabled) {
  const int value = enabled ? 1 : 0;
  ::setsockopt(fd, level, option, &value, sizeof value);
}

constexpr std::size_t kReadSize = 64 * 1024;
constexpr int kMaxIovecs = 64;
constexpr int kAcceptsPerRead = 64;

}  // namespace

// --- TcpConnection ----------------------------------------------------------------------------

TcpConnection::TcpConnection(Reactor& reactor, int fd, std::unique_ptr<Protocol> protocol,
                             std::shared_ptr<Factory> factory,
                             absl::AnyInvocable<void(const Failure&)> onLost)
    : reactor_(reactor),
      fd_(fd),
      factory_(std::move(factory)),
      protocol_(std::move(protocol)),
      onLost_(std::move(onLost)),
      peer_(peerAddress(fd)),
      host_(localAddress(fd)) {}

TcpConnection::~TcpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpConnection::start() {
  reactor_.addReader(this);
  try {
    protocol_->makeConnection(this);
  } catch (...) {
    closeWith(Failure::fromCurrentException());
  }
}

void TcpConnection::doRead() {
  if (closed_) return;
  // Reads happen one at a time on the reactor thread: one buffer serves every connection.
  static thread_local char buffer[kReadSize];
  const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n > 0) {
    try {
      protocol_->dataReceived(std::string_view(buffer, static_cast<std::size_t>(n)));
    } catch (...) {
      // Twisted's rule: a protocol that raises in dataReceived loses its connection, with the
      // exception as the reason (reported, since nobody else will see it).
      Failure failure = Failure::fromCurrentException();
      internal::reportUnhandledFailure(failure);
      closeWith(std::move(failure));
    }
    return;
  }
  if (n == 0) {
    readShut_ = true;
    reactor_.removeReader(this);
    try {
      protocol_->readConnectionLost();
    } catch (...) {
      closeWith(Failure::fromCurrentException());
      return;
    }
    // Both directions are shut now: the connection is over (as in Twisted, after telling the
    // protocol about the read side).
    if (writeShut_) closeWith(Failure(ConnectionDone()));
    return;
  }
  if (errno == EAGAIN || errno == EINTR) return;
  closeWith(Failure(ConnectionLost(errnoText(errno))));
}

void TcpConnection::doWrite() {
  if (closed_ || aborting_) return;  // an abort closes from its own call (abortConnection)
  if (!flush()) return;
  afterWrite();
}

bool TcpConnection::flush() {
  while (!queue_.empty()) {
    iovec iov[kMaxIovecs];
    const int count = queue_.gather(iov, kMaxIovecs);
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      closeWith(Failure(ConnectionLost(errnoText(errno))));
      return false;
    }
    queue_.consume(static_cast<std::size_t>(n));
    if (count == kMaxIovecs && !queue_.empty()) continue;  // more than one writev's worth
    if (!queue_.empty()) return true;                       // the kernel's buffer is full
  }
  return true;
}

void TcpConnection::afterWrite() {
  if (!queue_.empty()) return;
  if (pullProducer_ != nullptr) {
    // Ask for one more chunk, and stay writable while it is registered: a chunk the kernel takes
    // whole leaves nothing buffered, and the next drain is what asks again (as in Twisted).
    pullProducer_->resumeProducing();
    if (pullProducer_ != nullptr) wantWrite();
    return;
  }
  reactor_.removeWriter(this);
  if (pushProducer_ != nullptr && producerPaused_) {
    producerPaused_ = false;
    pushProducer_->resumeProducing();
    return;
  }
  if (closed_) return;
  if (disconnecting_) {
    closeWith(Failure(ConnectionDone()));
  } else if (writeShutPending_ && !writeShut_) {
    ::shutdown(fd_, SHUT_WR);
    writeShut_ = true;
    if (readShut_) closeWith(Failure(ConnectionDone()));
  }
}

void TcpConnection::wantWrite() {
  if (!closed_ && !reactor_.isWriting(this)) reactor_.addWriter(this);
}

std::size_t TcpConnection::sendNow(std::span<const std::string_view> pieces) {
  iovec iov[kMaxIovecs];
  const std::size_t count = std::min(pieces.size(), static_cast<std::size_t>(kMaxIovecs));
  for (std::size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<char*>(pieces[i].data());
    iov[i].iov_len = pieces[i].size();
  }
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = count;
  // Errors surface in doWrite, which retries what is buffered.
  const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void TcpConnection::pauseProducerIfFull() {
  if (pushProducer_ != nullptr && !producerPaused_ && queue_.size() > highWater_) {
    producerPaused_ = true;
    pushProducer_->pauseProducing();
  }
}

void TcpConnection::write(std::string_view data) {
  if (closed_ || disconnecting_ || aborting_ || writeShutPending_ || data.empty()) return;
  if (queue_.empty()) {
    // Nothing queued: try the kernel first, buffer only the rest.
    data.remove_prefix(sendNow(std::span<const std::string_view>(&data, 1)));
    if (data.empty()) return;
  }
  queue_.append(data);
  wantWrite();
  pauseProducerIfFull();
}

void TcpConnection::writeSequence(std::span<const std::string_view> pieces) {
  if (closed_ || disconnecting_ || aborting_ || writeShutPending_) return;
  std::size_t sent = queue_.empty() ? sendNow(pieces) : 0;
  for (std::string_view piece : pieces) {
    const std::size_t skip = std::min(sent, piece.size());
    sent -= skip;
    if (skip < piece.size()) queue_.append(piece.substr(skip));
  }
  if (!queue_.empty()) wantWrite();
  pauseProducerIfFull();
}

void TcpConnection::writeOwned(std::span<std::string> pieces) {
  if (closed_ || disconnecting_ || aborting_ || writeShutPending_) {
    for (std::string& piece : pieces) piece.clear();
    return;
  }
  std::size_t sent = 0;
  if (queue_.empty()) {
    std::array<std::string_view, kMaxIovecs> views;
    const std::size_t count = std::min(pieces.size(), views.size());
    for (std::size_t i = 0; i < count; ++i) views[i] = pieces[i];
    sent = sendNow(std::span<const std::string_view>(views.data(), count));
  }
  for (std::string& piece : pieces) {
    const std::size_t skip = std::min(sent, piece.size());
    sent -= skip;
    queue_.appendOwned(std::move(piece), skip);
    piece.clear();
  }
  if (!queue_.empty()) wantWrite();
  pauseProducerIfFull();
}

void TcpConnection::insertLayer(
    absl::FunctionRef<std::unique_ptr<Protocol>(std::unique_ptr<Protocol>)> wrap) {
  if (closed_) throw std::logic_error("insertLayer on a closed connection");
  // The protocol moves into the layer, not out of existence: a protocol calling this from its
  // own dataReceived returns into a live object.
  protocol_ = wrap(std::move(protocol_));
  protocol_->makeConnection(this);
}

void TcpConnection::loseConnection() {
  if (closed_ || disconnecting_) return;
  disconnecting_ = true;
  reactor_.removeReader(this);
  // Closes from doWrite once the buffer is empty (at once if it is): never inside this call, so
  // connectionLost does not run under the protocol code that asked for the close.
  if (pushProducer_ == nullptr && pullProducer_ == nullptr) reactor_.addWriter(this);
}

void TcpConnection::abortConnection() {
  if (closed_ || aborting_) return;
  aborting_ = true;
  queue_.clear();
  reactor_.removeReader(this);
  reactor_.removeWriter(this);
  // Closes from the loop, never inside this call (connectionLost must not run under the protocol
  // code that asked), and not on writability: the socket of a peer that does not read (the usual
  // reason to abort) never becomes writable again.
  reactor_.callLater(absl::ZeroDuration(), [self = weak_from_this()] {
    if (auto connection = self.lock()) {
      connection->closeWith(Failure(ConnectionLost("connection was aborted")));
    }
  });
}

void TcpConnection::loseWriteConnection() {
  if (closed_ || aborting_ || writeShutPending_) return;
  writeShutPending_ = true;
  reactor_.addWriter(this);  // shuts down the write side once the buffer drains
}

std::size_t TcpConnection::unsentBytes() const {
  int queued = 0;  // SIOCOUTQ: bytes in the socket's send queue, not yet acknowledged
  if (fd_ < 0 || ::ioctl(fd_, SIOCOUTQ, &queued) != 0 || queued < 0) queued = 0;
  return queue_.size() + static_cast<std::size_t>(queued);
}

void TcpConnection::setTcpNoDelay(bool enabled) { setFlag(fd_, IPPROTO_TCP, TCP_NODELAY, enabled); }
void TcpConnection::setTcpKeepAlive(bool enabled) {
  setFlag(fd_, SOL_SOCKET, SO_KEEPALIVE, enabled);
}

void TcpConnection::registerProducer(IPushProducer* producer) {
  if (pushProducer_ != nullptr || pullProducer_ != nullptr) {
    throw std::logic_error("a producer is already registered on this transport");
  }
  pushProducer_ = producer;
  producerPaused_ = false;
  if (queue_.size() > highWater_) {
    producerPaused_ = true;
    producer->pauseProducing();
  }
}

void TcpConnection::registerProducer(IPullProducer* producer) {
  if (pushProducer_ != nullptr || pullProducer_ != nullptr) {
    throw std::logic_error("a producer is already registered on this transport");
  }
  pullProducer_ = producer;
  wantWrite();  // the first drain asks for the first chunk
}

void TcpConnection::unregisterProducer() {
  pushProducer_ = nullptr;
  pullProducer_ = nullptr;
  producerPaused_ = false;
  if (disconnecting_) wantWrite();  // loseConnection was waiting for the producer
}

void TcpConnection::pauseProducing() {
  if (closed_ || readingPaused_) return;
  readingPaused_ = true;
  reactor_.removeReader(this);
}

void TcpConnection::resumeProducing() {
  if (closed_ || aborting_ || !readingPaused_) return;
  readingPaused_ = false;
  if (!readShut_ && !disconnecting_) reactor_.addReader(this);
}

void TcpConnection::disconnect() {
  if (!closed_) closeWith(Failure(ConnectionDone()));
}

void TcpConnection::closeWith(Failure reason) {
  if (closed_) return;
  closed_ = true;
  reactor_.removeReader(this);
  reactor_.removeWriter(this);
  if (aborting_) {
    linger hard{1, 0};  // an abort resets the connection instead of a graceful FIN
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  ::close(fd_);
  fd_ = -1;
  queue_.clear();
  if (IProducer* producer = pushProducer_ != nullptr ? static_cast<IProducer*>(pushProducer_)
                                                     : pullProducer_) {
    pushProducer_ = nullptr;
    pullProducer_ = nullptr;
    producer->stopProducing();
  }
  protocol_->endConnection(reason);
  if (onLost_) {
    auto onLost = std::move(onLost_);
    onLost(reason);
  }
  reactor_.untrack(this);  // destroyed (with the protocol) at the end of this pass
}

// --- ListeningPort ----------------------------------------------------------------------------

ListeningPort::ListeningPort(Reactor& reactor, int fd, std::shared_ptr<Factory> factory,
                             absl::AnyInvocable<void()> afterClose)
    : reactor_(reactor), fd_(fd), factory_(std::move(factory)), afterClose_(std::move(afterClose)) {
  spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

ListeningPort::~ListeningPort() {
  closeSocket();
  if (spareFd_ >= 0) ::close(spareFd_);
}

void ListeningPort::closeSocket() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (afterClose_) std::exchange(afterClose_, nullptr)();
}

Address ListeningPort::getHost() const { return localAddress(fd_); }

Deferred<void> ListeningPort::stopListening() {
  if (!listening_) return succeed();
  listening_ = false;
  reactor_.removeReader(this);
  closeSocket();
  factory_->doStop();
  Deferred<void> closed;
  reactor_.callLater(absl::ZeroDuration(), [closed]() mutable { closed.callback(); });
  reactor_.untrack(this);
  return closed;
}

void ListeningPort::doRead() {
  for (int i = 0; i < kAcceptsPerRead && listening_; ++i) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&storage), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        shedOneConnection();
        return;
      }
      // EAGAIN: no more waiting. ECONNABORTED and friends: that client gave up; try the next.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      continue;
    }
    acceptOne(fd, Address::fromSockaddr(reinterpret_cast<sockaddr*>(&storage), length));
  }
}

void ListeningPort::acceptOne(int fd, const Address& peer) {
  std::unique_ptr<Protocol> protocol;
  try {
    protocol = factory_->build(peer);
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
  if (!protocol) {
    ::close(fd);  // the factory refused it
    return;
  }
  auto connection =
      std::make_shared<TcpConnection>(reactor_, fd, std::move(protocol), factory_);
  reactor_.track(connection);
  connection->start();
}

// Out of descriptors: the pending connection would keep the listening socket readable and the
// loop spinning at 100% CPU. Give up the spare descriptor, accept that one connection and close
// it at once (the client sees a reset, not a hang), then take the spare back.
void ListeningPort::shedOneConnection() {
  if (spareFd_ >= 0) {
    ::close(spareFd_);
    spareFd_ = -1;
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  const absl::Time now = reactor_.seconds();
  if (now - lastExhaustionReport_ > absl::Seconds(10)) {
    lastExhaustionReport_ = now;
    std::fprintf(stderr, "deft: out of file descriptors: dropping connections on %s\n",
                 getHost().toString().c_str());
  }
  if (spareFd_ < 0) {
    // Not even the spare could be had back: stop watching for a moment rather than spin.
    reactor_.removeReader(this);
    reactor_.callLater(absl::Milliseconds(100), [self = weak_from_this()] {
      if (auto port = self.lock(); port && port->listening_) {
        port->spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        port->reactor_.addReader(port.get());
      }
    });
  }
}

std::shared_ptr<ListeningPort> listenTCP(Reactor& reactor, std::uint16_t port,
                                         std::shared_ptr<Factory> factory,
                                         TcpListenOptions options) {
  const std::string interface = options.interface.empty() ? "0.0.0.0" : options.interface;
  std::optional<Address> address = Address::fromLiteral(interface, port);
  if (!address) {
    throw CannotListenError(absl::StrCat("Couldn't listen on ", interface, ":", port,
                                         ": not an IP address"));
  }
  const int fd = ::socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw CannotListenError(absl::StrCat("socket: ", errnoText(errno)));
  setFlag(fd, SOL_SOCKET, SO_REUSEADDR, true);
  if (options.reusePort) setFlag(fd, SOL_SOCKET, SO_REUSEPORT, true);
  if (::bind(fd, address->sockaddrPointer(), address->length()) != 0 ||
      ::listen(fd, options.backlog) != 0) {
    const int error = errno;
    ::close(fd);
    throw CannotListenError(
        absl::StrCat("Couldn't listen on ", address->toString(), ": ", errnoText(error)));
  }
  auto listening = std::make_shared<ListeningPort>(reactor, fd, factory);
  factory->doStart();
  reactor.track(listening);
  reactor.addReader(listening.get());
  return listening;
}

// --- Connector --------------------------------------------------------------------------------

Connector::Connector(Reactor& reactor, std::string host, std::uint16_t port,
                     std::shared_ptr<ClientFactory> factory, absl::Duration timeout)
    : reactor_(reactor),
      host_(std::move(host)),
      port_(port),
      factory_(std::move(factory)),
      timeout_(timeout) {}

Connector::Connector(Reactor& reactor, Address address, std::shared_ptr<ClientFactory> factory,
                     absl::Duration timeout)
    : Connector(reactor, std::vector<Address>{std::move(address)}, std::move(factory), timeout) {}

Connector::Connector(Reactor& reactor, std::vector<Address> addresses,
                     std::shared_ptr<ClientFactory> factory, absl::Duration timeout)
    : reactor_(reactor),
      host_(addresses.empty() ? "" : addresses.front().host()),
      port_(addresses.empty() ? 0 : addresses.front().port()),
      factory_(std::move(factory)),
      timeout_(timeout),
      fixedAddresses_(std::move(addresses)) {
  if (fixedAddresses_->empty()) throw std::invalid_argument("Connector: no address to connect to");
}

class Connector::Attempt final : public FileDescriptor {
 public:
  Attempt(Connector& owner, int fd, Address address)
      : owner_(owner), fd_(fd), address_(std::move(address)) {}
  ~Attempt() override {
    if (fd_ < 0) return;
    owner_.reactor_.removeWriter(this);
    ::close(fd_);
  }
  int fileno() const override { return fd_; }
  // connect(2) ended, either way. This attempt may be destroyed inside: nothing of it is touched
  // after, and what is thrown (a factory's callback, epoll_ctl) ends the connector's attempt
  // rather than reach the loop, which would drop this freed descriptor.
  void doWrite() override {
    std::shared_ptr<Connector> owner = owner_.shared_from_this();
    try {
      owner->attemptFinished(this);
    } catch (...) {
      owner->attemptThrew(Failure::fromCurrentException());
    }
  }
  const Address& address() const { return address_; }
  // The connected socket, no longer this attempt's.
  int release() {
    owner_.reactor_.removeWriter(this);
    return std::exchange(fd_, -1);
  }

 private:
  Connector& owner_;
  int fd_;
  Address address_;
};

namespace {

// RFC 8305 §4: the two families taken in turn, the resolver's first family first, each in the
// resolver's order.
std::vector<Address> interleaveFamilies(std::vector<Address> addresses) {
  if (addresses.empty()) return addresses;
  const int first = addresses.front().family();
  std::vector<Address> preferred, other, out;
  for (Address& a : addresses) (a.family() == first ? preferred : other).push_back(std::move(a));
  for (std::size_t i = 0; i < std::max(preferred.size(), other.size()); ++i) {
    if (i < preferred.size()) out.push_back(std::move(preferred[i]));
    if (i < other.size()) out.push_back(std::move(other[i]));
  }
  return out;
}

}  // namespace

Connector::~Connector() { closeSocket(); }

void Connector::connect() {
  if (state_ != State::kDisconnected) {
    throw std::logic_error("Connector::connect: already connecting or connected");
  }
  state_ = State::kConnecting;
  const std::uint64_t attempt = ++attempt_;
  reactor_.track(shared_from_this());
  factory_->doStart();
  factory_->startedConnecting(*this);
  if (state_ != State::kConnecting || attempt != attempt_) return;  // stopped from the callback
  timeoutCall_ = reactor_.callLater(timeout_, [this, attempt] {
    if (attempt == attempt_ && state_ == State::kConnecting) {
      fail(Failure(TCPTimedOutError(fixedAddresses_ && fixedAddresses_->size() == 1
                                        ? fixedAddresses_->front().toString()
                                        : absl::StrCat(host_, ":", port_))));
    }
  });
  if (fixedAddresses_) {
    resolvedAt_ = reactor_.seconds();
    addresses_ = interleaveFamilies(*fixedAddresses_);
    nextAddress_ = 0;
    // From the loop, as a resolved name would be: a Unix socket refuses inside connect(2), and
    // the factory must not hear of it inside this call (Twisted defers it the same way).
    reactor_.callLater(absl::ZeroDuration(), [self = weak_from_this(), attempt] {
      std::shared_ptr<Connector> connector = self.lock();
      if (connector && attempt == connector->attempt_ &&
          connector->state_ == State::kConnecting) {
        connector->tryNext();
      }
    });
    return;
  }
  lookup_ = hostResolver(reactor_).resolveHost(host_, port_);
  lookup_.addCallbacks(
      [this, attempt](std::vector<Address> addresses) {
        if (attempt != attempt_ || state_ != State::kConnecting) return addresses;
        resolvedAt_ = reactor_.seconds();
        std::vector<Address> usable = addresses;
        if (family_ != AF_UNSPEC) {
          std::erase_if(usable, [this](const Address& a) { return a.family() != family_; });
          if (usable.empty()) {
            // A name with no address of the family is not found; an address of the other
            // family cannot be connected to (curl's 6 and 7).
            const std::string why =
                absl::StrCat(host_, ": no IPv", family_ == AF_INET6 ? "6" : "4", " address");
            fail(Address::fromLiteral(host_, port_) ? Failure(ConnectError(why))
                                                    : Failure(DNSLookupError(why)));
            return addresses;
          }
        }
        addresses_ = interleaveFamilies(std::move(usable));
        nextAddress_ = 0;
        tryNext();
        return addresses;
      },
      [this, attempt](Failure reason) -> std::vector<Address> {
        if (attempt == attempt_ && state_ == State::kConnecting) fail(std::move(reason));
        return {};
      });
}

void Connector::tryNext() {
  if (nextAttemptCall_ && nextAttemptCall_->active()) nextAttemptCall_->cancel();
  nextAttemptCall_.reset();
  while (nextAddress_ < addresses_.size()) {
    const Address& address = addresses_[nextAddress_++];
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      lastError_ = Failure(ConnectError(absl::StrCat("socket: ", errnoText(errno))));
      continue;
    }
    if (::connect(fd, address.sockaddrPointer(), address.length()) == 0 || errno == EINPROGRESS) {
      attempts_.push_back(std::make_unique<Attempt>(*this, fd, address));
      reactor_.addWriter(attempts_.back().get());  // writable when the handshake ends, either way
      if (nextAddress_ < addresses_.size()) {
        const std::uint64_t attempt = attempt_;
        nextAttemptCall_ = reactor_.callLater(kConnectionAttemptDelay, [self = weak_from_this(), attempt] {
          std::shared_ptr<Connector> connector = self.lock();
          if (connector && attempt == connector->attempt_ && connector->state_ == State::kConnecting) {
            connector->tryNext();
          }
        });
      }
      return;
    }
    const int error = errno;
    lastError_ = error == ECONNREFUSED
                     ? Failure(ConnectionRefusedError(address.toString()))
                     : Failure(ConnectError(absl::StrCat(address.toString(), ": ", errnoText(error))));
    ::close(fd);
  }
  if (attempts_.empty()) fail(lastError_);  // nothing left in flight either
}

void Connector::attemptThrew(Failure reason) {
  if (state_ != State::kConnecting) {
    internal::reportUnhandledFailure(reason);
    return;
  }
  try {
    fail(std::move(reason));
  } catch (...) {
    internal::reportUnhandledFailure(Failure::fromCurrentException());
  }
}

void Connector::attemptFinished(Attempt* finished) {
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(finished->fileno(), SOL_SOCKET, SO_ERROR, &error, &length);
  auto it = std::find_if(attempts_.begin(), attempts_.end(),
                         [finished](const std::unique_ptr<Attempt>& a) { return a.get() == finished; });
  std::unique_ptr<Attempt> attempt = std::move(*it);
  attempts_.erase(it);
  if (error != 0) {
    lastError_ = error == ECONNREFUSED
                     ? Failure(ConnectionRefusedError(attempt->address().toString()))
                     : Failure(ConnectError(absl::StrCat(attempt->address().toString(), ": ",
                                                         errnoText(error))));
    attempt.reset();
    // A failure starts the next address now rather than after the delay.
    if (nextAddress_ < addresses_.size()) {
      tryNext();
    } else if (attempts_.empty()) {
      fail(lastError_);
    }
    return;
  }
  const int fd = attempt->release();
  closeSocket();  // the attempts that lost the race
  connected(fd);
}

void Connector::connected(int fd) {
  connectedAt_ = reactor_.seconds();
  if (timeoutCall_ && timeoutCall_->active()) timeoutCall_->cancel();
  std::unique_ptr<Protocol> protocol;
  try {
    protocol = factory_->build(peerAddress(fd));
  } catch (...) {
    ::close(fd);
    fail(Failure::fromCurrentException());
    return;
  }
  if (!protocol) {
    ::close(fd);
    fail(Failure(ConnectError("the factory refused to build a protocol")));
    return;
  }
  state_ = State::kConnected;
  std::weak_ptr<Connector> self = weak_from_this();
  connection_ = std::make_shared<TcpConnection>(
      reactor_, fd, std::move(protocol), factory_, [self](const Failure& reason) {
        std::shared_ptr<Connector> connector = self.lock();
        if (!connector) return;
        connector->state_ = State::kDisconnected;
        connector->connection_.reset();
        connector->reactor_.untrack(connector.get());
        connector->factory_->clientConnectionLost(*connector, reason);
        connector->factory_->doStop();
      });
  reactor_.track(connection_);
  connection_->start();
}

void Connector::fail(Failure reason) {
  ++attempt_;
  closeSocket();
  if (timeoutCall_ && timeoutCall_->active()) timeoutCall_->cancel();
  if (!fixedAddresses_ && !lookup_.called()) lookup_.cancel();
  state_ = State::kDisconnected;
  std::shared_ptr<Connector> keep = shared_from_this();
  reactor_.untrack(this);
  factory_->clientConnectionFailed(*this, reason);
  factory_->doStop();
}

void Connector::stopConnecting() {
  if (state_ != State::kConnecting) {
    throw std::logic_error("Connector::stopConnecting: not connecting");
  }
  fail(Failure(CancelledError("connection attempt stopped")));
}

void Connector::disconnect() {
  if (state_ == State::kConnecting) {
    stopConnecting();
  } else if (state_ == State::kConnected && connection_) {
    connection_->loseConnection();
  }
}

void Connector::closeSocket() {
  if (nextAttemptCall_ && nextAttemptCall_->active()) nextAttemptCall_->cancel();
  nextAttemptCall_.reset();
  attempts_.clear();
}

std::shared_ptr<Connector> connectTCP(Reactor& reactor, std::string host, std::uint16_t port,
                                      std::shared_ptr<ClientFactory> factory,
                                      absl::Duration timeout, int family) {
  auto connector =
      std::make_shared<Connector>(reactor, std::move(host), port, std::move(factory), timeout);
  connector->setAddressFamily(family);
  connector->connect();
  return connector;
}

}  // namespace deft
