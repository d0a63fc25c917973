#include "mysql/connection.h"

#include <mariadb/mysql.h>
#include <mariadb/errmsg.h>
#include <mariadb/ma_pvio.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "deferred/errors.h"
#include "deferred/failure.h"
#include "deferred/scope.h"
#include "dns/resolver.h"
#include "net/address.h"
#include "reactor/reactor.h"

namespace deft::mysql {

namespace internal {

namespace {

Failure mysqlFailure(MYSQL* mysql, const std::string& context) {
  try {
    throwMysqlError(mysql, context);
  } catch (...) {
    return Failure::fromCurrentException();
  }
}

Failure lostConnection(const std::string& why) {
  try {
    throwMysqlError(CR_SERVER_LOST, "HY000", why);
  } catch (...) {
    return Failure::fromCurrentException();
  }
}

// Connector errors (2000 and up) mean the connection, not the statement, went wrong.
bool isConnectionError(unsigned number) { return number >= 2000 && number < 3000; }

// Debian's bundle of the system's trusted CAs (ca-certificates).
constexpr const char* kSystemTrustStore = "/etc/ssl/certs/ca-certificates.crt";

unsigned wholeSeconds(absl::Duration d) {
  const std::int64_t s = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  return s <= 0 ? 0 : static_cast<unsigned>(s);
}

}  // namespace

// The state behind a Connection handle. The handle owns it; the loop refers to it as a
// FileDescriptor only while it watches the socket, and its timers and the kill of a cancelled
// statement go through its scope or a weak reference, so none of them outlives it.
class ConnectionCore final : public FileDescriptor,
                             public std::enable_shared_from_this<ConnectionCore> {
 public:
  ConnectionCore(Reactor& reactor, ConnectOptions options)
      : reactor_(reactor), options_(std::move(options)) {}
  ConnectionCore(const ConnectionCore&) = delete;
  ConnectionCore& operator=(const ConnectionCore&) = delete;
  ~ConnectionCore() override { abort(lostConnection("the connection was destroyed")); }

  // Logs in to `host` (an IP address; unused for a Unix socket). `name`, when not empty, is the
  // host name it was resolved from: what TLS verification checks the certificate against.
  Deferred<void> start(const std::string& host, const std::string& name);

  Deferred<Result> query(std::string_view sql, std::vector<Param> params);
  Deferred<Status> stream(Connection::RowHandler onRow, std::string_view sql,
                          std::vector<Param> params);
  Deferred<void> ping();
  Deferred<void> close();
  void abort(const Failure& reason);

  void pauseProducing();
  void resumeProducing();

  bool usable() const { return state_ == State::kConnecting || state_ == State::kReady; }
  bool stillOpen() {
    if (state_ == State::kReady && !current_ && queue_.empty()) checkIdleSocket();
    return usable();
  }
  bool broken() const { return broken_; }
  bool inTransaction() const {
    return mysql_ != nullptr && (mysql_->server_status & SERVER_STATUS_IN_TRANS) != 0;
  }
  std::size_t pending() const { return queue_.size() + (current_ ? 1 : 0); }
  unsigned long threadId() const { return threadId_; }
  const std::string& serverVersion() const { return serverVersion_; }
  absl::Time connectedAt() const { return connectedAt_; }

  int fileno() const override { return fd_; }
  void doRead() override { onReady(MYSQL_WAIT_READ); }
  void doWrite() override { onReady(MYSQL_WAIT_WRITE); }

 private:
  enum class State { kNew, kConnecting, kReady, kClosed };
  enum class Kind { kConnect, kQuery, kStream, kPing, kClose };

  // A call made on the connection, waiting or running.
  struct Call {
    using AnyDeferred = std::variant<Deferred<void>, Deferred<Result>, Deferred<Status>>;
    Call(Kind k, std::uint64_t i, AnyDeferred d) : kind(k), id(i), deferred(std::move(d)) {}

    Kind kind;
    std::uint64_t id;
    AnyDeferred deferred;
    std::string sql;  // as given, then bound
    std::vector<Param> params;
    Connection::RowHandler onRow;
    // Its Deferred has fired already (cancelled): what it still does is dropped.
    bool cancelled = false;
    std::optional<Failure> rowFailure;  // onRow threw
    MYSQL_RES* rows = nullptr;          // a stream's result, being read
    std::unique_ptr<Shape> shape;
    std::uint64_t rowCount = 0;
  };

  template <class T>
  Deferred<T> enqueue(Kind kind, std::string_view sql, std::vector<Param> params,
                      Connection::RowHandler onRow);
  void cancelCall(std::uint64_t id);
  void pump();
  void startCall();
  void afterQuerySent();
  void fetchRows();
  bool deliverRow(MYSQL_ROW row);
  void complete(std::unique_ptr<Call> call, Result result, Status status);
  void fail(std::unique_ptr<Call> call, const Failure& failure);
  void failCurrent(const std::string& context);
  void closeConnector(Call* running);
  std::optional<Failure> verifyPeerName();
  void settle(Call& call, const Failure& failure);
  void drainMoreResults(absl::AnyInvocable<void()> done);
  void resumeRows();
  void killCurrentStatement();

  // Runs a non-blocking call: `start()` and then `cont(ready)` whenever the socket is ready, until
  // one returns 0; then `then()`.
  template <class Start>
  void run(Start start, absl::AnyInvocable<int(int)> cont, absl::AnyInvocable<void()> then);
  void drive(int status);
  void wait(int status);
  void onReady(int ready);
  void onIdleReadable();
  void checkIdleSocket();
  void watch(bool read, bool write);

  Reactor& reactor_;
  ConnectOptions options_;
  std::string host_;  // the address logged in to
  std::string verifyName_;  // the name the server's certificate must carry, if TLS checks one
  MYSQL* mysql_ = nullptr;
  State state_ = State::kNew;
  bool broken_ = false;
  int fd_ = -1;
  bool reading_ = false;
  bool writing_ = false;
  int waitingFor_ = 0;
  std::shared_ptr<IDelayedCall> timer_;      // the connector's own timeout (the login's)
  std::shared_ptr<IDelayedCall> readTimer_;  // ConnectOptions::readTimeout, while a call reads
  absl::AnyInvocable<int(int)> cont_;
  absl::AnyInvocable<void()> then_;

  std::deque<std::unique_ptr<Call>> queue_;
  std::unique_ptr<Call> current_;
  std::unique_ptr<Call> parked_;  // aborted from its own row handler: freed after fetchRows
  std::uint64_t nextId_ = 1;
  bool pumping_ = false;
  bool paused_ = false;
  bool fetching_ = false;
  bool killing_ = false;  // the next call waits until the kill of a cancelled one is done

  // Out-values of the connector's calls.
  MYSQL* connectResult_ = nullptr;
  int intResult_ = 0;
  my_bool boolResult_ = 0;
  MYSQL_RES* stored_ = nullptr;
  MYSQL_ROW fetched_ = nullptr;

  unsigned long threadId_ = 0;
  std::string serverVersion_;
  absl::Time connectedAt_ = absl::InfinitePast();
  Scope scope_;
};

Deferred<void> ConnectionCore::start(const std::string& host, const std::string& name) {
  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) throw std::bad_alloc();
  state_ = State::kConnecting;
  mysql_options(mysql_, MYSQL_OPT_NONBLOCK, nullptr);
  mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, options_.charset.c_str());
  const unsigned connectTimeout = wholeSeconds(options_.connectTimeout);
  if (connectTimeout > 0) mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout);
  // (The connector's own read timeout does nothing in non-blocking mode: wait() keeps it.)
  const unsigned localInfile = 0;  // the server must not read the client's files
  mysql_options(mysql_, MYSQL_OPT_LOCAL_INFILE, &localInfile);
  const unsigned protocol = options_.unixSocket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &protocol);
  if (options_.tls.enabled) {
    const my_bool on = 1;
    // The connector would check the certificate against the address it connects to, which for a
    // name is the resolved IP: the name is checked here instead (verifyPeerName), after the
    // handshake. The chain is checked by the connector either way.
    verifyName_ = options_.tls.verifyServerCertificate ? name : std::string();
    const my_bool verify = options_.tls.verifyServerCertificate && name.empty() ? 1 : 0;
    if (options_.tls.verifyServerCertificate && options_.tls.caFile.empty() &&
        ::access(kSystemTrustStore, R_OK) == 0) {
      options_.tls.caFile = kSystemTrustStore;
    }
    mysql_options(mysql_, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_options(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    auto orNull = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    // Not verifying means not checking the chain either: the connector checks it against any CA
    // it is given.
    mysql_ssl_set(mysql_, orNull(options_.tls.keyFile), orNull(options_.tls.certFile),
                  options_.tls.verifyServerCertificate ? orNull(options_.tls.caFile) : nullptr,
                  nullptr, nullptr);
  }

  auto call = std::make_unique<Call>(Kind::kConnect, nextId_++, Deferred<void>());
  const std::uint64_t id = call->id;
  std::weak_ptr<ConnectionCore> weak = weak_from_this();
  Deferred<void> connected([weak, id](Deferred<void>&) {
    if (auto core = weak.lock()) core->cancelCall(id);
  });
  call->deferred = connected;
  current_ = std::move(call);

  const std::string where =
      options_.unixSocket.empty() ? absl::StrCat(host, ":", options_.port) : options_.unixSocket;
  // The connector keeps the pointers it is given until the login is done: they point into *this.
  host_ = host;
  run(
      [this] {
        return mysql_real_connect_start(
            &connectResult_, mysql_, options_.unixSocket.empty() ? host_.c_str() : nullptr,
            options_.user.c_str(), options_.password.c_str(),
            options_.database.empty() ? nullptr : options_.database.c_str(), options_.port,
            options_.unixSocket.empty() ? nullptr : options_.unixSocket.c_str(), 0);
      },
      [this](int ready) { return mysql_real_connect_cont(&connectResult_, mysql_, ready); },
      [this, where] {
        if (connectResult_ == nullptr) {
          Failure failure = mysqlFailure(mysql_, "connect to " + where);
          abort(failure);
          return;
        }
        if (!verifyName_.empty()) {
          if (std::optional<Failure> mismatch = verifyPeerName()) {
            abort(*mismatch);
            return;
          }
        }
        state_ = State::kReady;
        threadId_ = mysql_thread_id(mysql_);
        serverVersion_ = mysql_get_server_info(mysql_);
        connectedAt_ = reactor_.seconds();
        complete(std::move(current_), Result(), Status());
      });
  return connected;
}

template <class T>
Deferred<T> ConnectionCore::enqueue(Kind kind, std::string_view sql, std::vector<Param> params,
                                    Connection::RowHandler onRow) {
  if (state_ == State::kClosed || state_ == State::kNew) {
    return deft::fail<T>(broken_ ? lostConnection("the connection was lost")
                           : Failure(UsageError("the connection is closed")));
  }
  const std::uint64_t id = nextId_++;
  std::weak_ptr<ConnectionCore> weak = weak_from_this();
  Deferred<T> d([weak, id](Deferred<T>&) {
    if (auto core = weak.lock()) core->cancelCall(id);
  });
  auto call = std::make_unique<Call>(kind, id, d);
  call->sql = sql;
  call->params = std::move(params);
  call->onRow = std::move(onRow);
  queue_.push_back(std::move(call));
  pump();
  return d;
}

Deferred<Result> ConnectionCore::query(std::string_view sql, std::vector<Param> params) {
  return enqueue<Result>(Kind::kQuery, sql, std::move(params), nullptr);
}

Deferred<Status> ConnectionCore::stream(Connection::RowHandler onRow, std::string_view sql,
                                        std::vector<Param> params) {
  return enqueue<Status>(Kind::kStream, sql, std::move(params), std::move(onRow));
}

Deferred<void> ConnectionCore::ping() { return enqueue<void>(Kind::kPing, "", {}, nullptr); }

Deferred<void> ConnectionCore::close() {
  if (state_ == State::kClosed || state_ == State::kNew) return deft::succeed();
  return enqueue<void>(Kind::kClose, "", {}, nullptr);
}

void ConnectionCore::cancelCall(std::uint64_t id) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if ((*it)->id == id) {
      queue_.erase(it);  // its Deferred errbacks with CancelledError when the canceller returns
      return;
    }
  }
  if (!current_ || current_->id != id) return;
  current_->cancelled = true;
  if (current_->kind == Kind::kQuery || current_->kind == Kind::kStream) {
    if (paused_) resumeProducing();  // the rest of the rows are read and dropped
    killCurrentStatement();
  } else {
    // A login, ping or goodbye stopped half-way leaves the protocol in an unknown state.
    abort(lostConnection("the call was cancelled while it ran"));
  }
}

