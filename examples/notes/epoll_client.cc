// The notes' home-made asynchronous HTTP client (seed 001: non-blocking sockets, select, and a
// callback per page — "what every async library is underneath"), written on raw epoll, with
// where each step lives in deft.
//
//   ./bazelw run //examples/notes:epoll_client                     # fetches its own server
//   ./bazelw run //examples/notes:epoll_client -- http://127.0.0.1:8080/hello
//
// Plain http:// only, HTTP/1.0, the body up to the close: that is all a page of code can do. The
// same job in deft is getPage (web_client/), which adds https, keep-alive, chunked bodies,
// redirects, timeouts and errors through errbacks; examples/getpage.cc runs it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "http/url.h"
#include "http_server/site.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"

namespace {

using Callback = std::function<void(const std::string& url, const std::string& response)>;

// One page being fetched: the notes' HttpRequest object, which the select list held because
// it had a fileno().
struct Fetch {
  std::string url;
  std::string request;
  std::string response;
  Callback done;
  int fd = -1;
};

// Starts a non-blocking connect. deft: tcp/connector (connectTCP), with the address from the
// reactor's resolver (c-ares on the loop: getaddrinfo here blocks the whole loop).
bool startConnect(int epoll, Fetch& fetch) {
  const absl::StatusOr<deft::http::Url> url = deft::http::Url::parse(fetch.url);
  if (!url.ok() || url->scheme != "http") {
    std::fprintf(stderr, "epoll_client: only http:// URLs: %s\n", fetch.url.c_str());
    return false;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(url->host.c_str(), std::to_string(url->port).c_str(), &hints, &found) != 0) {
    std::fprintf(stderr, "epoll_client: cannot resolve %s\n", url->host.c_str());
    return false;
  }
  fetch.fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // EINPROGRESS: the connect goes on while the loop does other things.
  ::connect(fetch.fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  fetch.request = absl::StrCat("GET ", url->target(), " HTTP/1.0\r\nHost: ", url->host,
                               "\r\n\r\n");
  // Writable means connected (or failed: SO_ERROR says which). deft: Reactor::addWriter, and the
  // Connector's doWrite.
  epoll_event event{};
  event.events = EPOLLOUT;
  event.data.ptr = &fetch;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, fetch.fd, &event);
  return true;
}

// The loop: wait for readiness, run what is ready. deft: Reactor::loopOnce (reactor/reactor.cc),
// which also runs timers, signals and calls from other threads in the same pass.
void runLoop(std::vector<std::unique_ptr<Fetch>>& fetches) {
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::size_t pending = 0;
  for (auto& fetch : fetches) pending += startConnect(epoll, *fetch) ? 1 : 0;
  while (pending > 0) {
    epoll_event events[64];
    const int ready = ::epoll_wait(epoll, events, 64, -1);
    for (int i = 0; i < ready; ++i) {
      Fetch& fetch = *static_cast<Fetch*>(events[i].data.ptr);
      if (events[i].events & EPOLLOUT) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fetch.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {  // deft: the Deferred errbacks with ConnectionRefusedError & co.
          fetch.done(fetch.url, std::string("connect failed: ") + std::strerror(error));
        } else {
          // Connected: send the request (a short write would need the rest queued: deft's
          // WriteQueue, with backpressure), then wait for the answer.
          ::send(fetch.fd, fetch.request.data(), fetch.request.size(), MSG_NOSIGNAL);
          epoll_event event{};
          event.events = EPOLLIN;
          event.data.ptr = &fetch;
          ::epoll_ctl(epoll, EPOLL_CTL_MOD, fetch.fd, &event);
          continue;
        }
      } else {
        char buffer[4096];
        const ssize_t n = ::recv(fetch.fd, buffer, sizeof buffer, 0);
        if (n > 0) {  // more of the page; deft: Protocol::dataReceived, the HTTP parser (http/)
          fetch.response.append(buffer, static_cast<std::size_t>(n));
          continue;
        }
        if (n < 0 && errno == EAGAIN) continue;
        // The server closed: the page is whole. The callback is the notes' "callback per page";
        // deft: the Deferred getPage returned fires, and its callbacks run.
        fetch.done(fetch.url, fetch.response);
      }
      ::epoll_ctl(epoll, EPOLL_CTL_DEL, fetch.fd, nullptr);
      ::close(fetch.fd);
      --pending;
    }
  }
  ::close(epoll);
}

// With no URL: a deft server on its own thread (its own Reactor) to fetch from.
std::vector<std::string> serveOwnPages(std::thread& thread, deft::Reactor*& serverReactor) {
  std::promise<std::uint16_t> bound;
  auto port = bound.get_future();
  thread = std::thread([&bound, &serverReactor] {
    deft::Reactor reactor;
    serverReactor = &reactor;
    deft::http::Router router;
    router.prefix("/page/", [](deft::http::Request r) {
      return deft::http::ServerResponse::text(200, "this is " + r.path + "\n");
    });
    auto listening = deft::listenTCP(reactor, 0,
                                     std::make_shared<deft::http::Site>(reactor, std::move(router)),
                                     deft::TcpListenOptions{.interface = "127.0.0.1"});
    bound.set_value(listening->getHost().port());
    reactor.run(/*installSignalHandlers=*/false);
  });
  const std::string base = absl::StrCat("http://127.0.0.1:", port.get(), "/page/");
  return {base + "1", base + "2", base + "3", base + "4"};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> urls(argv + 1, argv + argc);
  std::thread serverThread;
  deft::Reactor* serverReactor = nullptr;
  if (urls.empty()) urls = serveOwnPages(serverThread, serverReactor);

  std::vector<std::unique_ptr<Fetch>> fetches;
  for (const std::string& url : urls) {
    auto fetch = std::make_unique<Fetch>();
    fetch->url = url;
    fetch->done = [](const std::string& url, const std::string& response) {
      const std::size_t headEnd = response.find("\r\n\r\n");
      const std::string statusLine = response.substr(0, response.find("\r\n"));
      const std::size_t body = headEnd == std::string::npos ? 0 : response.size() - headEnd - 4;
      std::printf("%s: %s, %zu bytes of body\n", url.c_str(), statusLine.c_str(), body);
    };
    fetches.push_back(std::move(fetch));
  }
  runLoop(fetches);
  std::printf("all %zu done\n", fetches.size());
  if (serverThread.joinable()) {
    serverReactor->callFromThread([serverReactor] { serverReactor->stop(); });
    serverThread.join();
  }
  return 0;
}
