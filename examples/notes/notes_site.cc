#include "examples/notes/notes_site.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "http_server/site.h"

namespace notes {

using deft::Deferred;
using deft::http::Request;
using deft::http::ServerResponse;

std::shared_ptr<deft::ListeningPort> serveNotesSite(deft::Reactor& reactor, std::uint16_t port) {
  deft::http::Router router;
  router.route("/page/{n}", [](Request r) {
    return ServerResponse::text(200, absl::StrCat("page ", r.pathParams["n"],
                                                  ": what the notes fetched from a public site\n"));
  });
  router.route("/delay/{s}", [&reactor](Request r) -> Deferred<ServerResponse> {
    double seconds = 0;
    if (!absl::SimpleAtod(r.pathParams["s"], &seconds) || seconds < 0 || seconds > 60) {
      co_return ServerResponse::text(400, "usage: /delay/S, S up to 60\n");
    }
    co_await deft::deferLater(reactor, absl::Seconds(seconds), [] {});
    co_return ServerResponse::text(200, absl::StrCat("waited ", seconds, " s\n"));
  });
  router.route("/status/{n}", [](Request r) {
    int status = 0;
    if (!absl::SimpleAtoi(r.pathParams["n"], &status) || status < 200 || status > 599) status = 400;
    return ServerResponse::text(status, absl::StrCat("status ", status, "\n"));
  });
  return deft::listenTCP(reactor, port,
                         std::make_shared<deft::http::Site>(reactor, std::move(router)),
                         deft::TcpListenOptions{.interface = "127.0.0.1"});
}

std::string baseUrl(const deft::ListeningPort& port) {
  return absl::StrCat("http://127.0.0.1:", port.getHost().port());
}

}  // namespace notes