// Sends KILL QUERY for the running statement on a connection of its own. Until that is done the
// next call waits: a kill that arrived after the statement ended would otherwise stop the next.
Deferred<void> killStatement(Reactor& reactor, ConnectOptions options, unsigned long threadId) {
  options.database.clear();
  Connection killer = co_await connect(reactor, std::move(options));
  co_await killer.query("KILL QUERY ?", static_cast<std::uint64_t>(threadId));
  co_await killer.close();
}

void ConnectionCore::killCurrentStatement() {
  if (killing_) return;
  killing_ = true;
  std::weak_ptr<ConnectionCore> weak = weak_from_this();
  ConnectOptions killer = options_;
  if (killer.unixSocket.empty()) killer.host = host_;  // the same server, not a name resolved again
  killStatement(reactor_, std::move(killer), threadId_)
      .addCallbacks(
          [weak] {
            if (auto core = weak.lock()) {
              core->killing_ = false;
              core->pump();
            }
          },
          [weak](const Failure& failure) {
            if (auto core = weak.lock()) {
              core->killing_ = false;
              core->abort(lostConnection("a cancelled statement could not be killed (" +
                                         failure.getErrorMessage() +
                                         "), so the connection was closed"));
            }
          });
}

void ConnectionCore::pump() {
  if (pumping_) return;
  pumping_ = true;
  std::shared_ptr<ConnectionCore> self = shared_from_this();  // a callback may drop the handle
  while (state_ == State::kReady && !current_ && !killing_ && !queue_.empty()) {
    current_ = std::move(queue_.front());
    queue_.pop_front();
    startCall();
  }
  // Idle, the socket stays watched for reading (no system call when it is already): a close by
  // the server is noticed at once, not by the next statement (onIdleReadable).
  if (state_ == State::kReady && !current_ && !paused_ && !cont_) watch(true, false);
  pumping_ = false;
}

