#include "mysql/errors.h"

#include <mariadb/mysql.h>
#include <mariadb/mysqld_error.h>
#include <mariadb/errmsg.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace deft::mysql {

MysqlError::MysqlError(unsigned number, std::string sqlState, const std::string& message,
                       absl::StatusCode code)
    : Error(message, code), number_(number), sqlState_(std::move(sqlState)) {}

namespace internal {

void throwMysqlError(unsigned number, const std::string& sqlState, const std::string& text) {
  const std::string message = absl::StrCat(text, " (error ", number, ", SQLSTATE ", sqlState, ")");
  switch (number) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
      throw DuplicateKeyError(number, sqlState, message, absl::StatusCode::kAlreadyExists);
    case ER_LOCK_DEADLOCK:
      throw DeadlockError(number, sqlState, message, absl::StatusCode::kAborted);
    case ER_LOCK_WAIT_TIMEOUT:
      throw LockWaitTimeoutError(number, sqlState, message, absl::StatusCode::kAborted);
    case ER_PARSE_ERROR:
    case ER_SYNTAX_ERROR:
      throw SqlSyntaxError(number, sqlState, message, absl::StatusCode::kInvalidArgument);
    case ER_DBACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
      throw AccessDeniedError(number, sqlState, message, absl::StatusCode::kPermissionDenied);
    case ER_BAD_DB_ERROR:
      throw UnknownDatabaseError(number, sqlState, message, absl::StatusCode::kNotFound);
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_USER_LIMIT_REACHED:
      throw TooManyConnectionsError(number, sqlState, message,
                                    absl::StatusCode::kResourceExhausted);
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
      throw ConnectError(number, sqlState, message, absl::StatusCode::kUnavailable);
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
      throw ConnectionLostError(number, sqlState, message, absl::StatusCode::kUnavailable);
    case ER_QUERY_INTERRUPTED:
    case ER_STATEMENT_TIMEOUT:
      throw QueryInterruptedError(number, sqlState, message, absl::StatusCode::kAborted);
    default:
      throw MysqlError(number, sqlState, message);
  }
}

void throwMysqlError(MYSQL* mysql, const std::string& context) {
  const unsigned number = mysql_errno(mysql);
  const char* sqlState = mysql_sqlstate(mysql);
  const char* text = mysql_error(mysql);
  throwMysqlError(number == 0 ? CR_UNKNOWN_ERROR : number,
                  sqlState != nullptr && *sqlState != '\0' ? sqlState : "HY000",
                  absl::StrCat(context, ": ", text != nullptr && *text != '\0' ? text : "unknown error"));
}

}  // namespace internal

}  // namespace deft::mysql
