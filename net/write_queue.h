// File: net/write_queue.h
//
// WriteQueue: the bytes a stream transport was given and the kernel has not taken yet, as TCP
// connections and pipes keep them. Small writes are appended to the last chunk (up to 64 KiB), so
// a burst of small writes leaves in one writev; a large string its owner gives up (appendOwned)
// is kept as it is, never copied. The transport points iovecs at it (gather) and drops what the
// kernel took (consume).

#ifndef DEFT_NET_WRITE_QUEUE_H_
#define DEFT_NET_WRITE_QUEUE_H_

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace deft {

class WriteQueue {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void append(std::string_view data);
  // Queues `data` from `offset` on, keeping its storage when it is too large to coalesce.
  void appendOwned(std::string&& data, std::size_t offset);

  // Points up to `max` iovecs at the queued bytes, in order; how many it filled.
  int gather(iovec* iov, int max) const;
  // Drops the first `n` bytes: what the kernel took.
  void consume(std::size_t n);
  void clear();

 private:
  std::deque<std::string> chunks_;  // the first is sent from firstOffset_ on
  std::size_t firstOffset_ = 0;
  std::size_t size_ = 0;
};

}  // namespace deft

#endif  // DEFT_NET_WRITE_QUEUE_H_
