// File: web_client/get_page.h
//
// getPage(url): Twisted's getPage, on the Agent and HTTP/1.1. The whole body of a 2xx final
// response, after following redirects; anything else errbacks.
//
//   getPage("http://example.com/")
//       .addCallback([](std::string body) { ... })
//       .addErrback([](Failure f) { ... f.value<HttpError>()->status() ... });
//
// fetchPage(url) gives the final response whatever its status, with its headers, the URL it came
// from and how many redirects led there: what the getpage demo prints.
//
// Failures: HttpError (non-2xx, with status, reason and body), TimeoutError (connect timeout or
// the overall deadline), DNSLookupError, ConnectError, TooManyRedirects, ResponseTooLarge,
// PartialDownloadError (with the partial body), http::ParseError (a malformed response),
// SchemeNotSupported, http::InvalidMessageError (a URL or header with CR/LF/NUL), DecodingError.

#ifndef DEFT_WEB_CLIENT_GET_PAGE_H_
#define DEFT_WEB_CLIENT_GET_PAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "deferred/deferred.h"
#include "http/headers.h"
#include "http/url.h"
#include "web_client/agent.h"
#include "web_client/response.h"

namespace deft::web {

// How a 301, 302 or 303 changes the request that follows it.
enum class RedirectMode {
  // Twisted's RedirectAgent: 301, 302, 307 and 308 are followed for GET and HEAD only (others get
  // the redirect as their response); a 303 becomes a GET (HEAD stays HEAD).
  kStrict,
  // Twisted's BrowserLikeRedirectAgent, browsers' and curl -L's: every method follows; a POST
  // becomes a GET on 301 and 302, and any method but HEAD on 303, unless kept (curl's
  // --post301, --post302, --post303). 307 and 308 keep the method and body in both modes.
  kBrowser,
};

struct RedirectPolicy {
  int maxRedirects = 20;  // 0: the first redirect is one too many
  RedirectMode mode = RedirectMode::kStrict;
  bool keepPostOn301 = false;  // kBrowser only
  bool keepPostOn302 = false;
  bool keepPostOn303 = false;
  // Called with each response as its head arrives, the redirects' included (a trace, as curl -v
  // prints). It must not read the body.
  std::function<void(const Response&)> onResponse = nullptr;
};

// Set field by field on a named variable (or a function's result):
//
//   web::PageOptions options;
//   options.timeout = absl::Seconds(5);
//   std::string body = co_await getPage(url, options);
//
// It is deliberately not an aggregate, so `getPage(url, {.timeout = ...})` does not compile: g++ 12
// copies an aggregate braced temporary inside a co_await bitwise, without its constructors, and a
// std::string member's pointer then dangles (the program aborts in free()). `{}` and
// `PageOptions()` are safe. tests/deferred/coroutine_compiler_test.cc pins the bug.
struct PageOptions {
  PageOptions() = default;  // user-declared: not an aggregate (see above)

  std::string method = "GET";
  http::Headers headers;
  std::string body;
  // Or a body streamed as it is produced (request_body.h, multipart.h), used instead of `body`.
  // A redirect that keeps the body (307, 308) produces it again.
  std::optional<RequestBody> bodyStream;
  // RequestOptions::expectContinue, for a streamed body.
  std::optional<bool> expectContinue;
  // The whole fetch, redirects included: a server trickling a byte a second cannot keep it alive.
  absl::Duration timeout = absl::InfiniteDuration();
  absl::Duration connectTimeout = absl::Seconds(30);  // used when `agent` is not given
  bool followRedirects = true;
  int maxRedirects = 20;
  RedirectMode redirectMode = RedirectMode::kStrict;
  bool keepPostOn301 = false;  // with kBrowser: see RedirectMode
  bool keepPostOn302 = false;
  bool keepPostOn303 = false;
  // No byte of the response for this long fails the fetch with ReadTimeoutError (the Agent's own
  // readTimeout when unset).
  std::optional<absl::Duration> readTimeout;
  // Called with each response as its head arrives, the redirects' included (RedirectPolicy).
  std::function<void(const Response&)> onResponse;
  // Called as the final response's body arrives: the bytes so far, and the body's length when
  // the response gave it (a progress meter).
  std::function<void(std::uint64_t received, std::optional<std::uint64_t> total)> onProgress;
  // Bytes of body, on the wire and (with `compressed`) decoded; 0: no limit.
  std::uint64_t maxSize = 0;
  // Offer gzip, deflate, br and zstd (Accept-Encoding) and decode the body as it arrives.
  bool compressed = false;
  // With `compressed`: a body that decodes to more than this many times its encoded size (and
  // over 1 MiB) is a decompression bomb, stopped with ResponseTooLarge. 0: no ratio limit.
  std::uint64_t maxDecodeRatio = 200;
  // For https, when `agent` is not given: how the server is verified (tls/context.h).
  tls::ClientTlsOptions tls;
  // The Agent to use (its pool and options). When null, fetches share one keep-alive Agent per
  // set of connectTimeout and tls options (sharedAgent below).
  std::shared_ptr<Agent> agent;
};

// The final response of a fetch.
struct Page {
  int status = 0;
  std::string reason;
  http::Headers headers;
  std::string body;
  http::Url url;      // after redirects
  int redirects = 0;
  std::optional<Address> peer;   // the server that answered
  std::optional<Address> local;  // this end of its connection
};

Deferred<Page> fetchPage(std::string url, PageOptions options = {});
Deferred<std::string> getPage(std::string url, PageOptions options = {});

// Agent::request following redirects as `policy` says (RedirectMode): relative Locations
// resolved; the Host updated; Authorization, Proxy-Authorization and Cookie dropped on a
// cross-origin hop; TooManyRedirects past `maxRedirects` (0: the first redirect is one too many,
// as Twisted's redirectLimit). A redirect it does not follow (a strict 301 to a POST) is returned
// as the response.
Deferred<Response> requestFollowingRedirects(std::shared_ptr<Agent> agent, std::string method,
                                             http::Url url, http::Headers headers,
                                             std::string body, RequestOptions options,
                                             RedirectPolicy policy,
                                             std::optional<RequestBody> bodyStream = std::nullopt);
// The strict policy with `maxRedirects`.
Deferred<Response> requestFollowingRedirects(std::shared_ptr<Agent> agent, std::string method,
                                             http::Url url, http::Headers headers,
                                             std::string body, RequestOptions options,
                                             int maxRedirects);

// The Agent fetchPage uses when PageOptions::agent is null: one per connect timeout and TLS
// options, kept by the process-wide reactor (Reactor::local) and destroyed with it. It opens up
// to kSharedAgentMaxConnections connections in all, to one host or many (aiohttp's default).
inline constexpr std::size_t kSharedAgentMaxConnections = 100;
std::shared_ptr<Agent> sharedAgent(absl::Duration connectTimeout, const tls::ClientTlsOptions& tls);

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_GET_PAGE_H_
