// An echo server: whatever a client sends comes back.
//
//   ./bazelw run //examples:echo_server -- --port=8000
//   ./bazelw run //examples:echo_client -- --port=8000 hello world
//   ./bazelw run //examples:echo_server -- --unix=/tmp/echo.sock    (a Unix socket instead)
//
// Ctrl-C stops it cleanly (the reactor's SIGINT handling). A client that sends without reading
// what comes back is paused, not buffered for: each connection's transport is registered as the
// producer of its own output (Twisted's `transport.registerProducer(transport, True)`), so
// reading stops while more than the high-water mark (64 KiB) waits to be sent.

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "unix/unix.h"

ABSL_FLAG(std::uint16_t, port, 8000, "TCP port to listen on (0: any free port)");
ABSL_FLAG(std::string, interface, "127.0.0.1", "address to listen on");
ABSL_FLAG(std::string, unix, "",
          "listen on this Unix socket instead of a TCP port ('@name': abstract namespace)");

namespace {

class Echo : public deft::Protocol {
 public:
  void connectionMade() override {
    transport()->registerProducer(static_cast<deft::IPushProducer*>(transport()));
  }
  void dataReceived(std::string_view data) override { transport()->write(data); }
  void readConnectionLost() override {
    transport()->unregisterProducer();  // a transport closes only once its producer is gone
    transport()->loseConnection();
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::shared_ptr<deft::ListeningPort> port;
  if (!absl::GetFlag(FLAGS_unix).empty()) {
    port = deft::listenUNIX(deft::reactor(), absl::GetFlag(FLAGS_unix), deft::makeFactory<Echo>());
  } else {
    port = deft::listenTCP(deft::reactor(), absl::GetFlag(FLAGS_port), deft::makeFactory<Echo>(),
                           {.interface = absl::GetFlag(FLAGS_interface)});
  }
  std::printf("echo server on %s\n", port->getHost().toString().c_str());
  std::fflush(stdout);
  deft::reactor().run();
  return 0;
}
