#include "http_server/request.h"

#include "net/errors.h"

namespace deft::http {

Deferred<std::string> RequestBody::read() {
  if (reader_) throw std::logic_error("RequestBody::read: a read is already waiting");
  reader_.emplace();
  Deferred<std::string> d = *reader_;
  deliver();  // at once if something is there
  return d;
}

void RequestBody::push(std::string_view data) {
  if (data.empty()) return;
  pieces_.emplace_back(data);
  bufferedBytes_ += data.size();
  deliver();
}

void RequestBody::end() {
  ended_ = true;
  deliver();
}

void RequestBody::fail(Failure reason) {
  if (ended_) return;
  failure_ = std::move(reason);
  deliver();
}

void RequestBody::deliver() {
  if (!reader_) return;
  Deferred<std::string> reader = std::move(*reader_);
  reader_.reset();
  if (!pieces_.empty()) {
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    const bool wasFull = bufferedBytes_ > kHighWater;
    bufferedBytes_ -= piece.size();
    reader.callback(std::move(piece));
    if (wasFull && bufferedBytes_ <= kHighWater && onDrained_) onDrained_();
  } else if (failure_) {
    reader.errback(*failure_);
  } else if (ended_) {
    reader.callback(std::string());
  } else {
    reader_ = std::move(reader);  // nothing yet: keep waiting
  }
}

}  // namespace deft::http
