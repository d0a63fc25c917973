#include "examples/getpage/demo_site.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "reactor/reactor.h"

namespace getpage {

using deft::Deferred;
using deft::http::BodyWriter;
using deft::http::Request;
using deft::http::ServerResponse;

namespace {

// /slow/MS answers after MS milliseconds, on a timer: the server is never blocked.
Deferred<ServerResponse> slow(Request request) {
  int ms = 0;
  if (!absl::SimpleAtoi(request.path.substr(6), &ms) || ms < 0 || ms > 10000) {
    co_return ServerResponse::text(400, "usage: /slow/MILLISECONDS\n");
  }
  co_await deft::deferLater(deft::reactor(), absl::Milliseconds(ms), [] {});
  co_return ServerResponse::text(200, absl::StrCat("<html><body>slow page: ", ms,
                                             " ms</body></html>\n"),
                           "text/html; charset=utf-8");
}

// /chunked streams 20 pieces, 25 ms apart, with Transfer-Encoding: chunked.
ServerResponse chunked(Request) {
  ServerResponse response;
  response.headers.add("Content-Type", "text/plain; charset=utf-8");
  response.stream = [](std::shared_ptr<BodyWriter> out) -> Deferred<void> {
    for (int i = 1; i <= 20; ++i) {
      co_await out->write(absl::StrCat("chunk ", i, " of 20\n"));
      co_await deft::deferLater(deft::reactor(), absl::Milliseconds(25), [] {});
    }
  };
  return response;
}

}  // namespace

std::shared_ptr<deft::http::Site> makeDemoSite() {
  deft::http::Router router;
  router.route("/", [](Request) {
    return ServerResponse::text(200, "<html><body>deft getpage demo</body></html>\n",
                          "text/html; charset=utf-8");
  });
  router.prefix("/slow/", slow);
  router.route("/chunked", chunked);
  router.route("/redirect", [](Request) { return ServerResponse::redirect(302, "/slow/200"); });
  router.route("/big", [](Request) { return ServerResponse::text(200, std::string(1 << 20, 'b')); });
  return std::make_shared<deft::http::Site>(deft::reactor(), std::move(router));
}

std::vector<std::string> demoPaths() {
  return {"/", "/slow/300", "/slow/600", "/slow/900", "/redirect", "/chunked", "/big",
          "/missing"};
}

}  // namespace getpage
