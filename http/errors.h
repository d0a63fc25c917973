// File: http/errors.h
//
// What goes wrong with HTTP messages: a peer that sent something RFC 9112 calls invalid (a
// ParseError, one kind per rule, never a guess), and a message we were asked to send that would
// be unsafe to put on the wire (InvalidMessageError).

#ifndef DEFT_HTTP_ERRORS_H_
#define DEFT_HTTP_ERRORS_H_

#include <string>
#include <string_view>

#include "deferred/error.h"

namespace deft::http {

enum class ParseErrorKind {
  kBadStartLine,              // not "METHOD target HTTP/x.y" / "HTTP/x.y nnn reason"
  kUnsupportedVersion,        // HTTP/2.0 and friends on an HTTP/1.x connection (505)
  kBadHeader,                 // a field that is not `token ":" OWS value OWS`, NUL, bare CR,
                              // obs-fold; a request's Transfer-Encoding that names no coding
  kBadContentLength,          // not plain digits, or too large to represent
  kConflictingContentLength,  // two different Content-Length values
  kBadTransferEncoding,       // a transfer coding we cannot decode
  kBadChunk,                  // a bad chunk size, extension, or a chunk without its CRLF
  kTruncated,                 // the connection ended inside a message
  kHeaderSectionTooLarge,     // more bytes of head than ParserLimits allow (431)
  kTooManyHeaders,            // more fields than ParserLimits allow (431)
  kBodyTooLarge,              // more body than ParserLimits allow (413)
  kTargetTooLong,             // a request line longer than the head limit on its own (414)
};

// "bad Content-Length" and so on: a short name for logs and error messages.
std::string_view describe(ParseErrorKind kind);

// A message from the peer broke the protocol. `kind()` says which rule; the message says where.
class ParseError : public Error {
 public:
  ParseError(ParseErrorKind kind, const std::string& detail)
      : Error("HTTP parse error (" + std::string(describe(kind)) + "): " + detail,
              absl::StatusCode::kDataLoss),
        kind_(kind) {}

  ParseErrorKind kind() const { return kind_; }

 private:
  ParseErrorKind kind_;
};

// A message we were asked to send is unsafe: CR, LF or NUL in a name, value or target (header
// injection), or a name that is not a token.
class InvalidMessageError : public Error {
 public:
  explicit InvalidMessageError(const std::string& message)
      : Error("invalid HTTP message: " + message, absl::StatusCode::kInvalidArgument) {}
};

}  // namespace deft::http

#endif  // DEFT_HTTP_ERRORS_H_
