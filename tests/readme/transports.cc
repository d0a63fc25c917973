// The README's "Beyond TCP" example, compiled (and run by fragments_test).

#include "process/utils.h"
#include "udp/udp.h"
#include "unix/unix.h"
using namespace deft;

class UdpEcho : public DatagramProtocol {
  void datagramReceived(std::string_view data, const Address& from) override {
    transport()->write(data, from);               // one sendmmsg for a batch's replies
  }
};

Deferred<int> beyondTcp(std::shared_ptr<Factory> factory) {
  auto udp = listenUDP(reactor(), 9999, std::make_shared<UdpEcho>());
  auto unixPort = listenUNIX(reactor(), "/tmp/deft-readme.sock", factory, {.mode = 0600});
  std::vector<std::string> echo = {"echo", "hi"}, fail = {"sh", "-c", "exit 3"};  // named: g++ 12
  std::string out = co_await getProcessOutput(reactor(), "/bin/echo", echo);
  int status = co_await getProcessValue(reactor(), "/bin/sh", fail);
  co_await udp->stopListening();
  co_await unixPort->stopListening();
  co_return out == "hi\n" ? status : -1;          // 3
}
