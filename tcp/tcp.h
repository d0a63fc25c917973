// File: tcp/tcp.h
//
// TCP on the reactor: listenTCP for servers, connectTCP for clients (Twisted's
// reactor.listenTCP / reactor.connectTCP), connectProtocol for one client connection, and the
// transport they hand to their Protocols. The reactor comes first, always explicit.
//
//   auto port = listenTCP(reactor, 8000, makeFactory<Echo>());
//   port->getHost().port();             // the port, when 0 asked for any free one
//   port->stopListening();              // a Deferred<void>: fired once the socket is closed
//
//   connectTCP(reactor, "127.0.0.1", 8000, myClientFactory, absl::Seconds(30));
//
//   connectProtocol(reactor, "127.0.0.1", 8000, std::make_unique<Greeter>())
//       .addCallback([](Greeter* greeter) { greeter->sayHello(); });
//
// Everything runs on the reactor thread. Ports, connectors and connections are kept alive by
// the reactor while they are open (Reactor::track), and closed by its shutdown.

#ifndef DEFT_TCP_TCP_H_
#define DEFT_TCP_TCP_H_

#include <concepts>
#include <cstddef>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "net/address.h"
#include "net/errors.h"
#include "net/write_queue.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft {

struct TcpListenOptions {
  // The local address to listen on: "" for every IPv4 address, "::" for every IPv6 (and IPv4
  // mapped) address, or a literal such as "127.0.0.1".
  std::string interface = {};
  int backlog = 128;
  // SO_REUSEPORT: several processes may listen on the same port; the kernel spreads connections.
  bool reusePort = false;
};

// One TCP connection: the transport its Protocol writes to. It serves any connected stream
// socket: listenUNIX and connectUNIX (unix/unix.h) hand their Protocols one too.
class TcpConnection final : public FileDescriptor,
                            public ITransport,
                            public Disconnectable,
                            public std::enable_shared_from_this<TcpConnection> {
 public:
  // Takes ownership of the connected, non-blocking socket `fd`. `onLost` (may be empty) runs after
  // the protocol's connectionLost: the connector uses it for clientConnectionLost.
  TcpConnection(Reactor& reactor, int fd, std::unique_ptr<Protocol> protocol,
                std::shared_ptr<Factory> factory,
                absl::AnyInvocable<void(const Failure&)> onLost = nullptr);
  ~TcpConnection() override;

  // Starts reading and calls the protocol's connectionMade.
  void start();

  // FileDescriptor
  int fileno() const override { return fd_; }
  void doRead() override;
  // The loop's catch site: doRead/doWrite threw (a producer's resumeProducing, say).
  void connectionLost(const Failure& reason) override { closeWith(reason); }
  void doWrite() override;

  // ITransport
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> pieces) override;
  void writeOwned(std::span<std::string> pieces) override;
  void loseConnection() override;
  void abortConnection() override;
  void loseWriteConnection() override;
  Address getPeer() const override { return peer_; }
  Address getHost() const override { return host_; }
  void setTcpNoDelay(bool enabled) override;
  void setTcpKeepAlive(bool enabled) override;
  std::size_t bufferedBytes() const override { return queue_.size(); }
  std::size_t unsentBytes() const override;
  void setHighWaterMark(std::size_t bytes) override { highWater_ = bytes; }
  void insertLayer(
      absl::FunctionRef<std::unique_ptr<Protocol>(std::unique_ptr<Protocol>)> wrap) override;
  void registerProducer(IPushProducer* producer) override;
  void registerProducer(IPullProducer* producer) override;
  void unregisterProducer() override;
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override { loseConnection(); }

  // Disconnectable
  void disconnect() override;

  Protocol* protocol() const { return protocol_.get(); }

 private:
  // Sends `pieces` with one sendmsg when nothing is queued: how many bytes the kernel took.
  std::size_t sendNow(std::span<const std::string_view> pieces);
  void pauseProducerIfFull();
  // Writes what the kernel takes; false if the connection failed (it is then closed).
  bool flush();
  void afterWrite();
  void closeWith(Failure reason);
  void wantWrite();

  Reactor& reactor_;
  int fd_;
  // The factory is declared first so it outlives the protocol: a protocol may use its factory
  // (protocol->factory()) until its destructor has run.
  std::shared_ptr<Factory> factory_;
  std::unique_ptr<Protocol> protocol_;
  absl::AnyInvocable<void(const Failure&)> onLost_;
  Address peer_;
  Address host_;

  WriteQueue queue_;  // written, not yet taken by the kernel
  std::size_t highWater_ = 64 * 1024;

  IPushProducer* pushProducer_ = nullptr;
  IPullProducer* pullProducer_ = nullptr;
  bool producerPaused_ = false;

  bool readingPaused_ = false;   // pauseProducing(): not reading
  bool readShut_ = false;        // the peer sent EOF
  bool disconnecting_ = false;   // loseConnection(): close once drained
  bool aborting_ = false;        // abortConnection(): close at the next chance, discarding
  bool writeShutPending_ = false;
  bool writeShut_ = false;
  bool closed_ = false;
};

