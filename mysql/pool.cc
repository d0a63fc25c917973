#include "mysql/pool.h"

#include <deque>
#include <exception>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "deferred/errors.h"
#include "deferred/failure.h"
#include "reactor/reactor.h"

namespace deft::mysql {

namespace internal {

// One connection of the pool, shared with the PooledConnection that holds it, so that the
// handle stays valid when the pool goes first.
struct PoolSlot {
  Connection connection;
  absl::Time idleSince = absl::InfinitePast();
};

constexpr absl::Duration kProbeAfterIdle = absl::Milliseconds(20);

class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  PoolCore(Reactor& reactor, ConnectOptions options, PoolOptions poolOptions)
      : reactor_(reactor), options_(std::move(options)), poolOptions_(poolOptions) {
    if (poolOptions_.maxOpen == 0) throw UsageError("a pool needs maxOpen of at least 1");
  }

  void watchShutdown() {
    std::weak_ptr<PoolCore> weak = weak_from_this();
    shutdownTrigger_ = reactor_.addSystemEventTrigger(EventPhase::kDuring, SystemEvent::kShutdown,
                                                      [weak] {
                                                        if (auto core = weak.lock()) core->closeNow();
                                                      });
  }
  ~PoolCore() {
    reactor_.removeSystemEventTrigger(shutdownTrigger_);
    // Connections still saying goodbye (or connects in flight) end on their own; whoever waits
    // on close() is told now rather than never.
    if (closed_ && !closed_->called()) closed_->callback();
  }

  Deferred<PooledConnection> acquire();
  void release(std::shared_ptr<PoolSlot> slot);
  Deferred<void> close();
  void closeNow();

  std::size_t openCount() const { return open_; }
  std::size_t idleCount() const { return idle_.size(); }
  std::size_t waitingCount() const { return waiters_.size(); }

 private:
  struct Waiter {
    std::uint64_t id;
    Deferred<PooledConnection> deferred;
  };

  // Whether a connection may be lent (again). An idle connection's socket is watched, so the
  // loop notices a close by the server; one that sat idle for a while also has its socket looked
  // at (`probe`), for a close since the loop's last pass. One given back a moment ago is not:
  // that would be a system call per statement for nothing.
  bool reusable(PoolSlot& slot, bool probe) const {
    const bool open = probe && reactor_.seconds() - slot.idleSince > kProbeAfterIdle
                          ? slot.connection.stillOpen()
                          : slot.connection.usable();
    if (!open) return false;
    return poolOptions_.maxRecycle <= absl::ZeroDuration() ||
           reactor_.seconds() - slot.connection.connectedAt() < poolOptions_.maxRecycle;
  }
  void connectOne();
  void handOut(std::shared_ptr<PoolSlot> slot);
  void retire(std::shared_ptr<PoolSlot> slot);
  void maybeClosed();
  void cancelWaiter(std::uint64_t id);

