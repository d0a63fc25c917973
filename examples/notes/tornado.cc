// The notes' Tornado programs (seeds 000, 001, 004), in deft:
//
//   - a handler that finishes after a timer while the server keeps answering (Tornado's
//     @gen.coroutine get() with add_timeout and a Future): GET /index.html answers "async" after
//     --delay seconds, and GET /quick at once, meanwhile;
//   - AsyncHTTPClient().fetch(HTTPRequest(url), handle_response) with a global COUNT that stops
//     the IOLoop at zero: --fetch fetches its URLs with a callback each, and stops the reactor
//     when the last has answered.
//
//   ./bazelw run //examples/notes:tornado -- --port=8888          # the server
//   ./bazelw run //examples/notes:tornado -- --fetch              # the client, on its own pages
//   ./bazelw run //examples/notes:tornado -- --fetch https://www.bing.com/ http://127.0.0.1:8888/quick
//
// server.start(3), forking workers on one port: examples/multiprocess_server. The Tornado-MySQL
// login handler: examples/mysql_login.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/notes/notes_site.h"
#include "http_server/site.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "web_client/get_page.h"

ABSL_FLAG(std::uint16_t, port, 8888, "the server's port (0: any free port)");
ABSL_FLAG(double, delay, 5, "seconds /index.html takes");
ABSL_FLAG(bool, fetch, false, "be the AsyncHTTPClient program instead of the server");

namespace {

using deft::Deferred;
using deft::http::Request;
using deft::http::ServerResponse;

int serve() {
  deft::Reactor& reactor = deft::reactor();
  deft::http::Router router;
  // class IndexHandler: @gen.coroutine def get(self): future = Future();
  //   IOLoop.current().add_timeout(time.time() + 5, self.done); yield future
  router.route("/index.html", [&reactor](Request) -> Deferred<ServerResponse> {
    std::printf("start..\n");
    std::fflush(stdout);
    co_await deft::deferLater(reactor, absl::Seconds(absl::GetFlag(FLAGS_delay)), [] {});
    std::printf("end...\n");  // (the notes' version never resolves its Future: this one does)
    std::fflush(stdout);
    co_return ServerResponse::text(200, "async\n");
  });
  router.route("/quick", [](Request) { return ServerResponse::text(200, "quick\n"); });
  auto port = deft::listenTCP(reactor, absl::GetFlag(FLAGS_port),
                              std::make_shared<deft::http::Site>(reactor, std::move(router)),
                              deft::TcpListenOptions{.interface = "127.0.0.1"});
  std::printf("tornado-style server on http://%s/\n", port->getHost().toString().c_str());
  std::fflush(stdout);
  reactor.run();
  return 0;
}

int fetch(std::vector<std::string> urls) {
  deft::Reactor& reactor = deft::reactor();
  std::shared_ptr<deft::ListeningPort> site;
  if (urls.empty()) {
    site = notes::serveNotesSite(reactor);
    urls = {notes::baseUrl(*site) + "/page/1", notes::baseUrl(*site) + "/status/404"};
  }
  std::size_t count = urls.size();  // the notes' global COUNT
  int errors = 0;
  // def handle_response(response): COUNT -= 1; print error or body; stop at 0
  auto handleResponse = [&](const std::string& url, const deft::Outcome<std::string>& response) {
    if (!response.ok()) {
      ++errors;
      std::printf("Error: %s: %s\n", url.c_str(), response.failure().getErrorMessage().c_str());
    } else {
      std::printf("%s: %s", url.c_str(), response.value().c_str());
    }
    if (--count == 0) reactor.stop();
  };
  reactor.callWhenRunning([&] {
    for (const std::string& url : urls) {
      std::printf("fetching %s\n", url.c_str());
      deft::web::getPage(url).addBoth([&, url](deft::Outcome<std::string> r) { handleResponse(url, r); });
    }
  });
  reactor.run();
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_fetch)) return fetch(std::vector<std::string>(rest.begin() + 1, rest.end()));
  return serve();
}
