// Quote of the day (RFC 865) on deft: the server sends one quote to each connection and closes
// it; the client reads until the server closes and fires with what it read.

#ifndef QOTD_QOTD_H_
#define QOTD_QOTD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace qotd {

// A factory whose connections each get the next of `quotes`, in turn.
std::shared_ptr<deft::Factory> quoteFactory(std::vector<std::string> quotes);

// Connects to a quote server and fires with the quote, or errbacks with why it could not.
deft::Deferred<std::string> fetchQuote(deft::Reactor& reactor, std::string host,
                                       std::uint16_t port);

}  // namespace qotd

#endif  // QOTD_QOTD_H_
