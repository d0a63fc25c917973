#include "process/pool.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "process/stdio.h"

extern char** environ;

namespace deft {
namespace {

// The worker's side of the pool: requests arrive on 3, results leave on 4.
constexpr int kRequestFd = 3;
constexpr int kResultFd = 4;
constexpr const char* kWorkerVariable = "DEFT_POOL_WORKER";

// Frames, in the machine's own byte order (both ends are the same program on the same machine):
//   request: u32 name length, name, u64 argument length, argument
//   result:  u8 'R' (a result) or 'E' (an error message), u64 length, bytes
constexpr char kResult = 'R';
constexpr char kError = 'E';
constexpr std::size_t kResultHeader = 1 + sizeof(std::uint64_t);

template <class T>
void appendInteger(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <class T>
T readInteger(std::string_view in) {
  T value;
  std::memcpy(&value, in.data(), sizeof value);
  return value;
}

absl::flat_hash_map<std::string, PoolTask>& registry() {
  static auto* tasks = new absl::flat_hash_map<std::string, PoolTask>();
  return *tasks;
}

// In the worker: reads requests, runs each task, writes its result.
class WorkerServer final : public Protocol {
 public:
  void dataReceived(std::string_view data) override {
    buffer_.append(data);
    std::size_t at = 0;
    while (true) {
      std::string_view rest = std::string_view(buffer_).substr(at);
      if (rest.size() < sizeof(std::uint32_t)) break;
      const auto nameLength = readInteger<std::uint32_t>(rest);
      const std::size_t header = sizeof(std::uint32_t) + nameLength + sizeof(std::uint64_t);
      if (rest.size() < header) break;
      const auto argumentLength = readInteger<std::uint64_t>(rest.substr(header - sizeof(std::uint64_t)));
      if (rest.size() - header < argumentLength) break;
      run(rest.substr(sizeof(std::uint32_t), nameLength), rest.substr(header, argumentLength));
      at += header + argumentLength;
    }
    buffer_.erase(0, at);
  }

  void connectionLost(const Failure&) override { reactor().stop(); }

 private:
  void run(std::string_view name, std::string_view argument) {
    char status = kResult;
    std::string payload;
    auto it = registry().find(std::string(name));
    if (it == registry().end()) {
      status = kError;
      payload = absl::StrCat("no task named \"", std::string(name), "\" is registered in the worker");
    } else {
      try {
        payload = it->second(argument);
      } catch (const std::exception& e) {
        status = kError;
        payload = e.what();
      } catch (...) {
        status = kError;
        payload = "the task threw something that is not a std::exception";
      }
    }
    std::string header;
    header.push_back(status);
    appendInteger<std::uint64_t>(header, payload.size());
    std::string pieces[] = {std::move(header), std::move(payload)};
    transport()->writeOwned(pieces);
  }

  std::string buffer_;
};

}  // namespace

void registerPoolTask(std::string name, PoolTask task) {
  registry()[std::move(name)] = std::move(task);
}

std::optional<int> runPoolWorkerIfAsked() {
  const char* flag = ::getenv(kWorkerVariable);
  if (flag == nullptr || std::string_view(flag) != "1") return std::nullopt;
  ::unsetenv(kWorkerVariable);  // what the worker itself starts is no worker
  // Ctrl-C reaches the whole process group: the parent decides when its workers end.
  ::signal(SIGINT, SIG_IGN);
  Reactor& reactor = deft::reactor();
  startStandardIO(reactor, std::make_unique<WorkerServer>(), kRequestFd, kResultFd);
  reactor.run(/*installSignalHandlers=*/false);
  return 0;
}

// --- The parent's side ------------------------------------------------------------------------

struct ProcessPool::Job {
  std::string task;
  std::string argument;
  Deferred<std::string> result;
};

// One worker process: its Process, and the job it runs.
class ProcessPool::Worker {
 public:
  std::shared_ptr<Process> process;
  std::shared_ptr<Job> job;
  bool dying = false;  // killed or told to finish: no new jobs
};

namespace {

// The parent's ProcessProtocol for a worker: parses results, reports them and the worker's end.
class WorkerClient final : public ProcessProtocol {
 public:
  enum class Reply { kResult, kError, kTooLarge };
  using OnReply = absl::AnyInvocable<void(Reply, std::string)>;
  using OnEnded = absl::AnyInvocable<void(const Failure&)>;

  WorkerClient(OnReply onReply, OnEnded onEnded, std::size_t maxResult)
      : onReply_(std::move(onReply)), onEnded_(std::move(onEnded)), maxResult_(maxResult) {}

  void childDataReceived(int childFd, std::string_view data) override {
    if (childFd != kResultFd || tooLarge_) return;
    buffer_.append(data);
    while (buffer_.size() >= kResultHeader) {
      const auto length = readInteger<std::uint64_t>(std::string_view(buffer_).substr(1));
      if (length > maxResult_) {
        tooLarge_ = true;
        buffer_.clear();
        onReply_(Reply::kTooLarge, absl::StrCat("the task's result (", length,
                                                " bytes) is over the pool's maxResultBytes"));
        return;
      }
      if (buffer_.size() - kResultHeader < length) {
        buffer_.reserve(kResultHeader + length);
        return;
      }
      const Reply reply = buffer_[0] == kResult ? Reply::kResult : Reply::kError;
      std::string payload = buffer_.substr(kResultHeader, length);
      buffer_.erase(0, kResultHeader + length);
      onReply_(reply, std::move(payload));
    }
  }