  Reactor& reactor_;
  ConnectOptions options_;
  PoolOptions poolOptions_;
  Reactor::TriggerId shutdownTrigger_ = 0;
  std::size_t open_ = 0;        // connected or connecting
  std::size_t connecting_ = 0;  // connects in flight, each for a waiter
  std::deque<std::shared_ptr<PoolSlot>> idle_;  // most recently returned at the back
  std::vector<std::weak_ptr<PoolSlot>> all_;    // every connection made, for closeNow
  std::deque<Waiter> waiters_;
  std::uint64_t nextWaiter_ = 1;
  bool closing_ = false;
  std::optional<Deferred<void>> closed_;
};

Deferred<PooledConnection> PoolCore::acquire() {
  if (closing_) return deft::fail<PooledConnection>(Failure(UsageError("the pool is closed")));
  while (!idle_.empty()) {
    std::shared_ptr<PoolSlot> slot = std::move(idle_.back());
    idle_.pop_back();
    if (reusable(*slot, /*probe=*/true)) {
      return deft::succeed(PooledConnection(weak_from_this(), std::move(slot)));
    }
    retire(std::move(slot));
  }
  if (waiters_.size() >= poolOptions_.maxWaiting) {
    return deft::fail<PooledConnection>(Failure(PoolExhaustedError(
        absl::StrCat("the pool has ", waiters_.size(), " callers waiting for a connection already"))));
  }
  const std::uint64_t id = nextWaiter_++;
  std::weak_ptr<PoolCore> weak = weak_from_this();
  Deferred<PooledConnection> d([weak, id](Deferred<PooledConnection>&) {
    if (auto core = weak.lock()) core->cancelWaiter(id);
  });
  waiters_.push_back(Waiter{id, d});
  if (open_ < poolOptions_.maxOpen && connecting_ < waiters_.size()) connectOne();
  return d;
}

void PoolCore::connectOne() {
  ++open_;
  ++connecting_;
  std::weak_ptr<PoolCore> weak = weak_from_this();
  connect(reactor_, options_)
      .addCallbacks(
          [weak](Connection connection) {
            auto core = weak.lock();
            if (!core) return;  // the connection closes here
            --core->connecting_;
            auto slot = std::make_shared<PoolSlot>(PoolSlot{std::move(connection)});
            std::erase_if(core->all_, [](const std::weak_ptr<PoolSlot>& w) { return w.expired(); });
            core->all_.push_back(slot);
            if (core->closing_) {
              core->retire(std::move(slot));
              return;
            }
            core->handOut(std::move(slot));
          },
          [weak](const Failure& failure) {
            auto core = weak.lock();
            if (!core) return;
            --core->connecting_;
            --core->open_;
            // The caller it was made for learns why. The others wait for connections open or
            // being made; if there are too few of those, another connect is tried for them
            // (each failure answers one caller, so this ends when the server is down).
            if (!core->waiters_.empty() && core->connecting_ < core->waiters_.size()) {
              Waiter waiter = std::move(core->waiters_.front());
              core->waiters_.pop_front();
              waiter.deferred.errback(failure);
            }
            if (!core->closing_ && !core->waiters_.empty() &&
                core->open_ < core->poolOptions_.maxOpen &&
                core->connecting_ < core->waiters_.size()) {
              core->connectOne();
            }
            core->maybeClosed();
          });
}

// Gives `slot` to the first caller waiting, or keeps it idle.
void PoolCore::handOut(std::shared_ptr<PoolSlot> slot) {
  if (waiters_.empty()) {
    slot->idleSince = reactor_.seconds();
    idle_.push_back(std::move(slot));
    while (idle_.size() > poolOptions_.maxIdle) {
      std::shared_ptr<PoolSlot> extra = std::move(idle_.front());
      idle_.pop_front();
      retire(std::move(extra));
    }
    return;
  }
  Waiter waiter = std::move(waiters_.front());
  waiters_.pop_front();
  waiter.deferred.callback(PooledConnection(weak_from_this(), std::move(slot)));
}

void PoolCore::release(std::shared_ptr<PoolSlot> slot) {
  // A connection still running something (a cancelled statement being killed), or left inside
  // a transaction, is not lent again: the next caller's statements would join what it left.
  if (closing_ || !reusable(*slot, /*probe=*/false) || slot->connection.pendingCalls() > 0 ||
      slot->connection.inTransaction()) {
    retire(std::move(slot));
    // Someone waiting gets a new connection in place of the one that went.
    if (!closing_ && !waiters_.empty() && open_ < poolOptions_.maxOpen &&
        connecting_ < waiters_.size()) {
      connectOne();
    }
    return;
  }
  handOut(std::move(slot));
}

// Closes a connection of the pool's for good: politely if it can still be used.
// A connection still counts as open until its goodbye is done, so close() fires after it.
void PoolCore::retire(std::shared_ptr<PoolSlot> slot) {
  if (slot->connection.usable()) {
    std::weak_ptr<PoolCore> weak = weak_from_this();
    // The slot lives until close() is done with its connection.
    slot->connection.close().addCallback([weak, slot] {
      if (auto core = weak.lock()) {
        --core->open_;
        core->maybeClosed();
      }
    });
    return;
  }
  --open_;
  slot->connection.abort();
  maybeClosed();
}

void PoolCore::cancelWaiter(std::uint64_t id) {
  std::erase_if(waiters_, [id](const Waiter& w) { return w.id == id; });
}

Deferred<void> PoolCore::close() {
  std::shared_ptr<PoolCore> self = shared_from_this();  // a caller's errback may drop the pool
  if (!closed_) {
    closing_ = true;
    closed_.emplace();
    while (!waiters_.empty()) {  // one at a time: a callback may cancel one still waiting
      Waiter waiter = std::move(waiters_.front());
      waiters_.pop_front();
      waiter.deferred.errback(Failure(UsageError("the pool was closed")));
    }
    while (!idle_.empty()) {
      std::shared_ptr<PoolSlot> slot = std::move(idle_.front());
      idle_.pop_front();
      retire(std::move(slot));
    }
    maybeClosed();
  }
  Deferred<void> done;
  closed_->chainDeferred(done);
  return done;
}

void PoolCore::closeNow() {
  std::shared_ptr<PoolCore> self = shared_from_this();
  close();
  std::vector<std::weak_ptr<PoolSlot>> all = std::move(all_);
  all_.clear();
  for (auto& weak : all) {
    if (auto slot = weak.lock()) slot->connection.abort();
  }
}

void PoolCore::maybeClosed() {
  if (closing_ && open_ == 0 && closed_ && !closed_->called()) closed_->callback();
}

}  // namespace internal

