#include "reactor/reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include "deferred/deferred_list.h"

namespace deft {
namespace {

std::system_error systemError(const char* what) {
  return std::system_error(errno, std::generic_category(), what);
}

// The write end of the running reactor's signal pipe: what the async-signal-safe handler writes
// the signal number to. One reactor runs with signal handlers at a time.
std::atomic<int> signalPipe{-1};

extern "C" void onSignal(int signal) {
  const int savedErrno = errno;
  const unsigned char number = static_cast<unsigned char>(signal);
  const int fd = signalPipe.load(std::memory_order_relaxed);
  if (fd >= 0) {
    [[maybe_unused]] ssize_t written = ::write(fd, &number, 1);
  }
  errno = savedErrno;
}

void reportFailure(const Failure& failure) { internal::reportUnhandledFailure(failure); }

// Empties `owned`, then destroys what it held: destructors that run user code (a Deferred's
// errback) find it empty, and what they add to it waits for the next round of the teardown.
// Returns whether there was anything.
template <class T>
bool dropContents(T& owned) {
  T dropped = std::move(owned);
  owned = T();
  return static_cast<bool>(dropped);
}
template <class T>
  requires requires(T t) { t.empty(); }
bool dropContents(T& owned) {
  T dropped = std::move(owned);
  owned = T();
  return !dropped.empty();
}

// Runs user code the loop calls; what it throws is reported, never let out into the loop.
template <class F>
void callReporting(F&& f, std::source_location where) noexcept {
  try {
    f();
  } catch (...) {
    reportFailure(Failure::fromCurrentException(where));
  }
}

}  // namespace

// A watched descriptor number: who reads, who writes, what epoll was told.
struct Reactor::Watch {
  int fd;
  FileDescriptor* reader = nullptr;
  FileDescriptor* writer = nullptr;
  std::uint32_t events = 0;  // as registered with epoll
  bool retired = false;      // removed during this batch: skip its remaining events
};

Reactor::Reactor() {
  epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epollFd_ < 0) throw systemError("epoll_create1");
  wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) throw systemError("eventfd");
  int pipeFds[2];
  if (::pipe2(pipeFds, O_NONBLOCK | O_CLOEXEC) != 0) throw systemError("pipe2");
  signalReadFd_ = pipeFds[0];
  signalWriteFd_ = pipeFds[1];
  // The two internal descriptors are told apart from watches by these sentinel pointers.
  for (auto [fd, tag] : {std::pair{wakeFd_, static_cast<void*>(&wakeFd_)},
                         std::pair{signalReadFd_, static_cast<void*>(&signalReadFd_)}}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = tag;
    if (::epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event) != 0) throw systemError("epoll_ctl");
  }
}

Reactor::~Reactor() {
  // A defined order: everything that may call back into the reactor (remove a watch, schedule a
  // timer, post from a thread) goes while the poller, the timers and the wake-up still work, and
  // the Deferreds the reactor was to fire errback instead of waiting forever. Those errbacks run
  // user code, which may start more (a lookup, a thread, a timer): each round tears that down
  // too, until a round finds nothing left.
  for (int round = 0; round < 8 && tearDownRound(); ++round) {
  }
  // Last, the poller and its descriptors.
  watches_.clear();
  retiredWatches_.clear();
  for (int fd : {epollFd_, wakeFd_, signalReadFd_, signalWriteFd_}) {
    if (fd >= 0) ::close(fd);
  }
}

// --- Time -------------------------------------------------------------------------------------

absl::Time Reactor::seconds() const {
  timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::UnixEpoch() + absl::DurationFromTimespec(now);
}

std::shared_ptr<IDelayedCall> Reactor::callLater(absl::Duration delay,
                                                 absl::AnyInvocable<void()> f,
                                                 std::source_location where) {
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  return timers_.schedule(seconds() + delay, std::move(f), where);
}

// --- The loop ---------------------------------------------------------------------------------

