// File: mysql/connection.h
//
// A MySQL/MariaDB connection on the reactor: every call that would block in a usual client
// returns a Deferred instead, and the loop thread keeps serving everything else while the server
// works. Under it is MariaDB Connector/C's non-blocking API: each call is started, and continued
// whenever the socket is ready (or its timeout passes), so no thread is spent per query.
//
//   mysql::ConnectOptions options;
//   options.user = "app";
//   options.database = "shop";
//   mysql::Connection conn = co_await mysql::connect(reactor, options);
//   mysql::Result r = co_await conn.query("SELECT name FROM users WHERE id = ?", 42);
//
// Most programs use a ConnectionPool (mysql/pool.h) rather than connections of their own.
//
// QUERIES. query(sql, params...) binds `?` placeholders (mysql/params.h) and gives the whole
// Result. stream(onRow, sql, params...) hands each row to `onRow` as it arrives and gives the
// Status at the end, holding one row at a time; pauseProducing()/resumeProducing() stop and
// restart the rows (Twisted's push producer), and a paused stream stops reading the socket, so
// the server waits too. Calls made while another runs wait their turn, in order (one statement
// at a time is all the protocol allows on a connection).
//
// ERRORS. A failed statement errbacks with a MysqlError subclass (mysql/errors.h); the connection
// stays usable. A lost connection errbacks the running statement, and every one waiting, with
// ConnectionLostError; broken() is then true. A throwing `onRow` fails the stream with what it
// threw; the rest of the rows are read and dropped, so the connection stays usable.
//
// CANCELLATION. Cancelling a waiting call removes it. Cancelling the running statement (or its
// addTimeout) errbacks it with CancelledError at once and sends `KILL QUERY` for it on a second,
// short-lived connection, so the server stops working on it; the connection is usable for the
// next call once the server has answered. If the kill cannot be sent, the connection is closed
// (its state is unknown) and broken() is true.
//
// OWNERSHIP. Connection is a move-only handle. Destroying it (or abort()) closes the socket at
// once: calls not finished errback with ConnectionLostError. close() says goodbye to the server
// after the calls already made. A Result outlives its Connection safely.

#ifndef DEFT_MYSQL_CONNECTION_H_
#define DEFT_MYSQL_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "mysql/errors.h"
#include "mysql/params.h"
#include "mysql/result.h"

namespace deft {
class Reactor;
}

namespace deft::mysql {

struct TlsOptions {
  bool enabled = false;
  std::string caFile;    // PEM; empty: the system's trust store (Debian's ca-certificates bundle)
  std::string certFile;  // client certificate, when the server asks for one
  std::string keyFile;
  // Check the server's certificate chain and that it names the host connected to: the host
  // name as given (not the address it resolved to), or the IP address when one was given.
  bool verifyServerCertificate = true;
};

struct ConnectOptions {
  // A host name (resolved by the reactor's resolver, never by the connector) or an IP address.
  std::string host = "127.0.0.1";
  std::uint16_t port = 3306;
  // A Unix socket path: when set, host and port are not used.
  std::string unixSocket;
  std::string user = "root";
  std::string password;
  std::string database;  // empty: none selected
  std::string charset = "utf8mb4";
  absl::Duration connectTimeout = absl::Seconds(10);
  // No byte from the server for this long during a call: the connection is closed and the call
  // errbacks with ConnectionLostError (the server stops the statement when it next writes).
  // Zero: wait as long as the statement takes. Per call, use addTimeout instead: it kills the
  // statement and keeps the connection.
  absl::Duration readTimeout = absl::ZeroDuration();
  TlsOptions tls;
};

// parseDsn("mysql://user:password@host:port/database?unix_socket=/run/mysqld/mysqld.sock")
//
// Connect options from a URL; any part may be left out (the defaults above stay). Percent-escapes
// in the user and password are decoded. Query keys: unix_socket, charset, connect_timeout and
// read_timeout (seconds), ssl (true/false), ssl_ca, ssl_cert, ssl_key.
absl::StatusOr<ConnectOptions> parseDsn(std::string_view dsn);

namespace internal {
class ConnectionCore;
}

class Connection {
 public:
  using RowHandler = absl::AnyInvocable<void(const Row&)>;

  // A handle to nothing: every call errbacks with UsageError.
  Connection() = default;
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Connection::query(sql, params...)
  template <class... Params>
  Deferred<Result> query(std::string_view sql, Params&&... params) {
    return queryWith(sql, internal::makeParams(std::forward<Params>(params)...));
  }
  Deferred<Result> queryWith(std::string_view sql, std::vector<Param> params);

  // Connection::stream(onRow, sql, params...)
  //
  // Calls onRow(row) for each row as it is read (the Row is valid during the call), then fires
  // with the statement's Status.
  template <class... Params>
  Deferred<Status> stream(RowHandler onRow, std::string_view sql, Params&&... params) {
    return streamWith(std::move(onRow), sql,
                      internal::makeParams(std::forward<Params>(params)...));
  }
  Deferred<Status> streamWith(RowHandler onRow, std::string_view sql, std::vector<Param> params);

  // Stop and restart the rows of the running stream (no effect on anything else).
  void pauseProducing();
  void resumeProducing();

  // A round trip to the server (COM_PING): errbacks if the connection is no longer usable.
  Deferred<void> ping();

  // Connection::close()
  //
  // Runs the calls already made, tells the server goodbye and closes. Fires when closed; never
  // errbacks (a connection that is already lost is simply closed).
  Deferred<void> close();

  // Closes the socket now; unfinished calls errback with ConnectionLostError.
  void abort();

  // Open and not broken: calls may still succeed.
  bool usable() const;
  // usable(), after looking at an idle connection's socket (one recv) for a close by the server
  // that the loop has not dispatched yet: what a pool asks before it lends a connection that sat
  // idle.
  bool stillOpen();
  // The connection was lost, or a cancelled statement's state is unknown.
  bool broken() const;
  // Statements running or waiting.
  std::size_t pendingCalls() const;
  // A transaction is open (BEGIN without COMMIT or ROLLBACK yet), as of the last answer.
  bool inTransaction() const;
  // The server's id for this session (what SHOW PROCESSLIST and KILL use).
  unsigned long threadId() const;
  std::string serverVersion() const;
  // When the connection was made (for a pool's recycle age).
  absl::Time connectedAt() const;

 private:
  friend Deferred<Connection> connect(Reactor& reactor, ConnectOptions options);
  explicit Connection(std::shared_ptr<internal::ConnectionCore> core) : core_(std::move(core)) {}

  std::shared_ptr<internal::ConnectionCore> core_;
};

// connect(reactor, options)
//
// A new connection, once the server has accepted the login. Errbacks with ConnectError (nothing
// listening, no such host: the reactor's resolver names it), AccessDeniedError,
// UnknownDatabaseError, TooManyConnectionsError, or another MysqlError. Cancelling it closes the
// half-made connection.
Deferred<Connection> connect(Reactor& reactor, ConnectOptions options);

}  // namespace deft::mysql

#endif  // DEFT_MYSQL_CONNECTION_H_
