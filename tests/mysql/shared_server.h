// One throw-away MariaDB server per test binary (started on first use, removed at exit), and the
// fixture the mysql tests share: a reactor of the test's own and a database created for it.

#ifndef DEFT_TESTS_MYSQL_SHARED_SERVER_H_
#define DEFT_TESTS_MYSQL_SHARED_SERVER_H_

#include <string>

#include "gtest/gtest.h"
#include "mysql/connection.h"
#include "mysql/throwaway_server.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"

namespace deft::testing {

inline mysql::ThrowawayServer& sharedServer() {
  static mysql::ThrowawayServer server;
  return server;
}

class MysqlTest : public ::testing::Test {
 protected:
  // A database named after the test, empty, and options that select it.
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    database_ = std::string("t_") + info->name();
    run("DROP DATABASE IF EXISTS " + database_);
    run("CREATE DATABASE " + database_ + " CHARACTER SET utf8mb4");
    options_ = sharedServer().options();
    options_.database = database_;
  }

  // Runs one statement as root on a connection of its own, failing the test if it fails.
  mysql::Result run(const std::string& sql) {
    mysql::ConnectOptions options = sharedServer().options();
    auto connection = wait(reactor_, mysql::connect(reactor_, options));
    EXPECT_TRUE(connection.value) << connection.failure->describe();
    auto result = wait(reactor_, connection.value->query(sql));
    EXPECT_TRUE(result.value) << sql << ": " << result.failure->describe();
    return result.value ? *result.value : mysql::Result();
  }

  mysql::Connection connect() {
    auto connection = wait(reactor_, mysql::connect(reactor_, options_));
    EXPECT_TRUE(connection.value) << connection.failure->describe();
    return connection.value ? std::move(*connection.value) : mysql::Connection();
  }

  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
  std::string database_;
  mysql::ConnectOptions options_;
};

}  // namespace deft::testing

#endif  // DEFT_TESTS_MYSQL_SHARED_SERVER_H_
