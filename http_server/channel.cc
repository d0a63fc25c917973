#include "http_server/channel.h"

#include <array>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "http/errors.h"
#include "http/url.h"
#include "http_server/site.h"
#include "net/errors.h"
#include "strings/str_cat.h"

namespace deft::http {
namespace {

// The status a malformed request gets (RFC 9110 §15.5).
int statusFor(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::kBodyTooLarge: return 413;
    case ParseErrorKind::kHeaderSectionTooLarge:
    case ParseErrorKind::kTooManyHeaders: return 431;
    case ParseErrorKind::kUnsupportedVersion: return 505;
    case ParseErrorKind::kTargetTooLong: return 414;
    case ParseErrorKind::kBadTransferEncoding: return 501;
    default: return 400;
  }
}

// The path and query of a request target in origin form ("/a?b") or absolute form
// ("http://h/a?b", which proxies' clients send).
void splitTarget(const std::string& target, std::string& path, std::string& query) {
  std::string_view rest = target;
  if (!rest.starts_with("/")) {
    if (absl::StatusOr<Url> url = Url::parse(target); url.ok()) {
      path = url->path;
      query = url->query;
      return;
    }
  }
  const std::size_t question = rest.find('?');
  path = std::string(rest.substr(0, question));
  if (question != std::string_view::npos) query = std::string(rest.substr(question + 1));
}

// RFC 9112 §3.2: origin form ("/a?b") or absolute form ("http://h/a") for every method but
// CONNECT, which takes the authority form ("host:443"); the asterisk form for OPTIONS only.
bool targetFormAllowed(std::string_view method, std::string_view target) {
  if (method == "CONNECT") {
    return target.front() != '[' ? target.find(':') != std::string_view::npos &&
                                        isValidHostField(target)
                                  : isValidHostField(target);
  }
  if (target == "*") return method == "OPTIONS";
  if (target.starts_with("/")) return true;
  return Url::parse(target).ok();
}

constexpr std::size_t kInlineBody = 16 * 1024;  // smaller bodies are copied next to the head

}  // namespace

// What the server answers itself when the Router has no handler for a request.
ServerResponse HttpChannel::routerAnswer(const Pending& p) {
  const Request& r = p.request;
  ServerResponse response;
  switch (p.routerStatus) {
    case 204:  // OPTIONS
      response.status = 204;
      break;
    case 405:
      response = ServerResponse::text(405, StrCat(r.method, " is not allowed on ", r.path, "\n"));
      break;
    case 501:
      response = ServerResponse::text(501, StrCat(r.method, " is not implemented\n"));
      break;
    default:
      response = ServerResponse::text(404, StrCat("No route for ", r.path, "\n"));
      break;
  }
  if (!p.allow.empty()) response.headers.add("Allow", p.allow);
  return response;
}

HttpChannel::HttpChannel(Site& site) : site_(site), parser_(*this, site.options().limits) {
  ++site_.openConnections_;
}

HttpChannel::~HttpChannel() {
  cancelTimer(headerTimer_);
  cancelTimer(idleTimer_);
  cancelTimer(lingerTimer_);
  cancelTimer(abortTimer_);
  --site_.openConnections_;
}

void HttpChannel::connectionMade() {
  transport()->setTcpNoDelay(true);  // responses go out whole; do not wait for Nagle
  // For the whole connection, so the transport says when the client stops reading: no further
  // request is answered (and none read) until what was written drains.
  transport()->registerProducer(static_cast<IPushProducer*>(this));
  startIdleTimer();
}

void HttpChannel::cancelTimer(std::shared_ptr<IDelayedCall>& timer) {
  if (timer && timer->active()) timer->cancel();
  timer.reset();
}

void HttpChannel::startIdleTimer() {
  lastActivity_ = site_.reactor_.seconds();
  // A running timer is not moved (that would cost a timer-heap update per request): when it
  // fires, it looks at lastActivity_ and waits out the rest.
  if (idleTimer_ && idleTimer_->active()) return;
  armIdleTimer(site_.options().idleTimeout);
}

