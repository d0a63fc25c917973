#include "web_client/get_page.h"

#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "http/errors.h"
#include "net/errors.h"
#include "web_client/errors.h"

namespace deft::web {
namespace {

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

Deferred<Page> fetchOnce(std::shared_ptr<Agent> agent, std::string url, PageOptions options) {
  absl::StatusOr<http::Url> parsed = http::Url::parse(url);
  if (!parsed.ok()) throw http::InvalidMessageError(std::string(parsed.status().message()));
  RequestOptions requestOptions;
  // On the wire, whatever the encoding; with decoding, again on the decoded body (below).
  requestOptions.maxBodyBytes = options.maxSize;
  requestOptions.readTimeout = options.readTimeout;
  requestOptions.expectContinue = options.expectContinue;
  requestOptions.decodeContent = options.compressed;
  if (options.maxSize != 0) requestOptions.decodingLimits.maxDecodedBytes = options.maxSize;
  requestOptions.decodingLimits.maxRatio = options.maxDecodeRatio;
  RedirectPolicy policy;
  policy.maxRedirects = options.maxRedirects;
  policy.mode = options.redirectMode;
  policy.keepPostOn301 = options.keepPostOn301;
  policy.keepPostOn302 = options.keepPostOn302;
  policy.keepPostOn303 = options.keepPostOn303;
  policy.onResponse = options.onResponse;
  // Not followed: the response itself, whatever it is. (Not a ?: of two co_awaits: g++ 12
  // miscompiles that.)
  Deferred<Response> responded =
      options.followRedirects
          ? requestFollowingRedirects(agent, options.method, *parsed, std::move(options.headers),
                                      std::move(options.body), requestOptions, policy,
                                      std::move(options.bodyStream))
      : options.bodyStream
          ? agent->request(options.method, *parsed, std::move(options.headers),
                           std::move(*options.bodyStream), requestOptions)
          : agent->request(options.method, *parsed, std::move(options.headers),
                           std::move(options.body), requestOptions);
  Response response = co_await std::move(responded);
  if (!options.followRedirects && options.onResponse) options.onResponse(response);
  Page page;
  if (options.onProgress) {
    // Streamed, to count it as it comes; gathered here as readBody would.
    std::optional<std::uint64_t> total;
    std::uint64_t length = 0;
    if (absl::SimpleAtoi(std::string(response.headers().get("Content-Length").value_or("")), &length)) {
      total = length;
    }
    auto body = std::make_shared<std::string>();
    // Cancelled (a timeout, say): the connection is aborted, as readBody's cancel does.
    Deferred<void> done([source = std::weak_ptr(response.sharedBody())](Deferred<void>&) {
      if (auto b = source.lock(); b && b->abort) b->abort();
    });
    response.deliverBody(BodyConsumer{
        .dataReceived =
            [body, total, progress = options.onProgress](std::string_view data) {
              body->append(data);
              progress(body->size(), total);
            },
        .connectionLost =
            [done, body](std::optional<Failure> reason) mutable {
              if (done.called()) return;  // cancelled already
              if (!reason) {
                done.callback();
              } else if (const auto* cut = reason->value<PartialDownloadError>()) {
                // What arrived went to the counter: the error carries it, as readBody's does.
                done.errback(Failure(PartialDownloadError(cut->why(), *body, cut->tlsTruncated())));
              } else {
                done.errback(std::move(*reason));
              }
            },
    });
    co_await done;
    page.body = std::move(*body);
  } else {
    page.body = co_await response.readBody();
  }
  page.status = response.code();
  page.reason = response.phrase();
  page.headers = response.headers();
  page.url = response.url();
  page.redirects = response.redirects();
  page.peer = response.peer();
  page.local = response.local();
  co_return page;
}

// The errors a caller acts on, in the terms they act on them: a connect timeout is a timeout, a
// body over the limit is "too large".
Failure translate(Failure failure) {
  if (const auto* timedOut = failure.value<TCPTimedOutError>()) {
    return Failure(TimeoutError(absl::StrCat("connect timed out: ", timedOut->what())));
  }
  if (const auto* parse = failure.value<http::ParseError>();
      parse != nullptr && parse->kind() == http::ParseErrorKind::kBodyTooLarge) {
    return Failure(ResponseTooLarge(parse->what()));
  }
  return failure;
}

}  // namespace

Deferred<Response> requestFollowingRedirects(std::shared_ptr<Agent> agent, std::string method,
                                             http::Url url, http::Headers headers,
                                             std::string body, RequestOptions options,
                                             int maxRedirects) {
  RedirectPolicy policy;
  policy.maxRedirects = maxRedirects;
  return requestFollowingRedirects(std::move(agent), std::move(method), std::move(url),
                                   std::move(headers), std::move(body), options, policy);
}

Deferred<Response> requestFollowingRedirects(std::shared_ptr<Agent> agent, std::string method,
                                             http::Url url, http::Headers headers,
                                             std::string body, RequestOptions options,
                                             RedirectPolicy policy,
                                             std::optional<RequestBody> bodyStream) {
  const int maxRedirects = policy.maxRedirects;
  const bool browser = policy.mode == RedirectMode::kBrowser;
  for (int hops = 0;; ++hops) {
    // (Not a ?: of two co_awaits: g++ 12 miscompiles that.)
    Deferred<Response> sent = bodyStream ? agent->request(method, url, headers, *bodyStream, options)
                                         : agent->request(method, url, headers, body, options);
    Response response = co_await std::move(sent);
    response.body().redirects = hops;
    if (policy.onResponse) policy.onResponse(response);
    const int status = response.code();
    const std::optional<std::string_view> location = response.headers().get("Location");
    const bool followable = isRedirect(status) && location.has_value() &&
                            (browser || status == 303 || status == 307 || status == 308 ||
                             method == "GET" || method == "HEAD");
    if (!followable) co_return response;
    absl::StatusOr<http::Url> next = url.resolve(*location);
    if (!next.ok()) {
      throw http::InvalidMessageError(absl::StrCat("redirect to a bad Location: ",
                                                   std::string(next.status().message())));
    }
    if (hops == maxRedirects) throw TooManyRedirects(maxRedirects, next->toString());
    if (next->scheme != "http" && next->scheme != "https") throw SchemeNotSupported(next->scheme);
    // Read the redirect's body to the end, so its connection goes back to the pool.
    co_await response.readBody();
    const bool becomesGet =
        method != "GET" && method != "HEAD" &&
        ((status == 303 && !(method == "POST" && policy.keepPostOn303)) ||
         (browser && method == "POST" &&
          ((status == 301 && !policy.keepPostOn301) || (status == 302 && !policy.keepPostOn302))));
    if (becomesGet) {
      method = "GET";
      body.clear();
      bodyStream.reset();
      headers.remove("Content-Type");
      headers.remove("Content-Length");
    }
    if (!url.sameOrigin(*next)) {
      headers.remove("Authorization");
      headers.remove("Proxy-Authorization");
      headers.remove("Cookie");
    }
    headers.remove("Host");  // the Agent writes the new one, with the new port
    url = std::move(*next);
  }
}

Deferred<Page> fetchPage(std::string url, PageOptions options) {
  std::shared_ptr<Agent> agent = options.agent;
  if (!agent) agent = sharedAgent(options.connectTimeout, options.tls);
  const absl::Duration timeout = options.timeout;
  Deferred<Page> page = fetchOnce(agent, std::move(url), std::move(options));
  if (timeout != absl::InfiniteDuration()) page.addTimeout(timeout, agent->reactorRef());
  return std::move(page).addErrback([](Failure failure) -> Page {
    translate(std::move(failure)).raiseException();
    return {};
  });
}

std::shared_ptr<Agent> sharedAgent(absl::Duration connectTimeout, const tls::ClientTlsOptions& tls) {
  struct SharedAgents {
    absl::flat_hash_map<std::string, std::shared_ptr<Agent>> byOptions;
  };
  Reactor& reactor = deft::reactor();
  auto& agents = reactor.local<SharedAgents>([] { return std::make_unique<SharedAgents>(); });
  const std::string key = absl::StrCat(
      absl::FormatDuration(connectTimeout), "\n", tls.verify, "\n", tls.caFile, "\n", tls.caPath,
      "\n", tls.certificateFile, "\n", tls.privateKeyFile, "\n", absl::StrJoin(tls.alpn, ","),
      "\n", tls.resumeSessions);
  std::shared_ptr<Agent>& agent = agents.byOptions[key];
  if (!agent) {
    AgentOptions agentOptions;
    agentOptions.connectTimeout = connectTimeout;
    agentOptions.tls = tls;
    // Fetches that each used to have an Agent of their own are not held to a per-host limit of
    // 8 now that they share one: only to a total, aiohttp's default.
    agentOptions.maxConnectionsPerHost = kSharedAgentMaxConnections;
    agentOptions.maxConnections = kSharedAgentMaxConnections;
    agent = std::make_shared<Agent>(reactor, agentOptions);
  }
  return agent;
}

Deferred<std::string> getPage(std::string url, PageOptions options) {
  return fetchPage(std::move(url), std::move(options)).addCallback([](Page page) -> std::string {
    if (page.status < 200 || page.status > 299) {
      throw HttpError(page.status, page.reason, std::move(page.body));
    }
    return std::move(page.body);
  });
}

}  // namespace deft::web
