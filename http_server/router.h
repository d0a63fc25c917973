// File: http_server/router.h
//
// Which handler answers which path: exact routes, and prefix routes where the longest prefix
// wins. A handler takes the Request by value and returns a ServerResponse, or a Deferred<ServerResponse>, or
// is a coroutine returning Deferred<ServerResponse>; a handler that throws or errbacks gives a 500.
//
//   Router router;
//   router.route("/", [](Request) { return ServerResponse::text(200, "home\n"); });
//   router.prefix("/static/", serveFiles);
//   router.route("/slow", [](Request) -> Deferred<ServerResponse> {
//     co_await deferLater(reactor(), absl::Seconds(5), [] {});
//     co_return ServerResponse::text(200, "done\n");
//   });
//
// A path matches before percent-decoding: "/a%2Fb" is not "/a/b".

#ifndef DEFT_HTTP_SERVER_ROUTER_H_
#define DEFT_HTTP_SERVER_ROUTER_H_

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <deque>

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

  // Answers exactly `path`.
  template <class F>
  void route(std::string path, F handler, RouteOptions options = {}) {
    exact_[std::move(path)] = Route{wrap(std::move(handler)), options};
  }
  // Answers every path starting with `prefix` that no exact route or longer prefix claims.
  template <class F>
  void prefix(std::string prefix, F handler, RouteOptions options = {}) {
    prefixes_.emplace_back(std::move(prefix), Route{wrap(std::move(handler)), options});
  }

  // The route for `path`, or nullptr (a 404).
  Route* find(std::string_view path);

 private:
  template <class F>
  static Handler wrap(F handler) {
    static_assert(std::is_invocable_v<F&, Request>, "a handler takes a Request (by value)");
    return [handler = std::move(handler)](Request request) mutable -> Deferred<ServerResponse> {
      return maybeDeferred(handler, std::move(request));
    };
  }

  // Node-based and a deque: a Route stays put while routes are added (a request in flight holds
  // a pointer to its route).
  absl::node_hash_map<std::string, Route> exact_;
  std::deque<std::pair<std::string, Route>> prefixes_;
};

}  // namespace deft::http

#endif  // DEFT_HTTP_SERVER_ROUTER_H_
