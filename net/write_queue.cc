#include "net/write_queue.h"

#include <utility>

namespace deft {
namespace {

// Small writes join the last chunk, up to kChunkLimit (the first chunk too: its send offset is an
// index, which appending keeps valid).
constexpr std::size_t kCoalesceBelow = 4096;
constexpr std::size_t kChunkLimit = 64 * 1024;

}  // namespace

void WriteQueue::append(std::string_view data) {
  if (data.empty()) return;
  if (!chunks_.empty() && data.size() < kCoalesceBelow &&
      chunks_.back().size() + data.size() <= kChunkLimit) {
    chunks_.back().append(data);
  } else {
    chunks_.emplace_back(data);
  }
  size_ += data.size();
}

void WriteQueue::appendOwned(std::string&& data, std::size_t offset) {
  const std::size_t size = data.size() - offset;
  if (size == 0) return;
  if (size < kCoalesceBelow) {
    append(std::string_view(data).substr(offset));
    return;
  }
  if (offset > 0 && !chunks_.empty()) data.erase(0, offset);  // only the first chunk has an offset
  if (chunks_.empty()) firstOffset_ = data.size() - size;
  chunks_.push_back(std::move(data));
  size_ += size;
}

int WriteQueue::gather(iovec* iov, int max) const {
  int count = 0;
  for (auto it = chunks_.begin(); it != chunks_.end() && count < max; ++it, ++count) {
    const std::size_t offset = count == 0 ? firstOffset_ : 0;
    iov[count].iov_base = const_cast<char*>(it->data()) + offset;
    iov[count].iov_len = it->size() - offset;
  }
  return count;
}

void WriteQueue::consume(std::size_t n) {
  size_ -= n;
  while (n > 0) {
    const std::size_t left = chunks_.front().size() - firstOffset_;
    if (n < left) {
      firstOffset_ += n;
      return;
    }
    n -= left;
    chunks_.pop_front();
    firstOffset_ = 0;
  }
}

void WriteQueue::clear() {
  chunks_.clear();
  firstOffset_ = size_ = 0;
}

}  // namespace deft