// --- PooledConnection ---------------------------------------------------------------------------

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    slot_ = std::move(other.slot_);
  }
  return *this;
}

Connection& PooledConnection::operator*() const {
  if (!slot_) throw UsageError("the PooledConnection was released");
  return slot_->connection;
}

void PooledConnection::release() {
  std::shared_ptr<internal::PoolSlot> slot = std::move(slot_);
  slot_.reset();
  if (!slot) return;
  if (auto pool = pool_.lock()) {
    pool->release(std::move(slot));
  } else {
    slot->connection.abort();
  }
}

// --- ConnectionPool -----------------------------------------------------------------------------

ConnectionPool::ConnectionPool(Reactor& reactor, ConnectOptions options, PoolOptions poolOptions)
    : core_(std::make_shared<internal::PoolCore>(reactor, std::move(options), poolOptions)) {
  core_->watchShutdown();
}

ConnectionPool::~ConnectionPool() { core_->closeNow(); }

Deferred<PooledConnection> ConnectionPool::acquire() { return core_->acquire(); }

Deferred<Result> ConnectionPool::executeWith(std::string sql, std::vector<Param> params) {
  PooledConnection connection = co_await acquire();
  // Given back before the caller's callbacks run (a coroutine's locals go after them), so a
  // statement they start finds it idle.
  std::optional<Result> result;
  std::exception_ptr error;
  try {
    result.emplace(co_await connection->queryWith(sql, std::move(params)));
  } catch (...) {
    error = std::current_exception();
  }
  connection.release();
  if (error) std::rethrow_exception(error);
  co_return std::move(*result);
}

Deferred<void> ConnectionPool::close() { return core_->close(); }
void ConnectionPool::closeNow() { core_->closeNow(); }
std::size_t ConnectionPool::openCount() const { return core_->openCount(); }
std::size_t ConnectionPool::idleCount() const { return core_->idleCount(); }
std::size_t ConnectionPool::waitingCount() const { return core_->waitingCount(); }

namespace internal {

Deferred<void> rollbackQuietly(Connection& connection) {
  if (!connection.usable()) co_return;
  try {
    co_await connection.query("ROLLBACK");
  } catch (const Error&) {
    // A connection that cannot roll back is broken and will not be reused; f's failure is the
    // one to report.
  }
}

}  // namespace internal

}  // namespace deft::mysql
