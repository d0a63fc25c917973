// mysql::ConnectionPool against a real MariaDB server: statements in parallel on the one reactor
// thread, the limits (open, idle, waiting, recycle age), transactions and deadlocks, a server
// killed mid-statement and the pool's recovery, and closing.

#include "mysql/pool.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "deferred/deferred_list.h"
#include "deferred/errors.h"
#include "gtest/gtest.h"
#include "mysql/errors.h"
#include "mysql/throwaway_server.h"
#include "tests/mysql/shared_server.h"

namespace deft {
namespace {

using testing::runUntil;
using testing::wait;

class PoolTest : public testing::MysqlTest {};

TEST_F(PoolTest, TenSleepsRunTogetherAndTimersStayOnTime) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 10});
  const absl::Time start = reactor_.seconds();
  std::vector<Deferred<mysql::Result>> sleeps;
  for (int i = 0; i < 10; ++i) sleeps.push_back(pool.execute("SELECT SLEEP(?) AS slept", 1));
  absl::Time timerRan;
  reactor_.callLater(absl::Milliseconds(300), [&] { timerRan = reactor_.seconds(); });
  auto all = wait(reactor_, gatherResults(std::move(sleeps)));
  const absl::Duration took = reactor_.seconds() - start;
  ASSERT_TRUE(all.value) << all.failure->describe();
  for (const mysql::Result& r : *all.value) EXPECT_EQ(r[0].get<int>("slept"), 0);
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Milliseconds(1800)) << "the sleeps ran one after another";
  EXPECT_LT(timerRan - start, absl::Milliseconds(400)) << "the loop was blocked";
  EXPECT_EQ(pool.openCount(), 10u);
  EXPECT_EQ(pool.idleCount(), 10u);
}

TEST_F(PoolTest, CallersBeyondMaxOpenWaitInOrder) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 2, .maxIdle = 1});
  std::vector<int> finished;
  std::vector<Deferred<mysql::Result>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(pool.execute("SELECT ?, SLEEP(0.1)", i).addCallback([&, i](mysql::Result r) {
      finished.push_back(i);
      return r;
    }));
  }
  EXPECT_EQ(pool.openCount(), 2u);  // two connects for the first two callers; no more
  EXPECT_EQ(pool.waitingCount(), 6u);
  auto all = wait(reactor_, gatherResults(std::move(calls)));
  ASSERT_TRUE(all.value) << all.failure->describe();
  // Two at a time, in the order asked: {0, 1}, then {2, 3}, then {4, 5}.
  ASSERT_EQ(finished.size(), 6u);
  for (std::size_t pair = 0; pair < 3; ++pair) {
    EXPECT_EQ(std::set<int>({finished[2 * pair], finished[2 * pair + 1]}),
              std::set<int>({static_cast<int>(2 * pair), static_cast<int>(2 * pair + 1)}));
  }
  EXPECT_LE(pool.openCount(), 2u);
  EXPECT_EQ(pool.idleCount(), 1u);  // the other went past maxIdle and was closed
  auto live = run("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '" + database_ + "'");
  EXPECT_EQ(live[0].get<int>(0), 1);
}

TEST_F(PoolTest, AcquireGivesOneConnectionForSeveralStatementsAndTakesItBack) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 1});
  auto lent = wait(reactor_, pool.acquire());
  ASSERT_TRUE(lent.value) << lent.failure->describe();
  mysql::PooledConnection c = std::move(*lent.value);
  ASSERT_TRUE(wait(reactor_, c->query("SET @x = 5")).value);
  auto x = wait(reactor_, c->query("SELECT @x"));
  ASSERT_TRUE(x.value);
  EXPECT_EQ((*x.value)[0].get<int>(0), 5);  // the same session
  const unsigned long session = c->threadId();

  auto waiting = pool.acquire();
  EXPECT_EQ(pool.waitingCount(), 1u) << "open " << pool.openCount() << " idle " << pool.idleCount();
  auto cancelled = pool.acquire();
  cancelled.cancel();
  EXPECT_EQ(pool.waitingCount(), 1u) << "open " << pool.openCount() << " idle " << pool.idleCount();
  c.release();
  auto next = wait(reactor_, waiting);
  ASSERT_TRUE(next.value);
  EXPECT_EQ((*next.value)->threadId(), session);
  EXPECT_THROW(*c, mysql::UsageError);
  EXPECT_TRUE(wait(reactor_, cancelled).failure->check<CancelledError>());
}

