#include "mysql/params.h"

#include <mariadb/mysql.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "mysql/errors.h"

namespace deft::mysql::internal {

namespace {

void appendQuoted(MYSQL* mysql, std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.resize(start + text.size() * 2 + 1);  // the connector's documented worst case
  const unsigned long written =
      mysql_real_escape_string(mysql, out.data() + start, text.data(), text.size());
  out.resize(start + written);
}

void appendLiteral(MYSQL* mysql, std::string& out, const Param::Value& value) {
  struct Append {
    MYSQL* mysql;
    std::string& out;
    void operator()(std::nullptr_t) { out += "NULL"; }
    void operator()(bool b) { out += b ? "TRUE" : "FALSE"; }
    void operator()(std::int64_t i) { absl::StrAppend(&out, i); }
    void operator()(std::uint64_t i) { absl::StrAppend(&out, i); }
    void operator()(double d) {
      if (!std::isfinite(d)) throw ValueError(absl::StrCat("no SQL literal for the double ", d));
      // 17 significant digits read back as the same double; the e-notation keeps it a DOUBLE
      // rather than a DECIMAL.
      absl::StrAppend(&out, absl::StrFormat("%.17e", d));
    }
    void operator()(const std::string& s) {
      out += '\'';
      appendQuoted(mysql, out, s);
      out += '\'';
    }
    void operator()(const Bytes& b) {
      out += "_binary'";
      appendQuoted(mysql, out, b.data);
      out += '\'';
    }
    void operator()(absl::CivilDay d) { absl::StrAppend(&out, "'", absl::FormatCivilTime(d), "'"); }
    void operator()(absl::CivilSecond s) {
      absl::StrAppend(&out, "'", absl::FormatCivilTime(absl::CivilDay(s)), " ",
                      absl::StrFormat("%02d:%02d:%02d", s.hour(), s.minute(), s.second()), "'");
    }
  };
  std::visit(Append{mysql, out}, value);
}

// The length of the quoted string, name or comment that starts at `sql[i]`, or 0 if none does.
std::size_t skipQuotedOrComment(std::string_view sql, std::size_t i) {
  const char c = sql[i];
  if (c == '\'' || c == '"' || c == '`') {
    std::size_t j = i + 1;
    while (j < sql.size()) {
      if (sql[j] == '\\' && c != '`') {
        j += 2;
      } else if (sql[j] == c) {
        if (j + 1 < sql.size() && sql[j + 1] == c) {
          j += 2;  // a doubled quote stands for itself
        } else {
          return j + 1 - i;
        }
      } else {
        ++j;
      }
    }
    return sql.size() - i;
  }
  if (c == '#' || (c == '-' && sql.substr(i, 3) == "-- ")) {
    const std::size_t end = sql.find('\n', i);
    return (end == std::string_view::npos ? sql.size() : end) - i;
  }
  if (c == '/' && sql.substr(i, 2) == "/*") {
    const std::size_t end = sql.find("*/", i + 2);
    return (end == std::string_view::npos ? sql.size() : end + 2) - i;
  }
  return 0;
}

}  // namespace

std::string bindParams(MYSQL* mysql, std::string_view sql, const std::vector<Param>& params) {
  std::string out;
  out.reserve(sql.size() + 16 * params.size());
  std::size_t used = 0;
  std::size_t i = 0;
  while (i < sql.size()) {
    if (const std::size_t skip = skipQuotedOrComment(sql, i); skip > 0) {
      out.append(sql.substr(i, skip));
      i += skip;
    } else if (sql[i] == '?') {
      if (used == params.size()) {
        throw UsageError(absl::StrCat("the statement has more ? placeholders than the ",
                                      params.size(), " parameters given: ", std::string(sql)));
      }
      appendLiteral(mysql, out, params[used++].value());
      ++i;
    } else {
      out += sql[i++];
    }
  }
  if (used != params.size()) {
    throw UsageError(absl::StrCat("the statement has ", used, " ? placeholders but ",
                                  params.size(), " parameters were given: ", std::string(sql)));
  }
  return out;
}

}  // namespace deft::mysql::internal
