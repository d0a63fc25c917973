// A small web server on the reactor: a few routes, one slow (non-blocking), one streaming.
//
//   ./bazelw run //examples:web_server -- --port=8080
//   curl localhost:8080/                  # the route list
//   curl localhost:8080/hello?name=you
//   curl localhost:8080/slow?seconds=3    # waits on a timer; other requests go on meanwhile
//   curl -N localhost:8080/stream         # a chunked body, one line every 200 ms
//   curl -d 'some text' localhost:8080/echo
//   curl localhost:8080/bytes/1024        # 1 KiB of 'x' (what bench/http_server.sh fetches)
//
// --reuse-port lets several copies share the port (SO_REUSEPORT), each its own process.
// --cert=chain.pem --key=key.pem serves https instead (curl --cacert ca.pem https://...).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/container/flat_hash_map.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "http_server/site.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "tls/tls.h"
#include "unix/unix.h"

ABSL_FLAG(std::uint16_t, port, 8080, "TCP port to listen on (0: any free port)");
ABSL_FLAG(std::string, interface, "127.0.0.1", "address to listen on");
ABSL_FLAG(bool, reuse_port, false, "listen with SO_REUSEPORT (for several processes)");
ABSL_FLAG(std::string, cert, "", "serve https with this certificate chain (PEM, leaf first)");
ABSL_FLAG(std::string, key, "", "... and this private key (PEM)");
ABSL_FLAG(std::string, unix, "",
          "listen on this Unix socket instead of a TCP port ('@name': abstract namespace)");