TEST_F(PoolTest, OldConnectionsAreRecycledAndBrokenOnesReplaced) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 1, .maxRecycle = absl::Milliseconds(200)});
  auto first = wait(reactor_, pool.acquire());
  ASSERT_TRUE(first.value);
  const unsigned long session = (*first.value)->threadId();
  first.value.reset();  // back to the pool
  auto again = wait(reactor_, pool.acquire());
  ASSERT_TRUE(again.value);
  EXPECT_EQ((*again.value)->threadId(), session);
  again.value.reset();
  runUntil(reactor_, [] { return false; }, absl::Milliseconds(300));
  auto recycled = wait(reactor_, pool.acquire());
  ASSERT_TRUE(recycled.value);
  const unsigned long fresh = (*recycled.value)->threadId();
  EXPECT_NE(fresh, session);
  recycled.value.reset();

  // A connection the server kills while it is idle is noticed, and not handed out.
  run("KILL " + std::to_string(fresh));
  ASSERT_TRUE(runUntil(reactor_, [&] {  // the server has closed it
    return run("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = " +
               std::to_string(fresh))[0].get<int>(0) == 0;
  }));
  auto r = wait(reactor_, pool.execute("SELECT CONNECTION_ID()"));
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_NE((*r.value)[0].get<std::uint64_t>(0), fresh);
}

TEST_F(PoolTest, RunInteractionCommitsOrRollsBack) {
  run("CREATE TABLE " + database_ + ".accounts (id INT PRIMARY KEY, balance INT) ENGINE=InnoDB");
  run("INSERT INTO " + database_ + ".accounts VALUES (1, 100), (2, 0)");
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 2});
  auto transfer = [](int amount) {
    return [amount](mysql::Connection& c) -> Deferred<int> {
      co_await c.query("UPDATE accounts SET balance = balance - ? WHERE id = 1", amount);
      co_await c.query("UPDATE accounts SET balance = balance + ? WHERE id = 2", amount);
      mysql::Result r = co_await c.query("SELECT balance FROM accounts WHERE id = 1");
      const int left = *r[0].get<int>(0);
      if (left < 0) throw std::runtime_error("insufficient funds");
      co_return left;
    };
  };
  auto ok = wait(reactor_, mysql::runInteraction(pool, transfer(30)));
  ASSERT_TRUE(ok.value) << ok.failure->describe();
  EXPECT_EQ(*ok.value, 70);
  auto refused = wait(reactor_, mysql::runInteraction(pool, transfer(500)));
  ASSERT_TRUE(refused.failure);
  EXPECT_EQ(refused.failure->getErrorMessage(), "insufficient funds");
  auto balances = run("SELECT GROUP_CONCAT(balance ORDER BY id) FROM " + database_ + ".accounts");
  EXPECT_EQ(balances[0].get<std::string>(0), "70,30");  // the second transfer left no trace
  EXPECT_EQ(pool.openCount(), pool.idleCount());        // both connections came back
}

TEST_F(PoolTest, ADeadlockIsItsOwnError) {
  run("CREATE TABLE " + database_ + ".rows_ (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
  run("INSERT INTO " + database_ + ".rows_ VALUES (1, 0), (2, 0)");
  mysql::Connection a = connect();
  mysql::Connection b = connect();
  ASSERT_TRUE(wait(reactor_, a.query("BEGIN")).value);
  ASSERT_TRUE(wait(reactor_, b.query("BEGIN")).value);
  ASSERT_TRUE(wait(reactor_, a.query("UPDATE rows_ SET v = 1 WHERE id = 1")).value);
  ASSERT_TRUE(wait(reactor_, b.query("UPDATE rows_ SET v = 1 WHERE id = 2")).value);
  auto aWaits = a.query("UPDATE rows_ SET v = 2 WHERE id = 2");  // blocks on b
  runUntil(reactor_, [] { return false; }, absl::Milliseconds(100));
  auto bCloses = b.query("UPDATE rows_ SET v = 2 WHERE id = 1");  // and the cycle is closed
  auto ra = wait(reactor_, aWaits);
  auto rb = wait(reactor_, bCloses);
  const bool aLost = ra.failure.has_value();
  ASSERT_NE(aLost, rb.failure.has_value()) << "exactly one is the victim";
  const Failure& victim = aLost ? *ra.failure : *rb.failure;
  EXPECT_TRUE(victim.check<mysql::DeadlockError>()) << victim.describe();
  EXPECT_EQ(victim.value<mysql::MysqlError>()->number(), 1213u);
  EXPECT_EQ(victim.value<mysql::MysqlError>()->sqlState(), "40001");
}

TEST_F(PoolTest, ClosingWaitsForRunningStatementsAndRefusesNewOnes) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 2});
  {  // two connections open and idle
    auto first = wait(reactor_, pool.acquire());
    auto second = wait(reactor_, pool.acquire());
    ASSERT_TRUE(first.value && second.value);
  }
  auto running = pool.execute("SELECT SLEEP(0.3) AS s");
  auto waiting = pool.execute("SELECT SLEEP(0.1)");
  auto third = pool.execute("SELECT 2");  // waits: both connections are busy
  EXPECT_EQ(pool.waitingCount(), 1u) << "open " << pool.openCount() << " idle " << pool.idleCount();
  bool closed = false;
  pool.close().addCallback([&] { closed = true; });
  EXPECT_TRUE(wait(reactor_, pool.execute("SELECT 3")).failure->check<mysql::UsageError>());
  auto r = wait(reactor_, running);
  ASSERT_TRUE(r.value) << r.failure->describe();
  EXPECT_TRUE(wait(reactor_, waiting).value);
  EXPECT_TRUE(wait(reactor_, third).failure->check<mysql::UsageError>());
  EXPECT_TRUE(runUntil(reactor_, [&] { return closed; }));
  EXPECT_EQ(pool.openCount(), 0u);

  mysql::ConnectionPool other(reactor_, options_, {.maxOpen = 1});
  auto cut = other.execute("SELECT SLEEP(5)");
  ASSERT_TRUE(runUntil(reactor_, [&] { return other.openCount() == 1 && other.idleCount() == 0; }));
  runUntil(reactor_, [] { return false; }, absl::Milliseconds(100));
  other.closeNow();
  auto lost = wait(reactor_, cut);
  ASSERT_TRUE(lost.failure);
  EXPECT_TRUE(lost.failure->check<mysql::ConnectionLostError>()) << lost.failure->describe();
}

