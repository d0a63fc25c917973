// File: http/headers.h
//
// The header fields of an HTTP message: an ordered list of (name, value) pairs, looked up without
// regard to case. Repeated fields are kept, in the order they came (RFC 9110 §5.3), because some
// (Set-Cookie) cannot be folded into one.
//
//   Headers h;
//   h.add("Accept", "text/html");
//   h.add("accept", "text/plain");
//   h.get("ACCEPT");      // "text/html": the first one
//   h.getAll("Accept");   // both, in order
//   h.set("Accept", "*/*");  // replaces both with one
//
// Names and values are stored as given; a serializer checks them (http/serialize.h).

#ifndef DEFT_HTTP_HEADERS_H_
#define DEFT_HTTP_HEADERS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deft::http {

// ASCII case-insensitive equality: header names, methods' tokens, Connection options.
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Whether `text` is a token (RFC 9110 §5.6.2): what a method or a field name must be.
bool isToken(std::string_view text);

// Whether the comma-separated list `value` (a Connection or Transfer-Encoding header) contains
// `token`, ignoring case and optional whitespace.
bool hasToken(std::string_view value, std::string_view token);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  // Appends a field, keeping any with the same name.
  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every field named `name` with one (appended at the end if there was none).
  void set(std::string_view name, std::string value);
  // Removes every field named `name`; how many there were.
  std::size_t remove(std::string_view name);

  // The first value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  std::vector<std::string_view> getAll(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  void reserve(std::size_t fields) { fields_.reserve(fields); }
  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

  friend bool operator==(const Headers&, const Headers&) = default;

 private:
  std::vector<Field> fields_;
};

}  // namespace deft::http

#endif  // DEFT_HTTP_HEADERS_H_
