// File: reactor/reactor.h
//
// The Reactor: Twisted's event loop on Linux epoll. One thread runs it (the one that calls
// run()); everything it calls back — timers, I/O, Deferreds fired from the loop — runs on that
// thread, one thing at a time, so code on the reactor needs no locks.
//
//   int main() {
//     return deft::react([](deft::Reactor& reactor) -> deft::Deferred<void> {
//       co_await deft::deferLater(reactor, absl::Seconds(1), [] { std::puts("tick"); });
//     });
//   }
//
// THE INSTANCE. `deft::reactor()` is the process-wide reactor, the same one everywhere (Twisted's
// `from twisted.internet import reactor`). A `ReactorScope` installs a fresh one for its lifetime
// and puts the previous one back after, which is how each test gets a reactor of its own.
//
// LIFECYCLE. run() fires the "startup" system event, loops until stop() or crash(), and returns.
// stop() takes effect after the current iteration and fires "shutdown" first; crash() leaves at
// once. A deliberate difference from Twisted: a reactor that has stopped can be run() again
// (Twisted's raises ReactorNotRestartable), because tests and tools that run several short loops in
// one process are common in C++ and every piece of loop state is reset by run() itself.
//
// TIME. callLater(delay, f) returns an IDelayedCall (deferred/reactor_time.h). Calls due at the same
// time run in the order they were scheduled; a call scheduled by a running timer waits for the
// next iteration even with a zero delay, so timers cannot starve I/O. Time is CLOCK_MONOTONIC.
//
// THREADS. callFromThread(f) is the one method any thread may call: it queues f for the reactor
// thread (FIFO) and wakes the loop, once per burst. deferToThread(f) runs f on the reactor's
// thread pool and fires its Deferred back on the reactor thread.
//
// SIGNALS. While run() runs, SIGINT and SIGTERM stop the reactor cleanly (shutdown triggers run).
// Handlers for other signals are called from the loop, never inside the signal handler.
//
// EXCEPTIONS. Nothing user code throws escapes the loop. An exception from a timer, a trigger, a
// signal handler, a thread hand-off or a callWhenRunning function is reported through the
// unhandled-failure hook (deferred/failure.h), located at the line that handed that code to the
// reactor (the callLater call, say: C++ keeps no record of where an exception was thrown), and
// the loop goes on. A
// descriptor whose doRead/doWrite throws is no longer watched and gets connectionLost with the
// error (a TCP connection whose Protocol throws is closed with it, as in Twisted). Whatever ends
// run() — stop(), crash(), or an error of the system itself — it gives back the signal handlers
// and leaves running() false.
//
// FILE DESCRIPTORS. addReader/addWriter watch any descriptor (level-triggered). A descriptor
// removed while a batch of ready events is being dispatched (even closed and its number reused)
// gets no further callbacks from that batch.

#ifndef DEFT_REACTOR_REACTOR_H_
#define DEFT_REACTOR_REACTOR_H_

#include <signal.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <optional>
#include <source_location>
#include <thread>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/reactor_time.h"
#include "deferred/deferred.h"
#include "deferred/errors.h"
#include "reactor/internal/fail_if_dropped.h"
#include "reactor/thread_pool.h"
#include "reactor/timer_queue.h"

struct epoll_event;

