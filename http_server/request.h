// File: http_server/request.h
//
// What a handler receives: one HTTP request, by value (so a coroutine handler owns it across its
// co_awaits). The body is read whole before the handler runs, unless the route streams it, in
// which case `bodyStream` delivers it as it arrives.

#ifndef DEFT_HTTP_SERVER_REQUEST_H_
#define DEFT_HTTP_SERVER_REQUEST_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "deferred/deferred.h"
#include "deferred/failure.h"
#include "http/headers.h"
#include "http/message.h"
#include "net/address.h"

namespace deft::http {

// A request body as it arrives, for routes registered with `streamBody` (RouteOptions).
//
//   Deferred<ServerResponse> upload(Request request) {
//     std::size_t total = 0;
//     while (true) {
//       std::string piece = co_await request.bodyStream->read();
//       if (piece.empty()) break;      // the end of the body
//       total += piece.size();
//     }
//     co_return ServerResponse::text(200, std::to_string(total));
//   }
//
// The server stops reading from the client while more than 64 KiB are waiting to be read here.
class RequestBody {
 public:
  // The next piece of the body: at once if some has arrived, else when some does. An empty string
  // at the end. Errbacks with ConnectionLost if the client goes away first. One read at a time.
  Deferred<std::string> read();

  // Bytes that arrived and have not been read.
  std::size_t buffered() const { return bufferedBytes_; }
  bool finished() const { return ended_ && pieces_.empty(); }

  // The server's side.
  void push(std::string_view data);
  void end();
  void fail(Failure reason);
  // Called when buffered() drops back under the limit (the server resumes reading).
  void onDrained(absl::AnyInvocable<void()> f) { onDrained_ = std::move(f); }
  static constexpr std::size_t kHighWater = 64 * 1024;

 private:
  void deliver();

  std::deque<std::string> pieces_;
  std::size_t bufferedBytes_ = 0;
  bool ended_ = false;
  std::optional<Failure> failure_;
  std::optional<Deferred<std::string>> reader_;
  absl::AnyInvocable<void()> onDrained_;
};

// A route pattern's captured segments by name ("/users/{id}": "id"), percent-decoded.
using PathParams = absl::flat_hash_map<std::string, std::string>;

struct Request {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // the target up to '?', still percent-encoded
  std::string query;   // after '?', without it
  PathParams pathParams;  // what the route's pattern captured (router.h)
  Version version;
  Headers headers;
  std::string body;    // the whole body, unless the route streams it
  std::shared_ptr<RequestBody> bodyStream;  // for streaming routes only
  Address peer;
};

}  // namespace deft::http

#endif  // DEFT_HTTP_SERVER_REQUEST_H_