void ConnectionCore::startCall() {
  Call& call = *current_;
  switch (call.kind) {
    case Kind::kQuery:
    case Kind::kStream: {
      try {
        call.sql = bindParams(mysql_, call.sql, call.params);
      } catch (...) {
        fail(std::move(current_), Failure::fromCurrentException());
        return;
      }
      call.params.clear();
      // Sent, then read once the socket is readable: mysql_real_query would try a read at once,
      // a system call that finds nothing on every statement.
      run([this, &call] {
            return mysql_send_query_start(&intResult_, mysql_, call.sql.data(), call.sql.size());
          },
          [this](int ready) { return mysql_send_query_cont(&intResult_, mysql_, ready); },
          [this] {
            if (intResult_ != 0) return failCurrent("query");
            cont_ = [this, started = false](int ready) mutable {
              if (!started) {
                started = true;
                return mysql_read_query_result_start(&boolResult_, mysql_);
              }
              return mysql_read_query_result_cont(&boolResult_, mysql_, ready);
            };
            then_ = [this] { afterQuerySent(); };
            wait(MYSQL_WAIT_READ);
          });
      return;
    }
    case Kind::kPing:
      run([this] { return mysql_ping_start(&intResult_, mysql_); },
          [this](int ready) { return mysql_ping_cont(&intResult_, mysql_, ready); },
          [this] {
            if (intResult_ != 0) return failCurrent("ping");
            complete(std::move(current_), Result(), Status());
          });
      return;
    case Kind::kClose: {
      // COM_QUIT has no answer: a short write, sent as the blocking call would.
      std::unique_ptr<Call> closing = std::move(current_);
      watch(false, false);
      mysql_close(mysql_);
      mysql_ = nullptr;
      fd_ = -1;
      state_ = State::kClosed;
      scope_.end();
      if (!closing->cancelled) std::get<Deferred<void>>(closing->deferred).callback();
      const Failure closed(UsageError("the connection was closed before the call ran"));
      while (!queue_.empty()) {  // one at a time: a callback may cancel one still waiting
        std::unique_ptr<Call> call = std::move(queue_.front());
        queue_.pop_front();
        settle(*call, closed);
      }
      return;
    }
    case Kind::kConnect:
      return;  // started by start()
  }
}

