// File: udp/udp.h
//
// UDP on the reactor (Twisted's reactor.listenUDP and DatagramProtocol): a port that receives
// datagrams from anyone and sends to anyone, or, once connect()ed, to and from one peer only.
//
//   class EchoUdp : public DatagramProtocol {
//     void datagramReceived(std::string_view data, const Address& from) override {
//       transport()->write(data, from);
//     }
//   };
//   auto port = listenUDP(reactor, 9999, std::make_shared<EchoUdp>());
//
// RECEIVING. The port drains its socket with recvmmsg, up to 32 datagrams per system call and a
// few calls per wake-up, so a busy port costs one wake-up per batch, not one per datagram.
// datagramReceived gets each datagram whole, with the sender's address; `data` is valid only
// during the call. A datagram longer than the port's maxPacketSize is dropped (and counted),
// never delivered cut. A datagramReceived that throws is reported (unhandled-failure hook) and
// the port goes on with the next datagram, as Twisted's does.
//
// SENDING. write() hands the datagram to the kernel at once. Writes made from datagramReceived
// are held until the batch being delivered ends and then sent together with one sendmmsg (an
// echo server's replies cost one system call per batch; a send error at that point drops the
// datagram and counts it, as there is no caller left to throw to). When the kernel's buffer is full, a
// copy waits, up to UdpListenOptions::maxQueuedBytes; past that a write is dropped and counted
// (UDP may lose datagrams anywhere: a sender that must not lose them paces itself on
// queuedBytes()). A datagram over maxDatagramSize() throws MessageLengthError before anything is
// sent.
//
// CONNECTED MODE. connect(host, port) (an IP literal, as in Twisted) fixes the peer: write(data)
// sends to it, only its datagrams are received, and an ICMP "port unreachable" it provokes
// arrives as connectionRefused(): when the next receive finds it, or on a later pass of the loop
// when a write does.
//
// MULTICAST. joinGroup/leaveGroup, setTTL, setLoopbackMode, setOutgoingInterface (IPv4 and IPv6
// groups); failures throw MulticastJoinError with the kernel's reason.
//
// OWNERSHIP. The port and the caller share the protocol. The reactor keeps the port alive until
// stopListening() (or its own shutdown), which calls the protocol's stopProtocol and ends its
// scope(): callbacks that capture the protocol's `this` go through scope(), as for TCP. A
// protocol serves one port.

#ifndef DEFT_UDP_UDP_H_
#define DEFT_UDP_UDP_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "deferred/scope.h"
#include "net/address.h"
#include "reactor/reactor.h"

namespace deft {

// A datagram too long to send (Twisted's error.MessageLengthError).
class MessageLengthError : public Error {
 public:
  explicit MessageLengthError(const std::string& message)
      : Error(message, absl::StatusCode::kInvalidArgument) {}
};

// joinGroup/leaveGroup or another multicast setting failed (Twisted's error.MulticastJoinError).
class MulticastJoinError : public Error {
 public:
  explicit MulticastJoinError(const std::string& message)
      : Error(message, absl::StatusCode::kUnavailable) {}
};

// The kernel refused a datagram for a reason other than a full buffer: no route to the host, a
// broadcast address without setBroadcastAllowed, a firewall.
class DatagramSendError : public Error {
 public:
  explicit DatagramSendError(const std::string& message)
      : Error(message, absl::StatusCode::kUnavailable) {}
};

struct UdpListenOptions {
  // The local address: "" for every IPv4 address, "::" for every IPv6 (and IPv4-mapped) address,
  // or a literal such as "127.0.0.1".
  std::string interface = {};
  // The longest datagram received whole; longer ones are dropped (droppedDatagrams()).
  std::size_t maxPacketSize = 65535;
  // What may wait for room in the kernel's send buffer before writes are dropped.
  std::size_t maxQueuedBytes = 1024 * 1024;
  // SO_RCVBUF / SO_SNDBUF when non-zero (capped at net.core.[rw]mem_max unless the process has
  // CAP_NET_ADMIN).
  int receiveBufferSize = 0;
  int sendBufferSize = 0;
  // SO_REUSEADDR and SO_REUSEPORT: several sockets on one port (multicast listeners, several
  // processes sharing the load).
  bool reusePort = false;
};

class UdpPort;

// What a UDP port delivers datagrams to (Twisted's DatagramProtocol).
class DatagramProtocol {
 public:
  virtual ~DatagramProtocol() = default;

  // The port is listening (transport() is set) / has stopped (transport() is null after).
  virtual void startProtocol() {}
  virtual void stopProtocol() {}
  // One datagram from `from`. `data` is valid only during the call.
  virtual void datagramReceived(std::string_view data, const Address& from) = 0;
  // Connected mode: the peer's host answered a datagram with ICMP port unreachable.
  virtual void connectionRefused() {}

  UdpPort* transport() const { return transport_; }
  // Work tied to this protocol's port: ends right after stopProtocol (see deferred/scope.h).
  Scope& scope() { return scope_; }