void HttpChannel::armIdleTimer(absl::Duration after) {
  idleTimer_ = site_.reactor_.callLater(after, scope().bind([this] {
    if (lost_) return;
    idleTimer_.reset();
    const absl::Duration quiet = site_.reactor_.seconds() - lastActivity_;
    if (quiet < site_.options().idleTimeout) {
      armIdleTimer(site_.options().idleTimeout - quiet);
      return;
    }
    if (writePaused_ || transport()->unsentBytes() > 0) {
      // Our answers wait for the client to read them. One that took nothing of them for a whole
      // idle timeout is gone or hostile: a close would wait for it forever, so cut it. A slow
      // reader of a large answer is making progress: it keeps its connection.
      const std::size_t buffered = transport()->unsentBytes();
      const bool progress = buffered < bufferedAtIdleCheck_ ||
                            site_.reactor_.seconds() - lastDrained_ < site_.options().idleTimeout;
      bufferedAtIdleCheck_ = buffered;
      if (progress) {
        startIdleTimer();
      } else {
        transport()->abortConnection();
      }
      return;
    }
    if (!pending_.empty() && pending_.front().dispatched) {
      // We are the slow side (a handler still runs): the client is not idle.
      startIdleTimer();
      return;
    }
    closeNow();
  }));
}

void HttpChannel::dataReceived(std::string_view data) {
  if (lingering_) return;  // discarded: we are only waiting for the client to close
  lastActivity_ = site_.reactor_.seconds();  // the idle timer checks it when it fires
  answeredThisTurn_ = 0;
  if (!parser_.feed(data)) {
    const ParseError& error = *parser_.error();
    rejectRequest(statusFor(error.kind()), error.what());
    return;
  }
  startHeaderTimer();
}

// While part of a head has arrived and we are reading: a client trickling its head (slowloris)
// gets 408, in its turn, then the close. Not while we hold reading ourselves (the client waits on
// us then), nor once we close.
void HttpChannel::startHeaderTimer() {
  if (headerTimer_ || !parser_.readingHead() || readPaused_ || closing_ || lost_) return;
  headerTimer_ = site_.reactor_.callLater(site_.options().headerTimeout, scope().bind([this] {
    headerTimer_.reset();
    if (lost_ || closing_) return;
    rejectRequest(408, "the request head did not arrive in time");
  }));
}

void HttpChannel::readConnectionLost() {
  readClosed_ = true;
  if (lingering_) {
    closeNow();  // nothing is left unread: the close is clean now
    return;
  }
  if (parser_.paused()) return;  // finishInput() runs once the requests held back are parsed
  finishInput();
}

void HttpChannel::finishInput() {
  // The client sent all it will. Answer what it asked, then close.
  if (!parser_.finish() && parser_.error()) {
    rejectRequest(statusFor(parser_.error()->kind()), parser_.error()->what());
    return;
  }
  parser_.stop();
  closing_ = true;
  if (pending_.empty()) closeNow();
}

void HttpChannel::connectionLost(const Failure& reason) {
  lost_ = true;
  cancelTimer(headerTimer_);
  cancelTimer(idleTimer_);
  cancelTimer(lingerTimer_);
  cancelTimer(abortTimer_);
  if (writer_) writer_->close(reason);
  for (Pending& p : pending_) {
    if (p.request.bodyStream) p.request.bodyStream->fail(reason);
  }
  if (running_) {
    // The client is gone: stop the handler (a timer, a fetch) if it can be stopped.
    std::optional<Deferred<void>> running = std::move(running_);
    running_.reset();
    running->cancel();
  }
}