void ConnectionCore::afterQuerySent() {
  if (boolResult_ != 0) return failCurrent("query");
  if (current_->kind == Kind::kQuery) {
    run([this] { return mysql_store_result_start(&stored_, mysql_); },
        [this](int ready) { return mysql_store_result_cont(&stored_, mysql_, ready); },
        [this] {
          MYSQL_RES* stored = std::exchange(stored_, nullptr);
          if (stored == nullptr && mysql_field_count(mysql_) != 0) return failCurrent("query");
          Result result = makeResult(mysql_, stored);
          drainMoreResults([this, result = std::move(result)]() mutable {
            complete(std::move(current_), std::move(result), Status());
          });
        });
    return;
  }
  MYSQL_RES* rows = mysql_use_result(mysql_);
  if (rows == nullptr) {
    if (mysql_field_count(mysql_) != 0) return failCurrent("query");
    Status status{mysql_affected_rows(mysql_), mysql_insert_id(mysql_), mysql_warning_count(mysql_)};
    drainMoreResults([this, status] { complete(std::move(current_), Result(), status); });
    return;
  }
  current_->rows = rows;
  current_->shape = std::make_unique<Shape>(rows);
  fetchRows();
}

void ConnectionCore::fetchRows() {
  if (fetching_) return;
  fetching_ = true;
  Call* const call = current_.get();
  while (current_.get() == call) {
    if (paused_ && !call->cancelled && !call->rowFailure) {
      watch(false, false);  // the server waits while the socket is not read
      break;
    }
    const int status = mysql_fetch_row_start(&fetched_, call->rows);
    if (status != 0) {
      cont_ = [this](int ready) {
        return mysql_fetch_row_cont(&fetched_, current_->rows, ready);
      };
      then_ = [this] {
        if (deliverRow(fetched_)) fetchRows();
      };
      wait(status);
      break;
    }
    if (!deliverRow(fetched_)) break;
  }
  fetching_ = false;
  if (parked_) {
    closeConnector(parked_.get());
    parked_.reset();
  }
}