namespace deft {

// run() while running; stop() while not running (Twisted's error.ReactorAlreadyRunning and
// error.ReactorNotRunning).
class ReactorAlreadyRunning : public Error {
 public:
  ReactorAlreadyRunning()
      : Error("the reactor is already running", absl::StatusCode::kFailedPrecondition) {}
};
class ReactorNotRunning : public Error {
 public:
  ReactorNotRunning()
      : Error("can't stop a reactor that isn't running", absl::StatusCode::kFailedPrecondition) {}
};

// Something the reactor watches for readiness: Twisted's IReadDescriptor / IWriteDescriptor.
// The reactor does not own it; remove it before destroying it.
class FileDescriptor {
 public:
  virtual ~FileDescriptor() = default;
  virtual int fileno() const = 0;
  // Called when the descriptor is readable (or at end of file, or on error).
  virtual void doRead() {}
  // Called when the descriptor is writable (or on error).
  virtual void doWrite() {}
  // doRead or doWrite threw: the reactor has stopped watching this descriptor (reading and
  // writing) and reported the exception; `reason` is it. Close the descriptor here (Twisted's
  // connectionLost after a selectable raised). TCP connections close with the reason.
  virtual void connectionLost(const Failure& reason) { (void)reason; }
};

// Something the reactor keeps alive and closes when it shuts down or is destroyed: connections,
// listening ports, connectors (Twisted's disconnectAll). They register with Reactor::track.
class Disconnectable {
 public:
  virtual ~Disconnectable() = default;
  // Close now; report it as the object normally would (connectionLost with ConnectionDone).
  virtual void disconnect() = 0;
};

class IHostResolver;

enum class SystemEvent { kStartup, kShutdown };
enum class EventPhase { kBefore, kDuring, kAfter };

class Reactor final : public IReactorTime {
 public:
  Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;
  ~Reactor() override;

  // --- The loop -------------------------------------------------------------------------------

  // Reactor::run()
  //
  // Runs the loop on this thread until stop() or crash(). Throws ReactorAlreadyRunning if it is
  // running. `installSignalHandlers` as in Twisted: SIGINT/SIGTERM stop the reactor, and the
  // handlers given to addSignalHandler are installed.
  void run(bool installSignalHandlers = true);

  // Reactor::stop()
  //
  // Asks the loop to finish: after the current iteration, the "shutdown" event fires (its
  // "before" triggers may return Deferreds, which it waits for while the loop keeps running),
  // then run() returns. Throws ReactorNotRunning when not running or already stopping.
  void stop();

  // Reactor::exitSignal()
  //
  // The signal (SIGINT or SIGTERM) that stopped the last run(), or 0 if none did (Twisted's
  // `_exitSignal`). react() turns it into the exit code 128 + signal.
  int exitSignal() const { return exitSignal_; }

  // Reactor::crash()
  //
  // Leaves run() after the current callback, with no shutdown event.
  void crash();

  // Whether run() is running (including startup and shutdown).
  bool running() const { return running_; }

  // Reactor::iterate(delay)
  //
  // One pass of the loop: waits up to `delay` for I/O, then runs what is ready and due. For
  // code that drives the reactor itself, and for tests. Not while run() is running.
  void iterate(absl::Duration delay = absl::ZeroDuration());

  // --- Time (IReactorTime) --------------------------------------------------------------------

  absl::Time seconds() const override;
  using IReactorTime::callLater;  // the overload for callables that return a Deferred
  std::shared_ptr<IDelayedCall> callLater(absl::Duration delay, absl::AnyInvocable<void()> f,
                                          std::source_location where = std::source_location::current()) override;
  std::vector<std::shared_ptr<IDelayedCall>> getDelayedCalls() const { return timers_.pending(); }

  // --- Per-reactor state ----------------------------------------------------------------------

  // Reactor::local<T>(make)
  //
  // The one T this reactor keeps for a library (Asio's use_service): made by `make()` on first
  // use, then the same object each time. getPage's shared keep-alive Agent lives here, so it is
  // never used with another reactor (tests make one per case). Destroyed first when the reactor
  // is, while timers and connections still work. Loop thread only.
  template <class T, class Make>
  T& local(Make make) {
    const std::type_index key(typeid(T));
    if (auto it = locals_.find(key); it != locals_.end()) return *static_cast<T*>(it->second.get());
    std::shared_ptr<T> made(make());  // before inserting: make() may ask for another local
    T& object = *made;
    locals_[key] = std::move(made);
    return object;
  }

  // --- Lifecycle ------------------------------------------------------------------------------

  // Calls `f` once the reactor is running: now if it is, otherwise when startup completes.
  void callWhenRunning(absl::AnyInvocable<void()> f, std::source_location where = std::source_location::current());
  // An f that returns a Deferred (a coroutine lambda) is kept alive until that Deferred fires.
  template <internal::ReturnsDeferred F>
  void callWhenRunning(F f, std::source_location where = std::source_location::current()) {
    callWhenRunning(absl::AnyInvocable<void()>(internal::droppingResult(std::move(f))), where);
  }

