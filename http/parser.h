// File: http/parser.h
//
// Incremental HTTP/1.1 parsers: RequestParser for servers, ResponseParser for clients. Feed them
// bytes in pieces of any size, as they arrive; they call a listener as each part of a message is
// complete. Bodies are handed over as views into the input, never copied.
//
//   class Printer : public ResponseParser::Listener {
//     void onHead(ResponseHead head, const BodyFraming& framing) override { ... }
//     void onBody(std::string_view data) override { body.append(data); }
//     void onMessageComplete(Headers trailers) override { done = true; }
//   };
//   Printer printer;
//   ResponseParser parser(printer);
//   parser.expectResponseTo("GET");
//   if (!parser.feed(bytes)) report(*parser.error());
//   ...
//   parser.finish();   // the connection closed: completes a body framed by close, or errs
//
// STRICTNESS. What RFC 9112 calls invalid is a ParseError with its own kind (http/errors.h), never
// a guess: two different Content-Lengths, one that is not plain digits ("+6", "6x", "5, 20") or
// overflows, a bad chunk size or a chunk without its CRLF, a malformed start line, NUL or a bare
// CR in the head, obs-fold, whitespace before a field's colon, a message cut short. Lines may end
// in CRLF or a bare LF (RFC 9112 §2.2 allows recipients that); chunked framing needs CRLF. Both
// Transfer-Encoding: chunked and Content-Length: chunked wins and keepAlive is false.
//
// After an error the parser takes no more input. After a message completes it parses the next
// one (pipelining), unless the listener called stop().
//
// The listener must not destroy the parser from inside a callback; it may call stop().

#ifndef DEFT_HTTP_PARSER_H_
#define DEFT_HTTP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "http/errors.h"
#include "http/headers.h"
#include "http/message.h"

namespace deft::http {

// What a parser accepts before it gives up; exceeding each is its own ParseErrorKind.
struct ParserLimits {
  std::size_t maxHeaderBytes = 64 * 1024;  // start line and fields (and, separately, trailers)
  std::size_t maxHeaderCount = 100;
  std::uint64_t maxBodyBytes = std::numeric_limits<std::uint64_t>::max();
};

template <class Head>
class Parser {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A 1xx interim response (not 101), responses only; the final response follows.
    virtual void onInformational(ResponseHead head) { (void)head; }
    // The head is complete; `framing` says how the body is delimited.
    virtual void onHead(Head head, const BodyFraming& framing) = 0;
    // A piece of the body, valid only during the call (chunked framing removed).
    virtual void onBody(std::string_view data) = 0;
    // The message is complete; the trailer fields of a chunked body, if any.
    virtual void onMessageComplete(Headers trailers) = 0;
  };

  explicit Parser(Listener& listener, ParserLimits limits = {})
      : listener_(listener), limits_(limits) {}

  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses `data`, calling the listener for what completes. False if the input is invalid (see
  // error()), now or before. Stops early, returning true, when the listener calls stop().
  bool feed(std::string_view data);

  // The peer closed the connection: completes a body delimited by close; a message cut short is
  // a kTruncated error. False on error. (Between messages, the end is clean.)
  bool finish();

  // No more callbacks: input fed afterwards is ignored. For a server that will close after this
  // message, or a client that wants no more.
  void stop() { stopped_ = true; }

  // No more callbacks until resume(): what feed() gets meanwhile, and the rest of the data being
  // fed, is kept unparsed. Called from onMessageComplete, it stops at that message's end: how a
  // server takes pipelined requests a few at a time. The caller bounds what is kept by not
  // reading from the connection while paused.
  void pause() { paused_ = true; }
  // Parses what was kept, calling the listener (it may pause again), then goes on as usual.
  // False on invalid input, as feed().
  bool resume();
  bool paused() const { return paused_; }

  // Responses only: the next response answers a request with `method` (a HEAD response has no
  // body). "GET" when never called.
  void expectResponseTo(std::string_view method) { requestMethod_ = method; }

  const std::optional<ParseError>& error() const { return error_; }
  // Whether the parser is between messages (nothing of the next one seen yet).
  bool idle() const { return state_ == State::kHead && head_.empty() && !sawHeadBytes_; }
  // Whether part of a head has arrived and not the rest (what a header timeout watches).
  bool readingHead() const { return state_ == State::kHead && sawHeadBytes_; }
  // Bytes of body delivered for the current message so far.
  std::uint64_t bodyBytes() const { return bodyBytes_; }

 private:
  enum class State {
    kHead, kLength, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kUntilClose, kError
  };

  std::size_t consumeHead(std::string_view data);
  bool parseHead(std::string_view head);
  std::size_t consumeLength(std::string_view data);
  std::size_t consumeChunkSize(std::string_view data);
  std::size_t consumeChunkData(std::string_view data);
  std::size_t consumeChunkDataEnd(std::string_view data);
  std::size_t consumeTrailers(std::string_view data);
  std::size_t consumeUntilClose(std::string_view data);
  bool deliverBody(std::string_view data);
  void completeMessage(Headers trailers);
  void fail(ParseErrorKind kind, std::string detail);
  void failHeadTooLarge(bool inStartLine);

  Listener& listener_;
  ParserLimits limits_;
  State state_ = State::kHead;
  bool stopped_ = false;
  bool paused_ = false;
  std::string held_;  // fed while paused
  std::optional<ParseError> error_;

  std::string head_;            // the head (or chunk-size line, or trailers) so far
  std::size_t lineStart_ = 0;   // where the current line of head_ begins
  bool sawHeadBytes_ = false;   // something of a next message arrived (even blank lines)
  std::uint64_t remaining_ = 0; // of a Content-Length body or of the current chunk
  std::uint64_t bodyBytes_ = 0;
  std::string requestMethod_ = "GET";
};

using RequestParser = Parser<RequestHead>;
using ResponseParser = Parser<ResponseHead>;

extern template class Parser<RequestHead>;
extern template class Parser<ResponseHead>;

}  // namespace deft::http

#endif  // DEFT_HTTP_PARSER_H_
