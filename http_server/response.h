// File: http_server/response.h
//
// What a handler returns: a status, headers, and a body — given whole, or streamed. Named
// ServerResponse so that it is never mistaken for web::Response, what a client receives.
//
//   return ServerResponse::text(200, "hello\n");
//   return ServerResponse::redirect(302, "/elsewhere");
//
//   ServerResponse r;                  // a streamed, chunked body with backpressure:
//   r.stream = [](std::shared_ptr<BodyWriter> out) -> Deferred<void> {
//     for (int i = 0; i < 1000; ++i) co_await out->write(line(i));   // waits while the client
//   };                                                                // is slow
//
// The server adds Date, Server and the framing headers (Content-Length or Transfer-Encoding,
// Connection); a handler's own values for those three framing headers are replaced, because a
// wrong one would corrupt the connection.

#ifndef DEFT_HTTP_SERVER_RESPONSE_H_
#define DEFT_HTTP_SERVER_RESPONSE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "deferred/deferred.h"
#include "http/headers.h"

namespace deft {
class ITransport;
}

namespace deft::http {

// Where a streamed response body goes.
class BodyWriter {
 public:
  // Sends `data` as the next piece of the body. The Deferred fires when the connection can take
  // more: at once while little is buffered, later when the client reads slowly. It errbacks with
  // ConnectionLost if the client has gone: stop producing then.
  Deferred<void> write(std::string_view data);
  // Whether the client is gone (writes would fail).
  bool closed() const { return transport_ == nullptr; }

  // The server's side.
  BodyWriter(ITransport* transport, bool chunked) : transport_(transport), chunked_(chunked) {}
  void pause() { paused_ = true; }  // the transport's buffer is over its high-water mark
  void drained();                   // ... and has drained
  void close(const Failure& reason);  // the connection went away

 private:
  ITransport* transport_;
  bool chunked_;
  bool paused_ = false;
  std::optional<Deferred<void>> waiting_;
};

struct ServerResponse {
  int status = 200;
  std::string reason;  // "" for the standard phrase
  Headers headers;
  std::string body;
  // If set, the body is produced by this function after the head is sent (chunked on HTTP/1.1),
  // and `body` is ignored. The response ends when its Deferred fires; a failure aborts the
  // connection (the status has already gone out). The server keeps the function alive until
  // then, so a coroutine lambda may use its captures throughout.
  std::function<Deferred<void>(std::shared_ptr<BodyWriter>)> stream;

  // A response with `body` and a Content-Type.
  static ServerResponse text(int status, std::string body,
                       std::string contentType = "text/plain; charset=utf-8");
  // A redirect to `location` with a short HTML body.
  static ServerResponse redirect(int status, std::string location);
};

}  // namespace deft::http

#endif  // DEFT_HTTP_SERVER_RESPONSE_H_
