#include "web_client/response.h"

#include <algorithm>
#include <stdexcept>

namespace deft::web {

int Response::code() const { return body_->head.status; }
const std::string& Response::phrase() const { return body_->head.reason; }
const http::Version& Response::version() const { return body_->head.version; }
const http::Headers& Response::headers() const { return body_->head.headers; }
const http::Url& Response::url() const { return body_->url; }
int Response::redirects() const { return body_->redirects; }
const std::optional<Address>& Response::peer() const { return body_->peer; }
const std::optional<Address>& Response::local() const { return body_->local; }
absl::Time Response::sentAt() const { return body_->sentAt; }
std::optional<absl::Time> Response::connectedAt() const { return body_->connectedAt; }
std::optional<absl::Time> Response::resolvedAt() const { return body_->resolvedAt; }
std::optional<absl::Time> Response::tcpConnectedAt() const { return body_->tcpConnectedAt; }
const std::vector<std::string>& Response::peerCertificates() const {
  static const auto* const kNone = new std::vector<std::string>();  // never destroyed
  return body_->peerCertificates ? *body_->peerCertificates : *kNone;
}
const http::RequestHead& Response::request() const {
  static const http::RequestHead kNone;
  return body_->request ? *body_->request : kNone;
}

Deferred<std::string> Response::readBody() {
  internal::ResponseBody& b = *body_;
  if (b.reader || b.consumer) throw std::logic_error("Response body is already being read");
  std::weak_ptr<internal::ResponseBody> weak = body_;
  b.reader.emplace([weak](Deferred<std::string>&) {
    auto body = weak.lock();
    if (!body) return;
    // Cancelled: it gets CancelledError now; the close that follows must not fire it again.
    body->reader.reset();
    if (body->abort) body->abort();
  });
  Deferred<std::string> d = *b.reader;
  if (b.complete || b.failure) b.settle();  // it has already ended: deliver the end now
  return d;
}

void Response::deliverBody(BodyConsumer consumer) {
  internal::ResponseBody& b = *body_;
  if (b.reader || b.consumer) throw std::logic_error("Response body is already being read");
  b.consumer = std::move(consumer);
  if (!b.received.empty() || !b.receivedParts.empty()) {
    b.consumer->dataReceived(b.takeReceived());
  }
  if (b.complete || b.failure) b.settle();  // it has already ended: deliver the end now
}

void Response::pauseProducing() {
  if (body_->pause) body_->pause(true);
}
void Response::resumeProducing() {
  if (body_->pause) body_->pause(false);
}

namespace internal {

void ResponseBody::copyExchangeFrom(const ResponseBody& other) {
  head = other.head;
  url = other.url;
  redirects = other.redirects;
  request = other.request;
  peer = other.peer;
  local = other.local;
  sentAt = other.sentAt;
  connectedAt = other.connectedAt;
  resolvedAt = other.resolvedAt;
  tcpConnectedAt = other.tcpConnectedAt;
  peerCertificates = other.peerCertificates;
}

void ResponseBody::append(std::string_view data) {
  if (consumer) {
    consumer->dataReceived(data);
    return;
  }
  if (received.capacity() - received.size() < data.size() && !received.empty()) {
    // Full: set it aside rather than let append() reallocate and copy it. Each buffer is twice
    // the last, so a body of n bytes takes O(log n) parts.
    const std::size_t next = std::max(2 * received.capacity(), data.size());
    receivedParts.push_back(std::move(received));
    received = std::string();
    received.reserve(next);
  }
  received.append(data);
}

std::string ResponseBody::takeReceived() {
  std::string whole;
  if (receivedParts.empty()) {
    whole = std::move(received);
  } else {
    std::size_t total = received.size();
    for (const std::string& part : receivedParts) total += part.size();
    whole.reserve(total);
    for (const std::string& part : receivedParts) whole.append(part);
    whole.append(received);
    receivedParts.clear();
  }
  received = std::string();
  return whole;
}

void ResponseBody::finish() {
  complete = !failure;
  settle();
}

void ResponseBody::fail(Failure reason) {
  if (!failure && !complete) failure = std::move(reason);
  settle();
}

void ResponseBody::settle() {
  abort = nullptr;
  pause = nullptr;
  if (reader) {
    Deferred<std::string> d = std::move(*reader);
    reader.reset();
    if (failure) {
      d.errback(*failure);
    } else {
      d.callback(takeReceived());
    }
  } else if (consumer) {
    BodyConsumer c = std::move(*consumer);
    consumer.reset();
    c.connectionLost(failure);
  }
}

}  // namespace internal
}  // namespace deft::web