TEST_F(PoolTest, TooManyWaitersAreRefused) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 1, .maxWaiting = 2});
  ASSERT_TRUE(wait(reactor_, pool.execute("SELECT 1")).value);  // one connection, idle
  auto a = pool.execute("SELECT SLEEP(0.1)");
  auto b = pool.execute("SELECT 1");
  auto c = pool.execute("SELECT 2");
  auto refused = wait(reactor_, pool.execute("SELECT 3"));
  ASSERT_TRUE(refused.failure);
  EXPECT_TRUE(refused.failure->check<mysql::PoolExhaustedError>());
  EXPECT_TRUE(wait(reactor_, c).value);
  EXPECT_TRUE(wait(reactor_, a).value);
  EXPECT_TRUE(wait(reactor_, b).value);
}

TEST_F(PoolTest, EveryWaiterIsAnsweredWhenConnectsFail) {
  mysql::ConnectOptions nowhere = options_;
  nowhere.port = mysql::freeLoopbackPort();
  mysql::ConnectionPool pool(reactor_, nowhere, {.maxOpen = 2});
  std::vector<Deferred<mysql::Result>> calls;
  for (int i = 0; i < 5; ++i) calls.push_back(pool.execute("SELECT 1"));
  for (auto& call : calls) {
    auto r = wait(reactor_, call);
    ASSERT_TRUE(r.failure) << "a caller was left waiting";
    EXPECT_TRUE(r.failure->check<mysql::ConnectError>()) << r.failure->describe();
  }
  EXPECT_EQ(pool.openCount(), 0u);
  EXPECT_EQ(pool.waitingCount(), 0u);
}

TEST_F(PoolTest, AConnectionLeftInATransactionIsNotLentAgain) {
  mysql::ConnectionPool pool(reactor_, options_, {.maxOpen = 1});
  auto first = wait(reactor_, pool.acquire());
  ASSERT_TRUE(first.value);
  const unsigned long session = (*first.value)->threadId();
  ASSERT_TRUE(wait(reactor_, (*first.value)->query("BEGIN")).value);
  EXPECT_TRUE((*first.value)->inTransaction());
  first.value.reset();  // given back mid-transaction
  auto second = wait(reactor_, pool.acquire());
  ASSERT_TRUE(second.value) << second.failure->describe();
  EXPECT_NE((*second.value)->threadId(), session);
  EXPECT_FALSE((*second.value)->inTransaction());
}

// The server killed mid-statement: the statement fails with ConnectionLostError, calls while the
// server is down fail with ConnectError, and the pool serves again once the server is back.
TEST(PoolRecoveryTest, AServerKilledMidQueryIsLostAndThePoolRecovers) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  mysql::ThrowawayServer server;
  mysql::ConnectionPool pool(reactor, server.options(), {.maxOpen = 3});
  ASSERT_TRUE(wait(reactor, pool.execute("SELECT 1")).value);
  auto running = pool.execute("SELECT SLEEP(20)");
  runUntil(reactor, [] { return false; }, absl::Milliseconds(200));
  server.kill();
  auto lost = wait(reactor, running);
  ASSERT_TRUE(lost.failure);
  EXPECT_TRUE(lost.failure->check<mysql::ConnectionLostError>()) << lost.failure->describe();
  auto down = wait(reactor, pool.execute("SELECT 1"));
  ASSERT_TRUE(down.failure);
  EXPECT_TRUE((down.failure->check<mysql::ConnectError, mysql::ConnectionLostError>()))
      << down.failure->describe();
  server.restart();
  auto back = wait(reactor, pool.execute("SELECT 40 + 2"));
  ASSERT_TRUE(back.value) << back.failure->describe();
  EXPECT_EQ((*back.value)[0].get<int>(0), 42);
}

}  // namespace
}  // namespace deft
