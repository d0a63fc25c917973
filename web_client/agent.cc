#include "web_client/agent.h"

#include <algorithm>
#include <stdexcept>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "http/errors.h"
#include "http/message.h"
#include "tcp/tcp.h"
#include "tls/tls.h"
#include "web_client/errors.h"

namespace deft::web {

struct Agent::Waiter {
  Deferred<ClientConnection*> ready;
  http::Url url;
};

struct Agent::Host {
  std::vector<ClientConnection*> idle;
  absl::flat_hash_map<ClientConnection*, std::shared_ptr<IDelayedCall>> idleTimers;
  std::size_t open = 0;        // connected or connecting
  std::size_t connecting = 0;  // of which still connecting: each will serve one waiter
  std::deque<std::shared_ptr<Waiter>> waiters;
};

namespace {

std::string poolKey(const http::Url& url) {
  return absl::StrCat(url.scheme, "://", url.host, ":", url.port);
}

// "host:port", with an IPv6 address in brackets.
std::string authority(const http::Url& url) {
  return absl::StrCat(url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host,
                      ":", url.port);
}

std::string proxyAuthorization(const http::Url& proxy) { return basicAuthorization(proxy.userinfo); }

// Builds the connection for one connect attempt and reports its fate to the Agent.
class PoolFactory final : public ClientFactory {
 public:
  // Each callable is bound to the Agent's scope: after the Agent is gone they do nothing (and
  // `made` and `idle` return nothing, rather than true).
  using OnConnection = absl::AnyInvocable<void(ClientConnection*)>;
  using OnReady = absl::AnyInvocable<std::optional<bool>(ClientConnection*)>;
  PoolFactory(Reactor& reactor, OnReady made, OnConnection lost, OnReady idle,
              absl::AnyInvocable<void(const Failure&)> failed,
              std::optional<ClientConnection::Tunnel> tunnel = std::nullopt)
      : reactor_(reactor),
        tunnel_(std::move(tunnel)),
        made_(std::move(made)),
        lost_(std::move(lost)),
        idle_(std::move(idle)),
        failed_(std::move(failed)) {}

  // The connector of this factory's one attempt: alive until it builds or fails.
  void startedConnecting(Connector& connector) override { connector_ = &connector; }

  std::unique_ptr<Protocol> buildProtocol(const Address&) override {
    auto connection = std::make_unique<ClientConnection>(reactor_);
    if (connector_ != nullptr) connection->setConnectTimes(connector_->resolvedAt(), connector_->connectedAt());
    // `this` is safe here: the connection's connector and transport hold this factory.
    connection->setOnMade([this](ClientConnection* c) {
      // Made after its Agent was destroyed: nobody will use it.
      if (!made_(c) && c->transport() != nullptr) c->transport()->loseConnection();
    });
    connection->setOnLost([this](ClientConnection* c) { lost_(c); });
    connection->setOnIdle([this](ClientConnection* c) {
      // Its response done after its Agent was destroyed: no pool to go back to.
      if (!idle_(c) && c->transport() != nullptr) c->transport()->loseConnection();
    });
    if (tunnel_) connection->setTunnel(*tunnel_, [this](const Failure& reason) { failed_(reason); });
    return connection;
  }
  void clientConnectionFailed(Connector&, const Failure& reason) override { failed_(reason); }

