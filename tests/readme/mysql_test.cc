// Runs the README's MySQL example against a throw-away MariaDB: a login that matches, one that
// does not, an order that commits and one that rolls back.

#include "tests/readme/mysql.h"

#include "gtest/gtest.h"
#include "mysql/throwaway_server.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::wait;

TEST(ReadmeMysqlTest, LoginAndOrdersWork) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  mysql::ThrowawayServer server;
  mysql::ConnectOptions options = server.options();
  {
    mysql::ConnectionPool setup(reactor, options);
    for (const char* sql :
         {"CREATE DATABASE shop", "CREATE TABLE shop.users (name VARCHAR(32), password_hash CHAR(64))",
          "INSERT INTO shop.users VALUES ('alice', SHA2('wonderland', 256))",
          "CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(32))",
          "CREATE TABLE shop.stock (item VARCHAR(32) PRIMARY KEY, n INT)",
          "INSERT INTO shop.stock VALUES ('tea', 1)"}) {
      ASSERT_TRUE(wait(reactor, setup.execute(sql)).value) << sql;
    }
  }
  options.database = "shop";
  mysql::ConnectionPool pool(reactor, options);
  EXPECT_EQ(wait(reactor, checkLogin(pool, "alice", "wonderland")).value, true);
  EXPECT_EQ(wait(reactor, checkLogin(pool, "alice", "' OR 1=1 -- ")).value, false);
  EXPECT_EQ(wait(reactor, placeOrder(pool, "tea")).value, 1u);
  auto soldOut = wait(reactor, placeOrder(pool, "tea"));
  ASSERT_TRUE(soldOut.failure);
  EXPECT_EQ(soldOut.failure->getErrorMessage(), "sold out");
  auto orders = wait(reactor, pool.execute("SELECT COUNT(*) FROM orders"));
  ASSERT_TRUE(orders.value);
  EXPECT_EQ((*orders.value)[0].get<int>(0), 1);  // the second order was rolled back
}

}  // namespace
}  // namespace deft
