#include "qotd.h"

#include <gtest/gtest.h>

#include "net/errors.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"

namespace {

using deft::Deferred;
using deft::Reactor;

TEST(Qotd, EachConnectionGetsTheNextQuote) {
  deft::ReactorScope scope;  // a reactor of this test's own
  std::vector<std::string> got;
  int code = deft::react([&](Reactor& reactor) -> Deferred<void> {
    auto port = deft::listenTCP(reactor, 0, qotd::quoteFactory({"one\n", "two\n"}),
                                {.interface = "127.0.0.1"});
    for (int i = 0; i < 3; ++i) {
      got.push_back(co_await qotd::fetchQuote(reactor, "127.0.0.1", port->getHost().port()));
    }
    port->stopListening();
  }, scope.reactor());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"one\n", "two\n", "one\n"}));
}

TEST(Qotd, NoServerIsAConnectionRefusedError) {
  deft::ReactorScope scope;
  bool refused = false;
  int code = deft::react([&](Reactor& reactor) -> Deferred<void> {
    // A port that was listening a moment ago and is closed now.
    auto port = deft::listenTCP(reactor, 0, qotd::quoteFactory({"x"}), {.interface = "127.0.0.1"});
    std::uint16_t number = port->getHost().port();
    port->stopListening();
    try {
      co_await qotd::fetchQuote(reactor, "127.0.0.1", number);
    } catch (const deft::ConnectionRefusedError&) {
      refused = true;
    }
  }, scope.reactor());
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(refused);
}

}  // namespace
