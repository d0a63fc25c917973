// The notes' select() servers (seed 002), twice: on the reactor's raw descriptors
// (addReader/addWriter, what select.select(inputs, w_inputs, ...) becomes), and on
// Protocol/Factory, which is how deft code is written. Side by side, the same three servers:
//
//   1. two listening sockets on one loop (the notes' ports 8001 and 8002): every connection's
//      data is answered with "ok";
//   2. a non-blocking HTTP server (the notes' port 8008) that parses the request line and
//      answers the URL back;
//   3. "anything with fileno() goes in the select list": a FileDescriptor is exactly that.
//
//   ./bazelw run //examples/notes:select_servers -- --style=raw        # or --style=protocol
//   echo hello | nc -q1 127.0.0.1 8001                                  # ok
//   ./bazelw run //examples/notes:select_servers -- --connect=8001 hi there   # the notes' client
//   curl 127.0.0.1:8008/some/page                                       # /some/page
//
// What the raw version has to do by hand, the Protocol version gets from tcp/: accept loops,
// non-blocking sockets, partial writes (queued, with backpressure), EOF and errors
// (connectionLost), closing. Its 30 lines are the notes' loop; its bugs (a socket removed twice,
// a half-read request) are the ones the notes' versions have.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "protocol/line_receiver.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"

ABSL_FLAG(std::string, style, "protocol", "raw (addReader/addWriter) or protocol (Protocol/Factory)");
ABSL_FLAG(std::uint16_t, port_a, 8001, "the first \"ok\" port (0: any free port)");
ABSL_FLAG(std::uint16_t, port_b, 8002, "the second \"ok\" port (0: any free port)");
ABSL_FLAG(std::uint16_t, http_port, 8008, "the URL-echo HTTP port (0: any free port)");
ABSL_FLAG(std::uint16_t, connect, 0,
          "be the notes' client instead: send each argument to this port, print each answer");

namespace {

using deft::FileDescriptor;
using deft::Reactor;

// ---- Raw: the reactor as select() ----------------------------------------------------------

// A connection the raw servers serve. Like the notes' loop: read what is there; when something
// came, get called when writable and answer; on EOF or error, unwatch and close.
class RawConnection : public FileDescriptor {
 public:
  RawConnection(Reactor& reactor, int fd, bool http) : reactor_(reactor), fd_(fd), http_(http) {}
  ~RawConnection() override {
    reactor_.removeReader(this);
    reactor_.removeWriter(this);
    ::close(fd_);
  }
  int fileno() const override { return fd_; }

  void doRead() override {
    char buffer[1024];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return finish();  // EOF or error: the notes' "remove from both lists, close"
    received_.append(buffer, static_cast<std::size_t>(n));
    if (!http_) {
      reply_ += "ok";
    } else if (received_.find("\r\n\r\n") != std::string::npos) {
      // "GET /some/page HTTP/1.1": the URL is the second word of the first line.
      const std::string line = received_.substr(0, received_.find("\r\n"));
      const std::size_t a = line.find(' '), b = line.rfind(' ');
      const std::string url = a != std::string::npos && b > a ? line.substr(a + 1, b - a - 1) : "?";
      reply_ = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(url.size()) +
               "\r\nConnection: close\r\n\r\n" + url;
      closeAfterReply_ = true;
      reactor_.removeReader(this);
    }
    if (!reply_.empty()) reactor_.addWriter(this);  // the notes' w_inputs.append(conn)
  }

  void doWrite() override {
    const ssize_t n = ::send(fd_, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) return finish();
    reply_.erase(0, static_cast<std::size_t>(n));  // a partial write keeps the rest for later
    if (!reply_.empty()) return;
    reactor_.removeWriter(this);
    if (closeAfterReply_) finish();
  }

 private:
  void finish();

  Reactor& reactor_;
  int fd_;
  bool http_;
  std::string received_;
  std::string reply_;
  bool closeAfterReply_ = false;
};

// The listening socket: readable means a connection waits in the accept queue.
class RawListener : public FileDescriptor {
 public:
  RawListener(Reactor& reactor, std::uint16_t port, bool http) : reactor_(reactor), http_(http) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 128) != 0) {
      std::perror("bind/listen");
      std::exit(1);
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    reactor_.addReader(this);  // the notes' inputs = [sk1, sk2]
  }
  ~RawListener() override {
    reactor_.removeReader(this);
    ::close(fd_);
  }
  int fileno() const override { return fd_; }
  std::uint16_t port() const { return port_; }

  void doRead() override {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: another wake-up took it
    auto connection = std::make_unique<RawConnection>(reactor_, fd, http_);
    reactor_.addReader(connection.get());
    connections().push_back(std::move(connection));
  }

  static std::vector<std::unique_ptr<RawConnection>>& connections() {
    static std::vector<std::unique_ptr<RawConnection>> all;
    return all;
  }

 private:
  Reactor& reactor_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  bool http_;
};