namespace {

using deft::Deferred;
using deft::http::BodyWriter;
using deft::http::Request;
using deft::http::ServerResponse;

// "name=you&x=1" -> "you" for "name".
std::string queryValue(const std::string& query, std::string_view key) {
  for (std::string_view rest = query; !rest.empty();) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (pair.starts_with(key) && pair.size() > key.size() && pair[key.size()] == '=') {
      return std::string(pair.substr(key.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return "";
}

Deferred<ServerResponse> slow(Request request) {
  double seconds = 2;
  if (!absl::SimpleAtod(queryValue(request.query, "seconds"), &seconds)) seconds = 2;
  co_await deft::deferLater(deft::reactor(), absl::Seconds(seconds), [] {});
  co_return ServerResponse::text(200, absl::StrCat("waited ", seconds, " s without blocking anyone\n"));
}

ServerResponse stream(Request) {
  ServerResponse response;
  response.headers.add("Content-Type", "text/plain; charset=utf-8");
  response.stream = [](std::shared_ptr<BodyWriter> out) -> Deferred<void> {
    for (int i = 1; i <= 10; ++i) {
      co_await out->write(absl::StrCat("line ", i, " of 10\n"));
      co_await deft::deferLater(deft::reactor(), absl::Milliseconds(200), [] {});
    }
  };
  return response;
}

ServerResponse bytes(Request request) {
  std::size_t n = 0;
  if (!absl::SimpleAtoi(request.path.substr(std::string_view("/bytes/").size()), &n) ||
      n > (64u << 20)) {
    return ServerResponse::text(400, "usage: /bytes/N with N up to 64 MiB\n");
  }
  // "Range: bytes=A-" or "bytes=A-B": that part (206), or 416 past the end (what a resuming
  // client meets).
  const std::string range(request.headers.get("Range").value_or(""));
  std::size_t first = 0, last = n == 0 ? 0 : n - 1;
  if (range.starts_with("bytes=") && range.find('-') != std::string::npos) {
    const std::string from = range.substr(6, range.find('-') - 6), to = range.substr(range.find('-') + 1);
    if (!absl::SimpleAtoi(from, &first) || (!to.empty() && !absl::SimpleAtoi(to, &last))) {
      return ServerResponse::text(400, "bad Range\n");
    }
    if (first >= n) {
      ServerResponse none = ServerResponse::text(416, "");
      none.headers.add("Content-Range", absl::StrCat("bytes */", n));
      return none;
    }
    last = std::min(last, n - 1);
    ServerResponse part = ServerResponse::text(206, std::string(last - first + 1, 'x'), "application/octet-stream");
    part.headers.add("Content-Range", absl::StrCat("bytes ", first, "-", last, "/", n));
    return part;
  }
  return ServerResponse::text(200, std::string(n, 'x'), "application/octet-stream");
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  deft::http::Router router;
  router.route("/", [](Request) {
    return ServerResponse::text(200,
                          "routes: /hello?name=N  /slow?seconds=S  /stream  /echo (POST, PUT)  "
                          "/bytes/N\n");
  });
  router.route("/hello", [](Request r) {
    std::string name = queryValue(r.query, "name");
    return ServerResponse::text(200, absl::StrCat("hello, ", name.empty() ? "world" : name, "\n"));
  });
  router.route("/slow", slow);
  router.route("/stream", stream);
  auto echo = [](Request r) { return ServerResponse::text(200, std::move(r.body)); };
  router.route("POST", "/echo", echo);
  router.route("PUT", "/echo", echo);
  router.prefix("/bytes/", bytes);
  // The request as the server got it, for comparing clients: method, target, the header fields
  // but User-Agent (each client names itself), and the body.
  auto echoRequest = [](Request r) {
    std::string text = absl::StrCat(r.method, " ", r.target, "\n");
    for (const auto& [name, value] : r.headers) {
      if (!absl::EqualsIgnoreCase(std::string(name), "User-Agent")) absl::StrAppend(&text, name, ": ", value, "\n");
    }
    absl::StrAppend(&text, "\n", r.body);
    return ServerResponse::text(200, text);
  };
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}) {
    router.route(method, "/request", echoRequest);
  }
  router.route("/status/404", [](Request) { return ServerResponse::text(404, "not here\n"); });
  router.route("/redirect", [](Request) { return ServerResponse::redirect(302, "/hello?name=redirected"); });
  // /redirect-to?url=U: a 302 to U, anywhere (httpbin's; for trying clients, not for the open web).
  router.route("/redirect-to", [](Request r) {
    const std::string to = queryValue(r.query, "url");
    if (to.empty()) return ServerResponse::text(400, "usage: /redirect-to?url=U\n");
    return ServerResponse::redirect(302, to);
  });
  // /redirect/CODE for any method: that redirect to /request, which shows what followed it.
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}) {
    router.prefix(method, "/redirect/", [](Request r) {
      int code = 302;
      if (!absl::SimpleAtoi(r.path.substr(std::string_view("/redirect/").size()), &code) ||
          code < 300 || code > 399) {
        return ServerResponse::text(400, "usage: /redirect/CODE with a 3xx code\n");
      }
      return ServerResponse::redirect(code, "/request");
    });
  }
  // /flaky/KEY?fail=N&code=C&after=S: the first N requests for KEY answer C (503 by default,
  // with Retry-After: S when given), the next ones 200: what a client's retries meet.
  auto failures = std::make_shared<absl::flat_hash_map<std::string, int>>();
  router.prefix("/flaky/", [failures](Request r) {
    // (SimpleAtoi writes 0 when it fails: parse into a spare.)
    int fail = 1, code = 503, parsed = 0;
    if (absl::SimpleAtoi(queryValue(r.query, "fail"), &parsed)) fail = parsed;
    if (absl::SimpleAtoi(queryValue(r.query, "code"), &parsed)) code = parsed;
    // Counted per KEY, and reset by the success: each client meets the same sequence.
    int& seen = (*failures)[r.path];
    if (seen < fail) {
      ++seen;
      ServerResponse response = ServerResponse::text(code, absl::StrCat("failure ", seen, "\n"));
      const std::string after = queryValue(r.query, "after");
      if (!after.empty()) response.headers.add("Retry-After", after);
      return response;
    }
    const int failed = std::exchange(seen, 0);
    return ServerResponse::text(200, absl::StrCat("worked after ", failed, " failures\n"));
  });
  // /etag: a resource with a validator and a date, answering 304 to a matching If-None-Match
  // or an If-Modified-Since at or after its date.
  router.route("/etag", [](Request r) {
    constexpr const char* kTag = "\"v1-deft\"";
    constexpr const char* kModified = "Tue, 01 Jun 2021 10:00:00 GMT";
    const std::string match(r.headers.get("If-None-Match").value_or(""));
    const std::string since(r.headers.get("If-Modified-Since").value_or(""));
    ServerResponse response = match == kTag || since == kModified || since.ends_with("2030 00:00:00 GMT")
                                  ? ServerResponse::text(304, "")
                                  : ServerResponse::text(200, "tagged body\n");
    response.headers.add("ETag", kTag);
    response.headers.add("Last-Modified", kModified);
    return response;
  });
  // Cookies, as httpbin has them: /cookies shows what the client sent; /cookies/set?a=1&b=2 sets
  // them (Path=/) and redirects there; /cookies/login sets a persistent HttpOnly one too.
  router.route("/cookies", [](Request r) {
    return ServerResponse::text(200, std::string(r.headers.get("Cookie").value_or("none")) + "\n");
  });
  router.route("/cookies/set", [](Request r) {
    ServerResponse response = ServerResponse::redirect(302, "/cookies");
    for (std::string_view rest = r.query; !rest.empty();) {
      const std::size_t amp = rest.find('&');
      response.headers.add("Set-Cookie", absl::StrCat(std::string(rest.substr(0, amp)), "; Path=/"));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
    return response;
  });
  router.route("/cookies/login", [](Request) {
    ServerResponse response = ServerResponse::redirect(302, "/cookies");
    response.headers.add("Set-Cookie",
                         "session=s3cret; Path=/; Expires=Tue, 01 Jan 2036 00:00:00 GMT; HttpOnly");
    response.headers.add("Set-Cookie", "theme=dark; Path=/cookies");
    return response;
  });

  auto site = std::make_shared<deft::http::Site>(deft::reactor(), std::move(router));
  const deft::TcpListenOptions listen{.interface = absl::GetFlag(FLAGS_interface),
                                      .reusePort = absl::GetFlag(FLAGS_reuse_port)};
  std::shared_ptr<deft::ListeningPort> port;
  const bool https = !absl::GetFlag(FLAGS_cert).empty();
  if (https) {
    deft::tls::ServerTlsOptions tls;
    tls.certificateChainFile = absl::GetFlag(FLAGS_cert);
    tls.privateKeyFile = absl::GetFlag(FLAGS_key).empty() ? tls.certificateChainFile
                                                          : absl::GetFlag(FLAGS_key);
    std::shared_ptr<deft::tls::ServerContext> context;
    try {
      context = deft::tls::ServerContext::create(tls);
    } catch (const deft::tls::TlsConfigurationError& e) {
      std::fprintf(stderr, "web_server: %s\n", e.what());
      return 1;
    }
    port = deft::tls::listenSSL(deft::reactor(), absl::GetFlag(FLAGS_port), site, context, listen);
  } else if (!absl::GetFlag(FLAGS_unix).empty()) {
    try {
      port = deft::listenUNIX(deft::reactor(), absl::GetFlag(FLAGS_unix), site);
    } catch (const deft::CannotListenError& e) {
      std::fprintf(stderr, "web_server: %s\n", e.what());
      return 1;
    }
    std::printf("web server on unix socket %s\n", port->getHost().path().c_str());
  } else {
    port = deft::listenTCP(deft::reactor(), absl::GetFlag(FLAGS_port), site, listen);
  }
  if (!port->getHost().isUnix()) {
    std::printf("web server on %s://%s/\n", https ? "https" : "http",
                port->getHost().toString().c_str());
  }
  std::fflush(stdout);
  deft::reactor().run();
  return 0;
}
