// Character classes of RFC 9110 §5.6, as tables: the parser tests every byte of a head.

#ifndef DEFT_HTTP_INTERNAL_CHARS_H_
#define DEFT_HTTP_INTERNAL_CHARS_H_

#include <array>
#include <string_view>

namespace deft::http::internal {

inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> t{};
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  return t;
}();

// field-vchar / SP / HTAB / obs-text: everything but the control characters (NUL, CR, LF, ...).
inline constexpr std::array<bool, 256> kFieldValueChars = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  t['\t'] = true;
  return t;
}();

// The value of a hex digit, or -1 (chunk sizes, percent-encoding).
inline int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTokenChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

inline bool isFieldValue(std::string_view s) {
  for (char c : s) {
    if (!kFieldValueChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Without the optional whitespace (SP, HTAB) around a field value or list element.
inline std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace deft::http::internal

#endif  // DEFT_HTTP_INTERNAL_CHARS_H_
