#include "tcp/tcp.h"
using namespace deft;

class Echo : public Protocol {
  void dataReceived(std::string_view data) override { transport()->write(data); }
};

int main() {
  listenTCP(reactor(), 8000, makeFactory<Echo>());
  reactor().run();   // Ctrl-C stops it cleanly: shutdown triggers run, connections close
}
