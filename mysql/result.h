// File: mysql/result.h
//
// What a statement gives back: a Result holds the rows of a SELECT (all of them, as the server
// sent them) with their columns, or, for any statement, the affected rows, the last insert id and
// the warning count. A Row is a view of one row; a Value one cell of it.
//
//   Result r = co_await conn.query("SELECT id, name, born FROM users WHERE id = ?", 7);
//   for (const Row& row : r) {
//     std::int64_t id = row.get<std::int64_t>(0).value();
//     std::optional<std::string> name = row.get<std::string>("name");   // NULL is empty
//     std::optional<absl::CivilDay> born = row["born"].as<absl::CivilDay>();
//   }
//
// TYPES. Values travel as text (the protocol of plain queries) and convert when asked for:
//   - std::int64_t, int, std::uint64_t, bool, double: from any numeric column (a DECIMAL asked for as
//     an integer must have no fraction; ask for it as std::string to keep every digit);
//   - std::string / std::string_view: the bytes as sent, NUL bytes included (BLOB, BINARY);
//   - absl::CivilDay (DATE), absl::CivilSecond (DATETIME, TIMESTAMP; fractions of a second are
//     dropped): a zero date ("0000-00-00") does not convert;
//   - a value that does not convert throws ValueError naming the column.
// NULL is an empty std::optional from get()/as(); isNull() asks directly.
//
// LIFETIME. A Result owns its data and is cheap to copy (copies share it). A Row or Value from a
// Result is valid while a copy of that Result lives; one handed to a streaming callback
// (Connection::stream) only during that call.

#ifndef DEFT_MYSQL_RESULT_H_
#define DEFT_MYSQL_RESULT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/time/civil_time.h"
#include "mysql/errors.h"

typedef struct st_mysql MYSQL;
typedef struct st_mysql_res MYSQL_RES;

namespace deft::mysql {

// A column of a result, from the server's metadata.
struct Column {
  std::string name;
  std::string table;    // empty for computed columns
  int type = 0;         // enum_field_types (MYSQL_TYPE_LONG, ...) from <mysql.h>
  unsigned flags = 0;   // NOT_NULL_FLAG, PRI_KEY_FLAG, UNSIGNED_FLAG, BINARY_FLAG, ...
  bool binary = false;  // binary data (charset 63: BLOB, BINARY, VARBINARY), not text
};

class Result;

namespace internal {
// Takes `stored` (from mysql_store_result, or nullptr for a statement with no result set) and the
// statement's status from `mysql`.
Result makeResult(MYSQL* mysql, MYSQL_RES* stored);

// The columns and their names, shared by a Result's rows or a stream's.
struct Shape {
  std::vector<Column> columns;
  explicit Shape(MYSQL_RES* result);
  // The first column named `name`; throws ValueError for an unknown name. A scan of the names:
  // results have few columns, and a map would cost an allocation per result.
  std::size_t find(std::string_view name) const;
};
}  // namespace internal

class Value {
 public:
  Value(const Column& column, const char* data, std::size_t size)
      : column_(&column), data_(data), size_(size) {}

  bool isNull() const { return data_ == nullptr; }
  const Column& column() const { return *column_; }

  // The value as T (see TYPES above); empty for NULL.
  template <class T>
  std::optional<T> as() const {
    if (isNull()) return std::nullopt;
    return convert<T>();
  }

 private:
  template <class T>
  T convert() const;

  const Column* column_;
  const char* data_;  // nullptr for NULL
  std::size_t size_;
};

template <> std::int64_t Value::convert<std::int64_t>() const;
template <> std::uint64_t Value::convert<std::uint64_t>() const;
template <> int Value::convert<int>() const;
template <> bool Value::convert<bool>() const;
template <> double Value::convert<double>() const;
template <> std::string Value::convert<std::string>() const;
template <> std::string_view Value::convert<std::string_view>() const;
template <> absl::CivilDay Value::convert<absl::CivilDay>() const;
template <> absl::CivilSecond Value::convert<absl::CivilSecond>() const;

class Row {
 public:
  Row(const internal::Shape& shape, char** cells, const unsigned long* lengths)
      : shape_(&shape), cells_(cells), lengths_(lengths) {}

  std::size_t size() const { return shape_->columns.size(); }
  const std::vector<Column>& columns() const { return shape_->columns; }

  // The cell at `column` (an index, or a name: ValueError if there is no such column).
  Value operator[](std::size_t column) const;
  Value operator[](std::string_view name) const { return (*this)[shape_->find(name)]; }

  // row.get<T>(column): row[column].as<T>().
  template <class T, class Index>
    requires std::is_integral_v<Index>
  std::optional<T> get(Index column) const {
    return (*this)[static_cast<std::size_t>(column)].template as<T>();
  }
  template <class T>
  std::optional<T> get(std::string_view name) const {
    return (*this)[name].template as<T>();
  }
  template <class T>
  std::optional<T> get(const char* name) const {
    return get<T>(std::string_view(name));
  }

 private:
  const internal::Shape* shape_;
  char** cells_;
  const unsigned long* lengths_;
};

// How a statement that returns no rows went, and the tail of one that did.
struct Status {
  std::uint64_t affectedRows = 0;
  std::uint64_t lastInsertId = 0;
  unsigned warningCount = 0;
};

class Result {
 public:
  // No rows and no columns: what a statement without a result set gives.
  Result() = default;

  std::size_t size() const { return data_ ? data_->rows.size() : 0; }
  bool empty() const { return size() == 0; }
  Row operator[](std::size_t i) const;
  // The columns; empty for a statement that returns no result set (INSERT, UPDATE...).
  const std::vector<Column>& columns() const;

  // For INSERT/UPDATE/DELETE: rows changed; for a SELECT: rows returned.
  std::uint64_t affectedRows() const { return status_.affectedRows; }
  // The AUTO_INCREMENT value the statement generated, or 0.
  std::uint64_t lastInsertId() const { return status_.lastInsertId; }
  unsigned warningCount() const { return status_.warningCount; }
  const Status& status() const { return status_; }

  class Iterator {
   public:
    using difference_type = std::ptrdiff_t;
    using value_type = Row;
    Iterator(const Result* result, std::size_t i) : result_(result), i_(i) {}
    Row operator*() const { return (*result_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const Iterator& other) const { return i_ == other.i_; }

   private:
    const Result* result_;
    std::size_t i_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  friend Result internal::makeResult(MYSQL* mysql, MYSQL_RES* stored);

  // The connector's own buffers, kept as they are: the rows point into them.
  struct Data {
    MYSQL_RES* result = nullptr;
    internal::Shape shape;
    std::vector<char**> rows;
    std::vector<unsigned long> lengths;  // rows × columns
    explicit Data(MYSQL_RES* r);
    ~Data();
  };

  std::shared_ptr<const Data> data_;
  Status status_;
};

}  // namespace deft::mysql

#endif  // DEFT_MYSQL_RESULT_H_
