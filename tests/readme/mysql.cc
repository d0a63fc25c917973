// The README's "MySQL on the loop" example, compiled (and run by mysql_test against a
// throw-away MariaDB).

#include "tests/readme/mysql.h"

#include "mysql/pool.h"
using namespace deft;

Deferred<bool> checkLogin(mysql::ConnectionPool& pool, std::string user, std::string password) {
  mysql::Result r = co_await pool.execute(   // ? placeholders: the values stay data
      "SELECT name FROM users WHERE name = ? AND password_hash = SHA2(?, 256)", user, password);
  co_return !r.empty();
}

Deferred<std::uint64_t> placeOrder(mysql::ConnectionPool& pool, std::string item) {
  auto order = [item](mysql::Connection& c) -> Deferred<std::uint64_t> {  // BEGIN
    mysql::Result placed = co_await c.query("INSERT INTO orders (item) VALUES (?)", item);
    mysql::Result left = co_await c.query("UPDATE stock SET n = n - 1 WHERE item = ? AND n > 0", item);
    if (left.affectedRows() == 0) throw std::runtime_error("sold out");  // ROLLBACK
    co_return placed.lastInsertId();                                      // COMMIT
  };
  co_return co_await mysql::runInteraction(pool, order);  // named, not a temporary: g++ 12
}
