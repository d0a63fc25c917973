#include "reactor/thread_pool.h"

#include <utility>

#include "deferred/failure.h"

namespace deft {

void ThreadPool::start(std::size_t threads) {
  if (!workers_.empty()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

void ThreadPool::callInThread(absl::AnyInvocable<void()> work) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
  }
  workAvailable_.notify_one();
}

void ThreadPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  workAvailable_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void ThreadPool::workerLoop() {
  while (true) {
    absl::AnyInvocable<void()> work;
    {
      std::unique_lock lock(mutex_);
      workAvailable_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      work();
    } catch (...) {
      // Work given to callInThread has nobody to report to but the unhandled-failure hook.
      internal::reportUnhandledFailure(Failure::fromCurrentException());
    }
  }
}

}  // namespace deft