  // Reactor::addSystemEventTrigger(phase, event, f)
  //
  // Calls `f` each time `event` fires, in `phase`. A "before" trigger may return a
  // Deferred<void>; the event waits for all of them before its "during" phase. Failures of
  // triggers are reported (unhandled-failure hook) and do not stop the event. Returns an id for
  // removeSystemEventTrigger.
  using TriggerId = std::uint64_t;
  TriggerId addSystemEventTrigger(EventPhase phase, SystemEvent event,
                                  absl::AnyInvocable<Deferred<void>()> f,
                                  std::source_location where = std::source_location::current());
  template <class F>
    requires std::is_void_v<std::invoke_result_t<F&>>
  TriggerId addSystemEventTrigger(EventPhase phase, SystemEvent event, F f,
                                  std::source_location where = std::source_location::current()) {
    return addSystemEventTrigger(phase, event,
                                 absl::AnyInvocable<Deferred<void>()>([f = std::move(f)]() mutable {
                                   f();
                                   return succeed();
                                 }),
                                 where);
  }
  void removeSystemEventTrigger(TriggerId id);

  // --- Signals --------------------------------------------------------------------------------

  // Calls `handler(signal)` from the loop whenever `signal` arrives while run() runs (with
  // signal handlers installed). Replaces the default for SIGINT/SIGTERM (stopping the reactor).
  void addSignalHandler(int signal, absl::AnyInvocable<void(int)> handler,
                        std::source_location where = std::source_location::current());
  void removeSignalHandler(int signal);

  // --- Threads --------------------------------------------------------------------------------

  // Reactor::callFromThread(f)
  //
  // Safe from any thread. Queues `f` to run on the reactor thread, in order, and wakes the loop
  // (one eventfd write per burst of calls, however long). Calls queued while the reactor is not
  // running run when it next runs.
  void callFromThread(absl::AnyInvocable<void()> f, std::source_location where = std::source_location::current());
  // An f that returns a Deferred (a coroutine lambda) runs on the reactor thread and is kept
  // alive there until that Deferred fires.
  template <internal::ReturnsDeferred F>
  void callFromThread(F f, std::source_location where = std::source_location::current()) {
    callFromThread(absl::AnyInvocable<void()>(internal::droppingResult(std::move(f))), where);
  }

  // Reactor::callInThread(f)
  //
  // Runs `f` on the thread pool (started on first use, joined at shutdown). `f` must not touch
  // reactor-thread objects: hand results back with callFromThread, or use deferToThread.
  void callInThread(absl::AnyInvocable<void()> f);

  // Reactor::deferToThread(f)
  //
  // Runs `f()` on the thread pool; the returned Deferred fires on the reactor thread with what f
  // returns, or with the exception it throws. Cancelling it cannot stop `f`; its result is then
  // dropped.
  template <class F>
  auto deferToThread(F f);

  // Twisted's suggestThreadPoolSize: the pool's size (default 10), from its next start.
  void suggestThreadPoolSize(std::size_t threads) { threadPoolSize_ = threads; }

  // --- Owned objects and name resolution ------------------------------------------------------

  // Keeps `object` alive until untrack(); the "during shutdown" phase and the destructor
  // disconnect() whatever is still tracked.
  void track(std::shared_ptr<Disconnectable> object);
  // Lets go of `object` at the end of the current pass of the loop (never under its own call).
  void untrack(Disconnectable* object);
  std::size_t trackedCount() const { return tracked_.size(); }

  // Reactor::installResolver(resolver)
  //
  // The resolver connectTCP uses for host names on this reactor (Twisted's installResolver).
  // The loop only keeps it, and destroys it first when it is destroyed; dns/resolver.h's
  // hostResolver(reactor) installs c-ares when none was. Returns the one it replaces.
  std::shared_ptr<IHostResolver> installResolver(std::shared_ptr<IHostResolver> resolver) {
    return std::exchange(resolver_, std::move(resolver));
  }
  IHostResolver* installedResolver() const { return resolver_.get(); }

