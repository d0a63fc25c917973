// File: web_client/connection.h
//
// One client HTTP/1.1 connection (Twisted's HTTP11ClientProtocol): sends one request at a time
// and parses its response. The Agent's pool owns the choice of which connection carries what;
// users do not make these themselves.

#ifndef DEFT_WEB_CLIENT_CONNECTION_H_
#define DEFT_WEB_CLIENT_CONNECTION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "deferred/reactor_time.h"
#include "http/parser.h"
#include "protocol/protocol.h"
#include "reactor/reactor.h"
#include "tls/context.h"
#include "web_client/request_body.h"
#include "web_client/response.h"

namespace deft::web {

class ClientConnection final : public Protocol, public http::ResponseParser::Listener {
 public:
  // `reactor` times the read timeout and reads a streamed body's pipe; it outlives the
  // connection.
  explicit ClientConnection(Reactor& reactor) : reactor_(reactor) {}

  // Sends a request (head already serialized, body after it). The Deferred fires with the
  // Response when its head has arrived. Cancelling it aborts the connection. When no byte of the
  // response arrives for `readTimeout` (while its reader has not paused it), the exchange fails
  // with ReadTimeoutError and the connection is aborted.
  //
  // With `body`, `wire` is the head alone and the body is streamed after it (request_body.h);
  // with `expectContinue` too, only once the server says "100 Continue" (or a second passes
  // without a word, as curl waits). The read timeout starts when the body is all sent.
  Deferred<Response> request(std::string wire, std::shared_ptr<const http::RequestHead> head,
                             const http::Url& url, http::ParserLimits limits,
                             absl::Duration readTimeout = absl::InfiniteDuration(),
                             std::shared_ptr<RequestBody> body = nullptr,
                             bool expectContinue = false);

  // Whether no byte of the current response has arrived (a retry is safe for idempotent
  // requests when a reused connection fails so).
  bool sawResponseBytes() const { return sawBytes_; }
  bool busy() const { return busy_; }
  // Requests this connection has answered completely.
  int served() const { return served_; }

  // A CONNECT tunnel (proxy.h): once connected to the proxy, this connection asks it for a
  // tunnel to `authority` ("host:port"), then speaks TLS to `host` inside it. `onMade` runs when
  // the tunnel is open (the handshake goes on while the first request waits for it); a proxy
  // that refuses, closes or stays silent past `timeout` reports through `failed` instead, and the
  // connection ends without `onLost`.
  struct Tunnel {
    std::string connectRequest;  // the CONNECT request's head, serialized
    Reactor* reactor = nullptr;
    std::shared_ptr<tls::ClientContext> context;
    std::string host;
    absl::Duration timeout = absl::Seconds(30);
  };
  void setTunnel(Tunnel tunnel, absl::AnyInvocable<void(const Failure&)> failed) {
    tunnel_ = std::move(tunnel);
    onTunnelFailed_ = std::move(failed);
  }

  // When its name was resolved and its TCP connection made (the connector's milestones), for
  // the first response's timings.
  void setConnectTimes(absl::Time resolvedAt, absl::Time tcpConnectedAt) {
    resolvedAt_ = resolvedAt;
    tcpConnectedAt_ = tcpConnectedAt;
  }

  void setOnIdle(absl::AnyInvocable<void(ClientConnection*)> f) { onIdle_ = std::move(f); }
  void setOnLost(absl::AnyInvocable<void(ClientConnection*)> f) { onLost_ = std::move(f); }
  void setOnMade(absl::AnyInvocable<void(ClientConnection*)> f) { onMade_ = std::move(f); }

  // Protocol
  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void connectionLost(const Failure& reason) override;

  // ResponseParser::Listener
  void onInformational(http::ResponseHead head) override;
  void onHead(http::ResponseHead head, const http::BodyFraming& framing) override;
  void onBody(std::string_view data) override;
  void onMessageComplete(http::Headers trailers) override;

 private:
  void failExchange(Failure reason);
  // The body ended before its end: PartialDownloadError with what arrived.
  void failCutShort(std::string why, bool tlsTruncated = false);
  void abort();
  // The read timeout's timer: (re)started when a request goes out or reading resumes, stopped
  // when the exchange ends or its reader pauses. Bytes arriving only move `lastByte_`: the timer
  // checks it when it fires, rather than being rescheduled on every read.
  void startReadTimer(absl::Duration after);
  void stopReadTimer();
  void readTimerFired();
  // The streamed body: started (now, or after 100 Continue), finished, or no longer wanted.
  void startBody();
  void bodyFinished(const std::shared_ptr<RequestBodyWriter>& writer, Outcome<void> outcome,
                    std::optional<std::uint64_t> length);
  void dropBody();
  // While tunnelling: the proxy's answer to CONNECT.
  void tunnelDataReceived(std::string_view data);
  void tunnelFailed(Failure reason);

  Reactor& reactor_;
  absl::Duration readTimeout_ = absl::InfiniteDuration();
  absl::Time lastByte_;
  std::shared_ptr<IDelayedCall> readTimer_;
  std::optional<http::ResponseParser> parser_;
  std::optional<Deferred<Response>> waitingForHead_;
  std::shared_ptr<internal::ResponseBody> body_;
  http::Url url_;
  std::shared_ptr<const http::RequestHead> requestHead_;
  bool keepAlive_ = false;
  bool busy_ = false;
  bool sawBytes_ = false;
  bool lost_ = false;
  bool justCompleted_ = false;  // a response ended inside feed(): hand back after it returns
  int served_ = 0;
  absl::Time resolvedAt_ = absl::InfinitePast();
  absl::Time tcpConnectedAt_ = absl::InfinitePast();
  absl::Time madeAt_;  // when connectionMade ran (after a tunnel's CONNECT)
  absl::Time sentAt_;  // when the current request went out
  // The certificates the server sent (https), read from the TLS layer at the first response.
  std::shared_ptr<const std::vector<std::string>> peerCertificates_;
  absl::AnyInvocable<void(ClientConnection*)> onIdle_;
  absl::AnyInvocable<void(ClientConnection*)> onLost_;
  absl::AnyInvocable<void(ClientConnection*)> onMade_;
  std::shared_ptr<RequestBody> pendingBody_;  // streamed, not started yet
  std::shared_ptr<RequestBodyWriter> writer_;  // streamed, being written
  std::shared_ptr<IDelayedCall> continueTimer_;
  std::optional<Tunnel> tunnel_;  // until the proxy has opened it
  std::string tunnelResponse_;
  std::shared_ptr<IDelayedCall> tunnelTimer_;
  absl::AnyInvocable<void(const Failure&)> onTunnelFailed_;
};

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_CONNECTION_H_
