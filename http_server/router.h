// File: http_server/router.h
//
// Which handler answers a request: by method and path. A handler takes the Request by value and
// returns a ServerResponse, or a Deferred<ServerResponse>, or is a coroutine returning
// Deferred<ServerResponse>; a handler that throws or errbacks gives a 500.
//
//   Router router;
//   router.route("/", [](Request) { return ServerResponse::text(200, "home\n"); });   // GET
//   router.route("POST", "/upload", receiveUpload);
//   router.route("/users/{id}", [](Request r) {
//     return ServerResponse::text(200, "user " + r.pathParams.at("id") + "\n");
//   });
//   router.prefix("/static/", serveFiles);
//
// METHODS. route(path, f) answers GET, and HEAD with the same handler (the server sends the head
// GET would get, without its body). route(method, path, f) answers that one method; methods are
// case-sensitive tokens ("get" is not GET). For a path that has routes, but none for the request's
// method, the server answers 405 with an Allow header, and OPTIONS with 204 and Allow, unless the
// path has an OPTIONS route of its own. A method that no route uses and that HTTP does not define
// gets 501 (RFC 9110 §9.1, §15.6.2), whatever the path.
//
// PATHS. Three kinds, tried in this order:
//   - exact: "/about";
//   - patterns: "/users/{id}/posts/{post}", where each "{name}" matches one whole, non-empty
//     segment and is given to the handler, percent-decoded, in Request::pathParams (so it may
//     hold '/', "..", or a NUL: check it before using it as a file name); among patterns
//     that match, the one with the most literal segments wins, then the first added;
//   - prefixes: "/static/" answers every path that starts with it; the longest prefix wins.
// A path matches before percent-decoding: "/a%2Fb" is not "/a/b".

#ifndef DEFT_HTTP_SERVER_ROUTER_H_
#define DEFT_HTTP_SERVER_ROUTER_H_

#include <deque>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "deferred/deferred.h"
#include "http_server/request.h"
#include "http_server/response.h"

namespace deft::http {

using Handler = absl::AnyInvocable<Deferred<ServerResponse>(Request)>;

struct RouteOptions {
  // Run the handler as soon as the head arrives and give it the body through
  // Request::bodyStream, instead of reading the body whole first.
  bool streamBody = false;
};

class Router {
 public:
  struct Route {
    Handler handler;
    RouteOptions options;
  };

  // What answers a request (find()).
  struct Match {
    // The handler, or nullptr when the server answers `status` itself.
    Route* route = nullptr;
    // Without a route: 404 (no such path), 405 (not with this method), 501 (a method nobody
    // implements), or 204 (OPTIONS, answered with `allow`).
    int status = 0;
    // For 405 and OPTIONS: the methods the path answers, as an Allow header's value.
    std::string allow;
    // The pattern's captured segments, percent-decoded.
    PathParams pathParams;
  };

  // Answers GET (and HEAD) on `path`: exact, a pattern with "{name}" segments, see above.
  template <class F>
  void route(std::string path, F handler, RouteOptions options = {}) {
    add("GET", std::move(path), Kind::kPath, wrap(std::move(handler)), options);
  }
  // Answers `method` on `path`.
  template <class F>
  void route(std::string method, std::string path, F handler, RouteOptions options = {}) {
    add(std::move(method), std::move(path), Kind::kPath, wrap(std::move(handler)), options);
  }
  // Answers GET (and HEAD) on every path starting with `prefix` that no exact route, pattern or
  // longer prefix claims.
  template <class F>
  void prefix(std::string prefix, F handler, RouteOptions options = {}) {
    add("GET", std::move(prefix), Kind::kPrefix, wrap(std::move(handler)), options);
  }
  template <class F>
  void prefix(std::string method, std::string prefix, F handler, RouteOptions options = {}) {
    add(std::move(method), std::move(prefix), Kind::kPrefix, wrap(std::move(handler)), options);
  }

  // What answers `method` on `path` (the target's path, still percent-encoded).
  Match find(std::string_view method, std::string_view path);

 private:
  enum class Kind { kPath, kPrefix };

  // Everything registered for one path, pattern or prefix. Node-based: a Route stays put while
  // routes are added (a request in flight holds a pointer to its route).
  struct Resource {
    absl::node_hash_map<std::string, Route> byMethod;
  };
  struct Pattern {
    std::vector<std::string> segments;  // "{name}" for a capture
    std::size_t literals = 0;
    Resource resource;
  };

  template <class F>
  static Handler wrap(F handler) {
    static_assert(std::is_invocable_v<F&, Request>, "a handler takes a Request (by value)");
    return [handler = std::move(handler)](Request request) mutable -> Deferred<ServerResponse> {
      return maybeDeferred(handler, std::move(request));
    };
  }

  void add(std::string method, std::string path, Kind kind, Handler handler, RouteOptions options);
  Resource* resourceFor(std::string_view path, PathParams& params);
  bool implements(std::string_view method) const;

  absl::node_hash_map<std::string, Resource> exact_;
  std::deque<Pattern> patterns_;
  std::deque<std::pair<std::string, Resource>> prefixes_;
  absl::flat_hash_set<std::string> methods_;  // every method some route answers
};

}  // namespace deft::http

#endif  // DEFT_HTTP_SERVER_ROUTER_H_
