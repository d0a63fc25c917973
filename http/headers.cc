#include "http/headers.h"

#include <algorithm>

#include "http/internal/chars.h"

namespace deft::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool isToken(std::string_view text) { return internal::isToken(text); }

bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (equalsIgnoreCase(internal::trimOws(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

void Headers::set(std::string_view name, std::string value) {
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const Field& f) { return equalsIgnoreCase(f.first, name); });
  if (first == fields_.end()) {
    fields_.emplace_back(std::string(name), std::move(value));
    return;
  }
  first->second = std::move(value);
  fields_.erase(std::remove_if(first + 1, fields_.end(),
                               [&](const Field& f) { return equalsIgnoreCase(f.first, name); }),
                fields_.end());
}

std::size_t Headers::remove(std::string_view name) {
  const std::size_t before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return equalsIgnoreCase(f.first, name); }),
                fields_.end());
  return before - fields_.size();
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (equalsIgnoreCase(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::getAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Field& f : fields_) {
    if (equalsIgnoreCase(f.first, name)) values.emplace_back(f.second);
  }
  return values;
}

}  // namespace deft::http