// A listening socket (TCP, or Unix-domain from listenUNIX).
class ListeningPort final : public FileDescriptor,
                            public Disconnectable,
                            public std::enable_shared_from_this<ListeningPort> {
 public:
  // Takes ownership of the listening socket `fd`. `afterClose` (may be empty) runs once the
  // socket is closed: listenUNIX removes its socket file and lock there.
  ListeningPort(Reactor& reactor, int fd, std::shared_ptr<Factory> factory,
                absl::AnyInvocable<void()> afterClose = nullptr);
  ~ListeningPort() override;

  // Stops accepting and closes the socket; the Deferred fires on a later pass of the loop, when
  // it is closed. Connections already accepted stay up. Calling it again gives a fired Deferred.
  Deferred<void> stopListening();

  // The address it listens on (with the real port when 0 was asked for).
  Address getHost() const;

  int fileno() const override { return fd_; }
  void doRead() override;
  void disconnect() override { stopListening(); }

 private:
  void acceptOne(int fd, const Address& peer);
  void shedOneConnection();
  void closeSocket();

  Reactor& reactor_;
  int fd_;
  std::shared_ptr<Factory> factory_;
  absl::AnyInvocable<void()> afterClose_;
  int spareFd_ = -1;  // closed to accept-and-drop one connection when out of descriptors
  bool listening_ = true;
  absl::Time lastExhaustionReport_ = absl::InfinitePast();
};

// listenTCP(port, factory, options)
//
// Listens on `port` (0: any free port; see getHost()). Throws CannotListenError with the reason
// when it cannot bind or listen.
std::shared_ptr<ListeningPort> listenTCP(Reactor& reactor, std::uint16_t port,
                                         std::shared_ptr<Factory> factory,
                                         TcpListenOptions options = {});

// How long one address has to connect before the next one is tried beside it (RFC 8305's
// Connection Attempt Delay).
inline constexpr absl::Duration kConnectionAttemptDelay = absl::Milliseconds(250);

// A client connection attempt, and the connection it leads to (Twisted's IConnector).
//
// HAPPY EYEBALLS (RFC 8305). A name's addresses are tried IPv6 and IPv4 in turn (the resolver's
// first family first). Each attempt has kConnectionAttemptDelay before the next starts beside
// it, a failed one starts the next at once, and the first to connect wins: the others are
// closed. An address that never answers (a broken IPv6 route) costs 250 ms, not the timeout.
class Connector final : public Disconnectable, public std::enable_shared_from_this<Connector> {
 public:
  enum class State { kDisconnected, kConnecting, kConnected };

  Connector(Reactor& reactor, std::string host, std::uint16_t port,
            std::shared_ptr<ClientFactory> factory, absl::Duration timeout);
  // Connects to `address` as it is, with no name to resolve (connectUNIX's).
  Connector(Reactor& reactor, Address address, std::shared_ptr<ClientFactory> factory,
            absl::Duration timeout);
  // Connects to one of `addresses` (not empty), as to a name's (Happy Eyeballs).
  Connector(Reactor& reactor, std::vector<Address> addresses,
            std::shared_ptr<ClientFactory> factory, absl::Duration timeout);
  ~Connector() override;

  // Connector::connect()
  //
  // The reactor this connector runs on (what a ReconnectingClientFactory schedules retries on).
  Reactor& reactor() const { return reactor_; }

  // Starts an attempt: resolves the host (through the reactor's resolver, unless the connector
  // was made for an address), then tries its addresses in turn until one accepts, within the timeout overall. Ends in the factory's
  // buildProtocol (connected) or clientConnectionFailed. What reconnecting factories call again.
  void connect();

  // Abandons an attempt in progress: clientConnectionFailed with CancelledError.
  void stopConnecting();

  // stopConnecting() while connecting, loseConnection() while connected.
  void disconnect() override;

  // Only addresses of `family` (AF_INET, AF_INET6; AF_UNSPEC: any), from the next connect() on.
  void setAddressFamily(int family) { family_ = family; }

  // The last attempt's milestones on the reactor's clock: the addresses known (the name
  // resolved), and the connection made. InfinitePast until then.
  absl::Time resolvedAt() const { return resolvedAt_; }
  absl::Time connectedAt() const { return connectedAt_; }

  State state() const { return state_; }
  // The host as given (a Unix socket's path for a connector made for one), and the port (0).
  std::string host() const { return host_; }
  std::uint16_t port() const { return port_; }
  // The connection, while connected.
  TcpConnection* transport() const { return connection_.get(); }

 private:
  class Attempt;  // one socket's connect(2) in flight

  // Starts the next address's attempt (and, with more to come, the timer for the one after).
  void tryNext();
  void attemptFinished(Attempt* attempt);
  void attemptThrew(Failure reason);
  void fail(Failure reason);
  void closeSocket();  // every attempt in flight, and the timer
  void connected(int fd);