  // --- File descriptors -----------------------------------------------------------------------

  void addReader(FileDescriptor* reader);
  void addWriter(FileDescriptor* writer);
  void removeReader(FileDescriptor* reader);
  void removeWriter(FileDescriptor* writer);
  bool isReading(const FileDescriptor* d) const;
  bool isWriting(const FileDescriptor* d) const;

 private:
  struct Watch;  // one per watched descriptor number
  struct Trigger {
    TriggerId id;
    EventPhase phase;
    SystemEvent event;
    absl::AnyInvocable<Deferred<void>()> f;
    std::source_location where;
  };
  // User code the loop calls later, and the line that handed it over: what its failures are
  // located at, since C++ cannot say where an exception was thrown.
  struct UserCall {
    absl::AnyInvocable<void()> f;
    std::source_location where;
  };
  struct SignalHandler {
    absl::AnyInvocable<void(int)> f;
    std::source_location where;
  };

  void loopOnce(absl::Duration maxWait);
  void dispatch(const ::epoll_event& event);
  // doRead/doWrite of `descriptor` threw (call from the catch block): report, unwatch, tell it.
  void dropDescriptor(FileDescriptor* descriptor);
  void runThreadCalls();
  void runSignalHandlers();
  void updateWatch(Watch& watch, int fd);
  void undoWatch(int fd, FileDescriptor* Watch::*slot, FileDescriptor* previous);
  // Fires `event`'s phases in turn; calls `done` after the "after" phase.
  void fireSystemEvent(SystemEvent event, absl::AnyInvocable<void()> done);
  void runPhase(SystemEvent event, EventPhase phase);
  Deferred<void> runTrigger(Trigger& trigger);
  void beginShutdown();
  void installSignals();
  void uninstallSignals();

  // Loop state.
  bool running_ = false;
  bool startupDone_ = false;
  bool stopRequested_ = false;
  bool shutdownStarted_ = false;
  bool exitLoop_ = false;
  bool signalsInstalled_ = false;
  int exitSignal_ = 0;  // see exitSignal()

  int epollFd_ = -1;
  int wakeFd_ = -1;         // eventfd: callFromThread
  int signalReadFd_ = -1;   // self-pipe: signals
  int signalWriteFd_ = -1;

  TimerQueue timers_{*this};

  absl::flat_hash_map<int, std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Watch>> retiredWatches_;  // freed after the current batch

  std::vector<Trigger> triggers_;
  absl::flat_hash_map<std::type_index, std::shared_ptr<void>> locals_;
  TriggerId nextTriggerId_ = 1;
  std::vector<UserCall> whenRunning_;

  absl::flat_hash_map<int, SignalHandler> signalHandlers_;
  std::vector<std::pair<int, struct sigaction>> savedSignalActions_;

  std::mutex threadCallsMutex_;
  std::vector<UserCall> threadCalls_;  // guarded by threadCallsMutex_
  std::vector<UserCall> spareThreadCalls_;  // reactor thread only: see runThreadCalls()
  bool runningThreadCalls_ = false;
  std::atomic<bool> wakePending_{false};

  std::size_t threadPoolSize_ = 10;
  ThreadPool threadPool_;

  absl::flat_hash_map<Disconnectable*, std::shared_ptr<Disconnectable>> tracked_;
  std::vector<std::shared_ptr<Disconnectable>> released_;  // freed at the end of the pass
  std::shared_ptr<IHostResolver> resolver_;

  void disconnectAll();
  // One round of ~Reactor's teardown; whether it found anything to tear down.
  bool tearDownRound();
};

// The process-wide reactor, created on first use.
Reactor& reactor();

// Installs a fresh Reactor as deft::reactor() for its lifetime, and restores the previous one
// after. One per test keeps each test's timers, descriptors and triggers to itself.
class ReactorScope {
 public:
  ReactorScope();
  ReactorScope(const ReactorScope&) = delete;
  ReactorScope& operator=(const ReactorScope&) = delete;
  ~ReactorScope();

