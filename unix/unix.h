// File: unix/unix.h
//
// Unix-domain stream sockets on the reactor (Twisted's reactor.listenUNIX / connectUNIX): the
// same Protocols and Factories as TCP, over a socket file or a name in Linux's abstract
// namespace ("@name"), with the peer's credentials for servers that decide by who connects.
//
//   auto port = listenUNIX(reactor, "/run/deft/echo.sock", makeFactory<Echo>(), {.mode = 0660});
//   connectUNIX(reactor, "/run/deft/echo.sock", myClientFactory);
//   listenUNIX(reactor, "@deft-echo", makeFactory<Echo>());  // no file; gone with the socket
//
// Connections are TcpConnections (tcp/tcp.h): the transport, backpressure, half-close and
// ownership rules are TCP's. getPeer()/getHost() are Addresses whose path() is the socket's name
// (a client's end is usually unnamed: "").
//
// STALE SOCKET FILES. A server that died leaves its socket file behind, and bind() then fails.
// listenUNIX replaces such a file, and refuses a live one: it holds a lock beside the socket
// ("<path>.lock", a symbolic link naming the holder's pid, Twisted's wantPID) that a dead
// holder's successor may take over, and it probes a socket file it finds with a connect() so a
// server that took no lock is not robbed of its socket either. Closing the port removes both.

#ifndef DEFT_UNIX_UNIX_H_
#define DEFT_UNIX_UNIX_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"

namespace deft {

struct UnixListenOptions {
  // Who may connect: the socket file's permission bits (abstract names have none).
  mode_t mode = 0666;
  int backlog = 128;
  // Take "<path>.lock" while listening (see above). Without it a socket file found in the way is
  // still probed, and replaced only if nothing accepts on it.
  bool wantPID = true;
};

// listenUNIX(reactor, path, factory, options)
//
// Listens on the Unix socket `path` ("@name" for an abstract name). Throws CannotListenError
// naming the path and the reason: a live server holds it, the directory is missing or not
// writable, the name is too long (over 107 bytes).
std::shared_ptr<ListeningPort> listenUNIX(Reactor& reactor, const std::string& path,
                                          std::shared_ptr<Factory> factory,
                                          UnixListenOptions options = {});

// connectUNIX(reactor, path, factory, timeout)
//
// Connects to the Unix socket `path` and drives the factory as connectTCP does: buildProtocol
// once connected, clientConnectionFailed with ConnectionRefusedError (nobody listens) or
// ConnectError (no such file, not allowed) otherwise. The reactor keeps the connector alive
// while it is connecting or connected.
std::shared_ptr<Connector> connectUNIX(Reactor& reactor, const std::string& path,
                                       std::shared_ptr<ClientFactory> factory,
                                       absl::Duration timeout = absl::Seconds(30));

// The process at the other end of a Unix connection, as it was when the connection was made.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// getPeerCredentials(transport)
//
// The peer's credentials (SO_PEERCRED) for a transport over a Unix socket; nullopt for any
// other transport (TCP, or a layer such as TLS over it).
std::optional<PeerCredentials> getPeerCredentials(const ITransport& transport);

}  // namespace deft

#endif  // DEFT_UNIX_UNIX_H_
