// mysql::Connection against a real MariaDB server started by the test (mysql/throwaway_server.h):
// queries and typed values, parameters that stay data, streamed rows with bounded memory,
// errors with their types, cancellation that kills the statement on the server, and what
// happens to calls when a connection goes.

#include "mysql/connection.h"

#include <malloc.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "deferred/errors.h"
#include "gtest/gtest.h"
#include "mysql/errors.h"
#include "tests/mysql/shared_server.h"
#include "tests/support/stalled_listener.h"

namespace deft {
namespace {

using testing::runUntil;
using testing::wait;

class ConnectionTest : public testing::MysqlTest {};

TEST_F(ConnectionTest, QueriesGiveTypedColumnsAndStatus) {
  mysql::Connection c = connect();
  ASSERT_TRUE(c.usable());
  EXPECT_GT(c.threadId(), 0u);
  EXPECT_NE(c.serverVersion().find("MariaDB"), std::string::npos);

  auto r = wait(reactor_, c.query("SELECT 1 + 1 AS two, 'text' AS t, NULL AS n, 2.5 AS d"));
  ASSERT_TRUE(r.value) << r.failure->describe();
  ASSERT_EQ(r.value->size(), 1u);
  ASSERT_EQ(r.value->columns().size(), 4u);
  EXPECT_EQ(r.value->columns()[0].name, "two");
  const mysql::Row row = (*r.value)[0];
  EXPECT_EQ(row.get<std::int64_t>(0), 2);
  EXPECT_EQ(row.get<std::string>("t"), "text");
  EXPECT_TRUE(row["n"].isNull());
  EXPECT_EQ(row.get<std::int64_t>("n"), std::nullopt);
  EXPECT_EQ(row.get<std::string>("d"), "2.5");  // a DECIMAL keeps its digits as text
  EXPECT_DOUBLE_EQ(*row.get<double>("d"), 2.5);
  EXPECT_THROW(row.get<std::int64_t>("t"), mysql::ValueError);
  EXPECT_THROW(row.get<std::int64_t>("d"), mysql::ValueError);  // has a fraction
  EXPECT_THROW(row["missing"], mysql::ValueError);

  ASSERT_TRUE(wait(reactor_, c.query("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, "
                                     "name VARCHAR(20))")).value);
  auto inserted = wait(reactor_, c.query("INSERT INTO items (name) VALUES (?), (?), (?)", "a", "b", "c"));
  ASSERT_TRUE(inserted.value) << inserted.failure->describe();
  EXPECT_EQ(inserted.value->affectedRows(), 3u);
  EXPECT_EQ(inserted.value->lastInsertId(), 1u);  // the first of a multi-row insert
  EXPECT_TRUE(inserted.value->columns().empty());
  auto updated = wait(reactor_, c.query("UPDATE items SET name = 'z' WHERE id > ?", 1));
  ASSERT_TRUE(updated.value);
  EXPECT_EQ(updated.value->affectedRows(), 2u);
  auto warned = wait(reactor_, c.query("SELECT CAST('12abc' AS INTEGER) AS n"));
  ASSERT_TRUE(warned.value);
  EXPECT_EQ(warned.value->warningCount(), 1u);

  // A Result outlives its connection.
  mysql::Result kept = *wait(reactor_, c.query("SELECT name FROM items ORDER BY id")).value;
  c.abort();
  std::vector<std::string> names;
  for (const mysql::Row& each : kept) names.push_back(*each.get<std::string>(0));
  EXPECT_EQ(names, (std::vector<std::string>{"a", "z", "z"}));
}

TEST_F(ConnectionTest, ParametersStayData) {
  mysql::Connection c = connect();
  ASSERT_TRUE(wait(reactor_, c.query("CREATE TABLE users (name VARCHAR(100), secret VARCHAR(20))")).value);
  ASSERT_TRUE(wait(reactor_, c.query("INSERT INTO users VALUES ('alice', 's1'), ('bob', 's2')")).value);

  const std::string attack = "' OR 1=1 -- ";
  auto found = wait(reactor_, c.query("SELECT COUNT(*) FROM users WHERE name = ?", attack));
  ASSERT_TRUE(found.value) << found.failure->describe();
  EXPECT_EQ((*found.value)[0].get<std::int64_t>(0), 0);

  const std::vector<std::string> tricky = {attack, "\\", "'; DROP TABLE users; --", "\"?\"",
                                           "back\\'slash", std::string("nul\0byte", 8)};
  for (const std::string& value : tricky) {
    ASSERT_TRUE(wait(reactor_, c.query("INSERT INTO users (name) VALUES (?)", value)).value);
    auto back = wait(reactor_, c.query("SELECT name FROM users WHERE name = ?", value));
    ASSERT_TRUE(back.value);
    ASSERT_EQ(back.value->size(), 1u) << value;
    EXPECT_EQ((*back.value)[0].get<std::string>(0), value);
  }
  // A ? inside quotes is text, not a placeholder.
  auto quoted = wait(reactor_, c.query("SELECT '?' AS q, ? AS p", 5));
  ASSERT_TRUE(quoted.value) << quoted.failure->describe();
  EXPECT_EQ((*quoted.value)[0].get<std::string>("q"), "?");
  EXPECT_EQ((*quoted.value)[0].get<std::int64_t>("p"), 5);

  auto tooFew = wait(reactor_, c.query("SELECT ?, ?", 1));
  ASSERT_TRUE(tooFew.failure);
  EXPECT_TRUE(tooFew.failure->check<mysql::UsageError>()) << tooFew.failure->describe();
  auto tooMany = wait(reactor_, c.query("SELECT ?", 1, 2));
  ASSERT_TRUE(tooMany.failure);
  EXPECT_TRUE(tooMany.failure->check<mysql::UsageError>());
  auto count = wait(reactor_, c.query("SELECT COUNT(*) FROM users"));
  ASSERT_TRUE(count.value);  // still usable, and nothing was dropped
  EXPECT_EQ((*count.value)[0].get<std::int64_t>(0), 2 + static_cast<std::int64_t>(tricky.size()));
}

TEST_F(ConnectionTest, NullsBinaryUtf8mb4AndDatesRoundTrip) {
  mysql::Connection c = connect();
  ASSERT_TRUE(wait(reactor_, c.query(
      "CREATE TABLE t (id INT PRIMARY KEY, txt VARCHAR(50), bin BLOB, n INT NULL, d DATE, "
      "dt DATETIME, dec_ DECIMAL(30,10), dbl DOUBLE, big BIGINT UNSIGNED, flag BOOLEAN)")).value);
  std::string allBytes;
  for (int i = 0; i < 256; ++i) allBytes += static_cast<char>(i);
  const std::string emoji = "h\xC3\xA9llo \xF0\x9F\x98\x80 \xE4\xB8\x96\xE7\x95\x8C";  // héllo 😀 世界
  const absl::CivilDay day(2024, 2, 29);
  const absl::CivilSecond moment(1999, 12, 31, 23, 59, 58);
  auto inserted = wait(reactor_, c.query("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 1,
                                         emoji, mysql::Bytes{allBytes}, nullptr, day, moment,
                                         "12345678901234567890.0123456789", 0.1,
                                         std::uint64_t{18446744073709551615ull}, true));
  ASSERT_TRUE(inserted.value) << inserted.failure->describe();
  EXPECT_EQ(inserted.value->warningCount(), 0u);
  ASSERT_TRUE(wait(reactor_, c.query("INSERT INTO t (id, txt) VALUES (?, ?)", 2,
                                     std::optional<std::string>())).value);

  auto r = wait(reactor_, c.query("SELECT * FROM t ORDER BY id"));
  ASSERT_TRUE(r.value) << r.failure->describe();
  ASSERT_EQ(r.value->size(), 2u);
  const mysql::Row row = (*r.value)[0];
  EXPECT_EQ(row.get<std::string>("txt"), emoji);
  EXPECT_EQ(row.get<std::string>("bin"), allBytes);
  EXPECT_TRUE(row["bin"].column().binary);
  EXPECT_FALSE(row["txt"].column().binary);
  EXPECT_EQ(row.get<std::int64_t>("n"), std::nullopt);
  EXPECT_EQ(row.get<absl::CivilDay>("d"), day);
  EXPECT_EQ(row.get<absl::CivilSecond>("dt"), moment);
  EXPECT_EQ(row.get<std::string>("dec_"), "12345678901234567890.0123456789");
  EXPECT_EQ(row.get<double>("dbl"), 0.1);
  EXPECT_EQ(row.get<std::uint64_t>("big"), 18446744073709551615ull);
  EXPECT_EQ(row.get<bool>("flag"), true);
  EXPECT_TRUE((*r.value)[1]["txt"].isNull());
  EXPECT_TRUE((*r.value)[1]["bin"].isNull());
}

TEST_F(ConnectionTest, StreamsManyRowsWithBoundedMemoryAndBackpressure) {
  mysql::Connection c = connect();
  constexpr int kRows = 100'000;
  const std::size_t before = mallinfo2().uordblks;
  std::size_t peak = before;
  std::int64_t sum = 0;
  int rows = 0;
  int pauses = 0;
  // 100,000 rows of 200 bytes: 20 MB if it were held whole.
  auto done = c.stream(
      [&](const mysql::Row& row) {
        sum += *row.get<std::int64_t>(0);
        EXPECT_EQ(row.get<std::string_view>(1)->size(), 200u);
        if (++rows % 10'000 == 0) {
          peak = std::max(peak, mallinfo2().uordblks);
          c.pauseProducing();  // a slow consumer: the rows wait on the server
          ++pauses;
          reactor_.callLater(absl::Milliseconds(20), [&] { c.resumeProducing(); });
        }
      },
      "SELECT seq, REPEAT('x', 200) FROM seq_1_to_100000");
  auto status = wait(reactor_, std::move(done), absl::Seconds(60));
  ASSERT_TRUE(status.value) << status.failure->describe();
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(status.value->affectedRows, static_cast<std::uint64_t>(kRows));
  EXPECT_EQ(sum, std::int64_t{kRows} * (kRows + 1) / 2);
  EXPECT_EQ(pauses, 10);
  EXPECT_LT(peak - before, 4u << 20) << "the rows were held, not streamed";
  // The connection is ready for the next statement.
  auto next = wait(reactor_, c.query("SELECT 3"));
  ASSERT_TRUE(next.value);
  EXPECT_EQ((*next.value)[0].get<int>(0), 3);
}

TEST_F(ConnectionTest, AThrowingRowHandlerFailsOnlyItsStream) {
  mysql::Connection c = connect();
  int seen = 0;
  auto failed = wait(reactor_, c.stream(
                                   [&](const mysql::Row&) {
                                     if (++seen == 5) throw std::runtime_error("bad row");
                                   },
                                   "SELECT seq FROM seq_1_to_1000"));
  ASSERT_TRUE(failed.failure);
  EXPECT_EQ(failed.failure->getErrorMessage(), "bad row");
  EXPECT_EQ(seen, 5);  // no row after the throw
  auto next = wait(reactor_, c.query("SELECT COUNT(*) FROM seq_1_to_10"));
  ASSERT_TRUE(next.value) << next.failure->describe();
  EXPECT_EQ((*next.value)[0].get<int>(0), 10);
}

TEST_F(ConnectionTest, ServerErrorsHaveTypesNumbersAndSqlState) {
  mysql::Connection c = connect();
  auto syntax = wait(reactor_, c.query("SELEC 1"));
  ASSERT_TRUE(syntax.failure);
  const auto* error = syntax.failure->value<mysql::SqlSyntaxError>();
  ASSERT_NE(error, nullptr) << syntax.failure->describe();
  EXPECT_EQ(error->number(), 1064u);
  EXPECT_EQ(error->sqlState(), "42000");
  EXPECT_NE(syntax.failure->getErrorMessage().find("SELEC 1"), std::string::npos);

  ASSERT_TRUE(wait(reactor_, c.query("CREATE TABLE u (id INT PRIMARY KEY)")).value);
  ASSERT_TRUE(wait(reactor_, c.query("INSERT INTO u VALUES (1)")).value);
  auto duplicate = wait(reactor_, c.query("INSERT INTO u VALUES (?)", 1));
  ASSERT_TRUE(duplicate.failure);
  EXPECT_TRUE(duplicate.failure->check<mysql::DuplicateKeyError>()) << duplicate.failure->describe();
  EXPECT_EQ(duplicate.failure->value<mysql::MysqlError>()->sqlState(), "23000");

  auto unknownTable = wait(reactor_, c.query("SELECT * FROM nowhere"));
  ASSERT_TRUE(unknownTable.failure);
  EXPECT_EQ(unknownTable.failure->value<mysql::MysqlError>()->number(), 1146u);
  EXPECT_TRUE(c.usable());  // statement errors leave the connection as it was
  EXPECT_TRUE(wait(reactor_, c.query("SELECT 1")).value);
}

TEST_F(ConnectionTest, ConnectErrorsAreClear) {
  run("CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'right'");
  mysql::ConnectOptions wrongPassword = options_;
  wrongPassword.user = "app";
  wrongPassword.password = "wrong";
  auto denied = wait(reactor_, mysql::connect(reactor_, wrongPassword));
  ASSERT_TRUE(denied.failure);
  EXPECT_TRUE(denied.failure->check<mysql::AccessDeniedError>()) << denied.failure->describe();
  EXPECT_EQ(denied.failure->value<mysql::MysqlError>()->number(), 1045u);

  mysql::ConnectOptions noDatabase = options_;
  noDatabase.database = "does_not_exist";
  auto unknown = wait(reactor_, mysql::connect(reactor_, noDatabase));
  ASSERT_TRUE(unknown.failure);
  EXPECT_TRUE(unknown.failure->check<mysql::UnknownDatabaseError>()) << unknown.failure->describe();

  // A port nothing listens on: bound, then closed.
  mysql::ConnectOptions refused = options_;
  refused.port = mysql::freeLoopbackPort();
  auto nothing = wait(reactor_, mysql::connect(reactor_, refused));
  ASSERT_TRUE(nothing.failure);
  EXPECT_TRUE(nothing.failure->check<mysql::ConnectError>()) << nothing.failure->describe();
  EXPECT_NE(nothing.failure->getErrorMessage().find(std::to_string(refused.port)), std::string::npos);

  run("CREATE USER 'limited'@'127.0.0.1' WITH MAX_USER_CONNECTIONS 1");
  mysql::ConnectOptions limited = options_;
  limited.user = "limited";
  limited.database.clear();
  auto first = wait(reactor_, mysql::connect(reactor_, limited));
  ASSERT_TRUE(first.value) << first.failure->describe();
  auto second = wait(reactor_, mysql::connect(reactor_, limited));
  ASSERT_TRUE(second.failure);
  EXPECT_TRUE(second.failure->check<mysql::TooManyConnectionsError>()) << second.failure->describe();
  run("DROP USER 'app'@'127.0.0.1'");
  run("DROP USER 'limited'@'127.0.0.1'");
}

TEST_F(ConnectionTest, ConnectsOverTheUnixSocketAndByName) {
  mysql::ConnectOptions socket = testing::sharedServer().socketOptions();
  auto overSocket = wait(reactor_, mysql::connect(reactor_, socket));
  ASSERT_TRUE(overSocket.value) << overSocket.failure->describe();
  auto who = wait(reactor_, overSocket.value->query("SELECT CURRENT_USER()"));
  ASSERT_TRUE(who.value);
  EXPECT_EQ((*who.value)[0].get<std::string>(0), "root@localhost");

  mysql::ConnectOptions byName = options_;
  byName.host = "localhost";  // resolved by the reactor (to 127.0.0.1), then TCP
  auto named = wait(reactor_, mysql::connect(reactor_, byName));
  ASSERT_TRUE(named.value) << named.failure->describe();
  auto over = wait(reactor_, named.value->query("SELECT @@port = ?", options_.port));
  ASSERT_TRUE(over.value);
  EXPECT_EQ((*over.value)[0].get<bool>(0), true);
}

class CancelTest : public testing::MysqlTest {
 protected:
  // How many statements the server is running that contain `marker`.
  int runningWith(const std::string& marker) {
    mysql::Result r = run("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%" +
                          marker + "%' AND INFO NOT LIKE '%PROCESSLIST%'");
    return r.empty() ? -1 : *r[0].get<int>(0);
  }
};

TEST_F(CancelTest, CancellingKillsTheStatementOnTheServerAndTheConnectionGoesOn) {
  mysql::Connection c = connect();
  auto sleeping = c.query("SELECT SLEEP(30) AS cancel_marker_1");
  ASSERT_TRUE(runUntil(reactor_, [&] { return runningWith("cancel_marker_1") == 1; }));
  auto queued = c.query("SELECT 42");  // waits behind the statement being cancelled
  sleeping.cancel();
  auto cancelled = wait(reactor_, sleeping);
  ASSERT_TRUE(cancelled.failure);
  EXPECT_TRUE(cancelled.failure->check<CancelledError>());
  EXPECT_TRUE(runUntil(reactor_, [&] { return runningWith("cancel_marker_1") == 0; },
                       absl::Seconds(5)));
  auto next = wait(reactor_, queued);
  ASSERT_TRUE(next.value) << next.failure->describe();  // the kill did not hit the next statement
  EXPECT_EQ((*next.value)[0].get<int>(0), 42);
  EXPECT_TRUE(c.usable());
}

TEST_F(CancelTest, ATimeoutKillsTheStatementToo) {
  mysql::Connection c = connect();
  const absl::Time start = reactor_.seconds();
  auto timedOut = wait(reactor_, c.query("SELECT SLEEP(30) AS cancel_marker_2")
                                     .addTimeout(absl::Milliseconds(300), reactor_));
  ASSERT_TRUE(timedOut.failure);
  EXPECT_TRUE(timedOut.failure->check<TimeoutError>()) << timedOut.failure->describe();
  EXPECT_LT(reactor_.seconds() - start, absl::Seconds(2));
  EXPECT_TRUE(runUntil(reactor_, [&] { return runningWith("cancel_marker_2") == 0; },
                       absl::Seconds(5)));
  EXPECT_TRUE(wait(reactor_, c.query("SELECT 1")).value);
}

TEST_F(CancelTest, CancellingAWaitingCallRemovesIt) {
  mysql::Connection c = connect();
  ASSERT_TRUE(wait(reactor_, c.query("CREATE TABLE log (n INT)")).value);
  auto first = c.query("INSERT INTO log SELECT SLEEP(0.3) + 1");  // keeps the others waiting
  auto second = c.query("INSERT INTO log VALUES (2)");
  auto third = c.query("SELECT GROUP_CONCAT(n) FROM log");
  second.cancel();
  auto cancelled = wait(reactor_, second);
  ASSERT_TRUE(cancelled.failure);
  EXPECT_TRUE(cancelled.failure->check<CancelledError>());
  EXPECT_EQ(c.pendingCalls(), 2u);
  auto all = wait(reactor_, third);
  ASSERT_TRUE(all.value);
  EXPECT_EQ((*all.value)[0].get<std::string>(0), "1");
}

TEST_F(ConnectionTest, DestroyingOrAbortingFailsWhatIsPending) {
  std::optional<mysql::Connection> c(connect());
  auto running = c->query("SELECT SLEEP(5)");
  auto waiting = c->query("SELECT 1");
  c.reset();
  auto r1 = wait(reactor_, running);
  auto r2 = wait(reactor_, waiting);
  ASSERT_TRUE(r1.failure);
  ASSERT_TRUE(r2.failure);
  EXPECT_TRUE(r1.failure->check<mysql::ConnectionLostError>()) << r1.failure->describe();
  EXPECT_TRUE(r2.failure->check<mysql::ConnectionLostError>());

  mysql::Connection empty;
  auto none = wait(reactor_, empty.query("SELECT 1"));
  ASSERT_TRUE(none.failure);
  EXPECT_TRUE(none.failure->check<mysql::UsageError>());

  mysql::Connection closing = connect();
  auto last = closing.query("SELECT 5");
  bool closed = false;
  closing.close().addCallback([&] { closed = true; });
  auto lastResult = wait(reactor_, last);
  ASSERT_TRUE(lastResult.value);  // close() runs what was asked before it
  EXPECT_TRUE(runUntil(reactor_, [&] { return closed; }));
  EXPECT_FALSE(closing.usable());
  auto after = wait(reactor_, closing.query("SELECT 1"));
  ASSERT_TRUE(after.failure);
  EXPECT_TRUE(after.failure->check<mysql::UsageError>());
}

TEST_F(ConnectionTest, AReadTimeoutLosesTheConnection) {
  options_.readTimeout = absl::Seconds(1);
  mysql::Connection c = connect();
  ASSERT_TRUE(wait(reactor_, c.query("SELECT SLEEP(0.2)")).value);  // within the limit
  const absl::Time start = reactor_.seconds();
  auto slow = wait(reactor_, c.query("SELECT SLEEP(5)"));
  const absl::Duration took = reactor_.seconds() - start;
  ASSERT_TRUE(slow.failure);
  EXPECT_TRUE(slow.failure->check<mysql::ConnectionLostError>()) << slow.failure->describe();
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(4));
  EXPECT_TRUE(c.broken());
}

TEST_F(ConnectionTest, AConnectTimeoutGivesUpOnAServerThatNeverAnswers) {
  testing::StalledListener stalled;  // its accept queue is full: the SYN goes unanswered
  mysql::ConnectOptions options = options_;
  options.port = stalled.port();
  options.connectTimeout = absl::Seconds(1);
  const absl::Time start = reactor_.seconds();
  auto never = wait(reactor_, mysql::connect(reactor_, options), absl::Seconds(15));
  const absl::Duration took = reactor_.seconds() - start;
  ASSERT_TRUE(never.failure);
  EXPECT_TRUE(never.failure->check<mysql::ConnectError>()) << never.failure->describe();
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(ConnectionTest, ACallbackMayCancelAnotherCallWhileTheConnectionGoes) {
  mysql::Connection c = connect();
  auto running = c.query("SELECT SLEEP(5)");
  auto second = c.query("SELECT 2");
  auto third = c.query("SELECT 3");
  running.addErrback([&](Failure f) -> mysql::Result {
    third.cancel();  // still in the queue when the connection goes
    f.raiseException();
  });
  bool closed = false;
  c.close().addCallback([&] { closed = true; });  // close() never errbacks, even when aborted
  c.abort();
  auto r1 = wait(reactor_, running);
  auto r2 = wait(reactor_, second);
  auto r3 = wait(reactor_, third);
  ASSERT_TRUE(r1.failure && r2.failure && r3.failure);
  EXPECT_TRUE(r1.failure->check<mysql::ConnectionLostError>());
  EXPECT_TRUE(r2.failure->check<mysql::ConnectionLostError>());
  EXPECT_TRUE(r3.failure->check<CancelledError>()) << r3.failure->describe();
  EXPECT_TRUE(closed);
}

TEST_F(ConnectionTest, ARowHandlerMayAbortOrDropTheConnection) {
  std::optional<mysql::Connection> c(connect());
  int seen = 0;
  std::string lastRow;
  auto aborted = wait(reactor_, c->stream(
                                    [&](const mysql::Row& row) {
                                      if (++seen == 3) c->abort();
                                      lastRow = *row.get<std::string>(1);  // still readable
                                    },
                                    "SELECT seq, REPEAT('y', 50) FROM seq_1_to_1000"));
  ASSERT_TRUE(aborted.failure);
  EXPECT_TRUE(aborted.failure->check<mysql::ConnectionLostError>());
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(lastRow, std::string(50, 'y'));

  // A stream resumed from the loop whose last callback drops the only handle.
  c.emplace(connect());
  int rows = 0;
  bool done = false;
  c->stream(
       [&](const mysql::Row&) {
         if (++rows == 5) {
           c->pauseProducing();
           reactor_.callLater(absl::Milliseconds(10), [&] { c->resumeProducing(); });
         }
       },
       "SELECT seq FROM seq_1_to_20")
      .addCallback([&](mysql::Status) {
        c.reset();  // the connection goes inside its own completion
        done = true;
      });
  EXPECT_TRUE(runUntil(reactor_, [&] { return done; }));
  EXPECT_EQ(rows, 20);
}

TEST_F(ConnectionTest, AProcedureWithSeveralResultsLeavesTheConnectionInStep) {
  mysql::Connection c = connect();
  ASSERT_TRUE(wait(reactor_, c.query("CREATE PROCEDURE two() BEGIN SELECT 1 AS a; SELECT 2 AS b; END"))
                  .value);
  auto first = wait(reactor_, c.query("CALL two()"));
  ASSERT_TRUE(first.value) << first.failure->describe();
  EXPECT_EQ((*first.value)[0].get<int>("a"), 1);  // the first result set; the rest are dropped
  auto streamed = wait(reactor_, c.stream([](const mysql::Row&) {}, "CALL two()"));
  ASSERT_TRUE(streamed.value) << streamed.failure->describe();
  auto next = wait(reactor_, c.query("SELECT 3"));
  ASSERT_TRUE(next.value) << next.failure->describe();
  EXPECT_EQ((*next.value)[0].get<int>(0), 3);
}

TEST(DsnTest, ParsesEveryPart) {
  auto full = mysql::parseDsn(
      "mysql://app%40x:p%3Ass@db.example:3307/shop?charset=latin1&connect_timeout=2.5&ssl=true");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->user, "app@x");
  EXPECT_EQ(full->password, "p:ss");
  EXPECT_EQ(full->host, "db.example");
  EXPECT_EQ(full->port, 3307);
  EXPECT_EQ(full->database, "shop");
  EXPECT_EQ(full->charset, "latin1");
  EXPECT_EQ(full->connectTimeout, absl::Milliseconds(2500));
  EXPECT_TRUE(full->tls.enabled);
  auto socket = mysql::parseDsn("mysql://root@/test?unix_socket=/run/mysqld/mysqld.sock");
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_EQ(socket->unixSocket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(socket->database, "test");
  auto v6 = mysql::parseDsn("mysql://[::1]:3306");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(mysql::parseDsn("postgres://x").ok());
  EXPECT_FALSE(mysql::parseDsn("mysql://h:99999").ok());
  EXPECT_FALSE(mysql::parseDsn("mysql://h?nonsense=1").ok());
  EXPECT_FALSE(mysql::parseDsn("mysql://u:%zz@h").ok());
}

}  // namespace
}  // namespace deft
