// File: http_server/site.h
//
// An HTTP/1.1 server on the reactor (Twisted's twisted.web.server.Site): a Factory that answers
// every connection with the Router's handlers. Listen with listenTCP like any other protocol, so
// SO_REUSEPORT multi-process serving works the same way.
//
//   Router router;
//   router.route("/", [](Request) { return ServerResponse::text(200, "hello\n"); });
//   auto site = std::make_shared<Site>(reactor, std::move(router));
//   listenTCP(reactor, 8080, site);
//   reactor().run();
//
// Handlers never block the loop: a slow one (a timer, a thread, another HTTP request) is a
// Deferred, and the server answers other connections meanwhile. On one connection, requests are
// answered in order: pipelined requests wait for the ones before them.
//
// Bad requests get the status RFC 9110 names (400, 413 body too large, 414 target too long, 431
// head too large, 505, 417 for an Expect we do not know, 501 for a transfer coding we do not
// know), and the connection then closes gracefully: the server stops reading requests, shuts its
// write side once the response is out, and discards what the client still sends for up to
// `lingerTimeout`, so the client reads the response rather than a reset. A handler that throws
// or errbacks gives a 500; the failure goes to the error reporter (stderr by default) and the
// server lives on. A client that trickles its head gets 408 after `headerTimeout`; one that sends
// nothing for `idleTimeout` between requests (or while we wait for its body) is closed.

#ifndef DEFT_HTTP_SERVER_SITE_H_
#define DEFT_HTTP_SERVER_SITE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "http/parser.h"
#include "http_server/router.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"

namespace deft::http {

struct ServerOptions {
  ParserLimits limits = {.maxHeaderBytes = 16 * 1024,
                         .maxHeaderCount = 100,
                         .maxBodyBytes = 10 * 1024 * 1024};
  absl::Duration headerTimeout = absl::Seconds(30);  // first byte of a head to its end
  absl::Duration idleTimeout = absl::Seconds(60);    // silence while we wait for the client
  // After an error response the server stops reading requests but keeps discarding what the
  // client still sends, for at most this long, before it closes (RFC 9112 §9.6): closing with
  // unread input makes the kernel send a reset, which can destroy the response in flight.
  absl::Duration lingerTimeout = absl::Seconds(2);
  // Complete requests queued behind the one being answered before we stop reading.
  std::size_t maxPipelined = 16;
  std::string serverName = "deft";
};

class Site : public Factory {
 public:
  // How a handler's failure is reported: the request's method and target, and the failure.
  using ErrorReporter = absl::AnyInvocable<void(const Request&, const Failure&)>;

  Site(Reactor& reactor, Router router, ServerOptions options = {});

  std::unique_ptr<Protocol> buildProtocol(const Address& address) override;

  Router& router() { return router_; }
  const ServerOptions& options() const { return options_; }
  Reactor& reactorRef() { return reactor_; }

  // Replaces the default reporter, which writes one line per failure to stderr.
  void setErrorReporter(ErrorReporter reporter) { reporter_ = std::move(reporter); }
  void reportError(const Request& request, const Failure& failure) { reporter_(request, failure); }

  // Connections open now, and requests answered since start (for tests and monitoring).
  std::size_t openConnections() const { return openConnections_; }
  std::size_t requestsAnswered() const { return requestsAnswered_; }

  // The Date header's value for now, formatted at most once a second.
  const std::string& dateHeader();

 private:
  friend class HttpChannel;

  Router router_;
  ServerOptions options_;
  Reactor& reactor_;
  ErrorReporter reporter_;
  std::size_t openConnections_ = 0;
  std::size_t requestsAnswered_ = 0;
  std::int64_t dateSecond_ = -1;
  std::string date_;
};

}  // namespace deft::http

#endif  // DEFT_HTTP_SERVER_SITE_H_
