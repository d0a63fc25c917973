// A test server that answers with exact bytes: each connection runs `script` on every piece of
// data it receives (and once at connect with an empty view), so a test can send truncations,
// trickles, garbage, or nothing at all.

#ifndef DEFT_TESTS_WEB_CLIENT_SCRIPTED_SERVER_H_
#define DEFT_TESTS_WEB_CLIENT_SCRIPTED_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "tcp/tcp.h"

namespace deft::web::testing {

struct ScriptedConnection {
  ITransport* transport = nullptr;
  std::string received;
  int requests = 0;  // blank lines ending a head seen so far
  int answered = 0;  // for the script's own bookkeeping
  bool lost = false;
};

using Script = std::function<void(ScriptedConnection&)>;

class ScriptedProtocol : public Protocol {
 public:
  ScriptedProtocol(Script script, std::shared_ptr<std::vector<std::shared_ptr<ScriptedConnection>>> all)
      : script_(std::move(script)), state_(std::make_shared<ScriptedConnection>()) {
    all->push_back(state_);
  }
  void connectionMade() override {
    state_->transport = transport();
    script_(*state_);
  }
  void dataReceived(std::string_view data) override {
    const std::size_t before = state_->received.size();
    state_->received.append(data);
    for (std::size_t at = before >= 3 ? before - 3 : 0;
         (at = state_->received.find("\r\n\r\n", at)) != std::string::npos; at += 4) {
      ++state_->requests;
    }
    script_(*state_);
  }
  void connectionLost(const Failure&) override {
    state_->lost = true;
    state_->transport = nullptr;
  }

 private:
  Script script_;
  std::shared_ptr<ScriptedConnection> state_;
};

struct ScriptedServer {
  ScriptedServer(Reactor& reactor, Script script)
      : connections(std::make_shared<std::vector<std::shared_ptr<ScriptedConnection>>>()) {
    auto all = connections;
    port = listenTCP(reactor, 0, makeFactory([script, all]() -> std::unique_ptr<Protocol> {
                       return std::make_unique<ScriptedProtocol>(script, all);
                     }),
                     {.interface = "127.0.0.1"});
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port->getHost().port()) + path;
  }

  std::shared_ptr<std::vector<std::shared_ptr<ScriptedConnection>>> connections;
  std::shared_ptr<ListeningPort> port;
};

}  // namespace deft::web::testing

#endif  // DEFT_TESTS_WEB_CLIENT_SCRIPTED_SERVER_H_