  void processEnded(const Failure& reason) override { onEnded_(reason); }

 private:
  OnReply onReply_;
  OnEnded onEnded_;
  std::size_t maxResult_;
  std::string buffer_;
  bool tooLarge_ = false;
};

void killQuietly(Process& process) {
  try {
    process.signalProcess(SIGKILL);
  } catch (const std::exception&) {  // it has exited already
  }
}

}  // namespace

ProcessPool::ProcessPool(Reactor& reactor, ProcessPoolOptions options)
    : reactor_(reactor), options_(std::move(options)) {
  maxWorkers_ = options_.workers != 0 ? options_.workers
                                      : std::max(1u, std::thread::hardware_concurrency());
  if (options_.args.empty()) {
    // The workers' argv[0]: the program's own name rather than "/proc/self/exe", for ps and top.
    std::error_code error;
    const std::filesystem::path program = std::filesystem::read_symlink(options_.executable, error);
    options_.args.push_back(error ? options_.executable : program.string());
  }
  auto close = scope_.bind([this] { return this->close(); });
  shutdownTrigger_ = reactor_.addSystemEventTrigger(
      EventPhase::kBefore, SystemEvent::kShutdown,
      absl::AnyInvocable<Deferred<void>()>([close = std::move(close)]() mutable -> Deferred<void> {
        std::optional<Deferred<void>> closed = close();
        return closed ? std::move(*closed) : succeed();
      }));
}

ProcessPool::~ProcessPool() {
  scope_.end();  // nothing a worker, a timer or a canceller does calls into this pool any more
  reactor_.removeSystemEventTrigger(shutdownTrigger_);
  if (closeTimer_ && closeTimer_->active()) closeTimer_->cancel();
  std::vector<std::shared_ptr<Job>> pending(queue_.begin(), queue_.end());
  queue_.clear();
  for (const std::shared_ptr<Worker>& worker : workers_) {
    killQuietly(*worker->process);  // the reactor reaps it
    if (worker->job) pending.push_back(std::move(worker->job));
  }
  workers_.clear();
  std::optional<Deferred<void>> closed = std::move(closed_);
  // Whoever waits for this pool (close(), the reactor's shutdown) hears of its end.
  for (const std::shared_ptr<Job>& job : pending) {
    if (!job->result.called()) job->result.cancel();
  }
  if (closed && !closed->called()) closed->callback();
}

Deferred<std::string> ProcessPool::callRemote(std::string task, std::string argument) {
  if (closing_) return fail<std::string>(PoolClosedError());
  auto job = std::make_shared<Job>();
  job->task = std::move(task);
  job->argument = std::move(argument);
  std::weak_ptr<Job> weakJob = job;
  job->result = Deferred<std::string>(scope_.bind([this, weakJob](Deferred<std::string>&) {
    if (std::shared_ptr<Job> j = weakJob.lock()) cancelJob(j);
  }));
  Deferred<std::string> result = job->result;
  queue_.push_back(std::move(job));
  failJobs(dispatch());  // last: a failed job's callbacks may destroy this pool
  return result;
}

ProcessPool::FailedJobs ProcessPool::dispatch() {
  FailedJobs failed;
  while (!queue_.empty() && !closing_) {
    auto idle = std::find_if(workers_.begin(), workers_.end(), [](const auto& worker) {
      return !worker->job && !worker->dying;
    });
    if (idle == workers_.end()) {
      if (workers_.size() >= maxWorkers_) break;
      try {
        startWorker();
      } catch (...) {
        // Nothing can run it. With workers left, the front job learns why and the rest wait for
        // them; with none, nothing would ever run the queue: all of it fails.
        const Failure reason = Failure::fromCurrentException();
        do {
          failed.emplace_back(std::move(queue_.front()), reason);
          queue_.pop_front();
        } while (workers_.empty() && !queue_.empty());
        break;
      }
      continue;
    }
    Worker& worker = **idle;
    worker.job = std::move(queue_.front());
    queue_.pop_front();
    std::string header;
    appendInteger<std::uint32_t>(header, static_cast<std::uint32_t>(worker.job->task.size()));
    header += worker.job->task;
    appendInteger<std::uint64_t>(header, worker.job->argument.size());
    // A worker that has gone is reported from the loop, never inside these writes.
    worker.process->writeToChild(kRequestFd, header);
    worker.process->writeToChild(kRequestFd, worker.job->argument);
    worker.job->argument.clear();  // the pipe has it, or its buffer does
  }
  return failed;
}

void ProcessPool::failJobs(FailedJobs failed) {
  for (auto& [job, reason] : failed) {
    if (!job->result.called()) job->result.errback(reason);
  }
}

void ProcessPool::startWorker() {
  SpawnOptions spawn;
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals != std::string_view::npos) {
      env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
  }
  env[kWorkerVariable] = "1";
  spawn.env = std::move(env);
  const int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  spawn.childFDs = {{0, ChildFd::inherit(devNull)},
                    {1, ChildFd::inherit(STDOUT_FILENO)},
                    {2, ChildFd::inherit(STDERR_FILENO)},
                    {kRequestFd, ChildFd::pipeToChild()},
                    {kResultFd, ChildFd::pipeFromChild()}};
  auto worker = std::make_shared<Worker>();
  std::weak_ptr<Worker> weak = worker;
  auto client = std::make_unique<WorkerClient>(
      scope_.bind([this, weak](WorkerClient::Reply reply, std::string payload) {
        if (std::shared_ptr<Worker> w = weak.lock()) {
          if (reply == WorkerClient::Reply::kTooLarge) {
            w->dying = true;
            killQuietly(*w->process);
          }
          workerReplied(*w, reply == WorkerClient::Reply::kResult, std::move(payload));
        }
      }),
      scope_.bind([this, weak](const Failure& reason) {
        if (std::shared_ptr<Worker> w = weak.lock()) workerEnded(*w, reason);
      }),
      options_.maxResultBytes);
  try {
    worker->process = spawnProcess(reactor_, std::move(client), options_.executable, options_.args,
                                   std::move(spawn));
  } catch (...) {
    ::close(devNull);
    throw;
  }
  ::close(devNull);
  ++started_;
  workers_.push_back(std::move(worker));
}

void ProcessPool::workerReplied(Worker& worker, bool ok, std::string payload) {
  std::shared_ptr<Job> job = std::move(worker.job);
  if (closing_ && !worker.dying) {
    worker.dying = true;
    worker.process->closeChildFD(kRequestFd);  // end of input: the worker exits
  }
  FailedJobs failed = dispatch();
  // Last, touching nothing of this pool: these callbacks may destroy it.
  if (job && !job->result.called()) {
    if (ok) {
      job->result.callback(std::move(payload));
    } else {
      job->result.errback(Failure(RemoteTaskError(payload)));
    }
  }
  failJobs(std::move(failed));
}

void ProcessPool::workerEnded(Worker& worker, const Failure& reason) {
  std::shared_ptr<Job> job = std::move(worker.job);
  std::shared_ptr<Worker> keep;
  auto it = std::find_if(workers_.begin(), workers_.end(),
                         [&](const auto& w) { return w.get() == &worker; });
  if (it != workers_.end()) {
    keep = std::move(*it);
    workers_.erase(it);
  }
  FailedJobs failed = dispatch();  // a replacement starts for what is queued
  std::optional<Deferred<void>> closed;
  if (closing_ && workers_.empty() && closed_ && !closed_->called()) {
    closed = closed_;
    if (closeTimer_ && closeTimer_->active()) closeTimer_->cancel();
  }
  // Last, touching nothing of this pool: these callbacks may destroy it.
  if (job && !job->result.called()) job->result.errback(reason);
  failJobs(std::move(failed));
  if (closed) closed->callback();
}

void ProcessPool::cancelJob(const std::shared_ptr<Job>& job) {
  auto queued = std::find(queue_.begin(), queue_.end(), job);
  if (queued != queue_.end()) {
    queue_.erase(queued);
    return;  // the Deferred errbacks with CancelledError once this returns
  }
  for (const std::shared_ptr<Worker>& worker : workers_) {
    if (worker->job == job) {
      worker->job.reset();
      worker->dying = true;  // replaced once it has been reaped
      killQuietly(*worker->process);
      return;
    }
  }
}

Deferred<void> ProcessPool::close() {
  std::deque<std::shared_ptr<Job>> queued;
  if (!closing_) {
    closing_ = true;
    closed_.emplace();
    queued = std::move(queue_);
    queue_.clear();
    for (const std::shared_ptr<Worker>& worker : workers_) {
      if (!worker->job && !worker->dying) {
        worker->dying = true;
        worker->process->closeChildFD(kRequestFd);
      }
    }
    // A task that never ends must not keep the program from stopping.
    if (!workers_.empty()) {
      closeTimer_ = reactor_.callLater(options_.closeTimeout, scope_.bind([this] {
        for (const std::shared_ptr<Worker>& worker : workers_) killQuietly(*worker->process);
      }));
    }
  }
  // Each caller gets a Deferred of its own, fired when the last worker has been reaped.
  Deferred<void> mine;
  if (workers_.empty()) {
    mine.callback();
  } else {
    closed_->addBoth([mine](Outcome<void>) mutable { mine.callback(); });
  }
  // Last, touching nothing of this pool: these callbacks may destroy it.
  for (const std::shared_ptr<Job>& job : queued) {
    if (!job->result.called()) {
      job->result.errback(Failure(CancelledError("the process pool closed before it ran")));
    }
  }
  return mine;
}

}  // namespace deft
