// File: mysql/errors.h
//
// What a MySQL/MariaDB call can fail with. Every error the server or the connector reports is a
// MysqlError carrying the error number, the SQLSTATE and the message, so a program can log or
// branch on any of them; the ones programs handle have types of their own, to trap by name:
//
//   pool.execute("INSERT INTO users (name) VALUES (?)", name)
//       .addErrback([](Failure f) -> Result {
//         f.trap<mysql::DuplicateKeyError>();   // anything else goes on down the errback path
//         return Result();
//       });
//
// Errors of the client itself (a parameter count that does not match, a value that does not
// convert) are not MysqlErrors: they are programming errors, reported as UsageError and
// ValueError.

#ifndef DEFT_MYSQL_ERRORS_H_
#define DEFT_MYSQL_ERRORS_H_

#include <string>

#include "deferred/error.h"

typedef struct st_mysql MYSQL;

namespace deft::mysql {

// An error reported by the server (numbers below 2000) or by the connector (2000 and up, such as
// 2013 "Lost connection to server during query").
class MysqlError : public Error {
 public:
  MysqlError(unsigned number, std::string sqlState, const std::string& message,
             absl::StatusCode code = absl::StatusCode::kUnknown);

  // The server's or connector's error number (ER_DUP_ENTRY is 1062).
  unsigned number() const { return number_; }
  // The five-character SQLSTATE ("23000"); "HY000" when there is none more precise.
  const std::string& sqlState() const { return sqlState_; }

 private:
  unsigned number_;
  std::string sqlState_;
};

// 1062, 1586: a unique or primary key already holds the value.
class DuplicateKeyError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1213: InnoDB chose this transaction as a deadlock's victim and rolled it back. Retry it.
class DeadlockError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1205: a row lock was not granted within innodb_lock_wait_timeout. Only the statement was
// rolled back, not the transaction.
class LockWaitTimeoutError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1064, 1149: the statement is not valid SQL.
class SqlSyntaxError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1044, 1045, 1698, 1142, 1143: wrong credentials, or no right to the database or table.
class AccessDeniedError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1049: the database named in the connect options or in USE does not exist.
class UnknownDatabaseError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1040, 1203, 1226: the server is at max_connections, or the user at a connection limit.
class TooManyConnectionsError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 2002, 2003, 2005: no server could be reached (refused, no such socket, no such host), or the
// connect timed out. Nothing was sent.
class ConnectError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 2006, 2013, 2055, or a connection closed under a query: the connection is gone, and whether a
// statement that was running took effect is unknown. The connection cannot be used again.
class ConnectionLostError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// 1317, 1969: the statement was killed (KILL QUERY from another session, or max_statement_time).
class QueryInterruptedError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// A call the client cannot make: a query on a closed Connection, parameters that do not match
// the placeholders, a pool that is closing.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message)
      : Error(message, absl::StatusCode::kFailedPrecondition) {}
};

// A column value asked for as a type it does not convert to ("abc" as an integer), or a NULL
// asked for through a getter that has no way to say NULL.
class ValueError : public Error {
 public:
  explicit ValueError(const std::string& message)
      : Error(message, absl::StatusCode::kInvalidArgument) {}
};

namespace internal {

// The error `mysql` holds after a failed call, as the most precise type above, thrown. `context`
// ("connect to 127.0.0.1:3306", "query") prefixes the message.
[[noreturn]] void throwMysqlError(MYSQL* mysql, const std::string& context);

// The same for an error known by its number and message alone.
[[noreturn]] void throwMysqlError(unsigned number, const std::string& sqlState,
                                  const std::string& message);

}  // namespace internal

}  // namespace deft::mysql

#endif  // DEFT_MYSQL_ERRORS_H_
