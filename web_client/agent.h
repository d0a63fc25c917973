// File: web_client/agent.h
//
// Agent: HTTP/1.1 requests over a keep-alive connection pool (Twisted's twisted.web.client.Agent
// with an HTTPConnectionPool). `request` gives a Deferred<Response> that fires when the response
// head arrives; read the body from the Response.
//
//   auto agent = std::make_shared<Agent>(reactor);
//   agent->request("GET", "http://example.com/", {{"Accept", "text/html"}})
//       .addCallback([](Response r) { return r.readBody(); });
//
// THE POOL. Connections are kept per (scheme, host, port) after a response that allows it, up to
// `maxConnectionsPerHost` per host and `maxConnections` in all (requests beyond wait their turn;
// at the total limit an idle connection to another host is closed to make room), and for
// `idleTimeout`. When
// a pooled connection turns out dead before any byte of the response (the server's own idle
// timeout racing our request), an idempotent request is retried once on a new connection.
//
// HTTPS. `https://` URLs go over TLS (tls/), verified by default against the system's trust store
// and the URL's host (AgentOptions::tls changes that). Pooled by scheme, host and port: nothing
// meant for TLS is ever sent in clear. TLS sessions are resumed across connections to the same
// host. A handshake that fails errbacks with its TlsError (CertificateVerifyError,
// TlsHandshakeError...); a close without close_notify in the middle of a body is a
// PartialDownloadError, even for a body framed by the close.
//
// SAFETY. A URL or header with CR, LF or NUL is refused (InvalidMessageError) before anything is
// sent; a URL's percent-escapes are sent as given; its fragment is not sent. Schemes other than
// http and https fail with SchemeNotSupported.
//
// PROXIES. AgentOptions::proxy sends http:// requests to an HTTP proxy (absolute-form targets,
// pooled per proxy) and https:// ones through CONNECT tunnels (pooled per origin), proxy.h.
//
// Host names resolve through the reactor's resolver (c-ares). Cancelling the Deferred aborts the
// connection at once.
//
// LIFETIME. Whoever made the Agent owns it; requests do not keep it alive. Destroying it closes
// its idle connections; a request already on a connection carries on to its end; one still
// waiting for a connection errbacks with RequestNotSent; a connection still being made is closed
// when it is.

#ifndef DEFT_WEB_CLIENT_AGENT_H_
#define DEFT_WEB_CLIENT_AGENT_H_

#include <concepts>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "deferred/scope.h"
#include "http/headers.h"
#include "http/parser.h"
#include "http/url.h"
#include "net/address.h"
#include "reactor/reactor.h"
#include "tls/context.h"
#include "web_client/connection.h"
#include "web_client/content_decoding.h"
#include "web_client/cookie_jar.h"
#include "web_client/proxy.h"
#include "web_client/request_body.h"
#include "web_client/response.h"