  Reactor& reactor() { return *reactor_; }

 private:
  std::unique_ptr<Reactor> reactor_;
  Reactor* previous_;
};

// react(main)
//
// Runs the reactor until the Deferred that `main(reactor)` returns fires, then stops it and
// returns an exit code: 0 on success, 1 on failure (after printing the failure on stderr), and
// 128 + the signal when SIGINT or SIGTERM stopped the reactor first (130 for Ctrl-C), as a shell
// reports a process a signal ended. The way command-line tools and the examples start (Twisted's
// task.react).
int react(absl::AnyInvocable<Deferred<void>(Reactor&)> main, Reactor& reactor = deft::reactor());

// deferLater(clock, delay, f)
//
// A Deferred that fires with f()'s result `delay` from now on `clock`. Cancelling it before then
// means f never runs (the Deferred errbacks with CancelledError).
template <class F>
auto deferLater(IReactorTime& clock, absl::Duration delay, F f) {
  using R = std::invoke_result_t<F&>;
  using D = decltype(maybeDeferred(std::declval<F&>()));
  auto call = std::make_shared<std::shared_ptr<IDelayedCall>>();
  Deferred<typename D::ValueType> d([call](auto& self) {
    // Fail first, so that the timer's holder (dropped by cancel()) finds it fired.
    self.errback(CancelledError());
    if (*call && (*call)->active()) (*call)->cancel();
  });
  // A timer still pending when its reactor is destroyed is dropped unrun: the holder errbacks.
  internal::FailIfDropped<typename D::ValueType> pending(d, "the deferLater delay ran out");
  // f is called once; one that returns a Deferred (a coroutine lambda) is kept until that fires.
  *call = clock.callLater(delay, [pending = std::move(pending),
                                  f = internal::HeldCallable<F, void>(std::move(f))]() mutable {
    static_assert(!std::is_same_v<R, Failure>, "deferLater: f must return a value");
    maybeDeferred(f).chainDeferred(pending.take());
  });
  return d;
}

// deferLater(clock, delay)
//
// A plain sleep: a Deferred<void> that fires `delay` from now (`co_await deferLater(reactor,
// absl::Seconds(1))`). Cancelling it cancels the timer.
inline Deferred<void> deferLater(IReactorTime& clock, absl::Duration delay) {
  return deferLater(clock, delay, [] {});
}

// --- Implementation ---------------------------------------------------------------------------

template <class F>
auto Reactor::deferToThread(F f) {
  using R = std::invoke_result_t<F&>;
  Deferred<R> result;
  Deferred<R> d = result;
  // The Deferred handle only ever moves between closures off the reactor thread: its reference
  // count is touched on the reactor thread alone.
  // If the reactor is destroyed before the hand-back runs, the holder errbacks on its thread.
  internal::FailIfDropped<R> pending(std::move(d), "the thread's result was delivered");
  callInThread([this, f = std::move(f), pending = std::move(pending)]() mutable {
    std::optional<Failure> failure;
    try {
      if constexpr (std::is_void_v<R>) {
        f();
        callFromThread([pending = std::move(pending)]() mutable { pending.take().callback(); });
      } else {
        R value = f();
        callFromThread([pending = std::move(pending), value = std::move(value)]() mutable {
          pending.take().callback(std::move(value));
        });
      }
      return;
    } catch (...) {
      failure = Failure::fromCurrentException();
    }
    // Posted after the catch block has released the exception in flight, so the Failure is the
    // exception's last owner and it is destroyed on the reactor thread, not here. (If handing a
    // result back is what threw, the Deferred went with that closure.)
    if (!pending.holds()) return;
    callFromThread([pending = std::move(pending), failure = std::move(*failure)]() mutable {
      pending.take().errback(std::move(failure));
    });
  });
  return result;
}

}  // namespace deft

#endif  // DEFT_REACTOR_REACTOR_H_
