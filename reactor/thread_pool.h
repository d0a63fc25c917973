// File: reactor/thread_pool.h
//
// The reactor's pool of worker threads (Twisted's reactor.getThreadPool()): runs blocking work
// off the reactor thread. Work runs first in, first out; stop() lets the workers finish every
// queued item, then joins them. Reach it through Reactor::callInThread / deferToThread.

#ifndef DEFT_REACTOR_THREAD_POOL_H_
#define DEFT_REACTOR_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace deft {

class ThreadPool {
 public:
  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { stop(); }

  // Starts `threads` workers if none are running. Thread-safe with callInThread, not with stop().
  void start(std::size_t threads);

  // Queues `work` for a worker. Work queued before start() waits for it.
  void callInThread(absl::AnyInvocable<void()> work);

  // Runs what is queued to the end, then joins the workers. A later start() starts afresh.
  void stop();

  bool started() const { return !workers_.empty(); }

 private:
  void workerLoop();

  std::mutex mutex_;
  std::condition_variable workAvailable_;
  std::deque<absl::AnyInvocable<void()>> queue_;  // guarded by mutex_
  bool stopping_ = false;                          // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace deft

#endif  // DEFT_REACTOR_THREAD_POOL_H_
