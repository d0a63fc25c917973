#include "http/parser.h"

#include <cstring>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "http/internal/chars.h"
#include "strings/str_cat.h"

namespace deft::http {
namespace {

using internal::trimOws;

constexpr std::size_t kMaxChunkLine = 4096;  // a size and its extensions

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 60;
  std::string shown = absl::CHexEscape(std::string(s.substr(0, kShown)));
  return absl::StrCat("\"", shown, s.size() > kShown ? "...\"" : "\"");
}

// "HTTP/1.1" -> {1, 1}. nullopt if malformed.
std::optional<Version> parseVersion(std::string_view s) {
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
      s[7] < '0' || s[7] > '9') {
    return std::nullopt;
  }
  return Version{s[5] - '0', s[7] - '0'};
}

// Plain decimal digits that fit in 63 bits.
std::optional<std::uint64_t> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

struct LineError {
  ParseErrorKind kind;
  std::string detail;
};

// Splits a head (ending in its blank line) into lines without their CRLF/LF. A CR anywhere
// else is a bare CR: an error, because some recipients would treat it as a line end.
std::optional<LineError> splitLines(std::string_view head, std::vector<std::string_view>& lines) {
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      return LineError{ParseErrorKind::kBadHeader, "bare CR in " + quoted(line)};
    }
    lines.push_back(line);
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the blank line
  return std::nullopt;
}

bool startsWithWhitespace(std::string_view line) {
  return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

// `name: value` lines into `headers`. A line that starts with whitespace continues the field
// before it (obs-fold): with `unfold` (responses, RFC 9112 §5.2: a user agent MUST) each fold
// becomes one space; otherwise (requests) it is an error.
std::optional<LineError> parseFields(std::span<const std::string_view> lines,
                                     const ParserLimits& limits, bool unfold, Headers& headers) {
  headers.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (startsWithWhitespace(line)) {
      return LineError{ParseErrorKind::kBadHeader,
                       (unfold ? "a folded line with no field before it: "
                               : "obsolete line folding (a line starting with whitespace): ") +
                           quoted(line)};
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return LineError{ParseErrorKind::kBadHeader, "no colon in field line " + quoted(line)};
    }
    const std::string_view name = line.substr(0, colon);
    if (!internal::isToken(name)) {
      return LineError{ParseErrorKind::kBadHeader,
                       "field name " + quoted(name) +
                           " is not a token (whitespace before the colon is not allowed)"};
    }
    std::string value(trimOws(line.substr(colon + 1)));
    while (unfold && i + 1 < lines.size() && startsWithWhitespace(lines[i + 1])) {
      const std::string_view more = trimOws(lines[++i]);
      if (!more.empty()) {
        if (!value.empty()) value.push_back(' ');
        value.append(more);
      }
    }
    if (!internal::isFieldValue(value)) {
      return LineError{ParseErrorKind::kBadHeader,
                       StrCat("control character (NUL, CR, ...) in field ", name)};
    }
    if (headers.size() == limits.maxHeaderCount) {
      return LineError{ParseErrorKind::kTooManyHeaders,
                       absl::StrCat("more than ", limits.maxHeaderCount, " header fields")};
    }
    headers.add(std::string(name), std::move(value));
  }
  return std::nullopt;
}

// Whether `bytes` holds a byte no start line may: a control character other than HTAB, or CR
// (the line's end may follow).
bool hasControlByte(std::string_view bytes) {
  for (const char c : bytes) {
    if (!internal::kFieldValueChars[static_cast<unsigned char>(c)] && c != '\r') return true;
  }
  return false;
}

constexpr std::string_view kNotHttp = "control bytes in the start line: not HTTP/1.x";

std::optional<LineError> parseStartLine(std::string_view line, RequestHead& head) {
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return LineError{ParseErrorKind::kBadStartLine,
                     "request line is not \"METHOD target HTTP/x.y\": " + quoted(line)};
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!internal::isToken(method)) {
    return LineError{ParseErrorKind::kBadStartLine, "method is not a token: " + quoted(line)};
  }
  if (target.empty()) return LineError{ParseErrorKind::kBadStartLine, "empty request target"};
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return LineError{ParseErrorKind::kBadStartLine,
                       "control character in request target " + quoted(target)};
    }
  }
  const std::optional<Version> v = parseVersion(version);
  if (!v) return LineError{ParseErrorKind::kBadStartLine, "bad version in " + quoted(line)};
  if (v->major != 1) {
    return LineError{ParseErrorKind::kUnsupportedVersion,
                     absl::StrCat("HTTP/", v->major, ".", v->minor, " is not HTTP/1.x")};
  }
  head.method = std::string(method);
  head.target = std::string(target);
  head.version = *v;
  return std::nullopt;
}

