#include "http_server/site.h"
#include "tcp/tcp.h"
#include "web_client/get_page.h"
using namespace deft;
using namespace deft::http;  // the server: Router, Site, Request, ServerResponse
using web::getPage;          // the client

Deferred<void> serveAndFetch() {
  Router router;
  router.route("/slow", [](Request) -> Deferred<ServerResponse> {
    co_await deferLater(reactor(), absl::Seconds(5));   // the server answers others meanwhile
    co_return ServerResponse::text(200, "done\n");
  });
  auto port = listenTCP(reactor(), 8080, std::make_shared<Site>(reactor(), std::move(router)));

  web::PageOptions options;  // a named variable, not a braced temporary: see below
  options.timeout = absl::Seconds(10);
  std::string body = co_await getPage("http://127.0.0.1:8080/slow", options);
}
