// File: mysql/params.h
//
// Query parameters. A statement takes `?` placeholders and its values separately, and the client
// writes each value into the statement as a literal the server reads back as exactly that value
// (the connector's escaping for the connection's character set, as Python's DB-API drivers do):
// a value can never end a string early and become SQL.
//
//   conn.query("SELECT id FROM users WHERE name = ? AND age > ?", name, 18);
//
// What a parameter can be (Param): nullptr or std::nullopt (NULL), bool, any integer, double,
// text (std::string, std::string_view, const char*), Bytes (binary data: sent as _binary'...' so
// no character-set conversion touches it), absl::CivilDay (DATE), absl::CivilSecond (DATETIME),
// and std::optional of any of these (empty is NULL).
//
// A `?` inside a quoted string, a quoted name or a comment is not a placeholder. A count of values
// that does not match the placeholders fails the query with UsageError before anything is sent.

#ifndef DEFT_MYSQL_PARAMS_H_
#define DEFT_MYSQL_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/civil_time.h"

typedef struct st_mysql MYSQL;

namespace deft::mysql {

// Binary data for a BLOB or VARBINARY column (any bytes, NUL included).
struct Bytes {
  std::string data;
};

class Param {
 public:
  using Value = std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double,
                             std::string, Bytes, absl::CivilDay, absl::CivilSecond>;

  Param(std::nullptr_t) : value_(nullptr) {}
  Param(std::nullopt_t) : value_(nullptr) {}
  Param(bool b) : value_(b) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                          !std::is_same_v<I, char>, int> = 0>
  Param(I i) {
    if constexpr (std::is_signed_v<I>) {
      value_ = static_cast<std::int64_t>(i);
    } else {
      value_ = static_cast<std::uint64_t>(i);
    }
  }
  Param(double d) : value_(d) {}
  Param(float f) : value_(static_cast<double>(f)) {}
  Param(std::string s) : value_(std::move(s)) {}
  Param(std::string_view s) : value_(std::string(s)) {}
  Param(const char* s) : value_(std::string(s)) {}
  Param(Bytes b) : value_(std::move(b)) {}
  Param(absl::CivilDay d) : value_(d) {}
  Param(absl::CivilSecond s) : value_(s) {}
  template <class T>
  Param(std::optional<T> v) : Param(nullptr) {
    if (v) *this = Param(std::move(*v));
  }

  const Value& value() const { return value_; }

 private:
  Value value_;
};

namespace internal {

// The parameters of a call, built in place (no copies through an initializer_list).
template <class... Params>
std::vector<Param> makeParams(Params&&... params) {
  std::vector<Param> list;
  list.reserve(sizeof...(Params));
  (list.emplace_back(std::forward<Params>(params)), ...);
  return list;
}

// `sql` with each `?` replaced by the literal of the matching parameter, escaped for `mysql`'s
// character set and SQL mode. Throws UsageError on a count mismatch, ValueError for a NaN or an
// infinite double (SQL has no literal for them).
std::string bindParams(MYSQL* mysql, std::string_view sql, const std::vector<Param>& params);

}  // namespace internal

}  // namespace deft::mysql

#endif  // DEFT_MYSQL_PARAMS_H_