void Reactor::run(bool installSignalHandlers) {
  if (running_) throw ReactorAlreadyRunning();
  running_ = true;
  startupDone_ = stopRequested_ = shutdownStarted_ = exitLoop_ = false;
  exitSignal_ = 0;
  // However run() ends (an epoll failure throws), the process gets its signal handlers back and
  // the reactor can be run again.
  struct Restore {
    Reactor* reactor;
    ~Restore() {
      reactor->uninstallSignals();
      clearDeferredThread();
      reactor->running_ = false;
    }
  } restore{this};
  if (installSignalHandlers) installSignals();
  setDeferredThread(std::this_thread::get_id());  // debug builds: firing elsewhere aborts
  fireSystemEvent(SystemEvent::kStartup, [this] {
    startupDone_ = true;
    std::vector<UserCall> calls = std::move(whenRunning_);
    whenRunning_.clear();
    for (auto& call : calls) callReporting(call.f, call.where);
  });
  while (!exitLoop_) {
    loopOnce(absl::InfiniteDuration());
    if (stopRequested_ && !shutdownStarted_) beginShutdown();
  }
}

void Reactor::stop() {
  if (!running_ || stopRequested_) throw ReactorNotRunning();
  stopRequested_ = true;
}

void Reactor::crash() { exitLoop_ = true; }

void Reactor::iterate(absl::Duration delay) {
  if (running_) throw ReactorAlreadyRunning();
  loopOnce(delay);
}

void Reactor::beginShutdown() {
  shutdownStarted_ = true;
  fireSystemEvent(SystemEvent::kShutdown, [this] {
    threadPool_.stop();
    exitLoop_ = true;
  });
}

void Reactor::track(std::shared_ptr<Disconnectable> object) {
  Disconnectable* key = object.get();
  tracked_[key] = std::move(object);
}

void Reactor::untrack(Disconnectable* object) {
  auto it = tracked_.find(object);
  if (it == tracked_.end()) return;
  released_.push_back(std::move(it->second));
  tracked_.erase(it);
}

bool Reactor::tearDownRound() {
  bool found = false;
  //  0. Libraries' per-reactor state (local<T>): it may close its connections or cancel its
  //     timers while those still work.
  found |= dropContents(locals_);
  //  1. The resolver: lookups in flight errback (CancelledError naming the host). Its sockets
  //     leave the poller.
  found |= dropContents(resolver_);
  //  2. Connections, listening ports and connectors: connectionLost(ConnectionDone), and
  //     connection attempts fail.
  if (!tracked_.empty() || !released_.empty()) {
    found = true;
    disconnectAll();
    released_.clear();
  }
  //  3. The thread pool runs the work already queued and joins; hand-backs that never ran are
  //     dropped here, on this thread (deferToThread's Deferred errbacks with ReactorDestroyed).
  if (threadPool_.started()) {
    found = true;
    threadPool_.stop();
  }
  std::vector<UserCall> leftover;
  {
    std::lock_guard lock(threadCallsMutex_);
    leftover.swap(threadCalls_);
  }
  found |= dropContents(leftover);
  //  4. Timers, triggers and handlers are dropped unrun (deferLater's Deferred errbacks).
  if (!timers_.empty()) {
    found = true;
    timers_.clear();
  }
  found |= dropContents(triggers_);
  found |= dropContents(whenRunning_);
  found |= dropContents(signalHandlers_);
  return found;
}

void Reactor::disconnectAll() {
  // Each disconnect() untracks itself (and may track or untrack others): work from a snapshot.
  std::vector<std::shared_ptr<Disconnectable>> all;
  all.reserve(tracked_.size());
  for (auto& [key, object] : tracked_) all.push_back(object);
  for (auto& object : all) object->disconnect();
}

