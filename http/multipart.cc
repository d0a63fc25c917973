#include "http/multipart.h"

#include "absl/strings/str_cat.h"

namespace deft::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A parameter of a header field's value: boundary=... in a Content-Type, name="..." in a
// Content-Disposition. Quoted or not; nullopt when absent.
std::optional<std::string> parameter(std::string_view value, std::string_view name) {
  for (std::size_t at = value.find(';'); at != std::string_view::npos;) {
    std::string_view rest = trim(value.substr(at + 1));
    const std::size_t equals = rest.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view key = trim(rest.substr(0, equals));
    rest = trim(rest.substr(equals + 1));
    std::string parsed;
    std::size_t used = 0;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        parsed += rest[i];
      }
      used = i + 1;
    } else {
      used = rest.find(';');
      parsed = std::string(trim(rest.substr(0, used)));
    }
    if (equalsIgnoreCase(key, name)) return parsed;
    const std::size_t next = used >= rest.size() ? std::string_view::npos : rest.find(';', used);
    if (next == std::string_view::npos) return std::nullopt;
    value = rest.substr(next);
    at = 0;
  }
  return std::nullopt;
}

absl::Status bad(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("multipart body: ", std::string(why)));
}

}  // namespace

absl::StatusOr<std::vector<FormPart>> parseMultipart(std::string_view body,
                                                     std::string_view contentType,
                                                     std::size_t maxParts) {
  const std::string_view type = trim(contentType.substr(0, contentType.find(';')));
  if (!equalsIgnoreCase(type, "multipart/form-data")) return bad("not multipart/form-data");
  const std::optional<std::string> boundary = parameter(contentType, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) return bad("no valid boundary");
  const std::string delimiter = "--" + *boundary;
  std::size_t at = body.find(delimiter);
  if (at == std::string_view::npos) return bad("no delimiter");
  std::vector<FormPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;  // the close delimiter
    if (body.substr(at, 2) != "\r\n") return bad("a delimiter not followed by CRLF");
    at += 2;
    const std::size_t headEnd = body.find("\r\n\r\n", at);
    if (headEnd == std::string_view::npos) return bad("a part's head is cut short");
    FormPart part;
    for (std::size_t line = at; line < headEnd;) {
      const std::size_t end = std::min(body.find("\r\n", line), headEnd);
      const std::string_view field = body.substr(line, end - line);
      const std::size_t colon = field.find(':');
      if (colon == std::string_view::npos) return bad("a header field without ':'");
      part.headers.add(std::string(trim(field.substr(0, colon))), std::string(trim(field.substr(colon + 1))));
      line = end + 2;
    }
    const std::optional<std::string_view> disposition = part.headers.get("Content-Disposition");
    if (!disposition) return bad("a part without Content-Disposition");
    part.name = parameter(*disposition, "name").value_or("");
    part.filename = parameter(*disposition, "filename");
    part.contentType = std::string(part.headers.get("Content-Type").value_or(""));
    const std::size_t dataStart = headEnd + 4;
    const std::size_t next = body.find("\r\n" + delimiter, dataStart);
    if (next == std::string_view::npos) return bad("a part is cut short");
    part.data = std::string(body.substr(dataStart, next - dataStart));
    if (parts.size() == maxParts) return bad(absl::StrCat("more than ", maxParts, " parts"));
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

}  // namespace deft::http
