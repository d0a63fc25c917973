#include "web_client/connection.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "http/errors.h"
#include "net/errors.h"
#include "tls/errors.h"
#include "tls/tls.h"
#include "tls/tls_protocol.h"
#include "web_client/errors.h"
#include "web_client/proxy.h"

namespace deft::web {

void ClientConnection::connectionMade() {
  transport()->setTcpNoDelay(true);
  madeAt_ = reactor_.seconds();
  if (tunnel_) {
    transport()->write(tunnel_->connectRequest);
    tunnelTimer_ = reactor_.callLater(tunnel_->timeout, scope().bind([this] {
      tunnelFailed(Failure(TimeoutError("the proxy did not answer CONNECT in time")));
    }));
    return;
  }
  if (onMade_) onMade_(this);
}

void ClientConnection::tunnelDataReceived(std::string_view data) {
  constexpr std::size_t kMaxHead = 16 << 10;
  tunnelResponse_.append(data);
  const std::size_t end = tunnelResponse_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (tunnelResponse_.size() > kMaxHead) {
      tunnelFailed(Failure(ProxyConnectError(0, "the proxy's response head is too large")));
    }
    return;
  }
  // "HTTP/1.1 200 Connection established"
  const std::string statusLine = tunnelResponse_.substr(0, tunnelResponse_.find("\r\n"));
  int status = 0;
  if (statusLine.size() < 12 || !statusLine.starts_with("HTTP/1.") ||
      !absl::SimpleAtoi(statusLine.substr(9, 3), &status)) {
    tunnelFailed(Failure(ProxyConnectError(0, "the proxy's response is not HTTP")));
    return;
  }
  if (status < 200 || status > 299) {
    tunnelFailed(Failure(ProxyConnectError(status, absl::StrCat("response ", status))));
    return;
  }
  if (tunnelResponse_.size() > end + 4) {
    // A TLS server does not speak first: these bytes cannot be the origin's.
    tunnelFailed(Failure(ProxyConnectError(status, "the proxy sent bytes after its response")));
    return;
  }
  try {
    tls::startTLS(*tunnel_->reactor, *this, tunnel_->context, tunnel_->host);
  } catch (...) {
    tunnelFailed(Failure::fromCurrentException());  // a name TLS cannot take, say
    return;
  }
  tunnel_.reset();
  tunnelResponse_.clear();
  if (tunnelTimer_ && tunnelTimer_->active()) tunnelTimer_->cancel();
  if (onMade_) onMade_(this);
}

void ClientConnection::tunnelFailed(Failure reason) {
  if (!tunnel_) return;
  tunnel_.reset();
  if (tunnelTimer_ && tunnelTimer_->active()) tunnelTimer_->cancel();
  // Never made: the pool hears of a failed connect, not of a lost connection.
  onLost_ = nullptr;
  if (onTunnelFailed_) onTunnelFailed_(reason);
  abort();
}

Deferred<Response> ClientConnection::request(std::string wire,
                                             std::shared_ptr<const http::RequestHead> head,
                                             const http::Url& url, http::ParserLimits limits,
                                             absl::Duration readTimeout,
                                             std::shared_ptr<RequestBody> body,
                                             bool expectContinue) {
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
  sentAt_ = reactor_.seconds();
  transport()->write(wire);
  if (!body) {
    startReadTimer(readTimeout_);
    return d;
  }
  pendingBody_ = std::move(body);
  if (expectContinue) {
    continueTimer_ = reactor_.callLater(absl::Seconds(1), scope().bind([this] { startBody(); }));
  } else {
    startBody();
  }
  return d;
}

void ClientConnection::startBody() {
  if (continueTimer_ && continueTimer_->active()) continueTimer_->cancel();
  continueTimer_.reset();
  if (!pendingBody_ || lost_) return;
  std::shared_ptr<RequestBody> body = std::move(pendingBody_);
  pendingBody_.reset();
  auto writer = std::make_shared<RequestBodyWriter>(reactor_, transport(), body->length);
  writer_ = writer;
  transport()->registerProducer(writer.get());
  Deferred<void> done = maybeDeferred([&] { return body->produce(writer); });
  // The producer (its function, which a coroutine's frame may point into) lives until it is done.
  std::move(done).addBoth(
      scope().bind([this, body, writer](Outcome<void> outcome) {
        bodyFinished(writer, std::move(outcome), body->length);
      }));
}

void ClientConnection::bodyFinished(const std::shared_ptr<RequestBodyWriter>& writer,
                                    Outcome<void> outcome, std::optional<std::uint64_t> length) {
  if (writer != writer_) return;  // the exchange ended first: nobody wants this body now
  // Stopped because the connection is closing: connectionLost, next, says why.
  if (writer->stoppedByTransport()) return;
  transport()->unregisterProducer();
  writer_.reset();
  if (!outcome.ok()) {
    failExchange(outcome.failure());
    abort();
    return;
  }
  if (writer->overran() || (length && writer->written() != *length)) {
    failExchange(Failure(http::InvalidMessageError(absl::StrCat(
        "the request body's producer wrote ", writer->written(), " bytes, not the ", *length,
        " its length promised"))));
    abort();
    return;
  }
  if (!length) transport()->write("0\r\n\r\n");
  if (busy_) startReadTimer(readTimeout_);
}

