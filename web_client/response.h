// File: web_client/response.h
//
// A response as the Agent hands it over: when its head has arrived, before its body. The body is
// then read whole (readBody, Twisted's `readBody(response)`) or streamed (deliverBody). Copies
// are handles on the same response.
//
//   agent->request("GET", "http://example.com/")
//       .addCallback([](Response response) { return response.readBody(); })
//       .addCallback([](std::string body) { ... });

#ifndef DEFT_WEB_CLIENT_RESPONSE_H_
#define DEFT_WEB_CLIENT_RESPONSE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "http/headers.h"
#include "http/message.h"
#include "http/url.h"
#include "net/address.h"

namespace deft::web {

// Where a streamed body goes (Twisted's IProtocol given to deliverBody).
struct BodyConsumer {
  absl::AnyInvocable<void(std::string_view)> dataReceived;
  // The end: no failure when the body is complete; PartialDownloadError, ParseError,
  // ConnectionLost... otherwise.
  absl::AnyInvocable<void(std::optional<Failure>)> connectionLost;
};

namespace internal {
struct ResponseBody;
}

class Response {
 public:
  int code() const;
  const std::string& phrase() const;
  const http::Version& version() const;
  const http::Headers& headers() const;
  // The URL this response answers (after redirects: the last one).
  const http::Url& url() const;
  // How many redirects led here (RedirectAgent sets it).
  int redirects() const;
  // The request this answers, as it was sent (Twisted's Response.request), and the address of the
  // server that answered (for curl's -v and %{remote_ip}).
  const http::RequestHead& request() const;
  const std::optional<Address>& peer() const;
  const std::optional<Address>& local() const;  // this end of the connection
  // When the request went out, and, when it opened the connection it went on (rather than
  // reuse one), when that connection was ready (connected; for https, the handshake done).
  // All on the reactor's clock (Reactor::seconds()).
  absl::Time sentAt() const;
  std::optional<absl::Time> connectedAt() const;
  // For a new connection: when its name was resolved and its TCP connection made (InfinitePast
  // for a connection that did not go through a Connector).
  std::optional<absl::Time> resolvedAt() const;
  std::optional<absl::Time> tcpConnectedAt() const;
  // For https: the certificates the server sent on the connection this came on, DER-encoded, its
  // own first (tls::TlsProtocol::peerCertificates). Empty for plain HTTP.
  const std::vector<std::string>& peerCertificates() const;

  // The whole body, once it has all arrived. A response cut short errbacks with
  // PartialDownloadError, carrying what arrived. Cancelling it aborts the connection. Call once.
  Deferred<std::string> readBody();

  // Streams the body to `consumer` as it arrives, instead. Call once, instead of readBody.
  void deliverBody(BodyConsumer consumer);
  // Backpressure for deliverBody: stop / restart reading from the connection.
  void pauseProducing();
  void resumeProducing();

  explicit Response(std::shared_ptr<internal::ResponseBody> body) : body_(std::move(body)) {}
  internal::ResponseBody& body() const { return *body_; }
  const std::shared_ptr<internal::ResponseBody>& sharedBody() const { return body_; }

 private:
  std::shared_ptr<internal::ResponseBody> body_;
};

namespace internal {

// The state a Response handle shares with the connection that fills it.
struct ResponseBody {
  http::ResponseHead head;
  http::Url url;
  int redirects = 0;
  std::shared_ptr<const http::RequestHead> request;
  std::optional<Address> peer;
  std::optional<Address> local;
  absl::Time sentAt;
  std::optional<absl::Time> connectedAt;
  std::optional<absl::Time> resolvedAt;
  std::optional<absl::Time> tcpConnectedAt;
  std::shared_ptr<const std::vector<std::string>> peerCertificates;  // one per connection

  // What has arrived, until a reader or consumer takes it. A body whose length is known is
  // reserved whole (the connection does that) and filled with one copy; one whose length is not
  // known grows as a rope: a full buffer is set aside, never reallocated and copied, and the
  // parts are joined once at the end.
  std::string received;
  std::vector<std::string> receivedParts;  // full buffers that came before `received`
  bool complete = false;
  std::optional<Failure> failure;
  std::optional<Deferred<std::string>> reader;
  std::optional<BodyConsumer> consumer;
  // Set by the connection while it is attached: abort, pause and resume its transport.
  absl::AnyInvocable<void()> abort;
  absl::AnyInvocable<void(bool)> pause;

  // Everything above (the head and what is known of the exchange), from another body: a layer
  // that makes a new body of an old one (content decoding) keeps the rest.
  void copyExchangeFrom(const ResponseBody& other);

  void append(std::string_view data);
  // Everything that has arrived, in one string (empties the buffers).
  std::string takeReceived();
  void finish();
  void fail(Failure reason);
  // Hands the end (the body, or the failure) to the reader or consumer, if there is one yet.
  void settle();
};

}  // namespace internal
}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_RESPONSE_H_
