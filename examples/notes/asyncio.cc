// The notes' asyncio programs (seed 003), each with its deft spelling. --demo picks one:
//
//   gather       gather of two groups of fetches; --cancel_group2 cancels the second group
//                (asyncio.gather(group1, group2), group2.cancel()) -> gatherResults, cancel()
//   wait         ten fetches at once, then the elapsed time (asyncio.wait) -> DeferredList
//   as_completed pages printed in the order they arrive (asyncio.as_completed) -> asCompleted
//   call_order   call_soon, call_later, call_at and call_soon_threadsafe -> callLater(0),
//                callLater(d), callLater(at - seconds()), callFromThread
//   executor     blocking calls on a pool of 3 threads (run_in_executor) -> deferToThread
//   run          run_until_complete against run_forever -> react() against run() + stop()
//   nested       a coroutine awaiting another (print_sum awaits compute) -> co_await
//   sigint       three tasks cancelled on Ctrl+C (KeyboardInterrupt: task.cancel() for each)
//                -> addSignalHandler(SIGINT) cancelling their Deferreds
//
//   ./bazelw run //examples/notes:asyncio -- --demo=as_completed
//   ./bazelw run //examples/notes:asyncio -- --demo=wait https://www.imooc.com/ http://example.org/
//
// The fetches go to the program's own site (/delay/S pages), so "fetching" takes real time on
// real sockets; --seconds scales the notes' waits (2 s by default, as in the notes). URLs given
// as arguments are fetched instead (gather, wait, as_completed), in turn.

#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "deferred/deferred_list.h"
#include "examples/notes/notes_site.h"
#include "reactor/reactor.h"
#include "web_client/get_page.h"

ABSL_FLAG(std::string, demo, "gather", "gather, wait, as_completed, call_order, executor, run, nested, sigint");
ABSL_FLAG(double, seconds, 2, "how long the notes' sleeps take");
ABSL_FLAG(bool, cancel_group2, false, "gather: cancel the second group");

namespace {

using deft::Deferred;
using deft::Reactor;

double seconds() { return absl::GetFlag(FLAGS_seconds); }

std::string base;               // the own site's URL
std::vector<std::string> urls;  // real URLs given as arguments, fetched instead of its pages
int fetched = 0;

// A duration to the nearest tenth of a second: "0.4s".
std::string tenths(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// async def get_html(url): print("start get url"); await asyncio.sleep(2); print("end get url")
// (the sleep is a page that takes that long to arrive).
Deferred<std::string> getHtml(std::string name, double wait) {
  say("start get url " + name);
  deft::web::PageOptions options;
  options.timeout = absl::Seconds(30);
  const std::string url = urls.empty() ? absl::StrCat(base, "/delay/", wait)
                                       : urls[static_cast<std::size_t>(fetched++) % urls.size()];
  std::string page = co_await deft::web::getPage(url, options);
  say("end get url " + name);
  co_return name;
}

Deferred<void> gatherDemo(Reactor&) {
  std::vector<Deferred<std::string>> one, two;
  for (int i = 0; i < 2; ++i) one.push_back(getHtml(absl::StrCat("projectsedu ", i), seconds()));
  for (int i = 0; i < 2; ++i) two.push_back(getHtml(absl::StrCat("imooc ", i), seconds()));
  // group1 = asyncio.gather(*group1); group2 = asyncio.gather(*group2)
  std::vector<Deferred<std::vector<std::string>>> groups;
  groups.push_back(deft::gatherResults(std::move(one), /*consumeErrors=*/true));
  groups.push_back(deft::gatherResults(std::move(two), /*consumeErrors=*/true));
  if (absl::GetFlag(FLAGS_cancel_group2)) groups[1].cancel();  // group2.cancel(): its fetches stop
  // asyncio.gather(group1, group2): here each group's outcome is reported (asyncio would raise
  // CancelledError for the whole and let group1 run on unseen).
  auto outcomes = co_await deft::DeferredList(std::move(groups), {.consumeErrors = true});
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].ok()) {
      say(absl::StrCat("group ", i + 1, ": ", outcomes[i].value().size(), " pages"));
    } else {
      say(absl::StrCat("group ", i + 1, " failed: ", outcomes[i].failure().getErrorMessage()));
    }
  }
}

Deferred<void> waitDemo(Reactor& reactor) {
  const absl::Time start = reactor.seconds();
  std::vector<Deferred<std::string>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(getHtml(absl::StrCat("imooc ", i), seconds()));
  co_await deft::DeferredList(std::move(tasks));  // asyncio.wait(tasks): all done
  say(absl::StrCat("10 pages in ", tenths(reactor.seconds() - start)));
}

Deferred<void> asCompletedDemo(Reactor&) {
  std::vector<Deferred<std::string>> tasks;
  const double waits[] = {0.5, 0.1, 0.4, 0.2, 0.3};
  for (int i = 0; i < 5; ++i) tasks.push_back(getHtml(absl::StrCat("page ", i), waits[i] * seconds()));
  for (Deferred<std::string>& next : deft::asCompleted(std::move(tasks))) {
    std::string name = co_await next;
    say("completed: " + name);
  }
}