void ClientConnection::dropBody() {
  if (continueTimer_ && continueTimer_->active()) continueTimer_->cancel();
  continueTimer_.reset();
  pendingBody_.reset();
  if (writer_) {
    std::shared_ptr<RequestBodyWriter> writer = std::move(writer_);
    writer_.reset();
    if (!lost_) transport()->unregisterProducer();
    writer->close();
  }
}

void ClientConnection::onInformational(http::ResponseHead head) {
  if (head.status == 100) startBody();
}

void ClientConnection::startReadTimer(absl::Duration after) {
  stopReadTimer();
  if (readTimeout_ == absl::InfiniteDuration()) return;
  lastByte_ = reactor_.seconds();
  readTimer_ = reactor_.callLater(after, scope().bind([this] { readTimerFired(); }));
}

void ClientConnection::stopReadTimer() {
  if (readTimer_ && readTimer_->active()) readTimer_->cancel();
  readTimer_.reset();
}

void ClientConnection::readTimerFired() {
  readTimer_.reset();
  if (!busy_ || lost_) return;
  const absl::Duration quiet = reactor_.seconds() - lastByte_;
  if (quiet < readTimeout_) {
    readTimer_ = reactor_.callLater(readTimeout_ - quiet, scope().bind([this] { readTimerFired(); }));
    return;
  }
  failExchange(Failure(ReadTimeoutError(readTimeout_)));
  abort();
}

void ClientConnection::abort() {
  if (!lost_ && transport() != nullptr) transport()->abortConnection();
}

void ClientConnection::dataReceived(std::string_view data) {
  if (tunnel_) {
    tunnelDataReceived(data);
    return;
  }
  if (!busy_) {
    // Bytes nobody asked for: the connection is not in a state we can trust.
    abort();
    return;
  }
  sawBytes_ = true;
  if (readTimer_) lastByte_ = reactor_.seconds();
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
  // A final answer before the body was sent (or while it is being sent): the rest of the body is
  // not sent, and the connection, out of step with the server, is not reused.
  if (pendingBody_ || writer_) {
    keepAlive_ = false;
    dropBody();
  }
  body_ = std::make_shared<internal::ResponseBody>();
  body_->head = std::move(head);
  body_->url = url_;
  body_->request = requestHead_;
  body_->peer = transport()->getPeer();
  body_->local = transport()->getHost();
  body_->sentAt = sentAt_;
  if (!peerCertificates_) {
    const auto* layer = dynamic_cast<const tls::TlsProtocol*>(transport());
    peerCertificates_ = std::make_shared<const std::vector<std::string>>(
        layer != nullptr ? layer->peerCertificates() : std::vector<std::string>{});
  }
  body_->peerCertificates = peerCertificates_;
  if (served_ == 0) {
    body_->connectedAt = madeAt_;
    body_->resolvedAt = resolvedAt_;
    body_->tcpConnectedAt = tcpConnectedAt_;
  }
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
  dropBody();
  if (waitingForHead_) {
    Deferred<Response> d = std::move(*waitingForHead_);
    waitingForHead_.reset();
    d.errback(std::move(reason));
  } else if (body_) {
    std::shared_ptr<internal::ResponseBody> body = std::move(body_);
    body->fail(std::move(reason));
  }
}

void ClientConnection::failCutShort(std::string why, bool tlsTruncated) {
  std::string partial = body_->takeReceived();
  // Nobody reads yet: a deliverBody that comes later still streams what arrived.
  if (!body_->reader) body_->received = partial;
  failExchange(Failure(PartialDownloadError(why, std::move(partial), tlsTruncated)));
}

void ClientConnection::connectionLost(const Failure& reason) {
  lost_ = true;
  stopReadTimer();
  dropBody();
  if (tunnel_) {
    tunnelFailed(Failure(ProxyConnectError(
        0, absl::StrCat("the proxy closed the connection (", reason.getErrorMessage(), ")"))));
    return;
  }
  // A clean close says nothing more; anything else (a reset, a TLS alert) is the why.
  auto neverStarted = [&reason] {
    const bool clean = reason.check<ConnectionDone>();
    return Failure(ResponseNeverStarted(
        clean ? std::string("the server closed the connection before responding")
              : absl::StrCat("the server closed the connection before responding (",
                             reason.getErrorMessage(), ")"),
        clean));
  };
  if (busy_ && !sawBytes_ && reason.check<tls::TlsError>()) {
    // A handshake that failed after the connection was handed over (inside a proxy's tunnel):
    // the request fails with the TLS error itself, an untrusted certificate say.
    failExchange(reason);
  } else if (busy_ && body_ && reason.check<tls::TlsTruncatedError>()) {
    // Cut without close_notify: not the end, even of a body framed by the close (RFC 9112 §9.8).
    failCutShort(reason.getErrorMessage(), /*tlsTruncated=*/true);
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
