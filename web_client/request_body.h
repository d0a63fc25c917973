// File: web_client/request_body.h
//
// A request body sent as it is produced (Twisted's IBodyProducer, in the style of http_server's
// streamed responses): a file read a piece at a time, a generator, a multipart form. Memory stays
// at a piece or two whatever the body's size: each write's Deferred fires only when the
// connection can take more.
//
//   RequestBody body = RequestBody::fromFile("big.iso").value();
//   agent->request("PUT", url, {}, std::move(body));
//
//   RequestBody generated;  // no length: sent chunked
//   generated.produce = [](std::shared_ptr<RequestBodyWriter> out) -> Deferred<void> {
//     for (int i = 0; i < 1000; ++i) co_await out->write(absl::StrCat("line ", i, "\n"));
//   };
//
// A body with a length sends Content-Length and must write exactly that many bytes (more or
// fewer fails the request); one without is sent with chunked Transfer-Encoding. A producer whose
// Deferred fails aborts the request with that failure. A streamed body is sent once: a request
// that carries one is never retried on another connection.

#ifndef DEFT_WEB_CLIENT_REQUEST_BODY_H_
#define DEFT_WEB_CLIENT_REQUEST_BODY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "deferred/deferred.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft::web {

// Where a producer writes. Handed to RequestBody::produce.
class RequestBodyWriter : public IPushProducer {
 public:
  // Sends `data` as the next piece of the body. Fires when the connection can take more: at once
  // while little is buffered, later when the server reads slowly. Errbacks with ConnectionLost
  // once the exchange is over (the server answered early, or the connection went): stop then.
  // A piece that would take the body past its length is not sent: InvalidMessageError, and the
  // request fails (what follows would be read as another request).
  Deferred<void> write(std::string_view data);
  bool closed() const { return transport_ == nullptr; }
  std::uint64_t written() const { return written_; }
  // Whether a write was refused for going past the length (the request fails even if the
  // producer carries on).
  bool overran() const { return overran_; }
  // The reactor of the connection the body goes on (for a producer that waits on descriptors).
  Reactor& reactor() const { return reactor_; }

  // The connection's side.
  // `length`: the body's declared length; nullopt: chunked.
  RequestBodyWriter(Reactor& reactor, ITransport* transport, std::optional<std::uint64_t> length)
      : reactor_(reactor), transport_(transport), length_(length) {}
  void close();  // the exchange is over: pending and later writes errback
  // IPushProducer: the transport's buffer is over its high-water mark, or has drained; or the
  // transport is closing (stopProducing).
  void pauseProducing() override { paused_ = true; }
  void resumeProducing() override;
  void stopProducing() override {
    stoppedByTransport_ = true;
    close();
  }
  bool stoppedByTransport() const { return stoppedByTransport_; }

 private:
  Reactor& reactor_;
  ITransport* transport_;
  std::optional<std::uint64_t> length_;
  bool overran_ = false;
  bool paused_ = false;
  bool stoppedByTransport_ = false;
  std::uint64_t written_ = 0;
  std::optional<Deferred<void>> waiting_;
};

struct RequestBody {
  // The body's size in bytes; nullopt: unknown, sent chunked.
  std::optional<std::uint64_t> length;
  // Writes the body; fires when it is all written. Kept alive by the connection until then, so
  // a coroutine lambda may use its captures throughout.
  std::function<Deferred<void>(std::shared_ptr<RequestBodyWriter>)> produce;

  // A file, read 64 KiB at a time as the connection takes them, from its start each time the
  // body is produced (a redirect or a retry sends it again). "-": standard input, chunked; a
  // pipe or terminal is read when the reactor says it is readable (a slow writer holds up
  // nothing), and only once. NotFound or PermissionDenied when it cannot be opened.
  static absl::StatusOr<RequestBody> fromFile(const std::string& path);
  // Bytes in hand, written as one piece.
  static RequestBody fromString(std::string data);
};

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_REQUEST_BODY_H_
