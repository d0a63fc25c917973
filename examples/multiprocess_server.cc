// One server, N worker processes sharing one port with SO_REUSEPORT: what Tornado's
// server.start(n) does. The kernel spreads incoming connections over the workers; each worker
// runs its own reactor. Each reply names the worker that served it.
//
//   ./bazelw run //examples:multiprocess_server -- --port=8002 --workers=4
//   for i in 1 2 3 4 5 6; do echo hi | nc -q1 127.0.0.1 8002; done
//
// The parent waits for its workers; Ctrl-C (SIGINT to the process group) stops them all, each
// through its reactor's clean shutdown.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"
#include "strings/str_cat.h"
#include "tcp/tcp.h"

ABSL_FLAG(std::uint16_t, port, 8002, "TCP port all workers listen on");
ABSL_FLAG(int, workers, 2, "number of worker processes");
ABSL_FLAG(std::string, interface, "127.0.0.1", "address to listen on");

namespace {

class Greeter : public deft::Protocol {
 public:
  void dataReceived(std::string_view data) override {
    transport()->write(deft::StrCat("worker ", ::getpid(), ": ", data));
  }
};

int runWorker(std::uint16_t port) {
  // Each worker opens its own listening socket on the shared port, after the fork: reactors
  // (epoll descriptors, threads) must not cross a fork.
  auto listening = deft::listenTCP(deft::reactor(), port, deft::makeFactory<Greeter>(),
                                   {.interface = absl::GetFlag(FLAGS_interface), .reusePort = true});
  std::printf("worker %d listening on %s\n", ::getpid(), listening->getHost().toString().c_str());
  std::fflush(stdout);
  deft::reactor().run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::uint16_t port = absl::GetFlag(FLAGS_port);
  const int workers = absl::GetFlag(FLAGS_workers);
  if (port == 0) {
    std::fprintf(stderr, "--port must be a fixed port: the workers must agree on it\n");
    return 2;
  }
  std::vector<pid_t> children;
  for (int i = 0; i < workers; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      break;
    }
    if (pid == 0) return runWorker(port);
    children.push_back(pid);
  }
  // The parent forwards SIGINT/SIGTERM to its workers and waits for them.
  static std::vector<pid_t>* workerPids = &children;
  auto forward = [](int signal) {
    for (pid_t pid : *workerPids) ::kill(pid, signal);
  };
  ::signal(SIGINT, forward);
  ::signal(SIGTERM, forward);
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed == 0 ? 0 : 1;
}