 private:
  Reactor& reactor_;
  Connector* connector_ = nullptr;
  std::optional<ClientConnection::Tunnel> tunnel_;
  OnReady made_;
  OnConnection lost_;
  OnReady idle_;
  absl::AnyInvocable<void(const Failure&)> failed_;
};

}  // namespace

std::string basicAuthorization(std::string_view userinfo) {
  std::string credentials;
  for (std::size_t i = 0; i < userinfo.size(); ++i) {
    int byte = 0;
    if (userinfo[i] == '%' && i + 2 < userinfo.size() &&
        absl::SimpleHexAtoi(std::string(userinfo.substr(i + 1, 2)), &byte)) {
      credentials += static_cast<char>(byte);
      i += 2;
    } else {
      credentials += userinfo[i];
    }
  }
  if (credentials.find(':') == std::string::npos) credentials += ':';
  return "Basic " + absl::Base64Escape(credentials);
}

std::string basicAuthorization(std::string_view user, std::string_view password) {
  return "Basic " + absl::Base64Escape(absl::StrCat(std::string(user), ":", std::string(password)));
}

bool isIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

Agent::Agent(Reactor& reactor, AgentOptions options)
    : options_(std::move(options)), reactor_(reactor) {
  for (const ConnectTo& rule : options_.connectTo) {
    if (!rule.address.empty() && !Address::fromLiteral(rule.address, 0)) {
      throw std::invalid_argument("AgentOptions::connectTo: not an IP address: " + rule.address);
    }
  }
  auto parseProxy = [](const std::string& setting) -> std::optional<http::Url> {
    if (setting.empty()) return std::nullopt;
    absl::StatusOr<http::Url> url = parseProxyUrl(setting);
    if (!url.ok()) throw std::invalid_argument("AgentOptions::proxy: " + std::string(url.status().message()));
    return *url;
  };
  httpProxy_ = parseProxy(options_.proxy.httpProxy);
  httpsProxy_ = parseProxy(options_.proxy.httpsProxy);
  if (options_.unixSocket.empty()) return;
  unixSocket_ = Address::fromUnixPath(options_.unixSocket);
  if (!unixSocket_) {
    throw std::invalid_argument("AgentOptions::unixSocket: not a valid Unix socket name: " +
                                options_.unixSocket);
  }
}

Agent::~Agent() {
  scope_.end();
  closeCachedConnections();
  // Requests still waiting for a connection fail rather than wait for ever; from the loop, not
  // from here: their callbacks run user code, and whoever is destroying this Agent may be half
  // destroyed itself. (At the reactor's own end that call never runs, and they are dropped.)
  std::vector<std::shared_ptr<Waiter>> waiting;
  for (auto& [key, host] : hosts_) {
    for (std::shared_ptr<Waiter>& waiter : host->waiters) waiting.push_back(std::move(waiter));
    host->waiters.clear();
  }
  if (waiting.empty()) return;
  reactor_.callLater(absl::ZeroDuration(), [waiting = std::move(waiting)] {
    for (const std::shared_ptr<Waiter>& waiter : waiting) {
      if (waiter->ready.called()) continue;  // cancelled meanwhile (by another one's errback, say)
      waiter->ready.errback(Failure(RequestNotSent("the Agent was destroyed before a connection was free")));
    }
  });
}

void Agent::pruneHosts() {
  pruneScheduled_ = false;
  absl::erase_if(hosts_, [](const auto& entry) {
    const Host& host = *entry.second;
    return host.idle.empty() && host.open == 0 && host.connecting == 0 && host.waiters.empty();
  });
  pruneAt_ = std::max<std::size_t>(kPruneFloor, 2 * hosts_.size());
}

std::size_t Agent::idleConnections() const {
  std::size_t n = 0;
  for (const auto& [key, host] : hosts_) n += host->idle.size();
  return n;
}

void Agent::closeCachedConnections() {
  for (auto& [key, host] : hosts_) {
    for (ClientConnection* c : host->idle) {
      if (c->transport() != nullptr) c->transport()->loseConnection();
    }
  }
}

Deferred<Response> Agent::request(std::string method, std::string_view url, http::Headers headers,
                                  std::string body, RequestOptions options) {
  absl::StatusOr<http::Url> parsed = http::Url::parse(url);
  if (!parsed.ok()) {
    return fail<Response>(Failure(http::InvalidMessageError(std::string(parsed.status().message()))));
  }
  return request(std::move(method), *parsed, std::move(headers), std::move(body), options);
}

Deferred<Response> Agent::request(std::string method, const http::Url& url, http::Headers headers,
                                  std::string body, RequestOptions options) {
  return send(std::move(method), url, std::move(headers), std::move(body), nullptr, std::move(options));
}

Deferred<Response> Agent::requestStreamed(std::string method, std::string_view url,
                                          http::Headers headers, RequestBody body,
                                          RequestOptions options) {
  absl::StatusOr<http::Url> parsed = http::Url::parse(url);
  if (!parsed.ok()) {
    return fail<Response>(Failure(http::InvalidMessageError(std::string(parsed.status().message()))));
  }
  return requestStreamed(std::move(method), *parsed, std::move(headers), std::move(body),
                         std::move(options));
}

Deferred<Response> Agent::requestStreamed(std::string method, const http::Url& url,
                                          http::Headers headers, RequestBody body,
                                          RequestOptions options) {
  if (!body.produce) {
    return fail<Response>(Failure(std::invalid_argument("RequestBody without a produce function")));
  }
  return send(std::move(method), url, std::move(headers), {},
              std::make_shared<RequestBody>(std::move(body)), std::move(options));
}

Deferred<Response> Agent::send(std::string method, const http::Url& url, http::Headers headers,
                               std::string body, std::shared_ptr<RequestBody> streamed,
                               RequestOptions options) {
  if (url.scheme == "https" && !tlsContext_) {
    try {
      tlsContext_ = options_.tlsContext ? options_.tlsContext : tls::ClientContext::create(options_.tls);
    } catch (...) {
      return fail<Response>(Failure::fromCurrentException());
    }
  } else if (url.scheme != "http" && url.scheme != "https") {
    return fail<Response>(Failure(SchemeNotSupported(url.scheme)));
  }
  http::RequestHead head{std::move(method), url.target(), std::move(headers), {1, 1}};
  const http::Url* proxy = proxyFor(url);
  if (proxy != nullptr && url.scheme == "http") {
    // To a proxy: the absolute URL as the target (RFC 9112 §3.2.2), its own credentials.
    head.target = absl::StrCat("http://", url.hostHeader(), url.target());
    if (!proxy->userinfo.empty() && !head.headers.has("Proxy-Authorization")) {
      head.headers.add("Proxy-Authorization", proxyAuthorization(*proxy));
    }
  }
  if (options_.cookieJar) {
    if (std::optional<std::string> cookies = options_.cookieJar->cookieHeader(url)) {
      const std::optional<std::string_view> given = head.headers.get("Cookie");
      head.headers.set("Cookie", given ? *cookies + "; " + std::string(*given) : *cookies);
    }
  }
  if (!head.headers.has("Host")) head.headers.add("Host", url.hostHeader());
  // "http://user:password@host/": Basic credentials for this origin (a redirect elsewhere drops
  // them with the URL).
  if (!url.userinfo.empty() && !head.headers.has("Authorization")) {
    head.headers.add("Authorization", basicAuthorization(url.userinfo));
  }
  if (!head.headers.has("User-Agent")) head.headers.add("User-Agent", options_.userAgent);
  if (options.decodeContent && !head.headers.has("Accept-Encoding")) {
    head.headers.add("Accept-Encoding", std::string(kAcceptEncoding));
  }
  bool expectContinue = false;
  if (streamed) {
    if (streamed->length) {
      head.headers.set("Content-Length", absl::StrCat(*streamed->length));
    } else if (!head.headers.has("Transfer-Encoding")) {
      head.headers.add("Transfer-Encoding", "chunked");
    }
    expectContinue = options.expectContinue.value_or(!streamed->length || *streamed->length >= (1 << 20));
    if (expectContinue && !head.headers.has("Expect")) head.headers.add("Expect", "100-continue");
  } else if (!body.empty() || head.method == "POST" || head.method == "PUT" || head.method == "PATCH") {
    head.headers.set("Content-Length", absl::StrCat(body.size()));
  }
  std::string wire;
  try {
    wire = http::serialize(head);
  } catch (...) {
    return fail<Response>(Failure::fromCurrentException());
  }
  wire.append(body);
  http::ParserLimits limits = options_.limits;
  if (options.maxBodyBytes != 0) limits.maxBodyBytes = options.maxBodyBytes;

  struct Attempt {
    Agent* agent;  // used only through `retry`, which does nothing once the Agent is gone
    std::string wire;
    std::shared_ptr<const http::RequestHead> head;
    http::Url url;
    http::ParserLimits limits;
    absl::Duration readTimeout;
    std::shared_ptr<RequestBody> streamed;
    bool expectContinue;

    Deferred<Response> run(std::shared_ptr<Attempt> self, bool mayRetry, bool fresh) {
      return agent->getConnection(url, fresh).addCallback(
          [self, mayRetry](ClientConnection* connection) -> Deferred<Response> {
            const bool reused = connection->served() > 0;
            Deferred<Response> response =
                connection->request(self->wire, self->head, self->url, self->limits,
                                    self->readTimeout, self->streamed, self->expectContinue);
            if (!reused || !mayRetry) return response;
            auto retry = self->agent->scope_.bind(
                [self] { return self->run(self, /*mayRetry=*/false, /*fresh=*/true); });
            return std::move(response).addErrback(
                [retry = std::move(retry)](Failure failure) mutable -> Deferred<Response> {
                  if (!failure.check<ResponseNeverStarted>()) return fail<Response>(std::move(failure));
                  std::optional<Deferred<Response>> again = retry();
                  if (!again) return fail<Response>(std::move(failure));  // the Agent is gone
                  return std::move(*again);
                });
          });
    }
  };
  const bool mayRetry = isIdempotent(head.method) && !streamed;  // a stream is sent once
  auto attempt = std::make_shared<Attempt>(
      Attempt{this, std::move(wire), std::make_shared<const http::RequestHead>(std::move(head)), url,
              limits, options.readTimeout.value_or(options_.readTimeout), std::move(streamed),
              expectContinue});
  Deferred<Response> response = attempt->run(attempt, mayRetry, /*fresh=*/false);
  if (options.decodeContent) {
    response = std::move(response).addCallback(
        [limits = options.decodingLimits](Response r) { return decodeContent(std::move(r), limits); });
  }
  if (!options_.cookieJar) return response;
  // The jar is shared with the caller: held here, it outlives an Agent destroyed meanwhile.
  return std::move(response).addCallback([jar = options_.cookieJar, url](Response r) {
    jar->setCookies(url, r.headers());
    return r;
  });
}

const http::Url* Agent::proxyFor(const http::Url& url) const {
  if (unixSocket_) return nullptr;
  const std::optional<http::Url>& proxy = url.scheme == "https" ? httpsProxy_ : httpProxy_;
  if (!proxy || bypassesProxy(url.host, options_.proxy.noProxy)) return nullptr;
  return &*proxy;
}

std::string Agent::connectionKey(const http::Url& url) const {
  const http::Url* proxy = proxyFor(url);
  if (proxy == nullptr) return poolKey(url);
  // Plain requests to any origin share the proxy's connections; a tunnel leads to one origin.
  return url.scheme == "http" ? absl::StrCat("proxy://", authority(*proxy))
                              : absl::StrCat("tunnel://", authority(*proxy), "/", poolKey(url));
}

Deferred<ClientConnection*> Agent::getConnection(const http::Url& url, bool fresh) {
  const std::string key = connectionKey(url);
  if (hosts_.size() >= pruneAt_ && !pruneScheduled_) {
    // Hosts no longer used are dropped from the loop, never here: the pool's own code may be on
    // the stack holding one (a callback that requests again).
    pruneScheduled_ = true;
    reactor_.callLater(absl::ZeroDuration(), scope_.bind([this] { pruneHosts(); }));
  }
  std::unique_ptr<Host>& slot = hosts_[key];
  if (!slot) slot = std::make_unique<Host>();
  Host& host = *slot;
  while (!fresh && !host.idle.empty()) {
    ClientConnection* connection = host.idle.back();
    host.idle.pop_back();
    if (auto timer = host.idleTimers.extract(connection)) {
      if (timer.mapped() && timer.mapped()->active()) timer.mapped()->cancel();
    }
    if (connection->transport() != nullptr) return succeed(connection);
  }
  auto waiter = std::make_shared<Waiter>();
  waiter->url = url;
  std::weak_ptr<Waiter> weakWaiter = waiter;
  waiter->ready = Deferred<ClientConnection*>(scope_.bind([this, key, weakWaiter](
                                                              Deferred<ClientConnection*>&) {
    auto w = weakWaiter.lock();
    auto it = hosts_.find(key);
    if (!w || it == hosts_.end()) return;
    auto& waiters = it->second->waiters;
    waiters.erase(std::remove(waiters.begin(), waiters.end(), w), waiters.end());
  }));
  Deferred<ClientConnection*> ready = waiter->ready;
  host.waiters.push_back(std::move(waiter));
  if (host.waiters.size() > host.connecting) {
    // A retry after a stale pooled connection (`fresh`) may exceed the per-host limit: the
    // connection it replaces is gone or going.
    if (mayOpen(host) || (fresh && host.open >= options_.maxConnectionsPerHost)) {
      startConnection(key, host, url);
    } else if (host.open < options_.maxConnectionsPerHost) {
      heldBack_.push_back(key);  // by the total limit
      closeAnIdleConnection();
    }
  }
  return ready;
}

bool Agent::mayOpen(const Host& host) const {
  return host.open < options_.maxConnectionsPerHost &&
         (options_.maxConnections == 0 || open_ < options_.maxConnections);
}

void Agent::startConnection(const std::string& key, Host& host, const http::Url& url) {
  ++host.open;
  ++open_;
  connect(key, url);
}

void Agent::closeAnIdleConnection() {
  for (auto& [key, host] : hosts_) {
    if (host->idle.empty()) continue;
    // The longest idle: idle connections are taken from the back.
    ClientConnection* connection = host->idle.front();
    host->idle.erase(host->idle.begin());
    if (auto timer = host->idleTimers.extract(connection)) {
      if (timer.mapped() && timer.mapped()->active()) timer.mapped()->cancel();
    }
    // Its close (forget) frees the slot, and serveHeldBack hands it on.
    if (connection->transport() != nullptr) connection->transport()->loseConnection();
    return;
  }
}

bool Agent::anyHeldBack(const std::string& except) const {
  for (const std::string& key : heldBack_) {
    if (key == except) continue;
    auto it = hosts_.find(key);
    if (it == hosts_.end()) continue;
    const Host& host = *it->second;
    // Waiting for a connection that only the total limit keeps it from opening.
    if (host.waiters.size() > host.connecting && host.open < options_.maxConnectionsPerHost) return true;
  }
  return false;
}

void Agent::serveHeldBack() {
  while (!heldBack_.empty() && (options_.maxConnections == 0 || open_ < options_.maxConnections)) {
    const std::string key = std::move(heldBack_.front());
    heldBack_.pop_front();
    auto it = hosts_.find(key);
    if (it == hosts_.end()) continue;
    Host& host = *it->second;
    if (host.waiters.size() <= host.connecting || !mayOpen(host)) continue;
    startConnection(key, host, host.waiters.back()->url);
    if (host.waiters.size() > host.connecting && host.open < options_.maxConnectionsPerHost) {
      heldBack_.push_back(key);  // round robin
    }
  }
}

void Agent::connect(const std::string& key, const http::Url& url) {
  ++opened_;
  ++hosts_[key]->connecting;
  const http::Url* proxy = proxyFor(url);
  std::optional<ClientConnection::Tunnel> tunnel;
  if (proxy != nullptr && url.scheme == "https") {
    tunnel.emplace();
    tunnel->connectRequest = absl::StrCat("CONNECT ", authority(url), " HTTP/1.1\r\nHost: ",
                                          authority(url), "\r\nUser-Agent: ", options_.userAgent,
                                          "\r\n");
    if (!proxy->userinfo.empty()) {
      absl::StrAppend(&tunnel->connectRequest, "Proxy-Authorization: ", proxyAuthorization(*proxy), "\r\n");
    }
    tunnel->connectRequest += "\r\n";
    tunnel->reactor = &reactor_;
    tunnel->context = tlsContext_;
    tunnel->host = url.host;
    tunnel->timeout = options_.connectTimeout;
  }
  auto factory = std::make_shared<PoolFactory>(
      reactor_,
      scope_.bind([this, key](ClientConnection* c) {
        --hosts_[key]->connecting;
        release(key, c, /*justMade=*/true);
        return true;
      }),
      scope_.bind([this, key](ClientConnection* c) { forget(key, c); }),
      scope_.bind([this, key](ClientConnection* c) {
        release(key, c);
        return true;
      }),
      scope_.bind([this, key](const Failure& reason) {
        Host& host = *hosts_[key];
        --host.open;
        --open_;
        --host.connecting;
        serveWaiters(key, /*afterFailure=*/true);
        serveHeldBack();
        // This attempt was for the first waiter: it gets the reason (others got their own try
        // above). Last, because its callbacks may drop the last reference to this Agent.
        if (!host.waiters.empty()) {
          std::shared_ptr<Waiter> waiter = std::move(host.waiters.front());
          host.waiters.pop_front();
          waiter->ready.errback(reason);
        }
      }),
      std::move(tunnel));
  if (proxy != nullptr) {
    connectTCP(reactor_, proxy->host, proxy->port, std::move(factory), options_.connectTimeout,
               options_.addressFamily);
    return;
  }
  if (unixSocket_ && url.scheme == "https") {
    tls::connectSSL(reactor_, *unixSocket_, url.host, url.port, std::move(factory), tlsContext_,
                    options_.connectTimeout);
    return;
  }
  if (unixSocket_) {
    std::make_shared<Connector>(reactor_, *unixSocket_, std::move(factory), options_.connectTimeout)
        ->connect();
    return;
  }
  // A ConnectTo rule: an address of its own (no lookup), or the URL's host on another port.
  std::uint16_t port = url.port;
  std::optional<Address> address;
  for (const ConnectTo& rule : options_.connectTo) {
    if ((rule.host.empty() || absl::EqualsIgnoreCase(rule.host, url.host)) &&
        (rule.port == 0 || rule.port == url.port)) {
      if (rule.toPort != 0) port = rule.toPort;
      if (!rule.address.empty()) address = Address::fromLiteral(rule.address, port);
      break;
    }
  }
  if (address && url.scheme == "https") {
    tls::connectSSL(reactor_, *address, url.host, url.port, std::move(factory), tlsContext_,
                    options_.connectTimeout);
  } else if (address) {
    std::make_shared<Connector>(reactor_, *address, std::move(factory), options_.connectTimeout)
        ->connect();
  } else if (url.scheme == "https") {
    tls::connectSSL(reactor_, url.host, port, std::move(factory), tlsContext_,
                    options_.connectTimeout, options_.addressFamily);
  } else {
    connectTCP(reactor_, url.host, port, std::move(factory), options_.connectTimeout,
               options_.addressFamily);
  }
}

void Agent::release(const std::string& key, ClientConnection* connection, bool justMade) {
  Host& host = *hosts_[key];
  // At the total limit with other hosts held back, this connection's slot is theirs: close it
  // (its forget() serves them first) rather than keep it, even for this host's next waiter, who
  // queues behind them. A host cannot keep the slot by always asking again.
  // (A connection just made serves the waiter it was made for.)
  if (!justMade && options_.maxConnections != 0 && open_ >= options_.maxConnections &&
      anyHeldBack(key)) {
    if (host.waiters.size() > host.connecting) heldBack_.push_back(key);
    if (connection->transport() != nullptr) connection->transport()->loseConnection();
    return;
  }
  if (!host.waiters.empty()) {
    std::shared_ptr<Waiter> waiter = std::move(host.waiters.front());
    host.waiters.pop_front();
    waiter->ready.callback(connection);
    return;
  }
  host.idle.push_back(connection);
  host.idleTimers[connection] = reactor_.callLater(options_.idleTimeout, scope_.bind([this, key,
                                                                                     connection] {
    Host& h = *hosts_[key];
    h.idleTimers.erase(connection);
    if (std::find(h.idle.begin(), h.idle.end(), connection) != h.idle.end() &&
        connection->transport() != nullptr) {
      connection->transport()->loseConnection();
    }
  }));
}

void Agent::forget(const std::string& key, ClientConnection* connection) {
  Host& host = *hosts_[key];
  host.idle.erase(std::remove(host.idle.begin(), host.idle.end(), connection), host.idle.end());
  if (auto timer = host.idleTimers.extract(connection)) {
    if (timer.mapped() && timer.mapped()->active()) timer.mapped()->cancel();
  }
  if (host.open > 0) {
    --host.open;
    --open_;
  }
  serveHeldBack();  // those held back by the total limit waited first
  serveWaiters(key);
}

void Agent::serveWaiters(const std::string& key, bool afterFailure) {
  Host& host = *hosts_[key];
  // After a failed attempt the first waiter is about to get that failure: start one for the next.
  const std::size_t waiting = host.waiters.size() - (afterFailure && !host.waiters.empty() ? 1 : 0);
  if (waiting <= host.connecting) return;
  if (mayOpen(host)) {
    startConnection(key, host, host.waiters.back()->url);
  } else if (host.open < options_.maxConnectionsPerHost) {
    heldBack_.push_back(key);
  }
}

}  // namespace deft::web