void HttpChannel::onHead(RequestHead head, const BodyFraming& framing) {
  cancelTimer(headerTimer_);
  Pending p;
  p.framing = framing;
  p.request.peer = transport()->getPeer();
  splitTarget(head.target, p.request.path, p.request.query);
  const std::vector<std::string_view> hosts = head.headers.getAll("Host");
  if (hosts.empty() && head.version.minor >= 1) {
    p.errorStatus = 400;
    p.errorText = "HTTP/1.1 request without a Host header";
  } else if (hosts.size() > 1) {
    p.errorStatus = 400;
    p.errorText = "more than one Host field";
  } else if (!hosts.empty() && !isValidHostField(hosts.front())) {
    p.errorStatus = 400;
    p.errorText = StrCat("invalid Host \"", absl::CHexEscape(std::string(hosts.front())), "\"");
  } else if (!targetFormAllowed(head.method, head.target)) {
    p.errorStatus = 400;
    p.errorText = StrCat("request target \"", absl::CHexEscape(head.target),
                         "\" is in no form ", head.method, " allows");
  }
  if (std::optional<std::string_view> expect = head.headers.get("Expect")) {
    if (equalsIgnoreCase(*expect, "100-continue") && head.version.minor >= 1) {
      p.expectContinue = framing.kind != BodyFraming::Kind::kNone;
    } else if (p.errorStatus == 0) {
      p.errorStatus = 417;
      p.errorText = StrCat("unsupported Expect: ", *expect);
    }
  }
  Router::Match match = site_.router().find(head.method, p.request.path);
  p.route = match.route;
  p.routerStatus = match.status;
  p.allow = std::move(match.allow);
  p.request.pathParams = std::move(match.pathParams);
  p.request.method = std::move(head.method);
  p.request.target = std::move(head.target);
  p.request.version = head.version;
  p.request.headers = std::move(head.headers);
  if (p.errorStatus != 0) {
    // Answer it after the ones before it, then close: its body (if any) is never read.
    p.complete = true;
    parser_.stop();
    closing_ = true;
    lingerOnClose_ = true;
  } else if (p.route != nullptr && p.route->options.streamBody) {
    p.request.bodyStream = std::make_shared<RequestBody>();
    p.request.bodyStream->onDrained(scope().bind([this] {
      if (!lost_) updateReading();
    }));
  }
  pending_.push_back(std::move(p));
  sendContinueIfNeeded();
  dispatchNext();
}

void HttpChannel::onBody(std::string_view data) {
  Pending& p = pending_.back();
  if (!p.request.bodyStream) {
    p.request.body.append(data);
    return;
  }
  // The handler may run, answer, and so retire `p` inside push(): hold the stream itself.
  const std::shared_ptr<RequestBody> stream = p.request.bodyStream;
  stream->push(data);
  if (!lost_) updateReading();
}

void HttpChannel::onMessageComplete(Headers trailers) {
  Pending& p = pending_.back();
  for (auto& [name, value] : trailers) p.request.headers.add(std::move(name), std::move(value));
  p.complete = true;
  if (!p.framing.keepAlive) {
    parser_.stop();
    closing_ = true;
  }
  // Pipelined requests are taken a few at a time: past maxPipelined waiting, or answered in this
  // turn of the loop, the rest wait (unparsed, and unread) for the next turn, so one client's
  // burst cannot hold the loop from the others.
  if (pending_.size() > site_.options().maxPipelined ||
      answeredThisTurn_ >= site_.options().maxPipelined) {
    parser_.pause();
  }
  updateReading();
  // Last, because it may run the handler to its end and retire `p`.
  if (const std::shared_ptr<RequestBody> stream = p.request.bodyStream) stream->end();
  dispatchNext();
}

