// File: mysql/pool.h
//
// A pool of connections (Tornado-MySQL's pools.Pool, Twisted's adbapi.ConnectionPool without the
// threads): at most `maxOpen` connections, made when needed, kept for the next caller when
// returned, up to `maxIdle` idle; connections older than `maxRecycle` are replaced, a broken one
// is never handed out, and callers beyond `maxOpen` wait in order.
//
//   mysql::ConnectionPool pool(reactor, options, {.maxOpen = 10, .maxIdle = 2});
//   mysql::Result r = co_await pool.execute("SELECT SLEEP(?)", 1);        // one-off statement
//   auto order = [item](mysql::Connection& c) -> Deferred<std::uint64_t> {   // BEGIN
//     mysql::Result r = co_await c.query("INSERT INTO orders (item) VALUES (?)", item);
//     co_await c.query("UPDATE stock SET n = n - 1 WHERE item = ?", item);
//     co_return r.lastInsertId();                                             // COMMIT
//   };
//   std::uint64_t id = co_await mysql::runInteraction(pool, order);
//
// HANDING OUT. acquire() gives a PooledConnection: a handle that returns its connection to the
// pool when it goes (a connection with calls still running comes back after them; a broken one is
// closed and a new one made for the next caller). Waiting callers are served first in, first out;
// more than `maxWaiting` waiting errback with PoolExhaustedError instead of queueing without
// bound. Cancelling an acquire() removes it from the queue; cancelling execute() cancels its
// statement (connection.h: KILL QUERY).
//
// A FAILED CONNECT fails the caller it was made for, with the connect error (ConnectError,
// AccessDeniedError...). The next caller tries again: a pool recovers when the server is back.
//
// CLOSING. close() stops handing out, errbacks the waiting callers, lets the statements that are
// running finish, then closes every connection; it fires when all are closed. closeNow() (and
// the reactor's shutdown, and the destructor) close every connection at once: running statements
// errback with ConnectionLostError.
//
// LIFETIME. The pool must be destroyed before its Reactor. A PooledConnection may outlive the
// pool: its connection is then closed, and its calls errback.

#ifndef DEFT_MYSQL_POOL_H_
#define DEFT_MYSQL_POOL_H_

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "mysql/connection.h"
#include "mysql/errors.h"

namespace deft {
class Reactor;
}

namespace deft::mysql {

struct PoolOptions {
  // Connections open at once, idle or in use (Tornado-MySQL's max_open_connections).
  std::size_t maxOpen = 10;
  // Idle connections kept; more are closed when returned (max_idle_connections).
  std::size_t maxIdle = 10;
  // A connection this old is closed instead of reused (max_recycle_sec). Zero: kept forever.
  absl::Duration maxRecycle = absl::ZeroDuration();
  // acquire() calls that may wait for a connection.
  std::size_t maxWaiting = 10'000;
};

// acquire() when `maxWaiting` callers already wait.
class PoolExhaustedError : public Error {
 public:
  explicit PoolExhaustedError(const std::string& message)
      : Error(message, absl::StatusCode::kResourceExhausted) {}
};

namespace internal {
class PoolCore;
struct PoolSlot;
}  // namespace internal

// A connection lent by a pool; given back when this handle goes (or release()).
class PooledConnection {
 public:
  PooledConnection(PooledConnection&&) noexcept = default;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  ~PooledConnection() { release(); }

  Connection& operator*() const;
  Connection* operator->() const { return &**this; }

  // Gives the connection back now; the handle is empty after.
  void release();

 private:
  friend class internal::PoolCore;
  PooledConnection(std::weak_ptr<internal::PoolCore> pool, std::shared_ptr<internal::PoolSlot> slot)
      : pool_(std::move(pool)), slot_(std::move(slot)) {}

  std::weak_ptr<internal::PoolCore> pool_;
  std::shared_ptr<internal::PoolSlot> slot_;
};

class ConnectionPool {
 public:
  ConnectionPool(Reactor& reactor, ConnectOptions options, PoolOptions poolOptions);
  ConnectionPool(Reactor& reactor, ConnectOptions options)
      : ConnectionPool(reactor, std::move(options), PoolOptions()) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  Deferred<PooledConnection> acquire();

  // ConnectionPool::execute(sql, params...)
  //
  // One statement on a pooled connection, which goes back to the pool when it is done.
  template <class... Params>
  Deferred<Result> execute(std::string_view sql, Params&&... params) {
    return executeWith(std::string(sql), internal::makeParams(std::forward<Params>(params)...));
  }
  Deferred<Result> executeWith(std::string sql, std::vector<Param> params);

  Deferred<void> close();
  void closeNow();

  std::size_t openCount() const;     // connected or connecting
  std::size_t idleCount() const;
  std::size_t waitingCount() const;  // acquire() calls waiting

 private:
  std::shared_ptr<internal::PoolCore> core_;
};

namespace internal {
template <class D>
struct DeferredValue;
template <class U>
struct DeferredValue<Deferred<U>> {
  using Type = U;
};
Deferred<void> rollbackQuietly(Connection& connection);
}  // namespace internal

// runInteraction(pool, f)
//
// Twisted's ConnectionPool.runInteraction: BEGIN on a pooled connection, then f(connection)
// (which returns a Deferred, usually a coroutine's), then COMMIT; ROLLBACK instead when f's
// Deferred errbacks, and the failure goes on. Fires with what f gave. The connection goes back to
// the pool after.
//
// Inside a coroutine, pass a named callable (as above), not a lambda written in the co_await
// expression: g++ 12 mis-copies a temporary with captures there (the program aborts in free()).
template <class F>
auto runInteraction(ConnectionPool& pool, F f)
    -> Deferred<typename internal::DeferredValue<std::invoke_result_t<F&, Connection&>>::Type> {
  using T = typename internal::DeferredValue<std::invoke_result_t<F&, Connection&>>::Type;
  PooledConnection connection = co_await pool.acquire();
  co_await connection->query("BEGIN");
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await f(*connection);
    } catch (...) {
      error = std::current_exception();
    }
    if (!error) {
      co_await connection->query("COMMIT");
      connection.release();  // before the caller's callbacks run
      co_return;
    }
  } else {
    std::optional<T> value;
    try {
      value.emplace(co_await f(*connection));
    } catch (...) {
      error = std::current_exception();
    }
    if (!error) {
      co_await connection->query("COMMIT");
      connection.release();  // before the caller's callbacks run
      co_return std::move(*value);
    }
  }
  co_await internal::rollbackQuietly(*connection);
  connection.release();
  std::rethrow_exception(error);
}

}  // namespace deft::mysql

#endif  // DEFT_MYSQL_POOL_H_
