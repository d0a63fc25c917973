#include "qotd.h"

#include <string_view>
#include <utility>

#include "net/errors.h"
#include "tcp/tcp.h"

namespace qotd {
namespace {

class QuoteServer : public deft::Protocol {
 public:
  explicit QuoteServer(std::string quote) : quote_(std::move(quote)) {}

  void connectionMade() override {
    transport()->write(quote_);
    transport()->loseConnection();  // after what was written has been sent
  }

 private:
  std::string quote_;
};

class QuoteFactory : public deft::Factory {
 public:
  explicit QuoteFactory(std::vector<std::string> quotes) : quotes_(std::move(quotes)) {}

  std::unique_ptr<deft::Protocol> buildProtocol(const deft::Address&) override {
    std::string quote = quotes_[next_++ % quotes_.size()];
    return std::make_unique<QuoteServer>(std::move(quote));
  }

 private:
  std::vector<std::string> quotes_;
  std::size_t next_ = 0;
};

class QuoteClient : public deft::Protocol {
 public:
  explicit QuoteClient(deft::Deferred<std::string> quote) : quote_(std::move(quote)) {}

  void dataReceived(std::string_view data) override { received_.append(data); }

  void connectionLost(const deft::Failure& reason) override {
    if (reason.check<deft::ConnectionDone>()) {
      quote_.callback(std::move(received_));
    } else {
      quote_.errback(reason);  // a reset before the server closed: not a whole quote
    }
  }

 private:
  deft::Deferred<std::string> quote_;
  std::string received_;
};

}  // namespace

std::shared_ptr<deft::Factory> quoteFactory(std::vector<std::string> quotes) {
  return std::make_shared<QuoteFactory>(std::move(quotes));
}

deft::Deferred<std::string> fetchQuote(deft::Reactor& reactor, std::string host,
                                       std::uint16_t port) {
  deft::Deferred<std::string> quote;
  deft::Deferred<QuoteClient*> connected = deft::connectProtocol(
      reactor, std::move(host), port, std::make_unique<QuoteClient>(quote));
  connected.addErrback([quote](deft::Failure f) mutable -> QuoteClient* {
    quote.errback(f);  // it never connected: connectionLost will not run
    return nullptr;
  });
  return quote;
}

}  // namespace qotd