namespace deft::web {

// Where to connect for a URL's host and port instead of resolving them: curl's --resolve
// (HOST:PORT:ADDRESS) and --connect-to (HOST:PORT:ADDRESS:PORT). The URL still gives the Host
// header, the pool a connection goes to and, for https, the name the server's certificate must
// carry. The first rule that matches is used.
struct ConnectTo {
  std::string host;          // the URL's host (any case); empty: any
  std::uint16_t port = 0;    // the URL's port; 0: any
  std::string address;       // an IP address; empty: the URL's host, resolved as usual
  std::uint16_t toPort = 0;  // 0: the URL's port
};

struct AgentOptions {
  absl::Duration connectTimeout = absl::Seconds(30);
  std::size_t maxConnectionsPerHost = 8;
  // Connections open or opening, all hosts together; 0: no limit but the per-host one.
  std::size_t maxConnections = 0;
  // A response with no byte arriving for this long fails with ReadTimeoutError (its time to
  // first byte included; a reader that paused the body is not timed). Infinite: none.
  absl::Duration readTimeout = absl::InfiniteDuration();
  absl::Duration idleTimeout = absl::Seconds(60);  // how long a pooled connection is kept
  std::string userAgent = "deft/0.1";
  http::ParserLimits limits = {};  // on response heads and bodies
  // For https: how servers are verified, and a client certificate if one is needed. Made into a
  // context on the first https request (bad files then errback with TlsConfigurationError).
  tls::ClientTlsOptions tls = {};
  // Or a context to share between Agents (its session cache too); `tls` is then unused.
  std::shared_ptr<tls::ClientContext> tlsContext = nullptr;
  // Every connection goes to this Unix socket ("@name": abstract) instead of the URL's host and
  // port, as curl's --unix-socket: the URL still gives the Host header, the target and, for https,
  // the name the server's certificate must carry. The Agent's constructor throws
  // std::invalid_argument for a name no socket can have (over 107 bytes).
  std::string unixSocket = {};
  // Rules that send connections for some hosts elsewhere (ConnectTo). The Agent's constructor
  // throws std::invalid_argument for an `address` that is not an IP address.
  std::vector<ConnectTo> connectTo = {};
  // Cookies (Twisted's CookieAgent): every response's Set-Cookie is stored here and matching
  // cookies go with every request, before those of a Cookie header the caller gave. Shared with
  // the caller, who may read, load or save it between requests.
  std::shared_ptr<CookieJar> cookieJar = nullptr;
  // HTTP proxies (proxy.h); none by default (ProxySettings::fromEnvironment() reads the usual
  // variables). The constructor throws std::invalid_argument for a proxy URL it cannot use.
  // Ignored with `unixSocket`.
  ProxySettings proxy = {};
  // AF_INET or AF_INET6: connect to hosts over that family only (curl's -4, -6). AF_UNSPEC: both,
  // by Happy Eyeballs.
  int addressFamily = AF_UNSPEC;
};

// Per-request settings that are not headers.
struct RequestOptions {
  // The body may not exceed this many bytes: past it the body errbacks with an http::ParseError
  // of kind kBodyTooLarge (getPage says ResponseTooLarge). 0: the Agent's limit.
  std::uint64_t maxBodyBytes = 0;
  // Overrides AgentOptions::readTimeout for this request when set.
  std::optional<absl::Duration> readTimeout = std::nullopt;
  // Offer compressed bodies (Accept-Encoding, unless given) and decode the response's body as it
  // arrives, within `decodingLimits` (content_decoding.h).
  bool decodeContent = false;
  ContentDecodingLimits decodingLimits = {};
  // For a streamed body: send "Expect: 100-continue" and wait for the server's go-ahead (a second
  // at most) before the body. Unset: for bodies of unknown length or of 1 MiB or more (curl's
  // rule for POSTs).
  std::optional<bool> expectContinue = std::nullopt;
};

class Agent : public std::enable_shared_from_this<Agent> {
 public:
  explicit Agent(Reactor& reactor, AgentOptions options = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Agent::request(method, url, headers, body)
  //
  // Sends the request on a pooled or new connection. Host, User-Agent and Content-Length (when
  // there is a body, or the method usually has one) are added unless given.
  Deferred<Response> request(std::string method, std::string_view url, http::Headers headers = {},
                             std::string body = {}, RequestOptions options = {});
  Deferred<Response> request(std::string method, const http::Url& url, http::Headers headers = {},
                             std::string body = {}, RequestOptions options = {});
  // With a body streamed as it is produced (request_body.h): Content-Length when its length is
  // known, chunked otherwise. Never retried on another connection. (A template only so that a
  // `{}` body still means the empty string.)
  template <std::same_as<RequestBody> Body>
  Deferred<Response> request(std::string method, const http::Url& url, http::Headers headers,
                             Body body, RequestOptions options = {}) {
    return requestStreamed(std::move(method), url, std::move(headers), std::move(body), std::move(options));
  }
  template <std::same_as<RequestBody> Body>
  Deferred<Response> request(std::string method, std::string_view url, http::Headers headers,
                             Body body, RequestOptions options = {}) {
    return requestStreamed(std::move(method), url, std::move(headers), std::move(body), std::move(options));
  }
  Deferred<Response> requestStreamed(std::string method, const http::Url& url,
                                     http::Headers headers, RequestBody body,
                                     RequestOptions options = {});
  Deferred<Response> requestStreamed(std::string method, std::string_view url,
                                     http::Headers headers, RequestBody body,
                                     RequestOptions options = {});

  // Closes every idle connection (Twisted's HTTPConnectionPool.closeCachedConnections). Requests
  // in progress keep theirs.
  void closeCachedConnections();

  // Pool statistics, for tests and the curious.
  std::size_t idleConnections() const;
  std::size_t connectionsOpened() const { return opened_; }
  std::size_t openConnections() const { return open_; }
  std::size_t knownHosts() const { return hosts_.size(); }  // those with pool entries

  const AgentOptions& options() const { return options_; }
  Reactor& reactorRef() { return reactor_; }

 private:
  struct Host;
  struct Waiter;

  // The proxy `url` goes through, or null for a direct connection.
  const http::Url* proxyFor(const http::Url& url) const;
  // Which pool a request for `url` takes its connection from.
  std::string connectionKey(const http::Url& url) const;
  Deferred<ClientConnection*> getConnection(const http::Url& url, bool fresh);
  Deferred<Response> send(std::string method, const http::Url& url, http::Headers headers,
                          std::string body, std::shared_ptr<RequestBody> streamed,
                          RequestOptions options);
  void connect(const std::string& key, const http::Url& url);
  void release(const std::string& key, ClientConnection* connection, bool justMade = false);
  void forget(const std::string& key, ClientConnection* connection);
  void serveWaiters(const std::string& key, bool afterFailure = false);
  // Whether `host` may open another connection under both limits.
  bool mayOpen(const Host& host) const;
  void startConnection(const std::string& key, Host& host, const http::Url& url);
  // A connection ended or failed: hosts held back by the total limit get their turn, in order.
  void serveHeldBack();
  // Whether a host other than `except` waits for a connection only the total limit denies it.
  bool anyHeldBack(const std::string& except) const;
  // At the total limit: closes the longest-idle connection of another host, if there is one.
  void closeAnIdleConnection();
  // Drops the hosts with no connection, attempt or waiter (from the loop: see getConnection).
  void pruneHosts();

  AgentOptions options_;
  Reactor& reactor_;
  std::shared_ptr<tls::ClientContext> tlsContext_;  // made on the first https request
  std::optional<Address> unixSocket_;  // options_.unixSocket, parsed once
  std::optional<http::Url> httpProxy_;   // options_.proxy, parsed once
  std::optional<http::Url> httpsProxy_;
  absl::flat_hash_map<std::string, std::unique_ptr<Host>> hosts_;
  // A client of many hosts does not keep one entry per host forever: past pruneAt_ hosts, the
  // unused ones go, and the next pruning waits until twice as many remain.
  static constexpr std::size_t kPruneFloor = 64;
  std::size_t pruneAt_ = kPruneFloor;
  bool pruneScheduled_ = false;
  std::size_t opened_ = 0;
  std::size_t open_ = 0;  // open or opening, all hosts
  std::deque<std::string> heldBack_;  // hosts with waiters held back by maxConnections, in order
  // What the pool's timers, connectors and connections call back through: nothing of this
  // Agent is touched after it is destroyed.
  Scope scope_;
};

// An Authorization (or Proxy-Authorization) value for Basic credentials (RFC 7617): from a URL's
// "user:password" (percent-escapes decoded), or from the two. Set it as a request header: the
// redirect code drops it when a redirect leaves the origin.
std::string basicAuthorization(std::string_view userinfo);
std::string basicAuthorization(std::string_view user, std::string_view password);

// Whether a retry of `method` cannot do twice what once would (RFC 9110 §9.2.2).
bool isIdempotent(std::string_view method);

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_AGENT_H_