  Reactor& reactor_;
  std::string host_;
  std::uint16_t port_;
  std::shared_ptr<ClientFactory> factory_;
  absl::Duration timeout_;
  std::optional<std::vector<Address>> fixedAddresses_;  // set: no resolution
  int family_ = AF_UNSPEC;
  absl::Time resolvedAt_ = absl::InfinitePast();
  absl::Time connectedAt_ = absl::InfinitePast();
  State state_ = State::kDisconnected;
  std::vector<std::unique_ptr<Attempt>> attempts_;
  std::shared_ptr<IDelayedCall> nextAttemptCall_;
  std::vector<Address> addresses_;
  std::size_t nextAddress_ = 0;
  Failure lastError_{ConnectError("no address tried")};
  Deferred<std::vector<Address>> lookup_;
  std::shared_ptr<IDelayedCall> timeoutCall_;
  std::shared_ptr<TcpConnection> connection_;
  std::uint64_t attempt_ = 0;  // bumps on every connect()/stop: late lookups of old attempts drop
};

// connectTCP(host, port, factory, timeout)
//
// Connects to `host` (an IP literal or a name, resolved by the reactor's resolver) and calls the
// factory's methods as the attempt goes. Returns the connector; the reactor keeps it alive while
// it is connecting or connected.
// `family` AF_INET or AF_INET6 keeps to that family's addresses (curl's -4 and -6); a name with
// none of them fails with DNSLookupError.
std::shared_ptr<Connector> connectTCP(Reactor& reactor, std::string host, std::uint16_t port,
                                      std::shared_ptr<ClientFactory> factory,
                                      absl::Duration timeout = absl::Seconds(30),
                                      int family = AF_UNSPEC);

namespace internal {

// Twisted's _WrappingProtocol: stands between the transport and the caller's protocol so that
// connectProtocol's Deferred fires right after the protocol's connectionMade.
template <class P>
class ConnectedProtocol final : public Protocol {
 public:
  ConnectedProtocol(std::unique_ptr<P> protocol, Deferred<P*> connected)
      : protocol_(std::move(protocol)), connected_(std::move(connected)) {}

  void connectionMade() override {
    try {
      protocol_->makeConnection(transport());
    } catch (...) {  // the connection closes with this error: the caller learns it here
      if (!connected_.called()) connected_.errback(Failure::fromCurrentException());
      throw;
    }
    // Fires only while connected: a protocol that closed from connectionMade has had its
    // connectionLost already, which failed the Deferred, and its pointer must not be handed out.
    if (protocol_->connected() && !connected_.called()) connected_.callback(protocol_.get());
  }
  void dataReceived(std::string_view data) override { protocol_->dataReceived(data); }
  void readConnectionLost() override { protocol_->readConnectionLost(); }
  void connectionLost(const Failure& reason) override {
    protocol_->endConnection(reason);
    if (!connected_.called()) connected_.errback(reason);
  }

 private:
  std::unique_ptr<P> protocol_;
  Deferred<P*> connected_;
};

// Builds the one ConnectedProtocol; a failed attempt errbacks the Deferred instead.
template <class P>
class ConnectProtocolFactory final : public ClientFactory {
 public:
  ConnectProtocolFactory(std::unique_ptr<P> protocol, Deferred<P*> connected)
      : protocol_(std::move(protocol)), connected_(std::move(connected)) {}

  std::unique_ptr<Protocol> buildProtocol(const Address&) override {
    if (!protocol_) return nullptr;  // one connection only
    return std::make_unique<ConnectedProtocol<P>>(std::move(protocol_), connected_);
  }
  void clientConnectionFailed(Connector&, const Failure& reason) override {
    if (!connected_.called()) connected_.errback(reason);
  }

 private:
  std::unique_ptr<P> protocol_;
  Deferred<P*> connected_;
};

}  // namespace internal

// connectProtocol(reactor, host, port, protocol, timeout)
//
// Connects `protocol` to `host`:`port` and fires with it once it is connected (after its
// connectionMade), or errbacks with why the attempt failed (ConnectError and its subclasses,
// DNSLookupError). Twisted's connectProtocol, with connectTCP's arguments instead of an
// endpoint. Cancelling it before then abandons the attempt (CancelledError).
//
// OWNERSHIP. The connection owns the protocol, as for every transport: the pointer it fires with
// is valid until the protocol's connectionLost returns. Work that outlives that goes through the
// protocol's scope() (protocol/protocol.h).
template <class P>
  requires std::derived_from<P, Protocol>
Deferred<P*> connectProtocol(Reactor& reactor, std::string host, std::uint16_t port,
                             std::unique_ptr<P> protocol,
                             absl::Duration timeout = absl::Seconds(30)) {
  auto connector = std::make_shared<std::weak_ptr<Connector>>();
  Deferred<P*> connected([connector](Deferred<P*>&) {
    if (std::shared_ptr<Connector> c = connector->lock()) {
      if (c->state() == Connector::State::kConnecting) c->stopConnecting();
    }
  });
  auto factory = std::make_shared<internal::ConnectProtocolFactory<P>>(std::move(protocol),
                                                                       connected);
  *connector = connectTCP(reactor, std::move(host), port, std::move(factory), timeout);
  return connected;
}

}  // namespace deft

#endif  // DEFT_TCP_TCP_H_
