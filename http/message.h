// File: http/message.h
//
// The heads of HTTP/1.1 messages as both sides see them, how a message's body is delimited, and
// serialisation of heads onto the wire.
//
//   RequestHead head{"GET", "/index.html"};
//   head.headers.add("Host", "example.com");
//   std::string wire = serialize(head);    // throws InvalidMessageError on CR/LF/NUL anywhere
//
// Bodies are not part of the heads: a parser streams them (http/parser.h), and whoever writes a
// message writes its body after the head, with the framing the head announces.

#ifndef DEFT_HTTP_MESSAGE_H_
#define DEFT_HTTP_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "http/headers.h"

namespace deft::http {

struct Version {
  int major = 1;
  int minor = 1;
  friend bool operator==(const Version&, const Version&) = default;
};

struct RequestHead {
  std::string method;
  std::string target;  // as sent: "/path?query", "*", or an absolute URL
  Headers headers;
  Version version;
};

struct ResponseHead {
  int status = 200;
  std::string reason;  // may be empty
  Headers headers;
  Version version;
};

// How the body after a head is delimited (RFC 9112 §6.3), decided by the parser.
struct BodyFraming {
  enum class Kind {
    kNone,        // no body: HEAD responses, 1xx/204/304, requests without a length
    kLength,      // Content-Length bytes
    kChunked,     // Transfer-Encoding: chunked
    kUntilClose,  // responses only: the body ends when the connection does
  };
  Kind kind = Kind::kNone;
  std::uint64_t length = 0;  // for kLength
  // Whether the connection may carry another message after this one: HTTP/1.1 without
  // "Connection: close", HTTP/1.0 with "Connection: keep-alive", and never after a message
  // framed by connection close or carrying both Transfer-Encoding and Content-Length (a
  // request-smuggling shape: the chunked framing is used, the connection is not reused).
  bool keepAlive = true;
};

// The standard reason phrase for `status` ("Not Found"), or "" when there is none.
std::string_view reasonPhrase(int status);

// Whether a response with this status, to a request with this method, has no body.
bool responseHasNoBody(std::string_view requestMethod, int status);

// Checks a head before it is sent: a method and field names that are tokens, a target and field
// values with no CR, LF or NUL (and, for the target, no space), a status of three digits.
// Throws InvalidMessageError saying what is wrong.
void validate(const RequestHead& head);
void validate(const ResponseHead& head);

// The head on the wire, ending with the blank line; validate()s first.
std::string serialize(const RequestHead& head);
std::string serialize(const ResponseHead& head);
// Appends to `out` instead, for callers that build one buffer per message.
void serializeTo(const ResponseHead& head, std::string& out);

// The line that starts a chunk of `size` bytes ("1a\r\n"), and the last chunk ("0\r\n\r\n").
std::string chunkHeader(std::size_t size);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace deft::http

#endif  // DEFT_HTTP_MESSAGE_H_