Deferred<void> callOrderDemo(Reactor& reactor) {
  auto done = std::make_shared<Deferred<void>>();
  // call_soon(callback, 2); call_soon(callback, 1); call_soon(callback, 3): first in, first out.
  for (int n : {2, 1, 3}) reactor.callLater(absl::ZeroDuration(), [n] { say(absl::StrCat("soon ", n)); });
  // call_later(2, ...), call_later(1, ...), call_later(3, ...), call_soon(..., 4): by due time.
  const double s = seconds() / 2;
  for (int n : {2, 1, 3}) {
    reactor.callLater(absl::Seconds(n * s), [n] { say(absl::StrCat("later ", n)); });
  }
  reactor.callLater(absl::ZeroDuration(), [] { say("soon 4"); });
  // call_at(now + 2.5): an absolute time is a delay from the reactor's clock.
  const absl::Time at = reactor.seconds() + absl::Seconds(2.5 * s);
  reactor.callLater(at - reactor.seconds(), [] { say("at 2.5"); });
  // call_soon_threadsafe from another thread: callFromThread runs it on the reactor thread.
  const std::thread::id loopThread = std::this_thread::get_id();
  std::thread([&reactor, loopThread, done] {
    reactor.callFromThread([loopThread, done] {
      say(absl::StrCat("from a thread, run on the reactor thread: ",
                       std::this_thread::get_id() == loopThread ? "yes" : "no"));
    });
  }).detach();
  reactor.callLater(absl::Seconds(3.5 * s), [done] { done->callback(); });
  co_await *done;
}

Deferred<void> executorDemo(Reactor& reactor) {
  reactor.suggestThreadPoolSize(3);  // ThreadPoolExecutor(3)
  const absl::Time start = reactor.seconds();
  std::vector<Deferred<int>> calls;
  for (int i = 0; i < 6; ++i) {
    // loop.run_in_executor(executor, get_url, url): blocking code, off the loop.
    calls.push_back(reactor.deferToThread([i] {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds() / 4));
      return i;
    }));
  }
  std::vector<int> done = co_await deft::gatherResults(std::move(calls));
  say(absl::StrCat(done.size(), " blocking calls on 3 threads in ", tenths(reactor.seconds() - start)));
}

// async def compute(x, y): print("Compute ..."); await asyncio.sleep(1.0); return x + y
Deferred<int> compute(Reactor& reactor, int x, int y) {
  say(absl::StrCat("Compute ", x, " + ", y, " ..."));
  co_await deft::deferLater(reactor, absl::Seconds(seconds() / 2), [] {});
  co_return x + y;
}

Deferred<void> nestedDemo(Reactor& reactor) {
  const int result = co_await compute(reactor, 1, 2);  // print_sum awaits compute
  say(absl::StrCat("1 + 2 = ", result));
}

Deferred<void> sigintDemo(Reactor& reactor) {
  // Tasks of 2, 3 and 3 seconds; Ctrl+C cancels each ("cancel task"), as the notes' except
  // KeyboardInterrupt loop does. Without a handler, SIGINT stops the reactor cleanly anyway.
  std::vector<Deferred<void>> tasks;
  for (double n : {2.0, 3.0, 3.0}) {
    tasks.push_back(deft::deferLater(reactor, absl::Seconds(n * seconds() / 2),
                                     [n] { say(absl::StrCat("done after ", n, "s")); }));
  }
  say("waiting");
  reactor.addSignalHandler(SIGINT, [tasks](int) mutable {
    for (auto& task : tasks) {
      say("cancel task");
      task.cancel();
    }
  });
  auto results = co_await deft::DeferredList(tasks, {.consumeErrors = true});
  int cancelled = 0;
  for (const auto& r : results) cancelled += r.ok() ? 0 : 1;
  say(absl::StrCat(cancelled, " tasks cancelled"));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  urls.assign(rest.begin() + 1, rest.end());
  Reactor& reactor = deft::reactor();
  auto site = notes::serveNotesSite(reactor);
  base = notes::baseUrl(*site);
  const std::string demo = absl::GetFlag(FLAGS_demo);
  Deferred<void> (*run)(Reactor&) = nullptr;
  if (demo == "gather") run = gatherDemo;
  if (demo == "wait") run = waitDemo;
  if (demo == "as_completed") run = asCompletedDemo;
  if (demo == "call_order") run = callOrderDemo;
  if (demo == "executor") run = executorDemo;
  if (demo == "nested") run = nestedDemo;
  if (demo == "sigint") run = sigintDemo;
  if (demo == "run") {
    // run_until_complete(coro): react() runs the loop until main's Deferred fires, and returns.
    int status = deft::react([](Reactor& r) { return nestedDemo(r); }, reactor);
    say("run_until_complete returned");
    // run_forever(): run() until someone calls stop(); deft's reactor can run again after it.
    reactor.callLater(absl::Seconds(seconds() / 4), [&reactor] {
      say("stopping the loop");
      reactor.stop();
    });
    reactor.run();
    say("run_forever returned");
    return status;
  }
  if (run == nullptr) {
    std::fprintf(stderr, "asyncio: no demo named %s\n", demo.c_str());
    return 2;
  }
  return deft::react([run](Reactor& r) { return run(r); }, reactor);
}