// Hands one row to the stream's handler, or ends the stream at the end of the rows; false when
// the stream is over (or the connection went while the handler ran).
bool ConnectionCore::deliverRow(MYSQL_ROW row) {
  Call* const call = current_.get();
  if (row == nullptr) {
    const unsigned error = mysql_errno(mysql_);
    mysql_free_result(std::exchange(call->rows, nullptr));
    if (error != 0) {
      failCurrent("reading rows");
    } else if (call->rowFailure) {
      Failure failure = *call->rowFailure;
      fail(std::move(current_), failure);
    } else {
      Status status{call->rowCount, 0, mysql_warning_count(mysql_)};
      drainMoreResults([this, status] { complete(std::move(current_), Result(), status); });
    }
    return false;
  }
  ++call->rowCount;
  if (call->cancelled || call->rowFailure) return true;
  try {
    call->onRow(Row(*call->shape, row, mysql_fetch_lengths(call->rows)));
  } catch (...) {
    if (current_.get() == call) call->rowFailure = Failure::fromCurrentException();
  }
  return current_.get() == call;
}

// A CALL sends a result set per SELECT in the procedure and a status at the end: the ones after
// the first are read and dropped, so the connection is in step for the next statement.
void ConnectionCore::drainMoreResults(absl::AnyInvocable<void()> done) {
  if (!mysql_more_results(mysql_)) {
    done();
    return;
  }
  run([this] { return mysql_next_result_start(&intResult_, mysql_); },
      [this](int ready) { return mysql_next_result_cont(&intResult_, mysql_, ready); },
      [this, done = std::move(done)]() mutable {
        if (intResult_ > 0) return failCurrent("reading a further result");
        if (intResult_ < 0) return done();
        run([this] { return mysql_store_result_start(&stored_, mysql_); },
            [this](int ready) { return mysql_store_result_cont(&stored_, mysql_, ready); },
            [this, done = std::move(done)]() mutable {
              if (stored_ != nullptr) mysql_free_result(std::exchange(stored_, nullptr));
              drainMoreResults(std::move(done));
            });
      });
}

