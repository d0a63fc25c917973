#include "http/message.h"

#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "http/errors.h"
#include "http/internal/chars.h"

namespace deft::http {
namespace {

using internal::isFieldValue;

void validateFields(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (!isToken(name)) {
      throw InvalidMessageError(absl::StrCat("header name \"", absl::CEscape(name),
                                             "\" is not a token"));
    }
    if (!isFieldValue(value)) {
      throw InvalidMessageError(absl::StrCat("header ", name,
                                             " has a control character (CR, LF or NUL) in \"",
                                             absl::CEscape(value), "\""));
    }
  }
}

void appendFields(const Headers& headers, std::string& out) {
  for (const auto& [name, value] : headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n");
}

void appendVersion(Version v, std::string& out) {
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + v.major));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + v.minor));
}

}  // namespace

std::string_view describe(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::kBadStartLine: return "bad start line";
    case ParseErrorKind::kUnsupportedVersion: return "unsupported HTTP version";
    case ParseErrorKind::kBadHeader: return "bad header field";
    case ParseErrorKind::kBadContentLength: return "bad Content-Length";
    case ParseErrorKind::kConflictingContentLength: return "conflicting Content-Length";
    case ParseErrorKind::kBadTransferEncoding: return "unsupported Transfer-Encoding";
    case ParseErrorKind::kBadChunk: return "bad chunk";
    case ParseErrorKind::kTruncated: return "message truncated";
    case ParseErrorKind::kHeaderSectionTooLarge: return "header section too large";
    case ParseErrorKind::kTooManyHeaders: return "too many header fields";
    case ParseErrorKind::kBodyTooLarge: return "body too large";
    case ParseErrorKind::kTargetTooLong: return "request target too long";
  }
  return "unknown";
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

bool responseHasNoBody(std::string_view requestMethod, int status) {
  return requestMethod == "HEAD" || (status >= 100 && status < 200) || status == 204 ||
         status == 304;
}

void validate(const RequestHead& head) {
  if (!isToken(head.method)) {
    throw InvalidMessageError(absl::StrCat("method \"", absl::CEscape(head.method),
                                           "\" is not a token"));
  }
  if (head.target.empty()) throw InvalidMessageError("empty request target");
  for (char c : head.target) {
    if (c == ' ' || !internal::kFieldValueChars[static_cast<unsigned char>(c)]) {
      throw InvalidMessageError(absl::StrCat("request target \"", absl::CEscape(head.target),
                                             "\" has a space or a control character"));
    }
  }
  validateFields(head.headers);
}

void validate(const ResponseHead& head) {
  if (head.status < 100 || head.status > 999) {
    throw InvalidMessageError(absl::StrCat("status ", head.status, " is not three digits"));
  }
  if (!isFieldValue(head.reason)) {
    throw InvalidMessageError(absl::StrCat("reason \"", absl::CEscape(head.reason),
                                           "\" has a control character"));
  }
  validateFields(head.headers);
}

std::string serialize(const RequestHead& head) {
  validate(head);
  std::string out;
  out.reserve(64 + head.target.size());
  out.append(head.method).append(" ").append(head.target).append(" ");
  appendVersion(head.version, out);
  out.append("\r\n");
  appendFields(head.headers, out);
  return out;
}

void serializeTo(const ResponseHead& head, std::string& out) {
  validate(head);
  appendVersion(head.version, out);
  const char status[5] = {' ', static_cast<char>('0' + head.status / 100),
                          static_cast<char>('0' + head.status / 10 % 10),
                          static_cast<char>('0' + head.status % 10), ' '};
  out.append(status, sizeof status);
  out.append(head.reason.empty() ? reasonPhrase(head.status) : head.reason).append("\r\n");
  appendFields(head.headers, out);
}

std::string serialize(const ResponseHead& head) {
  std::string out;
  serializeTo(head, out);
  return out;
}

std::string chunkHeader(std::size_t size) {
  char line[24];
  const int n = std::snprintf(line, sizeof line, "%zx\r\n", size);
  return std::string(line, static_cast<std::size_t>(n));
}

}  // namespace deft::http