void Reactor::loopOnce(absl::Duration maxWait) {
  // Wait no longer than the next timer, and not at all when there is something to do now.
  absl::Duration wait = maxWait;
  if (std::optional<absl::Time> due = timers_.nextDue()) {
    wait = std::min(wait, std::max(*due - seconds(), absl::ZeroDuration()));
  }
  if (exitLoop_ || (stopRequested_ && !shutdownStarted_)) wait = absl::ZeroDuration();
  int timeoutMs = -1;
  if (wait != absl::InfiniteDuration()) {
    // Round up: waking a little late is harmless, waking early means a pass for nothing.
    timeoutMs = static_cast<int>(absl::ToInt64Milliseconds(wait + absl::Nanoseconds(999'999)));
  }

  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  const int ready = ::epoll_wait(epollFd_, events, kMaxEvents, timeoutMs);
  if (ready < 0 && errno != EINTR) throw systemError("epoll_wait");
  for (int i = 0; i < ready && !exitLoop_; ++i) dispatch(events[i]);
  retiredWatches_.clear();  // the batch is over: nothing can refer to them now
  runThreadCalls();
  if (!exitLoop_) timers_.runDue(seconds());
  released_.clear();  // objects untracked during this pass: nothing of theirs is running now
}

void Reactor::dispatch(const epoll_event& event) {
  if (event.data.ptr == &wakeFd_) return;  // runThreadCalls() drains it after the batch
  if (event.data.ptr == &signalReadFd_) {
    runSignalHandlers();
    return;
  }
  auto* watch = static_cast<Watch*>(event.data.ptr);
  // Each callback may remove this watch (or any other): re-check before the next one.
  if (!watch->retired && watch->reader != nullptr && (event.events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    FileDescriptor* reader = watch->reader;
    try {
      reader->doRead();
    } catch (...) {
      dropDescriptor(reader);
    }
  }
  if (!watch->retired && watch->writer != nullptr &&
      (event.events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
    FileDescriptor* writer = watch->writer;
    try {
      writer->doWrite();
    } catch (...) {
      dropDescriptor(writer);
    }
  }
}

void Reactor::dropDescriptor(FileDescriptor* descriptor) {
  Failure failure = Failure::fromCurrentException();
  reportFailure(failure);
  removeReader(descriptor);
  removeWriter(descriptor);
  callReporting([&] { descriptor->connectionLost(failure); }, failure.where());
}

void Reactor::runThreadCalls() {
  if (!wakePending_.load(std::memory_order_acquire)) return;
  std::uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(wakeFd_, &count, sizeof count);
  // Clear before taking the queue: a call queued after the swap sees the flag down and wakes us.
  wakePending_.store(false, std::memory_order_release);
  // Double-buffered: the batch is swapped with a spare vector that keeps its capacity, so a
  // steady stream of hand-offs allocates nothing on either side. (A nested pass, from a call
  // that drives the loop itself, uses a vector of its own.)
  std::vector<UserCall> nested;
  std::vector<UserCall>& calls = runningThreadCalls_ ? nested : spareThreadCalls_;
  const bool outer = !runningThreadCalls_;
  runningThreadCalls_ = true;
  {
    std::lock_guard lock(threadCallsMutex_);
    calls.swap(threadCalls_);
  }
  for (auto& call : calls) callReporting(call.f, call.where);
  calls.clear();
  if (outer) runningThreadCalls_ = false;
}

// --- Lifecycle ------------------------------------------------------------------------------

void Reactor::callWhenRunning(absl::AnyInvocable<void()> f, std::source_location where) {
  if (running_ && startupDone_) {
    f();
  } else {
    whenRunning_.push_back(UserCall{std::move(f), where});
  }
}

Reactor::TriggerId Reactor::addSystemEventTrigger(EventPhase phase, SystemEvent event,
                                                  absl::AnyInvocable<Deferred<void>()> f,
                                                  std::source_location where) {
  const TriggerId id = nextTriggerId_++;
  triggers_.push_back(Trigger{id, phase, event, std::move(f), where});
  return id;
}

void Reactor::removeSystemEventTrigger(TriggerId id) {
  std::erase_if(triggers_, [id](const Trigger& t) { return t.id == id; });
}

Deferred<void> Reactor::runTrigger(Trigger& trigger) {
  // A throwing trigger fails its Deferred (maybeDeferred), located where it was added. Read
  // before the call: the trigger may remove triggers, and `trigger` with them.
  const std::source_location where = trigger.where;
  Deferred<void> d;
  try {
    d = trigger.f();
  } catch (...) {
    d = fail(Failure::fromCurrentException(where));
  }
  return std::move(d).addErrback([](Failure f) { reportFailure(f); });
}

void Reactor::runPhase(SystemEvent event, EventPhase phase) {
  if (event == SystemEvent::kShutdown && phase == EventPhase::kDuring) disconnectAll();
  // Triggers may add or remove triggers: run those present now, by id.
  std::vector<TriggerId> ids;
  for (const Trigger& t : triggers_) {
    if (t.event == event && t.phase == phase) ids.push_back(t.id);
  }
  for (TriggerId id : ids) {
    auto it = std::find_if(triggers_.begin(), triggers_.end(),
                           [id](const Trigger& t) { return t.id == id; });
    if (it == triggers_.end()) continue;
    runTrigger(*it);
  }
}

void Reactor::fireSystemEvent(SystemEvent event, absl::AnyInvocable<void()> done) {
  std::vector<Deferred<void>> waits;
  std::vector<TriggerId> ids;
  for (const Trigger& t : triggers_) {
    if (t.event == event && t.phase == EventPhase::kBefore) ids.push_back(t.id);
  }
  for (TriggerId id : ids) {
    auto it = std::find_if(triggers_.begin(), triggers_.end(),
                           [id](const Trigger& t) { return t.id == id; });
    if (it == triggers_.end()) continue;
    waits.push_back(runTrigger(*it));
  }
  DeferredList(std::move(waits), {.consumeErrors = true})
      .addCallback([this, event, done = std::move(done)](std::vector<Outcome<void>>) mutable {
        runPhase(event, EventPhase::kDuring);
        runPhase(event, EventPhase::kAfter);
        done();
      });
}

// --- Signals ----------------------------------------------------------------------------------

void Reactor::addSignalHandler(int signal, absl::AnyInvocable<void(int)> handler,
                               std::source_location where) {
  signalHandlers_[signal] = SignalHandler{std::move(handler), where};
  if (signalsInstalled_) {
    uninstallSignals();
    installSignals();
  }
}

void Reactor::removeSignalHandler(int signal) {
  signalHandlers_.erase(signal);
  if (signalsInstalled_) {
    uninstallSignals();
    installSignals();
  }
}

void Reactor::installSignals() {
  signalPipe.store(signalWriteFd_);
  std::vector<int> signals = {SIGINT, SIGTERM};
  for (const auto& [signal, handler] : signalHandlers_) {
    if (signal != SIGINT && signal != SIGTERM) signals.push_back(signal);
  }
  for (int signal : signals) {
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    struct sigaction previous {};
    if (::sigaction(signal, &action, &previous) == 0) {
      savedSignalActions_.emplace_back(signal, previous);
    }
  }
  signalsInstalled_ = true;
}

void Reactor::uninstallSignals() {
  if (!signalsInstalled_) return;
  for (auto& [signal, previous] : savedSignalActions_) ::sigaction(signal, &previous, nullptr);
  savedSignalActions_.clear();
  int expected = signalWriteFd_;
  signalPipe.compare_exchange_strong(expected, -1);
  signalsInstalled_ = false;
}

void Reactor::runSignalHandlers() {
  unsigned char numbers[64];
  ssize_t n;
  while ((n = ::read(signalReadFd_, numbers, sizeof numbers)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      const int signal = numbers[i];
      if (auto it = signalHandlers_.find(signal); it != signalHandlers_.end()) {
        callReporting([&] { it->second.f(signal); }, it->second.where);
      } else if ((signal == SIGINT || signal == SIGTERM) && running_ && !stopRequested_) {
        exitSignal_ = signal;
        stop();
      }
    }
  }
}

// --- Threads ----------------------------------------------------------------------------------

void Reactor::callFromThread(absl::AnyInvocable<void()> f, std::source_location where) {
  {
    std::lock_guard lock(threadCallsMutex_);
    threadCalls_.push_back(UserCall{std::move(f), where});
  }
  if (!wakePending_.exchange(true, std::memory_order_acq_rel)) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof one);
  }
}

void Reactor::callInThread(absl::AnyInvocable<void()> f) {
  threadPool_.start(threadPoolSize_);
  threadPool_.callInThread(std::move(f));
}

// --- File descriptors -------------------------------------------------------------------------

void Reactor::updateWatch(Watch& watch, int fd) {
  std::uint32_t wanted = 0;
  if (watch.reader != nullptr) wanted |= EPOLLIN;
  if (watch.writer != nullptr) wanted |= EPOLLOUT;
  if (wanted == watch.events) return;
  epoll_event event{};
  event.events = wanted;
  event.data.ptr = &watch;
  int op = watch.events == 0 ? EPOLL_CTL_ADD : (wanted == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
  if (::epoll_ctl(epollFd_, op, fd, &event) != 0 && op != EPOLL_CTL_DEL) {
    throw systemError("epoll_ctl");
  }
  watch.events = wanted;
  if (wanted == 0) {
    auto it = watches_.find(fd);
    it->second->retired = true;
    retiredWatches_.push_back(std::move(it->second));
    watches_.erase(it);
  }
}

void Reactor::addReader(FileDescriptor* reader) {
  const int fd = reader->fileno();
  auto& watch = watches_[fd];
  if (!watch) watch = std::make_unique<Watch>(Watch{fd});
  FileDescriptor* previous = std::exchange(watch->reader, reader);
  try {
    updateWatch(*watch, fd);
  } catch (...) {
    undoWatch(fd, &Watch::reader, previous);
    throw;
  }
}

void Reactor::addWriter(FileDescriptor* writer) {
  const int fd = writer->fileno();
  auto& watch = watches_[fd];
  if (!watch) watch = std::make_unique<Watch>(Watch{fd});
  FileDescriptor* previous = std::exchange(watch->writer, writer);
  try {
    updateWatch(*watch, fd);
  } catch (...) {
    undoWatch(fd, &Watch::writer, previous);
    throw;
  }
}

// epoll refused the descriptor (EPERM: a regular file; EBADF): leave no trace of the attempt, so
// nothing points at a descriptor object the caller is about to destroy.
void Reactor::undoWatch(int fd, FileDescriptor* Watch::*slot, FileDescriptor* previous) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  it->second.get()->*slot = previous;
  if (it->second->events == 0) watches_.erase(it);
}

void Reactor::removeReader(FileDescriptor* reader) {
  auto it = watches_.find(reader->fileno());
  if (it == watches_.end() || it->second->reader != reader) return;
  it->second->reader = nullptr;
  updateWatch(*it->second, reader->fileno());
}

void Reactor::removeWriter(FileDescriptor* writer) {
  auto it = watches_.find(writer->fileno());
  if (it == watches_.end() || it->second->writer != writer) return;
  it->second->writer = nullptr;
  updateWatch(*it->second, writer->fileno());
}

bool Reactor::isReading(const FileDescriptor* d) const {
  auto it = watches_.find(d->fileno());
  return it != watches_.end() && it->second->reader == d;
}

bool Reactor::isWriting(const FileDescriptor* d) const {
  auto it = watches_.find(d->fileno());
  return it != watches_.end() && it->second->writer == d;
}

// --- The instance -----------------------------------------------------------------------------

namespace {
Reactor* currentReactor = nullptr;
}  // namespace

Reactor& reactor() {
  if (currentReactor == nullptr) {
    // The default instance lives for the whole process, like Twisted's global reactor.
    static Reactor* const processReactor = new Reactor();
    currentReactor = processReactor;
  }
  return *currentReactor;
}

ReactorScope::ReactorScope() : reactor_(std::make_unique<Reactor>()), previous_(currentReactor) {
  currentReactor = reactor_.get();
}

ReactorScope::~ReactorScope() { currentReactor = previous_; }

int react(absl::AnyInvocable<Deferred<void>(Reactor&)> main, Reactor& reactor) {
  int exitCode = 0;
  reactor.callWhenRunning([&] {
    maybeDeferred(main, reactor).addBoth([&](Outcome<void> outcome) {
      if (!outcome.ok()) {
        std::fprintf(stderr, "%s\n", outcome.failure().describe().c_str());
        exitCode = 1;
      }
      if (reactor.running()) {
        try {
          reactor.stop();
        } catch (const ReactorNotRunning&) {
          // already stopping (a signal, or main stopped it itself)
        }
      }
    });
  });
  reactor.run();
  // Stopped by SIGINT/SIGTERM: exit as a shell reports a process that signal ended.
  if (reactor.exitSignal() != 0) return 128 + reactor.exitSignal();
  return exitCode;
}

}  // namespace deft
