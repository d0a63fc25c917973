// An echo client: sends its arguments as one line, prints what comes back, and exits.
//
//   ./bazelw run //examples:echo_client -- --port=8000 hello world
//
// Written with react() and a Deferred that the protocol fires, the way Twisted clients are.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_join.h"
#include "deferred/deferred.h"
#include "net/errors.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "server to connect to");
ABSL_FLAG(std::uint16_t, port, 8000, "server port");

namespace {

using deft::Deferred;
using deft::Failure;

// Sends one message, collects the echo until it has all of it, then closes.
class EchoClient : public deft::Protocol {
 public:
  EchoClient(std::string message, Deferred<std::string> done)
      : message_(std::move(message)), done_(std::move(done)) {}
  void connectionMade() override { transport()->write(message_); }
  void dataReceived(std::string_view data) override {
    received_.append(data);
    if (received_.size() >= message_.size()) transport()->loseConnection();
  }
  void connectionLost(const Failure& reason) override {
    if (received_.size() >= message_.size()) {
      done_.callback(received_);
    } else {
      done_.errback(reason);
    }
  }

 private:
  std::string message_;
  std::string received_;
  Deferred<std::string> done_;
};

class EchoClientFactory : public deft::ClientFactory {
 public:
  EchoClientFactory(std::string message, Deferred<std::string> done)
      : message_(std::move(message)), done_(std::move(done)) {}
  std::unique_ptr<deft::Protocol> buildProtocol(const deft::Address&) override {
    return std::make_unique<EchoClient>(message_, done_);
  }
  void clientConnectionFailed(deft::Connector&, const Failure& reason) override {
    done_.errback(reason);
  }

 private:
  std::string message_;
  Deferred<std::string> done_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> words = absl::ParseCommandLine(argc, argv);
  std::string message = absl::StrJoin(words.begin() + 1, words.end(), " ");
  if (message.empty()) message = "hello from deft";
  return deft::react([&](deft::Reactor& reactor) -> Deferred<void> {
    Deferred<std::string> reply;
    deft::connectTCP(reactor, absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_port),
                     std::make_shared<EchoClientFactory>(message, reply), absl::Seconds(10));
    std::string echoed = co_await reply;
    std::printf("%s\n", echoed.c_str());
  });
}