std::optional<LineError> parseStartLine(std::string_view line, ResponseHead& head) {
  const std::optional<Version> v = parseVersion(line.substr(0, 8));
  const bool shaped = v && line.size() >= 12 && line[8] == ' ' &&
                      (line.size() == 12 || line[12] == ' ');
  int status = 0;
  for (std::size_t i = 9; shaped && i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return LineError{ParseErrorKind::kBadStartLine,
                                                         "status is not three digits: " +
                                                             quoted(line)};
    status = status * 10 + (line[i] - '0');
  }
  if (!shaped) {
    return LineError{ParseErrorKind::kBadStartLine,
                     "status line is not \"HTTP/x.y nnn reason\": " + quoted(line)};
  }
  if (v->major != 1) {
    return LineError{ParseErrorKind::kUnsupportedVersion,
                     absl::StrCat("HTTP/", v->major, ".", v->minor, " is not HTTP/1.x")};
  }
  const std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (!internal::isFieldValue(reason)) {
    return LineError{ParseErrorKind::kBadStartLine, "control character in the reason phrase"};
  }
  head.status = status;
  head.reason = std::string(reason);
  head.version = *v;
  return std::nullopt;
}

bool connectionKeepsAlive(const Headers& headers, Version version) {
  bool close = false;
  bool keepAlive = false;
  for (const auto& [name, value] : headers) {
    if (!equalsIgnoreCase(name, "Connection")) continue;
    close = close || hasToken(value, "close");
    keepAlive = keepAlive || hasToken(value, "keep-alive");
  }
  if (close) return false;
  return version.minor >= 1 || keepAlive;
}

// RFC 9112 §6.3: how the body of a message with these fields is delimited.
std::optional<LineError> decideFraming(const Headers& headers, Version version, bool isRequest,
                                       bool noBody, BodyFraming& framing) {
  framing.keepAlive = connectionKeepsAlive(headers, version);

  std::optional<std::uint64_t> length;
  std::vector<std::string_view> codings;
  bool sawTransferEncoding = false;
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreCase(name, "Content-Length")) {
      const std::optional<std::uint64_t> n = parseDecimal(value);
      if (!n) {
        return LineError{ParseErrorKind::kBadContentLength,
                         "Content-Length " + quoted(value) + " is not plain digits (or too large)"};
      }
      if (length && *length != *n) {
        return LineError{ParseErrorKind::kConflictingContentLength,
                         absl::StrCat("Content-Length ", *length, " and ", *n)};
      }
      length = n;
    } else if (equalsIgnoreCase(name, "Transfer-Encoding")) {
      sawTransferEncoding = true;
      std::string_view list = value;
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view coding = trimOws(list.substr(0, comma));
        if (!coding.empty()) codings.push_back(coding);
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
      }
    }
  }

  if (noBody) {
    framing.kind = BodyFraming::Kind::kNone;
    return std::nullopt;
  }
  if (sawTransferEncoding && codings.empty()) {
    // A Transfer-Encoding field naming no coding ("", ","). Any Transfer-Encoding means the
    // message is not framed by Content-Length (RFC 9112 §6.1), and a front end that reads this
    // one as chunked would disagree with us about where the request ends: refuse it.
    if (isRequest) {
      return LineError{ParseErrorKind::kBadHeader, "Transfer-Encoding field names no coding"};
    }
    framing.kind = BodyFraming::Kind::kUntilClose;  // chunked is not last: read to close
    framing.keepAlive = false;
    return std::nullopt;
  }
  if (!codings.empty()) {
    const bool chunkedLast = equalsIgnoreCase(codings.back(), "chunked");
    if (chunkedLast && codings.size() == 1) {
      framing.kind = BodyFraming::Kind::kChunked;
      if (length) framing.keepAlive = false;  // both framings: a smuggling attempt, or a mistake
      return std::nullopt;
    }
    if (isRequest || chunkedLast) {
      return LineError{ParseErrorKind::kBadTransferEncoding,
                       absl::StrCat("Transfer-Encoding \"",
                                    std::string(headers.get("Transfer-Encoding").value_or("")),
                                    "\": only \"chunked\" alone is supported")};
    }
    framing.kind = BodyFraming::Kind::kUntilClose;  // a response not chunked last: read to close
    framing.keepAlive = false;
    return std::nullopt;
  }
  if (length) {
    framing.kind = *length == 0 ? BodyFraming::Kind::kNone : BodyFraming::Kind::kLength;
    framing.length = *length;
    return std::nullopt;
  }
  if (isRequest) {
    framing.kind = BodyFraming::Kind::kNone;
  } else {
    framing.kind = BodyFraming::Kind::kUntilClose;
    framing.keepAlive = false;
  }
  return std::nullopt;
}

}  // namespace

