// deft's side of the spawn benchmark: start and reap many short children, some at once.
//
//   spawn_bench [--children=1000] [--parallel=16] [--mode=true|output]
//
// mode=true: /bin/true with stdin, stdout and stderr on /dev/null. mode=output: /bin/echo writing
// 100 bytes into a stdout pipe the parent reads. Prints children, seconds, and the CPU seconds
// of this process and of its (reaped) children.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "bench/bench_util.h"
#include "process/process.h"
#include "reactor/reactor.h"

namespace {

double childrenCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Run {
  int remaining;
  int running = 0;
  int done = 0;
  std::size_t bytes = 0;
  bool output;
  int devNull;
};

class Child : public deft::ProcessProtocol {
 public:
  Child(Run& run, void (*next)(Run&)) : run_(run), next_(next) {}
  void outReceived(std::string_view data) override { run_.bytes += data.size(); }
  void processEnded(const deft::Failure&) override {
    --run_.running;
    ++run_.done;
    next_(run_);
  }

 private:
  Run& run_;
  void (*next_)(Run&);
};

void startMore(Run& run);

void startOne(Run& run) {
  deft::SpawnOptions options;
  if (run.output) {
    options.childFDs = {{0, deft::ChildFd::inherit(run.devNull)},
                        {1, deft::ChildFd::pipeFromChild()},
                        {2, deft::ChildFd::inherit(run.devNull)}};
    deft::spawnProcess(deft::reactor(), std::make_unique<Child>(run, startMore), "/bin/echo",
                       {"echo", std::string(99, 'x')}, std::move(options));
  } else {
    options.childFDs = {{0, deft::ChildFd::inherit(run.devNull)},
                        {1, deft::ChildFd::inherit(run.devNull)},
                        {2, deft::ChildFd::inherit(run.devNull)}};
    deft::spawnProcess(deft::reactor(), std::make_unique<Child>(run, startMore), "/bin/true", {},
                       std::move(options));
  }
}

void startMore(Run& run) {
  while (run.remaining > 0 && run.running < 16) {
    --run.remaining;
    ++run.running;
    startOne(run);
  }
  if (run.remaining == 0 && run.running == 0) deft::reactor().stop();
}

}  // namespace

int main(int argc, char** argv) {
  const int children = std::atoi(deft::bench::flag(argc, argv, "children", "1000").c_str());
  const std::string mode = deft::bench::flag(argc, argv, "mode", "true");
  Run run{.remaining = children, .output = mode == "output",
          .devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC)};
  const auto start = std::chrono::steady_clock::now();
  const double cpuBefore = deft::bench::cpuSeconds();
  deft::reactor().callWhenRunning([&run] { startMore(run); });
  deft::reactor().run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("children=%d seconds=%.3f cpu_self=%.3f cpu_children=%.3f bytes=%zu\n", run.done,
              seconds, deft::bench::cpuSeconds() - cpuBefore, childrenCpuSeconds(), run.bytes);
  return run.done == children ? 0 : 1;
}
