#include "protocol/line_receiver.h"

#include <array>

namespace deft {

void LineReceiver::sendLine(std::string_view line) {
  const std::array<std::string_view, 2> pieces = {line, delimiter_};
  transport()->writeSequence(pieces);
}

void LineReceiver::setLineMode(std::string_view extra) {
  rawMode_ = false;
  if (!extra.empty()) dataReceived(extra);
}

void LineReceiver::dataReceived(std::string_view data) {
  if (rawMode_) {
    rawDataReceived(data);
    return;
  }
  // Scan in place; copy only the unfinished tail (or everything, if a line spans reads).
  std::string_view pending = data;
  if (!buffer_.empty()) {
    buffer_.append(data);
    pending = buffer_;
  }
  std::size_t start = 0;
  while (!rawMode_ && connected()) {
    const std::size_t end = pending.find(delimiter_, start);
    if (end == std::string_view::npos) break;
    if (end - start > maxLength_) {
      lineLengthExceeded(pending.substr(start, end - start));
      buffer_.clear();
      return;
    }
    lineReceived(pending.substr(start, end - start));
    start = end + delimiter_.size();
  }
  std::string rest(pending.substr(start));
  buffer_.clear();
  if (rawMode_) {
    if (!rest.empty()) rawDataReceived(rest);
    return;
  }
  if (rest.size() > maxLength_) {
    lineLengthExceeded(rest);
    return;
  }
  buffer_ = std::move(rest);
}

}  // namespace deft