// Over the head limit. For a request whose first line alone is, that is the target (414 rather
// than 431: RFC 9112 §3).
template <class Head>
void Parser<Head>::failHeadTooLarge(bool inStartLine) {
  if (std::is_same_v<Head, RequestHead> && inStartLine) {
    fail(ParseErrorKind::kTargetTooLong,
         absl::StrCat("request line longer than ", limits_.maxHeaderBytes, " bytes"));
  } else {
    fail(ParseErrorKind::kHeaderSectionTooLarge,
         absl::StrCat("head larger than ", limits_.maxHeaderBytes, " bytes"));
  }
}

template <class Head>
void Parser<Head>::fail(ParseErrorKind kind, std::string detail) {
  state_ = State::kError;
  error_.emplace(kind, detail);
}

template <class Head>
bool Parser<Head>::feed(std::string_view data) {
  if (state_ == State::kError) return false;
  while (!data.empty() && !stopped_) {
    if (paused_) {
      held_.append(data);  // parsed on resume()
      return true;
    }
    std::size_t used = 0;
    switch (state_) {
      case State::kHead: used = consumeHead(data); break;
      case State::kLength: used = consumeLength(data); break;
      case State::kChunkSize: used = consumeChunkSize(data); break;
      case State::kChunkData: used = consumeChunkData(data); break;
      case State::kChunkDataEnd: used = consumeChunkDataEnd(data); break;
      case State::kTrailers: used = consumeTrailers(data); break;
      case State::kUntilClose: used = consumeUntilClose(data); break;
      case State::kError: break;
    }
    if (state_ == State::kError) return false;
    data.remove_prefix(used);
  }
  return true;
}

template <class Head>
bool Parser<Head>::resume() {
  if (!paused_) return state_ != State::kError;
  paused_ = false;
  const std::string held = std::exchange(held_, std::string());
  return feed(held);  // may pause again, holding the rest anew
}

template <class Head>
bool Parser<Head>::finish() {
  if (stopped_) return state_ != State::kError;
  switch (state_) {
    case State::kError:
      return false;
    case State::kHead:
      if (!head_.empty()) fail(ParseErrorKind::kTruncated, "connection closed inside the head");
      break;
    case State::kUntilClose:
      completeMessage({});
      break;
    case State::kLength:
      fail(ParseErrorKind::kTruncated,
           absl::StrCat("connection closed after ", bodyBytes_, " of ", bodyBytes_ + remaining_,
                        " body bytes"));
      break;
    default:
      fail(ParseErrorKind::kTruncated,
           absl::StrCat("connection closed inside a chunked body, after ", bodyBytes_, " bytes"));
      break;
  }
  return state_ != State::kError;
}

// The head is scanned where it lies: in `data` when it arrived in one piece (no copy), in head_
// when it came in pieces. A "line" is measured across both: head_ then data.

