// File: deferred/internal/waiters.h
//
// A FIFO of Deferreds waiting for something (a semaphore token, a queue item), each cancellable:
// cancelling a waiter takes it out of the line. Shared by DeferredSemaphore and DeferredQueue.

#ifndef DEFT_DEFERRED_INTERNAL_WAITERS_H_
#define DEFT_DEFERRED_INTERNAL_WAITERS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "deferred/deferred.h"
#include "deferred/errors.h"

namespace deft::internal {

template <class T>
class Waiters {
 public:
  Waiters() = default;
  Waiters(const Waiters&) = delete;
  Waiters& operator=(const Waiters&) = delete;

  // Errbacks whoever still waits: nothing could ever fire them otherwise.
  void failAll(const std::string& why) {
    std::deque<Entry> waiting = std::exchange(line_->entries, {});
    for (Entry& entry : waiting) entry.deferred.errback(Failure(CancelledError(why)));
  }

  // A new waiter at the end of the line. Its cancel() takes it out of the line and errbacks it
  // with CancelledError.
  Deferred<T> wait() {
    const std::uint64_t id = line_->nextId++;
    std::weak_ptr<Line> line = line_;
    Deferred<T> waiter([line, id](Deferred<T>&) {
      if (std::shared_ptr<Line> l = line.lock()) {
        std::erase_if(l->entries, [id](const Entry& e) { return e.id == id; });
      }
    });
    line_->entries.push_back(Entry{id, waiter});
    return waiter;
  }

  bool empty() const { return line_->entries.empty(); }
  std::size_t size() const { return line_->entries.size(); }

  // Takes the first waiter out of the line, for the caller to fire.
  Deferred<T> pop() {
    Deferred<T> first = std::move(line_->entries.front().deferred);
    line_->entries.pop_front();
    return first;
  }

 private:
  struct Entry {
    std::uint64_t id;
    Deferred<T> deferred;
  };
  // Shared so that a waiter's canceller (holding it weakly) can outlive its owner harmlessly.
  struct Line {
    std::deque<Entry> entries;
    std::uint64_t nextId = 0;
  };
  std::shared_ptr<Line> line_ = std::make_shared<Line>();
};

}  // namespace deft::internal

#endif  // DEFT_DEFERRED_INTERNAL_WAITERS_H_
