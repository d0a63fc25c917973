#include "web_client/connection.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "http/errors.h"
#include "net/errors.h"
#include "tls/errors.h"
#include "web_client/errors.h"

namespace deft::web {

void ClientConnection::connectionMade() {
  transport()->setTcpNoDelay(true);
  if (onMade_) onMade_(this);
}

Deferred<Response> ClientConnection::request(std::string wire,
                                             std::shared_ptr<const http::RequestHead> head,
                                             const http::Url& url, http::ParserLimits limits,
                                             absl::Duration readTimeout) {
  busy_ = true;
  sawBytes_ = false;
  url_ = url;
  parser_.emplace(*this, limits);
  parser_->expectResponseTo(head->method);
  requestHead_ = std::move(head);
  waitingForHead_.emplace(scope().bind([this](Deferred<Response>&) {
    // Cancelled: it gets CancelledError now; the close that follows must not fire it again.
    waitingForHead_.reset();
    busy_ = false;
    abort();
  }));
  Deferred<Response> d = *waitingForHead_;
  readTimeout_ = readTimeout;
  startReadTimer(readTimeout_);
  transport()->write(wire);
  return d;
}

void ClientConnection::startReadTimer(absl::Duration after) {
  stopReadTimer();
  if (readTimeout_ == absl::InfiniteDuration()) return;
  lastByte_ = clock_.seconds();
  readTimer_ = clock_.callLater(after, scope().bind([this] { readTimerFired(); }));
}

void ClientConnection::stopReadTimer() {
  if (readTimer_ && readTimer_->active()) readTimer_->cancel();
  readTimer_.reset();
}

void ClientConnection::readTimerFired() {
  readTimer_.reset();
  if (!busy_ || lost_) return;
  const absl::Duration quiet = clock_.seconds() - lastByte_;
  if (quiet < readTimeout_) {
    readTimer_ = clock_.callLater(readTimeout_ - quiet, scope().bind([this] { readTimerFired(); }));
    return;
  }
  failExchange(Failure(ReadTimeoutError(readTimeout_)));
  abort();
}

void ClientConnection::abort() {
  if (!lost_ && transport() != nullptr) transport()->abortConnection();
}

void ClientConnection::dataReceived(std::string_view data) {
  if (!busy_) {
    // Bytes nobody asked for: the connection is not in a state we can trust.
    abort();
    return;
  }
  sawBytes_ = true;
  if (readTimer_) lastByte_ = clock_.seconds();
  if (!parser_->feed(data)) {
    failExchange(Failure(*parser_->error()));
    abort();
    return;
  }
  // Offered for the next request only now that feed() has returned: a new request replaces the
  // parser, which must not happen under its own call.
  if (justCompleted_) {
    justCompleted_ = false;
    if (keepAlive_ && !lost_ && onIdle_) onIdle_(this);
  }
}

void ClientConnection::onHead(http::ResponseHead head, const http::BodyFraming& framing) {
  keepAlive_ = framing.keepAlive;
  body_ = std::make_shared<internal::ResponseBody>();
  body_->head = std::move(head);
  body_->url = url_;
  body_->request = requestHead_;
  body_->peer = transport()->getPeer();
  if (framing.kind == http::BodyFraming::Kind::kLength) {
    // One allocation for the whole body when it is read whole; capped, because the length is the
    // peer's word.
    constexpr std::uint64_t kMaxReserve = 8 << 20;
    body_->received.reserve(static_cast<std::size_t>(std::min(framing.length, kMaxReserve)));
  }
  body_->abort = scope().bind([this] { abort(); });
  body_->pause = scope().bind([this](bool paused) {
    if (lost_) return;
    if (paused) {
      transport()->pauseProducing();
      stopReadTimer();  // a reader that pauses is not a server that stalls
    } else {
      transport()->resumeProducing();
      if (busy_) startReadTimer(readTimeout_);
    }
  });
  if (waitingForHead_) {
    Deferred<Response> d = std::move(*waitingForHead_);
    waitingForHead_.reset();
    d.callback(Response(body_));
  }
}

void ClientConnection::onBody(std::string_view data) {
  if (body_) body_->append(data);
}

void ClientConnection::onMessageComplete(http::Headers) {
  std::shared_ptr<internal::ResponseBody> body = std::move(body_);
  busy_ = false;
  stopReadTimer();
  ++served_;
  justCompleted_ = true;
  parser_->stop();
  if (!keepAlive_ && !lost_) transport()->loseConnection();
  // A response complete by its framing is delivered now, never after waiting for the close.
  body->finish();
}

void ClientConnection::failExchange(Failure reason) {
  busy_ = false;
  stopReadTimer();
  if (waitingForHead_) {
    Deferred<Response> d = std::move(*waitingForHead_);
    waitingForHead_.reset();
    d.errback(std::move(reason));
  } else if (body_) {
    std::shared_ptr<internal::ResponseBody> body = std::move(body_);
    body->fail(std::move(reason));
  }
}

void ClientConnection::failCutShort(std::string why) {
  std::string partial = body_->takeReceived();
  // Nobody reads yet: a deliverBody that comes later still streams what arrived.
  if (!body_->reader) body_->received = partial;
  failExchange(Failure(PartialDownloadError(why, std::move(partial))));
}

void ClientConnection::connectionLost(const Failure& reason) {
  lost_ = true;
  stopReadTimer();
  // A clean close says nothing more; anything else (a reset, a TLS alert) is the why.
  auto neverStarted = [&reason] {
    return Failure(ResponseNeverStarted(
        reason.check<ConnectionDone>()
            ? std::string("the server closed the connection before responding")
            : absl::StrCat("the server closed the connection before responding (",
                           reason.getErrorMessage(), ")")));
  };
  if (busy_ && body_ && reason.check<tls::TlsTruncatedError>()) {
    // Cut without close_notify: not the end, even of a body framed by the close (RFC 9112 §9.8).
    failCutShort(reason.getErrorMessage());
  } else if (busy_) {
    if (parser_->finish()) {
      if (busy_) failExchange(neverStarted());
    } else {
      const http::ParseError& error = *parser_->error();
      if (error.kind() == http::ParseErrorKind::kTruncated && body_) {
        failCutShort(error.what());
      } else if (!sawBytes_) {
        failExchange(neverStarted());
      } else {
        failExchange(Failure(error));
      }
    }
  }
  if (onLost_) onLost_(this);
}

}  // namespace deft::web