void HttpChannel::rejectRequest(int status, std::string text) {
  // A request that cannot be parsed: answered in its turn with `status`, then the connection
  // closes. If its head was already taken, the error replaces that request's answer.
  cancelTimer(headerTimer_);
  parser_.stop();
  closing_ = true;
  lingerOnClose_ = true;
  if (!pending_.empty() && !pending_.back().complete && !pending_.back().dispatched) {
    pending_.back().errorStatus = status;
    pending_.back().errorText = std::move(text);
    pending_.back().complete = true;
  } else if (!pending_.empty() && !pending_.back().complete) {
    // Its handler already runs with a streamed body: the body fails with the parse error (a
    // handler that lets it through answers with its status, below); we close after.
    if (pending_.back().request.bodyStream && parser_.error()) {
      pending_.back().request.bodyStream->fail(Failure(*parser_.error()));
    }
    return;
  } else {
    Pending p;
    p.errorStatus = status;
    p.errorText = std::move(text);
    p.complete = true;
    pending_.push_back(std::move(p));
  }
  dispatchNext();
}

void HttpChannel::sendContinueIfNeeded() {
  if (pending_.empty() || lost_) return;
  Pending& front = pending_.front();
  if (front.expectContinue && front.errorStatus == 0 && !front.complete) {
    front.expectContinue = false;
    transport()->write("HTTP/1.1 100 Continue\r\n\r\n");
  }
}

void HttpChannel::dispatchNext() {
  // Not while the client is not reading: each answer would only pile up in the transport.
  if (running_ || lost_ || writePaused_ || pending_.empty()) return;
  Pending& front = pending_.front();
  if (front.dispatched) return;
  if (front.errorStatus != 0) {
    front.dispatched = true;
    writeError(front.errorStatus, front.errorText);
    return;
  }
  if (!front.complete && !front.request.bodyStream) return;  // its body is still arriving
  dispatch(front);
}

void HttpChannel::dispatch(Pending& pending) {
  // The idle timer keeps running (re-arming it per request would cost a timer each): it
  // spares a connection whose handler is still at work.
  pending.dispatched = true;
  // The handler owns the request. Keep what answering and reporting need, and the body stream
  // that onBody() still feeds.
  Request request = std::move(pending.request);
  pending.request = Request();
  pending.request.method = request.method;
  pending.request.target = request.target;
  pending.request.path = request.path;
  pending.request.version = request.version;
  pending.request.bodyStream = request.bodyStream;
  Deferred<ServerResponse> handled = pending.route != nullptr
                                         ? pending.route->handler(std::move(request))
                                         : succeed(routerAnswer(pending));

  const std::uint64_t finishedBefore = finishedResponses_;
  Deferred<void> done = scope().track(std::move(handled)).addCallbacks(
      [this](ServerResponse response) -> Deferred<void> {
        if (lost_) return succeed();
        return respond(std::move(response));
      },
      [this](Failure failure) -> Deferred<void> {
        if (lost_) return succeed();
        if (const ParseError* bad = failure.value<ParseError>()) {
          // The request's own streamed body was invalid or too large: the client's fault.
          return respond(ServerResponse::text(statusFor(bad->kind()), std::string(bad->what()) + "\n"));
        }
        site_.reportError(pending_.front().request, failure);
        return respond(ServerResponse::text(500, "Internal Server Error\n"));
      });
  done.addCallbacks(
      [this] {
        if (!lost_) finishResponse();
      },
      [this](Failure failure) {
        // A streamed body failed after its head went out: all we can do is cut the connection.
        if (lost_) return;
        site_.reportError(pending_.front().request, failure);
        running_.reset();
        transport()->abortConnection();
      });
  // Unless it all happened now (finishResponse ran, and maybe the next request too), this is
  // what runs until the response is out.
  if (!lost_ && finishedResponses_ == finishedBefore) running_ = std::move(done);
}