void ConnectionCore::pauseProducing() {
  if (current_ && current_->kind == Kind::kStream) paused_ = true;
}

void ConnectionCore::resumeProducing() {
  if (!paused_) return;
  paused_ = false;
  // Rows resume from the loop (never inside the handler that asked), unless a read is pending.
  if (current_ && current_->rows != nullptr && !cont_) {
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { resumeRows(); }));
  }
}

void ConnectionCore::resumeRows() {
  std::shared_ptr<ConnectionCore> self = shared_from_this();  // the last row may drop the handle
  try {
    if (!paused_ && current_ && current_->rows != nullptr && !cont_) fetchRows();
  } catch (...) {
    abort(Failure::fromCurrentException());
  }
}

void ConnectionCore::complete(std::unique_ptr<Call> call, Result result, Status status) {
  if (call->kind == Kind::kStream || call->kind == Kind::kQuery) paused_ = false;
  if (!call->cancelled) {
    std::visit(
        [&](auto& d) {
          using D = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<D, Deferred<void>>) {
            d.callback();
          } else if constexpr (std::is_same_v<D, Deferred<Result>>) {
            d.callback(std::move(result));
          } else {
            d.callback(status);
          }
        },
        call->deferred);
  }
  pump();
}

void ConnectionCore::fail(std::unique_ptr<Call> call, const Failure& failure) {
  paused_ = false;
  if (call->rows != nullptr) {
    call->rows->handle = nullptr;  // freed without reading on: the connection is going or gone
    mysql_free_result(std::exchange(call->rows, nullptr));
  }
  settle(*call, failure);
  pump();
}

void ConnectionCore::failCurrent(const std::string& context) {
  const unsigned number = mysql_errno(mysql_);
  Failure failure = mysqlFailure(mysql_, context);
  if (isConnectionError(number)) {
    abort(failure);
  } else {
    fail(std::move(current_), failure);
  }
}

void ConnectionCore::abort(const Failure& reason) {
  if (state_ == State::kClosed || state_ == State::kNew) return;
  const bool lost = state_ == State::kReady;
  state_ = State::kClosed;
  broken_ = lost || broken_;
  scope_.end();
  cont_ = nullptr;
  then_ = nullptr;
  if (timer_ && timer_->active()) timer_->cancel();
  timer_.reset();
  if (readTimer_ && readTimer_->active()) readTimer_->cancel();
  readTimer_.reset();
  watch(false, false);
  std::unique_ptr<Call> running = std::move(current_);
  Call* const runningCall = running.get();
  if (fetching_) {
    // A row handler aborted: the Row it holds points into the connector's buffers, and the
    // handler itself lives in the call. Both go once fetchRows has unwound.
    parked_ = std::move(running);
  } else {
    closeConnector(runningCall);
  }
  // The running call gets the reason itself; the ones waiting, that the connection is gone.
  // Taken from the queue one at a time: a callback may cancel one still waiting.
  const Failure gone = lost ? lostConnection("the connection was lost before the call ran: " +
                                             reason.getErrorMessage())
                            : reason;
  if (runningCall != nullptr) settle(*runningCall, reason);
  while (!queue_.empty()) {
    std::unique_ptr<Call> call = std::move(queue_.front());
    queue_.pop_front();
    settle(*call, gone);
  }
}

// The server's certificate names verifyName_ (RFC 6125 matching, wildcards included); the
// connector has checked its chain already.
std::optional<Failure> ConnectionCore::verifyPeerName() {
  // ma_tls.h, which declares the connector's TLS handle, does not compile as C++: its layout
  // (data, pvio, ssl) is mirrored here. With Debian's OpenSSL build, `ssl` is the SSL*.
  struct ConnectorTls {
    void* data;
    MARIADB_PVIO* pvio;
    void* ssl;
  };
  MARIADB_PVIO* pvio = mysql_->net.pvio;
  SSL* ssl = pvio != nullptr && pvio->ctls != nullptr
                 ? static_cast<SSL*>(reinterpret_cast<ConnectorTls*>(pvio->ctls)->ssl)
                 : nullptr;
  X509* certificate = ssl != nullptr ? SSL_get1_peer_certificate(ssl) : nullptr;
  const bool matches = certificate != nullptr &&
                       X509_check_host(certificate, verifyName_.data(), verifyName_.size(), 0,
                                       nullptr) == 1;
  X509_free(certificate);
  if (matches) return std::nullopt;
  try {
    throwMysqlError(CR_SSL_CONNECTION_ERROR, "HY000",
                    absl::StrCat("connect to ", verifyName_, " (", host_, ":", options_.port,
                                 "): TLS: the server's certificate does not name ", verifyName_));
  } catch (...) {
    return Failure::fromCurrentException();
  }
}

