// A child for stdio_test: its stdin and stdout are a StandardIO. It answers each line
// upper-cased, says "bye" when stdin ends, and exits when its transport has closed.

#include <cctype>
#include <memory>
#include <string>

#include "process/stdio.h"
#include "protocol/line_receiver.h"
#include "reactor/reactor.h"

namespace {

class Shout : public deft::LineReceiver {
 public:
  void lineReceived(std::string_view line) override {
    std::string upper(line);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    sendLine(upper);
  }
  void readConnectionLost() override {
    sendLine("bye");
    transport()->loseConnection();
  }
  void connectionLost(const deft::Failure&) override { deft::reactor().stop(); }
};

}  // namespace

int main() {
  deft::startStandardIO(deft::reactor(), std::make_unique<Shout>());
  deft::reactor().run();
  return 0;
}
