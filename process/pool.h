// File: process/pool.h
//
// A pool of worker processes for CPU-bound work (Python's ProcessPoolExecutor; Twisted's
// ampoule): a task is a function from bytes to bytes, registered by name, run in a worker, and
// its result comes back as a Deferred on the reactor thread.
//
//   std::string countPrimes(std::string_view range) { ... }
//
//   int main(int argc, char** argv) {
//     deft::registerPoolTask("countPrimes", countPrimes);
//     if (std::optional<int> code = deft::runPoolWorkerIfAsked()) return *code;  // a worker
//     ...
//     deft::ProcessPool pool(reactor, {.workers = 4});
//     pool.callRemote("countPrimes", "1-1000000").addCallback(...);
//   }
//
// WORKERS are this same program started again (/proc/self/exe, unless options say otherwise):
// runPoolWorkerIfAsked() recognises the environment the pool gives them and serves tasks until
// the pool closes their input. Register every task before calling it, in the parent as in the
// worker (registration in main, or in static initialisers). Requests and results travel over
// descriptors 3 and 4 (a StandardIO in the worker), so what a task prints to stdout or stderr
// goes to the parent's, as the worker inherits them.
//
// SCHEDULING. Tasks queue FIFO and go to the first idle worker. Workers start on demand, up to
// ProcessPoolOptions::workers, and stay for the next task.
//
// FAILURES. A task that throws errbacks with RemoteTaskError (its message); the worker goes on. A
// worker that dies (a crash, a signal, exit()) errbacks its task with ProcessTerminated, and
// another worker takes its place for what follows. Cancelling a task still queued removes it;
// cancelling a running one kills its worker (SIGKILL), which is replaced. Either way the
// Deferred errbacks with CancelledError.
//
// OWNERSHIP AND SHUTDOWN. The caller owns the pool. close() stops taking tasks, fails the queued
// ones with CancelledError, lets running ones finish (for closeTimeout at most, then kills their
// workers), then ends the workers; its Deferred fires when every worker has been reaped. The
// reactor's shutdown waits for close() (a "before shutdown" trigger). Destroying the pool kills
// its workers, cancels what is pending and fires what close() returned.

#ifndef DEFT_PROCESS_POOL_H_
#define DEFT_PROCESS_POOL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "deferred/scope.h"
#include "process/process.h"
#include "reactor/reactor.h"

namespace deft {

// A task's function: its argument's bytes in, its result's bytes out. Runs in a worker process.
using PoolTask = std::function<std::string(std::string_view argument)>;

// Registers `task` under `name` for the pool's workers (and replaces one of that name).
void registerPoolTask(std::string name, PoolTask task);

// runPoolWorkerIfAsked()
//
// In a process a ProcessPool started as its worker: serves tasks until the pool is done with it
// and returns the exit code for main to return. Anywhere else: nullopt at once.
std::optional<int> runPoolWorkerIfAsked();

// A task threw in its worker (ampoule's RemoteAmpError): what() is the exception's message.
class RemoteTaskError : public Error {
 public:
  explicit RemoteTaskError(const std::string& message)
      : Error(message, absl::StatusCode::kUnknown) {}
};

// callRemote on a pool that is closing or closed.
class PoolClosedError : public Error {
 public:
  PoolClosedError() : Error("the process pool is closed", absl::StatusCode::kFailedPrecondition) {}
};

struct ProcessPoolOptions {
  // How many workers at most; 0: one per CPU.
  std::size_t workers = 0;
  // The program the workers run, and its argv (empty: just the program's path). It must call
  // runPoolWorkerIfAsked() with the same tasks registered.
  std::string executable = "/proc/self/exe";
  std::vector<std::string> args = {};
  // The largest result a worker may send back; past it the worker is killed and the task fails.
  std::size_t maxResultBytes = 256 * 1024 * 1024;
  // How long close() (and so the reactor's shutdown) lets running tasks finish before it kills
  // their workers; those tasks then fail with ProcessTerminated.
  absl::Duration closeTimeout = absl::Seconds(10);
};

class ProcessPool {
 public:
  ProcessPool(Reactor& reactor, ProcessPoolOptions options = {});
  ~ProcessPool();
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  // ProcessPool::callRemote(task, argument)
  //
  // Runs the task registered as `task` on `argument` in a worker. Fires with its result; see the
  // header comment for the failures.
  Deferred<std::string> callRemote(std::string task, std::string argument);

  // ProcessPool::close()
  //
  // See the header comment. Calling it again gives the same outcome.
  Deferred<void> close();

  std::size_t maxWorkers() const { return maxWorkers_; }
  // Workers alive now, and how many were ever started (replacements included).
  std::size_t liveWorkers() const { return workers_.size(); }
  std::uint64_t workersStarted() const { return started_; }
  // Tasks waiting for a worker.
  std::size_t queuedTasks() const { return queue_.size(); }

 private:
  struct Job;
  class Worker;

  using FailedJobs = std::vector<std::pair<std::shared_ptr<Job>, Failure>>;
  // Hands queued jobs to idle workers, starting workers as needed. The jobs that cannot run are
  // returned, for the caller to fail last: their callbacks may destroy the pool.
  FailedJobs dispatch();
  static void failJobs(FailedJobs failed);
  void startWorker();
  void workerReplied(Worker& worker, bool ok, std::string payload);
  void workerEnded(Worker& worker, const Failure& reason);
  void cancelJob(const std::shared_ptr<Job>& job);

  Reactor& reactor_;
  ProcessPoolOptions options_;
  std::size_t maxWorkers_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::shared_ptr<Worker>> workers_;
  std::uint64_t started_ = 0;
  bool closing_ = false;
  std::optional<Deferred<void>> closed_;
  std::shared_ptr<IDelayedCall> closeTimer_;
  Reactor::TriggerId shutdownTrigger_ = 0;
  Scope scope_;  // what workers and the shutdown trigger call back through
};

}  // namespace deft

#endif  // DEFT_PROCESS_POOL_H_