// Frees what the connector holds and closes its socket (no goodbye: the socket is shut down
// first, so mysql_close's COM_QUIT fails at once instead of blocking).
void ConnectionCore::closeConnector(Call* running) {
  if (running != nullptr && running->rows != nullptr) {
    running->rows->handle = nullptr;  // freed without reading on: the connection is going
    mysql_free_result(std::exchange(running->rows, nullptr));
  }
  if (stored_ != nullptr) mysql_free_result(std::exchange(stored_, nullptr));
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  if (mysql_ != nullptr) mysql_close(mysql_);
  mysql_ = nullptr;
  fd_ = -1;
}

// Fires a call that will not run (on): close() succeeds, anything else errbacks with `failure`.
// A call already fired (cancelled) is left alone.
void ConnectionCore::settle(Call& call, const Failure& failure) {
  if (call.cancelled) return;
  std::visit(
      [&](auto& d) {
        if (d.called()) return;
        if constexpr (std::is_same_v<std::decay_t<decltype(d)>, Deferred<void>>) {
          if (call.kind == Kind::kClose) {
            d.callback();
            return;
          }
        }
        d.errback(failure);
      },
      call.deferred);
}

template <class Start>
void ConnectionCore::run(Start start, absl::AnyInvocable<int(int)> cont,
                         absl::AnyInvocable<void()> then) {
  cont_ = std::move(cont);
  then_ = std::move(then);
  drive(start());
}

void ConnectionCore::drive(int status) {
  if (status != 0) {
    wait(status);
    return;
  }
  cont_ = nullptr;
  absl::AnyInvocable<void()> then = std::move(then_);
  then_ = nullptr;
  then();
}

void ConnectionCore::wait(int status) {
  waitingFor_ = status;
  const int fd = mysql_get_socket(mysql_);
  if (fd != fd_) {
    watch(false, false);
    fd_ = fd;
  }
  watch((status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT)) != 0, (status & MYSQL_WAIT_WRITE) != 0);
  if (options_.readTimeout > absl::ZeroDuration() && state_ == State::kReady &&
      (status & MYSQL_WAIT_READ) != 0) {
    readTimer_ = reactor_.callLater(options_.readTimeout, scope_.bind([this] {
      std::shared_ptr<ConnectionCore> self = shared_from_this();
      readTimer_.reset();
      abort(lostConnection(absl::StrCat("no answer from the server in ",
                                        absl::FormatDuration(options_.readTimeout),
                                        " (the read timeout)")));
    }));
  }
  if ((status & MYSQL_WAIT_TIMEOUT) != 0) {
    const absl::Duration timeout = absl::Milliseconds(mysql_get_timeout_value_ms(mysql_));
    timer_ = reactor_.callLater(timeout, scope_.bind([this] {
      timer_.reset();
      onReady(MYSQL_WAIT_TIMEOUT);
    }));
  }
}

void ConnectionCore::onReady(int ready) {
  std::shared_ptr<ConnectionCore> self = shared_from_this();
  try {
    if (!cont_) {
      onIdleReadable();
      return;
    }
    if ((waitingFor_ & ready) == 0) {  // readable while waiting to write: wait for what is asked
      watch((waitingFor_ & MYSQL_WAIT_READ) != 0, (waitingFor_ & MYSQL_WAIT_WRITE) != 0);
      return;
    }
    if (timer_ && timer_->active()) timer_->cancel();
    timer_.reset();
    if (readTimer_ && readTimer_->active()) readTimer_->cancel();
    readTimer_.reset();
    waitingFor_ = 0;
    // Stay registered for reading: the next step (or the next statement) almost always waits
    // for the server's answer, and this saves two epoll_ctl calls per statement.
    if (writing_) watch(reading_, false);
    drive(cont_(ready));
  } catch (...) {
    // Nothing the connector or a Deferred's callback throws may escape into the loop.
    abort(Failure::fromCurrentException());
  }
}