Deferred<void> HttpChannel::respond(ServerResponse response) {
  Pending& p = pending_.front();
  ++site_.requestsAnswered_;
  const bool headRequest = p.request.method == "HEAD";
  const bool statusHasNoBody =
      (response.status >= 100 && response.status < 200) || response.status == 204 ||
      response.status == 304;
  const bool streamed = static_cast<bool>(response.stream) && !headRequest && !statusHasNoBody;
  const bool chunked = streamed && p.request.version.minor >= 1;
  // Close after this one: the last request before a close, a body framed by the close, or a
  // request whose body we will not have read.
  const bool closeAfter =
      (closing_ && pending_.size() == 1) || (streamed && !chunked) || !p.complete;

  ResponseHead head{response.status, std::move(response.reason), std::move(response.headers),
                    {1, 1}};
  head.headers.remove("Content-Length");
  head.headers.remove("Transfer-Encoding");
  head.headers.remove("Connection");
  head.headers.reserve(head.headers.size() + 5);  // Date, Server, framing, Connection: one allocation
  if (!head.headers.has("Date")) head.headers.add("Date", site_.dateHeader());
  if (!head.headers.has("Server")) head.headers.add("Server", site_.options().serverName);
  if (chunked) {
    head.headers.add("Transfer-Encoding", "chunked");
  } else if (!streamed && !statusHasNoBody) {
    head.headers.add("Content-Length", absl::StrCat(response.body.size()));
  }
  if (closeAfter) {
    // The last answer on this connection: what the client pipelined behind it goes unanswered
    // (a body framed by the close would swallow it).
    head.headers.add("Connection", "close");
    closing_ = true;
    lastResponse_ = true;
    parser_.stop();
  } else if (p.request.version.minor == 0) {
    head.headers.add("Connection", "keep-alive");
  }

  std::string out;
  out.reserve(256 + (response.body.size() <= kInlineBody ? response.body.size() : 0));
  try {
    serializeTo(head, out);
  } catch (const InvalidMessageError&) {
    // The handler put CR/LF in a header: refuse to send it, and say so.
    site_.reportError(p.request, Failure::fromCurrentException());
    if (response.status == 500 && response.body == "Internal Server Error\n") return succeed();
    return respond(ServerResponse::text(500, "Internal Server Error\n"));
  }
  const bool sendBody = !headRequest && !statusHasNoBody && !streamed;
  if (sendBody && response.body.size() <= kInlineBody) {
    out.append(response.body);
    transport()->write(out);
  } else if (sendBody) {
    // The body's own storage is queued, not a copy of it, when the client does not take it all now.
    std::array<std::string, 2> pieces{std::move(out), std::move(response.body)};
    transport()->writeOwned(pieces);
  } else {
    transport()->write(out);
  }
  if (!streamed) return succeed();

  writer_ = std::make_shared<BodyWriter>(transport(), chunked);
  if (writePaused_) writer_->pause();
  // Kept here, not in the local `response`: a coroutine lambda's captures live in the function
  // object, which must outlive the coroutine.
  stream_ = std::move(response.stream);
  return scope().track(maybeDeferred(stream_, writer_)).addCallback([this, chunked] {
    if (lost_) return;
    writer_.reset();
    if (chunked) transport()->write(kLastChunk);
  });
}

void HttpChannel::writeError(int status, const std::string& text) {
  closing_ = true;
  respond(ServerResponse::text(status, text + "\n"));  // a body given whole: out at once
  if (!lost_) finishResponse();
}

void HttpChannel::finishResponse() {
  running_.reset();
  ++finishedResponses_;
  ++answeredThisTurn_;
  if (!pending_.front().complete) {
    // A streaming handler answered before its body ended. The rest of the body would have to be
    // read and thrown away to find the next request; closing is simpler and safe.
    parser_.stop();
    closing_ = true;
    lingerOnClose_ = true;
  }
  pending_.pop_front();
  if (lastResponse_) {
    for (Pending& p : pending_) {
      if (p.request.bodyStream) p.request.bodyStream->fail(Failure(ConnectionDone()));
    }
    pending_.clear();
  }
  if (closing_ && pending_.empty()) {
    closeConnection();
    return;
  }
  updateReading();
  resumeParsingSoon();
  startIdleTimer();  // silence from here on is the client's
  sendContinueIfNeeded();
  dispatchNext();
}

