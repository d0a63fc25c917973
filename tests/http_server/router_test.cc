// The Router alone: which handler (or which status) answers a method on a path.

#include "http_server/router.h"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace deft::http {
namespace {

// A handler that answers with its own name, so a test can tell which one a match found.
auto named(std::string name) {
  return [name](Request) { return ServerResponse::text(200, name); };
}

// The name of the handler `match` found ("" when there is none).
std::string handlerOf(Router::Match& match) {
  if (match.route == nullptr) return "";
  std::string body;
  match.route->handler(Request()).addCallback([&](ServerResponse r) { body = r.body; });
  return body;
}

TEST(Router, RouteAnswersGetAndHeadOnly) {
  Router router;
  router.route("/hello", named("hello"));
  Router::Match get = router.find("GET", "/hello");
  EXPECT_EQ(handlerOf(get), "hello");
  Router::Match head = router.find("HEAD", "/hello");
  EXPECT_EQ(handlerOf(head), "hello");  // the server drops the body

  Router::Match del = router.find("DELETE", "/hello");
  EXPECT_EQ(del.route, nullptr);
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.allow, "GET, HEAD, OPTIONS");
}

TEST(Router, EachMethodHasItsOwnHandler) {
  Router router;
  router.route("/items", named("list"));
  router.route("POST", "/items", named("create"));
  Router::Match post = router.find("POST", "/items");
  EXPECT_EQ(handlerOf(post), "create");
  Router::Match get = router.find("GET", "/items");
  EXPECT_EQ(handlerOf(get), "list");
  Router::Match put = router.find("PUT", "/items");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.allow, "GET, HEAD, OPTIONS, POST");
}

TEST(Router, MethodsAreCaseSensitiveAndUnknownOnesAre501) {
  Router router;
  router.route("/hello", named("hello"));
  router.route("FROBNICATE", "/frob", named("frob"));
  EXPECT_EQ(router.find("get", "/hello").status, 501);
  EXPECT_EQ(router.find("BREW", "/hello").status, 501);
  // A method the application uses somewhere is implemented: elsewhere it is a 405.
  EXPECT_EQ(router.find("FROBNICATE", "/hello").status, 405);
  Router::Match frob = router.find("FROBNICATE", "/frob");
  EXPECT_EQ(handlerOf(frob), "frob");
  // Unknown paths: 404 for a method HTTP defines, 501 for one nobody implements.
  EXPECT_EQ(router.find("GET", "/nowhere").status, 404);
  EXPECT_EQ(router.find("BREW", "/nowhere").status, 501);
}

TEST(Router, OptionsListsTheMethodsUnlessThePathHandlesIt) {
  Router router;
  router.route("/a", named("a"));
  router.route("PUT", "/a", named("put a"));
  router.route("/b", named("b"));
  router.route("OPTIONS", "/b", named("options b"));
  Router::Match a = router.find("OPTIONS", "/a");
  EXPECT_EQ(a.route, nullptr);
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.allow, "GET, HEAD, OPTIONS, PUT");
  Router::Match b = router.find("OPTIONS", "/b");
  EXPECT_EQ(handlerOf(b), "options b");
  Router::Match star = router.find("OPTIONS", "*");
  EXPECT_EQ(star.status, 204);
  EXPECT_EQ(star.allow, "GET, HEAD, OPTIONS, PUT");
}

TEST(Router, PatternsCaptureWholeSegmentsPercentDecoded) {
  Router router;
  router.route("/users/{id}", named("user"));
  router.route("/users/{id}/posts/{post}", named("post"));
  Router::Match user = router.find("GET", "/users/ana%20b");
  EXPECT_EQ(handlerOf(user), "user");
  EXPECT_EQ(user.pathParams.at("id"), "ana b");
  Router::Match post = router.find("GET", "/users/7/posts/42");
  EXPECT_EQ(handlerOf(post), "post");
  EXPECT_EQ(post.pathParams.at("id"), "7");
  EXPECT_EQ(post.pathParams.at("post"), "42");

  EXPECT_EQ(router.find("GET", "/users/").status, 404);       // a capture is never empty
  EXPECT_EQ(router.find("GET", "/users/7/").status, 404);     // nor does it take a '/'
  EXPECT_EQ(router.find("GET", "/users/a%2").status, 404);    // a malformed escape
  EXPECT_TRUE(router.find("GET", "/users/a%2").pathParams.empty());
}

TEST(Router, ExactBeatsPatternBeatsPrefixAndMoreLiteralsWin) {
  Router router;
  router.prefix("/users/", named("prefix"));
  router.route("/users/{id}", named("any user"));
  router.route("/users/me", named("me"));
  router.route("/{section}/{id}", named("generic"));
  Router::Match me = router.find("GET", "/users/me");
  EXPECT_EQ(handlerOf(me), "me");
  Router::Match other = router.find("GET", "/users/7");
  EXPECT_EQ(handlerOf(other), "any user");  // one literal segment beats none
  Router::Match deep = router.find("GET", "/users/7/avatar");
  EXPECT_EQ(handlerOf(deep), "prefix");
  Router::Match generic = router.find("GET", "/teams/3");
  EXPECT_EQ(handlerOf(generic), "generic");
}

TEST(Router, PrefixesByMethodAndLongestWins) {
  Router router;
  router.prefix("/files/", named("files"));
  router.prefix("/files/special/", named("special"));
  router.prefix("PUT", "/files/", named("upload"));
  Router::Match special = router.find("GET", "/files/special/x");
  EXPECT_EQ(handlerOf(special), "special");
  Router::Match upload = router.find("PUT", "/files/x");
  EXPECT_EQ(handlerOf(upload), "upload");
  // The longest prefix decides the resource, and it has no PUT.
  EXPECT_EQ(router.find("PUT", "/files/special/x").status, 405);
}

TEST(Router, BadRegistrationsThrowSayingWhy) {
  Router router;
  EXPECT_THROW(router.route("get me", "/x", named("x")), std::invalid_argument);
  EXPECT_THROW(router.route("relative", named("x")), std::invalid_argument);
  EXPECT_THROW(router.route("/file.{ext}", named("x")), std::invalid_argument);
  EXPECT_THROW(router.prefix("/users/{id}/", named("x")), std::invalid_argument);
  try {
    router.route("/a/{b", named("x"));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("{b"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace deft::http