// The socket became readable with no call running: the server closed the connection (a
// wait_timeout, a restart, KILL), possibly after sending an error packet. Reported to the next
// call, which gets ConnectionLostError, and to the pool, which sees broken().
void ConnectionCore::onIdleReadable() {
  if (paused_) {
    watch(false, false);
    return;
  }
  checkIdleSocket();
}

// A close by the server that the loop has not dispatched yet (it is in the socket already): a
// pool asks before it hands an idle connection out, for one recv() call.
void ConnectionCore::checkIdleSocket() {
  if (fd_ < 0 || paused_) return;
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  abort(lostConnection("the server closed the connection"));
}

void ConnectionCore::watch(bool read, bool write) {
  if (fd_ < 0) read = write = false;
  if (read != reading_) {
    read ? reactor_.addReader(this) : reactor_.removeReader(this);
    reading_ = read;
  }
  if (write != writing_) {
    write ? reactor_.addWriter(this) : reactor_.removeWriter(this);
    writing_ = write;
  }
}

}  // namespace internal

// --- Connection ---------------------------------------------------------------------------------

namespace {
template <class T>
Deferred<T> noConnection() {
  return deft::fail<T>(Failure(UsageError("the Connection is empty (moved from, or never connected)")));
}
}  // namespace

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (core_) core_->abort(internal::lostConnection("the Connection was replaced"));
    core_ = std::move(other.core_);
  }
  return *this;
}

Connection::~Connection() {
  if (core_) core_->abort(internal::lostConnection("the Connection was destroyed"));
}

Deferred<Result> Connection::queryWith(std::string_view sql, std::vector<Param> params) {
  if (!core_) return noConnection<Result>();
  return core_->query(sql, std::move(params));
}

Deferred<Status> Connection::streamWith(RowHandler onRow, std::string_view sql,
                                        std::vector<Param> params) {
  if (!core_) return noConnection<Status>();
  return core_->stream(std::move(onRow), sql, std::move(params));
}

void Connection::pauseProducing() {
  if (core_) core_->pauseProducing();
}
void Connection::resumeProducing() {
  if (core_) core_->resumeProducing();
}
Deferred<void> Connection::ping() { return core_ ? core_->ping() : noConnection<void>(); }
Deferred<void> Connection::close() { return core_ ? core_->close() : deft::succeed(); }
void Connection::abort() {
  if (core_) core_->abort(internal::lostConnection("the connection was aborted"));
}
bool Connection::usable() const { return core_ && core_->usable(); }
bool Connection::stillOpen() { return core_ && core_->stillOpen(); }
bool Connection::broken() const { return core_ && core_->broken(); }
bool Connection::inTransaction() const { return core_ && core_->inTransaction(); }
std::size_t Connection::pendingCalls() const { return core_ ? core_->pending() : 0; }
unsigned long Connection::threadId() const { return core_ ? core_->threadId() : 0; }
std::string Connection::serverVersion() const { return core_ ? core_->serverVersion() : ""; }
absl::Time Connection::connectedAt() const {
  return core_ ? core_->connectedAt() : absl::InfinitePast();
}

Deferred<Connection> connect(Reactor& reactor, ConnectOptions options) {
  std::string host;
  std::string name;  // the host name, when one was resolved
  if (options.unixSocket.empty()) {
    if (Address::fromLiteral(options.host, options.port)) {
      host = options.host;
    } else {
      name = options.host;
      // The reactor's resolver, never the connector's blocking getaddrinfo.
      std::vector<Address> addresses =
          co_await hostResolver(reactor).resolveHost(options.host, options.port);
      host = addresses.front().host();
    }
  }
  auto core = std::make_shared<internal::ConnectionCore>(reactor, std::move(options));
  Connection connection(core);
  co_await core->start(host, name);
  co_return connection;
}

}  // namespace deft::mysql
