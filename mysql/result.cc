#include "mysql/result.h"

#include <mariadb/mysql.h>

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace deft::mysql {

namespace {

constexpr unsigned kBinaryCharset = 63;

[[noreturn]] void notConvertible(const Column& column, std::string_view text, const char* type) {
  throw ValueError(absl::StrCat("column `", column.name, "`: the value \"",
                                std::string(text.substr(0, 64)), "\" is not ", type));
}

template <class I>
I parseInteger(const Column& column, std::string_view text, const char* type) {
  I value{};
  std::string_view digits = text;
  // A DECIMAL with a zero fraction ("12.000") is an integer.
  if (const std::size_t dot = digits.find('.'); dot != std::string_view::npos) {
    if (digits.find_first_not_of('0', dot + 1) != std::string_view::npos) {
      notConvertible(column, text, type);
    }
    digits = digits.substr(0, dot);
  }
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    notConvertible(column, text, type);
  }
  return value;
}

int digitsAt(std::string_view text, std::size_t at, std::size_t count, bool* ok) {
  int value = 0;
  if (at + count > text.size()) {
    *ok = false;
    return 0;
  }
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') *ok = false;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// "YYYY-MM-DD" and "YYYY-MM-DD hh:mm:ss[.ffffff]", as the server writes them.
absl::CivilSecond parseDateTime(const Column& column, std::string_view text, bool withTime) {
  bool ok = text.size() >= 10 && text[4] == '-' && text[7] == '-';
  const int year = digitsAt(text, 0, 4, &ok);
  const int month = digitsAt(text, 5, 2, &ok);
  const int day = digitsAt(text, 8, 2, &ok);
  int hour = 0, minute = 0, second = 0;
  if (withTime && text.size() > 10) {
    ok = ok && text.size() >= 19 && text[10] == ' ' && text[13] == ':' && text[16] == ':';
    hour = digitsAt(text, 11, 2, &ok);
    minute = digitsAt(text, 14, 2, &ok);
    second = digitsAt(text, 17, 2, &ok);
  } else if (text.size() != 10) {
    ok = false;
  }
  if (!ok || month < 1 || month > 12 || day < 1 || day > 31) {
    notConvertible(column, text, withTime ? "a date and time" : "a date");
  }
  return absl::CivilSecond(year, month, day, hour, minute, second);
}

}  // namespace

template <>
std::int64_t Value::convert<std::int64_t>() const {
  return parseInteger<std::int64_t>(*column_, {data_, size_}, "an integer");
}
template <>
int Value::convert<int>() const {
  return parseInteger<int>(*column_, {data_, size_}, "an int");
}
template <>
std::uint64_t Value::convert<std::uint64_t>() const {
  return parseInteger<std::uint64_t>(*column_, {data_, size_}, "an unsigned integer");
}
template <>
bool Value::convert<bool>() const {
  return parseInteger<std::int64_t>(*column_, {data_, size_}, "a boolean") != 0;
}
template <>
double Value::convert<double>() const {
  double value = 0;
  const auto [end, error] = std::from_chars(data_, data_ + size_, value);
  if (error != std::errc() || end != data_ + size_) notConvertible(*column_, {data_, size_}, "a number");
  return value;
}
template <>
std::string Value::convert<std::string>() const {
  return std::string(data_, size_);
}
template <>
std::string_view Value::convert<std::string_view>() const {
  return std::string_view(data_, size_);
}
template <>
absl::CivilDay Value::convert<absl::CivilDay>() const {
  return absl::CivilDay(parseDateTime(*column_, {data_, size_}, /*withTime=*/false));
}
template <>
absl::CivilSecond Value::convert<absl::CivilSecond>() const {
  return parseDateTime(*column_, {data_, size_}, /*withTime=*/true);
}

namespace internal {

Shape::Shape(MYSQL_RES* result) {
  if (result == nullptr) return;
  const unsigned count = mysql_num_fields(result);
  const MYSQL_FIELD* fields = mysql_fetch_fields(result);
  columns.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    Column column;
    column.name.assign(fields[i].name, fields[i].name_length);
    column.table.assign(fields[i].table, fields[i].table_length);
    column.type = fields[i].type;
    column.flags = fields[i].flags;
    column.binary = fields[i].charsetnr == kBinaryCharset &&
                    (fields[i].type == MYSQL_TYPE_BLOB || fields[i].type == MYSQL_TYPE_STRING ||
                     fields[i].type == MYSQL_TYPE_VAR_STRING ||
                     fields[i].type == MYSQL_TYPE_TINY_BLOB ||
                     fields[i].type == MYSQL_TYPE_MEDIUM_BLOB ||
                     fields[i].type == MYSQL_TYPE_LONG_BLOB);
    columns.push_back(std::move(column));
  }
}

std::size_t Shape::find(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  throw ValueError(absl::StrCat("the result has no column `", std::string(name), "`"));
}

Result makeResult(MYSQL* mysql, MYSQL_RES* stored) {
  Result result;
  result.status_.affectedRows = mysql_affected_rows(mysql);
  result.status_.lastInsertId = mysql_insert_id(mysql);
  result.status_.warningCount = mysql_warning_count(mysql);
  if (stored != nullptr) {
    // The stored rows no longer need the connection; the connection may be closed first.
    stored->handle = nullptr;
    result.data_ = std::make_shared<const Result::Data>(stored);
  }
  return result;
}

}  // namespace internal

Value Row::operator[](std::size_t column) const {
  if (column >= size()) {
    throw ValueError(absl::StrCat("column ", column, " asked for in a row of ", size()));
  }
  return Value(shape_->columns[column], cells_[column], lengths_[column]);
}

Result::Data::Data(MYSQL_RES* r) : result(r), shape(r) {
  const std::size_t columns = shape.columns.size();
  rows.reserve(mysql_num_rows(r));
  lengths.reserve(mysql_num_rows(r) * columns);
  while (MYSQL_ROW row = mysql_fetch_row(r)) {
    const unsigned long* rowLengths = mysql_fetch_lengths(r);
    rows.push_back(row);
    lengths.insert(lengths.end(), rowLengths, rowLengths + columns);
  }
}

Result::Data::~Data() { mysql_free_result(result); }

Row Result::operator[](std::size_t i) const {
  if (i >= size()) throw ValueError(absl::StrCat("row ", i, " asked for in a result of ", size()));
  return Row(data_->shape, data_->rows[i], data_->lengths.data() + i * data_->shape.columns.size());
}

const std::vector<Column>& Result::columns() const {
  static const std::vector<Column> kNone;
  return data_ ? data_->shape.columns : kNone;
}

}  // namespace deft::mysql