// Closes after the responses written so far have gone out. When the client may still be sending
// (we stopped reading after an error), the close is graceful (RFC 9112 §9.6): shut our write
// side, so the response and then a FIN go out, and discard what arrives until the client closes
// or lingerTimeout passes. Closing with unread input would make the kernel send a reset, which
// can destroy the response before the client has read it.
void HttpChannel::closeConnection() {
  if (!lingerOnClose_ || readClosed_) {
    closeNow();
    return;
  }
  if (lingering_) return;
  lingering_ = true;
  cancelTimer(headerTimer_);
  cancelTimer(idleTimer_);
  if (readPaused_) {
    readPaused_ = false;
    transport()->resumeProducing();  // read, to discard: unread input is what causes the reset
  }
  transport()->unregisterProducer();  // the write side shuts once the buffer drains
  transport()->loseWriteConnection();
  lingerTimer_ = site_.reactor_.callLater(site_.options().lingerTimeout, scope().bind([this] {
    lingerTimer_.reset();
    if (!lost_) closeNow();
  }));
}

// Takes the requests the parser holds back on the next turn of the loop: others are served
// meanwhile, and the stack does not grow with the length of a pipeline.
void HttpChannel::resumeParsingSoon() {
  if (!parser_.paused() || resumeScheduled_ || lost_ || lingering_ || writePaused_ ||
      pending_.size() > site_.options().maxPipelined) {
    return;
  }
  resumeScheduled_ = true;
  site_.reactor_.callLater(absl::ZeroDuration(), scope().bind([this] {
    resumeScheduled_ = false;
    answeredThisTurn_ = 0;
    if (lost_ || lingering_) return;
    if (!parser_.resume()) {
      rejectRequest(statusFor(parser_.error()->kind()), parser_.error()->what());
      return;
    }
    updateReading();
    startHeaderTimer();  // the held data may end inside a head
    if (readClosed_ && !parser_.paused()) finishInput();
  }));
}

void HttpChannel::closeNow() {
  transport()->unregisterProducer();  // a transport waits for its producer before it closes
  transport()->loseConnection();
  // The close waits for what is buffered to go out; a client that never reads it would hold
  // the connection forever (Twisted's abortTimeout). Nothing buffered: it closes from the loop.
  if (!abortTimer_ && transport()->bufferedBytes() > 0) {
    abortTimer_ = site_.reactor_.callLater(site_.options().idleTimeout, scope().bind([this] {
      abortTimer_.reset();
      if (!lost_) transport()->abortConnection();
    }));
  }
}

// Reads stop while the client is not reading our responses, while more complete requests wait
// than maxPipelined, or while a streamed request body is full; they resume when none holds.
void HttpChannel::updateReading() {
  if (lost_ || lingering_) return;
  bool streamFull = false;
  for (const Pending& p : pending_) {
    streamFull = streamFull || (p.request.bodyStream &&
                                p.request.bodyStream->buffered() > RequestBody::kHighWater);
  }
  const bool pause = writePaused_ || streamFull || parser_.paused() ||
                     pending_.size() > site_.options().maxPipelined;
  if (pause && !readPaused_) {
    readPaused_ = true;
    transport()->pauseProducing();
    cancelTimer(headerTimer_);  // the client waits on us, not we on it
  } else if (!pause && readPaused_) {
    readPaused_ = false;
    transport()->resumeProducing();
    startHeaderTimer();
  }
}

// The transport's buffer passed its high-water mark: the client reads slower than we answer.
void HttpChannel::pauseProducing() {
  writePaused_ = true;
  lastDrained_ = site_.reactor_.seconds();
  if (writer_) writer_->pause();
  updateReading();
}

// ... and has drained: answer the next request, read again.
void HttpChannel::resumeProducing() {
  writePaused_ = false;
  lastDrained_ = site_.reactor_.seconds();
  if (writer_) writer_->drained();
  updateReading();
  dispatchNext();
  resumeParsingSoon();
}

void HttpChannel::stopProducing() {}

}  // namespace deft::http
