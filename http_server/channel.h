// File: http_server/channel.h
//
// One server connection (Twisted's HTTPChannel): parses requests, runs their handlers one at a
// time in arrival order, writes the responses, and enforces the Site's timeouts and limits.
// Built by Site; users do not make these themselves.

#ifndef DEFT_HTTP_SERVER_CHANNEL_H_
#define DEFT_HTTP_SERVER_CHANNEL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "http/parser.h"
#include "http_server/request.h"
#include "http_server/response.h"
#include "http_server/router.h"
#include "protocol/protocol.h"

namespace deft::http {

class Site;

class HttpChannel final : public Protocol,
                          public RequestParser::Listener,
                          public IPushProducer {
 public:
  explicit HttpChannel(Site& site);
  ~HttpChannel() override;

  // Protocol
  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void readConnectionLost() override;
  void connectionLost(const Failure& reason) override;

  // RequestParser::Listener
  void onHead(RequestHead head, const BodyFraming& framing) override;
  void onBody(std::string_view data) override;
  void onMessageComplete(Headers trailers) override;

  // IPushProducer: the transport says when a streamed response may continue.
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override;

 private:
  // A request read (or being read), waiting for its turn or being answered.
  struct Pending {
    Request request;
    BodyFraming framing;
    bool complete = false;        // the whole message has been read
    bool dispatched = false;      // its handler is running
    bool expectContinue = false;  // send 100 Continue before reading its body
    int errorStatus = 0;          // answer with this error instead of a handler
    std::string errorText;
    Router::Route* route = nullptr;
    int routerStatus = 0;  // without a route: what the Router says to answer (404, 405, ...)
    std::string allow;     // ... and the path's methods, for 405 and OPTIONS
  };

  // Restarts the idle timeout from now.
  void startIdleTimer();
  void armIdleTimer(absl::Duration after);
  void cancelTimer(std::shared_ptr<IDelayedCall>& timer);
  void rejectRequest(int status, std::string text);
  void dispatchNext();
  void dispatch(Pending& pending);
  Deferred<void> respond(ServerResponse response);
  static ServerResponse routerAnswer(const Pending& pending);
  void writeError(int status, const std::string& text);
  void finishResponse();
  void closeConnection();
  void closeNow();
  void updateReading();
  void resumeParsingSoon();
  void startHeaderTimer();
  void finishInput();
  void sendContinueIfNeeded();

  Site& site_;
  RequestParser parser_;
  std::deque<Pending> pending_;
  std::optional<Deferred<void>> running_;  // the front request's handler and response
  std::uint64_t finishedResponses_ = 0;     // tells dispatch() whether it all finished at once
  std::shared_ptr<BodyWriter> writer_;     // while a response is streamed
  std::function<Deferred<void>(std::shared_ptr<BodyWriter>)> stream_;  // ... and what streams it
  std::shared_ptr<IDelayedCall> headerTimer_;
  std::shared_ptr<IDelayedCall> idleTimer_;
  std::shared_ptr<IDelayedCall> lingerTimer_;
  std::shared_ptr<IDelayedCall> abortTimer_;  // a close that waits for a client not reading
  bool closing_ = false;     // no more requests: close after the queued responses
  bool lastResponse_ = false;  // the response being written is the connection's last
  bool lingerOnClose_ = false;  // we stopped reading before the client stopped sending
  bool readClosed_ = false;     // the client has half-closed
  bool lingering_ = false;      // write side shut, discarding input until the client closes
  bool readPaused_ = false;   // we paused the transport's reading (updateReading says why)
  bool writePaused_ = false;  // the transport's write buffer is over its high-water mark
  absl::Time lastDrained_;    // when it last was not
  absl::Time lastActivity_;   // the last bytes read or response finished: the idle timer's start
  std::size_t bufferedAtIdleCheck_ = SIZE_MAX;  // what was buffered when the idle timer last fired
  std::size_t answeredThisTurn_ = 0;  // requests answered since this turn's input arrived
  bool resumeScheduled_ = false;
  bool lost_ = false;
};

}  // namespace deft::http

#endif  // DEFT_HTTP_SERVER_CHANNEL_H_
