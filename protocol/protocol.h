// File: protocol/protocol.h
//
// Twisted's connection model: a Protocol handles one connection's events; a Factory builds a
// Protocol for each new connection; the Transport is what a Protocol writes to.
//
//   class Echo : public Protocol {
//     void dataReceived(std::string_view data) override { transport()->write(data); }
//   };
//   listenTCP(reactor, 8000, makeFactory<Echo>());
//
// EVENTS. All on the reactor thread: connectionMade() once, then dataReceived() for each chunk
// as it arrives (chunks are not messages: a line may arrive in pieces), readConnectionLost() if
// the peer half-closes, and connectionLost(reason) exactly once at the end, with ConnectionDone
// for a clean close and ConnectionLost for a reset or error (net/errors.h).
//
// OWNERSHIP. The transport owns its Protocol and destroys it after connectionLost returns (in a
// later pass of the loop, never under a call into the protocol). Code that keeps a pointer to a
// protocol (a chat room's member list) drops it in connectionLost. The transport pointer is valid
// until then. Factories are shared: ports and connections keep theirs alive.
//
// CALLBACKS THAT CAPTURE `this`. A protocol is destroyed soon after connectionLost, but work it
// started (a page fetch, a timer, a query) may finish later. Start such work through scope(),
// which ends right after connectionLost returns: what it tracks is cancelled then, and the
// callbacks added through it never run after that (deferred/scope.h).
//
//   void lineReceived(std::string_view url) override {
//     scope().track(getPage(std::string(url))).addCallback([this](std::string body) {
//       sendLine(body);   // never after the connection has gone
//     });
//     reactor().callLater(absl::Seconds(5), scope().bind([this] { sendLine("still here"); }));
//   }
//
// BACKPRESSURE. write() never blocks and never loses data: what the kernel does not take now is
// buffered. A producer registered on the transport (registerProducer) is paused when more than
// the high-water mark (64 KiB by default) is buffered, and resumed when the buffer drains.

#ifndef DEFT_PROTOCOL_PROTOCOL_H_
#define DEFT_PROTOCOL_PROTOCOL_H_

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "deferred/failure.h"
#include "deferred/scope.h"
#include "net/address.h"

namespace deft {

class Connector;
class Protocol;

// Something that produces data into a consumer (Twisted's IProducer).
class IProducer {
 public:
  virtual ~IProducer() = default;
  // The consumer is going away: stop for good.
  virtual void stopProducing() = 0;
};

// Produces on its own schedule; the consumer pauses and resumes it (Twisted's IPushProducer).
class IPushProducer : public IProducer {
 public:
  virtual void pauseProducing() = 0;
  virtual void resumeProducing() = 0;
};

// Produces one chunk each time the consumer asks (Twisted's IPullProducer).
class IPullProducer : public IProducer {
 public:
  // Write one more chunk to the consumer now.
  virtual void resumeProducing() = 0;
};

// Twisted's IConsumer.
class IConsumer {
 public:
  virtual ~IConsumer() = default;
  virtual void write(std::string_view data) = 0;
  // One producer at a time; the consumer does not own it. Unregister before destroying it.
  virtual void registerProducer(IPushProducer* producer) = 0;
  virtual void registerProducer(IPullProducer* producer) = 0;
  virtual void unregisterProducer() = 0;
};

// A connection as its Protocol sees it (Twisted's ITCPTransport). The transport is itself a push
// producer of the data it reads: pauseProducing() stops reading until resumeProducing().
class ITransport : public IConsumer, public IPushProducer {
 public:
  // Writes the pieces in order, with one system call where it can (writev).
  virtual void writeSequence(std::span<const std::string_view> pieces) = 0;
  // writeSequence for strings the caller gives up (they are left empty): what the kernel does not
  // take at once is kept by taking the strings' storage, not by copying it. For large bodies,
  // where write() would copy megabytes a slow reader has not taken yet.
  virtual void writeOwned(std::span<std::string> pieces) {
    std::vector<std::string_view> views(pieces.begin(), pieces.end());
    writeSequence(views);
    for (std::string& piece : pieces) piece.clear();
  }

  // Closes after everything written so far has been sent (and the producer, if any, is done).
  virtual void loseConnection() = 0;
  // Closes now, discarding what is buffered; connectionLost gets ConnectionLost.
  virtual void abortConnection() = 0;
  // Half-close: sends EOF after the buffer drains; reading continues.
  virtual void loseWriteConnection() = 0;

  virtual Address getPeer() const = 0;
  virtual Address getHost() const = 0;

  virtual void setTcpNoDelay(bool enabled) = 0;
  virtual void setTcpKeepAlive(bool enabled) = 0;

  // Bytes written but not yet taken by the kernel.
  virtual std::size_t bufferedBytes() const = 0;
  // Bytes written but not yet received by the peer, as far as this side knows: bufferedBytes()
  // and, for a socket, what the kernel still holds unacknowledged. It shrinks while a slow peer
  // reads, even when bufferedBytes() waits for the kernel's buffer to empty enough to take more.
  virtual std::size_t unsentBytes() const { return bufferedBytes(); }
  // When to pause a registered producer (and, for pull producers, when to ask for more).
  virtual void setHighWaterMark(std::size_t bytes) = 0;