template <class Head>
std::size_t Parser<Head>::consumeHead(std::string_view data) {
  sawHeadBytes_ = true;
  std::size_t lineBegin = lineStart_;  // in head_ + data coordinates
  std::size_t pos = 0;
  while (true) {
    const void* found = std::memchr(data.data() + pos, '\n', data.size() - pos);
    // A start line never holds control bytes: this is not HTTP (a TLS ClientHello sent to a plain
    // port, say). Said as soon as they arrive, rather than after a line end that may never come.
    const std::size_t scanned = found == nullptr ? data.size() - pos
                                                : static_cast<const char*>(found) - (data.data() + pos);
    if (lineBegin == 0 && hasControlByte(data.substr(pos, scanned))) {
      fail(ParseErrorKind::kBadStartLine, std::string(kNotHttp));
      return 0;
    }
    if (found == nullptr) {
      if (head_.size() + data.size() > limits_.maxHeaderBytes) {
        failHeadTooLarge(lineBegin == 0);
        return 0;
      }
      head_.append(data);
      lineStart_ = lineBegin;
      return data.size();
    }
    const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(found) - data.data());
    const std::size_t end = head_.size() + nl + 1;  // head_ + data up to and with this '\n'
    if (end > limits_.maxHeaderBytes) {
      failHeadTooLarge(lineBegin == 0);
      return 0;
    }
    const std::size_t lineLength = end - 1 - lineBegin;
    const char last = nl > 0 ? data[nl - 1] : (head_.empty() ? '\0' : head_.back());
    const bool blank = lineLength == 0 || (lineLength == 1 && last == '\r');
    if (blank && lineBegin == 0) {
      // An empty line before a message: RFC 9112 §2.2 says to ignore it (a client's stray CRLF
      // after a POST body).
      head_.clear();
      lineStart_ = 0;
      return nl + 1;
    }
    if (blank) {
      bool ok;
      if (head_.empty()) {
        ok = parseHead(data.substr(0, nl + 1));
      } else {
        head_.append(data.substr(0, nl + 1));
        ok = parseHead(head_);
      }
      return ok ? nl + 1 : 0;
    }
    lineBegin = end;
    pos = nl + 1;
  }
}

template <class Head>
bool Parser<Head>::parseHead(std::string_view text) {
  // Reused across heads (parseHead never nests): no allocation per message once warm.
  static thread_local std::vector<std::string_view> lines;
  lines.clear();
  std::optional<LineError> problem = splitLines(text, lines);
  Head head;
  if (!lines.empty()) head.headers.reserve(lines.size() - 1);
  if (!problem) problem = parseStartLine(lines.front(), head);
  if (!problem) {
    problem = parseFields(std::span<const std::string_view>(lines).subspan(1), limits_,
                          std::is_same_v<Head, ResponseHead>, head.headers);
  }
  BodyFraming framing;
  if (!problem) {
    bool noBody = false;
    if constexpr (std::is_same_v<Head, ResponseHead>) {
      noBody = responseHasNoBody(requestMethod_, head.status);
    }
    problem = decideFraming(head.headers, head.version, std::is_same_v<Head, RequestHead>,
                            noBody, framing);
  }
  if (problem) {
    fail(problem->kind, std::move(problem->detail));
    return false;
  }
  head_.clear();
  lineStart_ = 0;

  if constexpr (std::is_same_v<Head, ResponseHead>) {
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      sawHeadBytes_ = false;
      listener_.onInformational(std::move(head));
      return true;  // the final response follows
    }
    if (head.status == 101) framing.keepAlive = false;  // the connection is no longer HTTP
  }
  if (framing.kind == BodyFraming::Kind::kLength && framing.length > limits_.maxBodyBytes) {
    fail(ParseErrorKind::kBodyTooLarge,
         absl::StrCat("Content-Length ", framing.length, " is over the limit of ",
                      limits_.maxBodyBytes));
    return false;
  }

  bodyBytes_ = 0;
  remaining_ = framing.length;
  switch (framing.kind) {
    case BodyFraming::Kind::kNone: state_ = State::kHead; break;
    case BodyFraming::Kind::kLength: state_ = State::kLength; break;
    case BodyFraming::Kind::kChunked: state_ = State::kChunkSize; break;
    case BodyFraming::Kind::kUntilClose: state_ = State::kUntilClose; break;
  }
  const bool complete = framing.kind == BodyFraming::Kind::kNone;
  bool switching = false;  // 101: what follows is another protocol, not ours to parse
  if constexpr (std::is_same_v<Head, ResponseHead>) switching = head.status == 101;
  listener_.onHead(std::move(head), framing);
  if (complete && state_ != State::kError && !stopped_) {
    completeMessage({});
    if (switching) stopped_ = true;
  }
  return true;
}

template <class Head>
bool Parser<Head>::deliverBody(std::string_view data) {
  bodyBytes_ += data.size();
  if (bodyBytes_ > limits_.maxBodyBytes) {
    fail(ParseErrorKind::kBodyTooLarge,
         absl::StrCat("body is over the limit of ", limits_.maxBodyBytes, " bytes"));
    return false;
  }
  listener_.onBody(data);
  return true;
}

template <class Head>
std::size_t Parser<Head>::consumeLength(std::string_view data) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
  remaining_ -= n;
  const bool done = remaining_ == 0;
  if (!deliverBody(data.substr(0, n))) return 0;
  if (done && !stopped_) completeMessage({});
  return n;
}