 private:
  friend class UdpPort;
  UdpPort* transport_ = nullptr;
  Scope scope_;
};

// A listening UDP socket: the transport of its DatagramProtocol (Twisted's IUDPTransport and
// IMulticastTransport).
class UdpPort final : public FileDescriptor,
                      public Disconnectable,
                      public std::enable_shared_from_this<UdpPort> {
 public:
  // Takes ownership of the bound, non-blocking datagram socket `fd`. listenUDP makes these.
  UdpPort(Reactor& reactor, int fd, std::shared_ptr<DatagramProtocol> protocol,
          UdpListenOptions options);
  ~UdpPort() override;
  UdpPort(const UdpPort&) = delete;
  UdpPort& operator=(const UdpPort&) = delete;

  // Starts receiving and calls the protocol's startProtocol.
  void start();

  // Sends `datagram` to `to` (any peer; connected mode: the peer only, or std::logic_error).
  // False if it was dropped because maxQueuedBytes were already waiting. Throws
  // MessageLengthError for a datagram over maxDatagramSize(), DatagramSendError when the kernel
  // refuses it, std::logic_error after stopListening.
  bool write(std::string_view datagram, const Address& to);
  // Connected mode: sends to the peer.
  bool write(std::string_view datagram);

  // Connected mode (see above). `host` must be an IP literal of the port's family; throws
  // std::invalid_argument otherwise, DatagramSendError if the kernel refuses.
  void connect(const std::string& host, std::uint16_t port);
  // The peer, in connected mode.
  std::optional<Address> getPeer() const { return peer_; }
  // The local address (with the real port when 0 was asked for).
  Address getHost() const;

  // The longest datagram this port can send: 65,507 bytes over IPv4, 65,527 over IPv6.
  std::size_t maxDatagramSize() const;

  // Multicast. `group` and `interface` are IP literals; "" as the interface lets the kernel
  // choose (IPv4: by route; IPv6: interface 0). Throw MulticastJoinError.
  void joinGroup(const std::string& group, const std::string& interface = "");
  void leaveGroup(const std::string& group, const std::string& interface = "");
  void setTTL(int ttl);
  int getTTL() const;
  void setLoopbackMode(bool enabled);
  bool getLoopbackMode() const;
  void setOutgoingInterface(const std::string& interface);
  void setBroadcastAllowed(bool enabled);
  bool getBroadcastAllowed() const;

  // Stops receiving, calls stopProtocol, closes the socket (datagrams still queued are dropped).
  // The Deferred fires on a later pass of the loop. Calling it again gives a fired Deferred.
  Deferred<void> stopListening();

  // Bytes written and waiting for room in the kernel's buffer.
  std::size_t queuedBytes() const { return queuedBytes_; }
  // Datagrams dropped: received longer than maxPacketSize, or written past maxQueuedBytes.
  std::uint64_t droppedDatagrams() const { return dropped_; }
  DatagramProtocol* protocol() const { return protocol_.get(); }

  // FileDescriptor
  int fileno() const override { return fd_; }
  void doRead() override;
  void doWrite() override;
  void connectionLost(const Failure& reason) override;
  // Disconnectable
  void disconnect() override { stopListening(); }

 private:
  struct Outgoing {
    std::optional<Address> to;  // none: the connected peer
    std::string data;
  };
  struct Held {  // a datagram written while delivering: its bytes are in heldBytes_
    std::optional<Address> to;
    std::size_t offset;
    std::size_t size;
  };

  bool send(std::string_view datagram, const Address* to);
  // Sends what writes from datagramReceived held back (one sendmmsg per 32).
  void sendHeld();
  // Sends what waited for room; false while some still waits.
  bool flushQueue();
  bool enqueue(std::string_view datagram, const Address* to);
  void refusedLater();
  void checkOpen() const;
  void setMulticastOption(int v4Level, int v4Option, int v6Level, int v6Option, int value,
                          const char* what);
  int getMulticastOption(int v4Level, int v4Option, int v6Level, int v6Option) const;
  void changeMembership(bool join, const std::string& group, const std::string& interface);

  Reactor& reactor_;
  int fd_;
  std::shared_ptr<DatagramProtocol> protocol_;
  UdpListenOptions options_;
  std::optional<Address> peer_;
  bool ipv6_ = false;  // the socket's family, known once (every write checks a size by it)
  bool listening_ = false;
  bool delivering_ = false;          // inside doRead's datagramReceived calls
  std::vector<Held> held_;           // written while delivering
  std::string heldBytes_;
  std::deque<Outgoing> queue_;       // waiting for room in the kernel's buffer
  std::size_t queuedBytes_ = 0;
  std::uint64_t dropped_ = 0;
};

// listenUDP(reactor, port, protocol, options)
//
// Binds `port` (0: any free port; see getHost()) and delivers its datagrams to `protocol`.
// Throws CannotListenError with the reason when it cannot bind.
std::shared_ptr<UdpPort> listenUDP(Reactor& reactor, std::uint16_t port,
                                   std::shared_ptr<DatagramProtocol> protocol,
                                   UdpListenOptions options = {});

}  // namespace deft

#endif  // DEFT_UDP_UDP_H_