  // Puts a layer between this transport and its protocol: `wrap` is given the protocol and
  // returns the layer, which this transport then connects (makeConnection) and feeds from now on.
  // How tls::startTLS inserts TLS into an open connection. Throws std::logic_error on transports
  // that cannot.
  virtual void insertLayer(
      absl::FunctionRef<std::unique_ptr<Protocol>(std::unique_ptr<Protocol>)> wrap);
};

class Factory;

class Protocol {
 public:
  virtual ~Protocol() = default;

  // The transport calls this when the connection is up: sets transport() and calls
  // connectionMade().
  void makeConnection(ITransport* transport) {
    transport_ = transport;
    connected_ = true;
    connectionMade();
  }

  // The transport calls this once the connection is over: connectionLost(reason), then the end
  // of scope() (its tracked work is cancelled). What either throws is reported as an unhandled
  // failure: a transport closing cannot be stopped by its protocol.
  void endConnection(const Failure& reason) noexcept {
    connected_ = false;
    try {
      connectionLost(reason);
    } catch (...) {
      internal::reportUnhandledFailure(Failure::fromCurrentException());
    }
    try {
      scope_.end();  // cancellers and producers' callbacks run here
    } catch (...) {
      internal::reportUnhandledFailure(Failure::fromCurrentException());
    }
  }

  virtual void connectionMade() {}
  // Data arrived. `data` is valid only during the call.
  virtual void dataReceived(std::string_view data) { (void)data; }
  // The peer will send no more (it half-closed). By default: close our side too, once our
  // buffered data is sent. Override to keep writing (Twisted's IHalfCloseableProtocol).
  virtual void readConnectionLost() { transport_->loseConnection(); }
  // The connection is over: ConnectionDone when closed cleanly, ConnectionLost otherwise.
  virtual void connectionLost(const Failure& reason) { (void)reason; }

  ITransport* transport() const { return transport_; }
  // A layer inserted under this connected protocol (tls::startTLS) becomes its transport.
  void setTransportLayer(ITransport* layer) { transport_ = layer; }
  bool connected() const { return connected_; }
  // Work tied to this connection: ends right after connectionLost (see above), or when the
  // protocol is destroyed if it never connected.
  Scope& scope() { return scope_; }
  // The factory that built this protocol, if a factory did.
  Factory* factory() const { return factory_; }

 private:
  friend class Factory;
  ITransport* transport_ = nullptr;
  Factory* factory_ = nullptr;
  bool connected_ = false;
  Scope scope_;
};

// Builds a Protocol for each connection (Twisted's Factory / ServerFactory).
class Factory {
 public:
  virtual ~Factory() = default;

  // A new protocol for a connection from (servers) or to (clients) `address`; nullptr refuses
  // the connection.
  virtual std::unique_ptr<Protocol> buildProtocol(const Address& address) = 0;

  // Called when the first port or connector starts using this factory, and when the last stops
  // (Twisted's startFactory / stopFactory).
  virtual void startFactory() {}
  virtual void stopFactory() {}

  // Reference-counted start/stop, called by ports and connectors (Twisted's doStart / doStop).
  void doStart() {
    if (users_++ == 0) startFactory();
  }
  void doStop() {
    if (users_ > 0 && --users_ == 0) stopFactory();
  }

  // buildProtocol(), with protocol->factory() set.
  std::unique_ptr<Protocol> build(const Address& address) {
    std::unique_ptr<Protocol> protocol = buildProtocol(address);
    if (protocol) protocol->factory_ = this;
    return protocol;
  }

 private:
  int users_ = 0;
};

// A Factory for connections we make (Twisted's ClientFactory).
class ClientFactory : public Factory {
 public:
  virtual void startedConnecting(Connector& connector) { (void)connector; }
  virtual void clientConnectionFailed(Connector& connector, const Failure& reason) {
    (void)connector;
    (void)reason;
  }
  virtual void clientConnectionLost(Connector& connector, const Failure& reason) {
    (void)connector;
    (void)reason;
  }
};

// makeFactory<P>(args...): a factory that builds a P(args...) for every connection.
// makeFactory(f): a factory that calls f() -> std::unique_ptr<Protocol> for every connection.
template <class Base = Factory, class F>
  requires std::is_invocable_r_v<std::unique_ptr<Protocol>, F&>
std::shared_ptr<Base> makeFactory(F f) {
  struct FunctionFactory final : Base {
    explicit FunctionFactory(F f) : f(std::move(f)) {}
    std::unique_ptr<Protocol> buildProtocol(const Address&) override { return f(); }
    F f;
  };
  return std::make_shared<FunctionFactory>(std::move(f));
}

template <class P, class Base = Factory, class... Args>
  requires std::is_base_of_v<Protocol, P>
std::shared_ptr<Base> makeFactory(Args... args) {
  return makeFactory<Base>([args...]() -> std::unique_ptr<Protocol> {
    return std::make_unique<P>(args...);
  });
}

inline void ITransport::insertLayer(
    absl::FunctionRef<std::unique_ptr<Protocol>(std::unique_ptr<Protocol>)>) {
  throw std::logic_error("this transport cannot insert a layer under its protocol");
}

}  // namespace deft

#endif  // DEFT_PROTOCOL_PROTOCOL_H_
