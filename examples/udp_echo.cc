// A UDP echo server: every datagram goes back to its sender (Twisted's DatagramProtocol echo).
//
//   ./bazelw run //examples:udp_echo -- --port=9999
//   echo hello | nc -u -w1 127.0.0.1 9999
//
// Replies written from datagramReceived leave together, one sendmmsg per batch of datagrams the
// port read with recvmmsg (udp/udp.h). Ctrl-C stops it.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "net/address.h"
#include "reactor/reactor.h"
#include "udp/udp.h"

ABSL_FLAG(std::uint16_t, port, 9999, "UDP port to listen on (0: any free port)");
ABSL_FLAG(std::string, interface, "127.0.0.1", "address to listen on");

namespace {

class Echo : public deft::DatagramProtocol {
 public:
  void datagramReceived(std::string_view data, const deft::Address& from) override {
    transport()->write(data, from);
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto port = deft::listenUDP(deft::reactor(), absl::GetFlag(FLAGS_port), std::make_shared<Echo>(),
                              {.interface = absl::GetFlag(FLAGS_interface),
                               .receiveBufferSize = 4 << 20,
                               .sendBufferSize = 4 << 20});
  std::printf("udp echo on %s\n", port->getHost().toString().c_str());
  std::fflush(stdout);
  deft::reactor().run();
  return 0;
}
