#include "http_server/response.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "http/message.h"
#include "net/errors.h"
#include "protocol/protocol.h"

namespace deft::http {

Deferred<void> BodyWriter::write(std::string_view data) {
  if (transport_ == nullptr) {
    return fail(Failure(ConnectionLost("the client went away during a streamed response")));
  }
  if (!data.empty()) {  // an empty chunk would end a chunked body
    if (chunked_) {
      const std::string header = chunkHeader(data.size());
      const std::array<std::string_view, 3> pieces{header, data, "\r\n"};
      transport_->writeSequence(pieces);
    } else {
      transport_->write(data);
    }
  }
  if (!paused_) return succeed();
  if (!waiting_) waiting_.emplace();
  return *waiting_;
}

void BodyWriter::drained() {
  paused_ = false;
  if (!waiting_) return;
  Deferred<void> d = std::move(*waiting_);
  waiting_.reset();
  d.callback();
}

void BodyWriter::close(const Failure& reason) {
  transport_ = nullptr;
  if (!waiting_) return;
  Deferred<void> d = std::move(*waiting_);
  waiting_.reset();
  d.errback(reason);
}

ServerResponse ServerResponse::text(int status, std::string body, std::string contentType) {
  ServerResponse r;
  r.status = status;
  r.headers.add("Content-Type", std::move(contentType));
  r.body = std::move(body);
  return r;
}

ServerResponse ServerResponse::redirect(int status, std::string location) {
  ServerResponse r;
  r.status = status;
  r.headers.add("Content-Type", "text/html; charset=utf-8");
  r.body = absl::StrCat("<html><body>Moved to <a href=\"", location, "\">", location,
                        "</a></body></html>\n");
  r.headers.add("Location", std::move(location));
  return r;
}

}  // namespace deft::http