template <class Head>
std::size_t Parser<Head>::consumeChunkSize(std::string_view data) {
  const std::size_t nl = data.find('\n');
  const std::size_t take = nl == std::string_view::npos ? data.size() : nl + 1;
  if (head_.size() + take > kMaxChunkLine) {
    fail(ParseErrorKind::kBadChunk, "chunk-size line too long");
    return 0;
  }
  head_.append(data.substr(0, take));
  if (nl == std::string_view::npos) return take;

  std::string_view line = head_;
  line.remove_suffix(1);
  if (line.empty() || line.back() != '\r') {
    fail(ParseErrorKind::kBadChunk, "chunk-size line without its CRLF: " + quoted(head_));
    return 0;
  }
  line.remove_suffix(1);
  std::uint64_t size = 0;
  std::size_t digits = 0;
  while (digits < line.size() && internal::hexValue(line[digits]) >= 0) {
    if (digits == 15) {
      fail(ParseErrorKind::kBadChunk, "chunk size too large: " + quoted(line));
      return 0;
    }
    size = size * 16 + static_cast<std::uint64_t>(internal::hexValue(line[digits]));
    ++digits;
  }
  std::string_view rest = trimOws(line.substr(digits));
  if (digits == 0 || (!rest.empty() && (rest.front() != ';' || !internal::isFieldValue(rest)))) {
    fail(ParseErrorKind::kBadChunk, "bad chunk size line " + quoted(line));
    return 0;
  }
  head_.clear();
  if (size == 0) {
    state_ = State::kTrailers;
    lineStart_ = 0;
    return take;
  }
  if (bodyBytes_ + size > limits_.maxBodyBytes) {
    fail(ParseErrorKind::kBodyTooLarge,
         absl::StrCat("chunked body is over the limit of ", limits_.maxBodyBytes, " bytes"));
    return 0;
  }
  remaining_ = size;
  state_ = State::kChunkData;
  return take;
}

template <class Head>
std::size_t Parser<Head>::consumeChunkData(std::string_view data) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
  remaining_ -= n;
  if (remaining_ == 0) {
    state_ = State::kChunkDataEnd;
    remaining_ = 2;  // the CRLF still to see
  }
  if (!deliverBody(data.substr(0, n))) return 0;
  return n;
}

template <class Head>
std::size_t Parser<Head>::consumeChunkDataEnd(std::string_view data) {
  const char expected = remaining_ == 2 ? '\r' : '\n';
  if (data.front() != expected) {
    fail(ParseErrorKind::kBadChunk,
         absl::StrCat("chunk data not followed by CRLF (after ", bodyBytes_, " body bytes)"));
    return 0;
  }
  if (--remaining_ == 0) state_ = State::kChunkSize;
  return 1;
}

template <class Head>
std::size_t Parser<Head>::consumeTrailers(std::string_view data) {
  // Line by line into head_, until a blank line; then parse them as fields.
  std::size_t used = 0;
  while (used < data.size()) {
    const std::size_t nl = data.find('\n', used);
    const std::size_t take = (nl == std::string_view::npos ? data.size() : nl + 1) - used;
    if (head_.size() + take > limits_.maxHeaderBytes) {
      fail(ParseErrorKind::kHeaderSectionTooLarge,
           absl::StrCat("trailers larger than ", limits_.maxHeaderBytes, " bytes"));
      return 0;
    }
    head_.append(data.substr(used, take));
    used += take;
    if (nl == std::string_view::npos) return used;
    const std::string_view line = std::string_view(head_).substr(lineStart_);
    if (line == "\r\n" || line == "\n") {
      std::vector<std::string_view> lines;
      std::optional<LineError> problem = splitLines(head_, lines);
      Headers trailers;
      if (!problem) {
        problem = parseFields(lines, limits_, std::is_same_v<Head, ResponseHead>, trailers);
      }
      if (problem) {
        fail(problem->kind, "in trailers: " + problem->detail);
        return 0;
      }
      completeMessage(std::move(trailers));
      return used;
    }
    lineStart_ = head_.size();
  }
  return used;
}

template <class Head>
std::size_t Parser<Head>::consumeUntilClose(std::string_view data) {
  return deliverBody(data) ? data.size() : 0;
}

template <class Head>
void Parser<Head>::completeMessage(Headers trailers) {
  state_ = State::kHead;
  head_.clear();
  lineStart_ = 0;
  sawHeadBytes_ = false;
  listener_.onMessageComplete(std::move(trailers));
}

template class Parser<RequestHead>;
template class Parser<ResponseHead>;

}  // namespace deft::http
