// One throw-away MariaDB server per test binary (started on first use, removed at exit), and the
// fixture the mysql tests share: a reactor of the test's own and a database created for it.

#ifndef DEFT_TESTS_MYSQL_SHARED_SERVER_H_
#define DEFT_TESTS_MYSQL_SHARED_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "mysql/connection.h"
#include "mysql/throwaway_server.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"

namespace deft::testing {

// A TCP port on 127.0.0.1 that nothing listens on: bound, read, released.
inline std::uint16_t freeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

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