void RawConnection::finish() {
  reactor_.removeReader(this);
  reactor_.removeWriter(this);
  // Destroyed at the end of this pass, not under its own doRead.
  reactor_.callLater(absl::ZeroDuration(), [this] {
    auto& all = RawListener::connections();
    std::erase_if(all, [this](const std::unique_ptr<RawConnection>& c) { return c.get() == this; });
  });
}

// ---- Protocol/Factory: the same servers as deft code ---------------------------------------

class Ok : public deft::Protocol {
  void dataReceived(std::string_view) override { transport()->write("ok"); }
};

// The request line is the first line; the empty line ends the head.
class UrlEcho : public deft::LineReceiver {
  void lineReceived(std::string_view line) override {
    if (url_.empty()) {
      const std::size_t a = line.find(' '), b = line.rfind(' ');
      url_ = a != std::string_view::npos && b > a ? std::string(line.substr(a + 1, b - a - 1)) : "?";
    } else if (line.empty()) {
      transport()->write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(url_.size()) +
                         "\r\nConnection: close\r\n\r\n" + url_);
      transport()->loseConnection();  // after what was written has gone out
    }
  }
  std::string url_;
};

// The notes' client (seed 002: sendall, recv, print("server response:", ret), in a loop): one
// message at a time, the next sent when the answer has come.
class Client : public deft::Protocol {
 public:
  Client(std::vector<std::string> messages, deft::Deferred<void> done)
      : messages_(std::move(messages)), done_(std::move(done)) {}
  void connectionMade() override { sendNext(); }
  void dataReceived(std::string_view answer) override {
    std::printf("server response: %.*s\n", static_cast<int>(answer.size()), answer.data());
    sendNext();
  }
  void connectionLost(const deft::Failure& reason) override {
    if (next_ > messages_.size()) {
      done_.callback();
    } else {
      done_.errback(reason);
    }
  }

 private:
  void sendNext() {
    if (next_ < messages_.size()) {
      transport()->write(messages_[next_]);
    } else {
      transport()->loseConnection();
    }
    ++next_;
  }
  std::vector<std::string> messages_;
  std::size_t next_ = 0;
  deft::Deferred<void> done_;
};

int runClient(std::uint16_t port, std::vector<std::string> messages) {
  return deft::react([&](Reactor& reactor) -> deft::Deferred<void> {
    deft::Deferred<void> done;
    co_await deft::connectProtocol(reactor, "127.0.0.1", port,
                                   std::make_unique<Client>(messages, done));
    co_await done;
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_connect) != 0) {
    std::vector<std::string> messages(rest.begin() + 1, rest.end());
    if (messages.empty()) messages = {"hello"};
    return runClient(absl::GetFlag(FLAGS_connect), std::move(messages));
  }
  Reactor& reactor = deft::reactor();
  const std::string style = absl::GetFlag(FLAGS_style);
  std::vector<std::unique_ptr<RawListener>> raw;
  std::vector<std::shared_ptr<deft::ListeningPort>> ports;
  std::vector<std::uint16_t> bound;
  if (style == "raw") {
    raw.push_back(std::make_unique<RawListener>(reactor, absl::GetFlag(FLAGS_port_a), false));
    raw.push_back(std::make_unique<RawListener>(reactor, absl::GetFlag(FLAGS_port_b), false));
    raw.push_back(std::make_unique<RawListener>(reactor, absl::GetFlag(FLAGS_http_port), true));
    for (auto& listener : raw) bound.push_back(listener->port());
  } else if (style == "protocol") {
    const deft::TcpListenOptions loopback{.interface = "127.0.0.1"};
    ports.push_back(deft::listenTCP(reactor, absl::GetFlag(FLAGS_port_a), deft::makeFactory<Ok>(), loopback));
    ports.push_back(deft::listenTCP(reactor, absl::GetFlag(FLAGS_port_b), deft::makeFactory<Ok>(), loopback));
    ports.push_back(deft::listenTCP(reactor, absl::GetFlag(FLAGS_http_port), deft::makeFactory<UrlEcho>(), loopback));
    for (auto& port : ports) bound.push_back(port->getHost().port());
  } else {
    std::fprintf(stderr, "select_servers: --style is raw or protocol\n");
    return 2;
  }
  std::printf("%s servers: ok on %u and %u, URL echo on %u\n", style.c_str(), bound[0], bound[1],
              bound[2]);
  std::fflush(stdout);
  reactor.run();  // Ctrl-C stops it
  RawListener::connections().clear();
  return 0;
}
