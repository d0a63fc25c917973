// The notes' Tornado-MySQL login server, in deft: a web server whose handlers query MySQL through
// a pool without ever blocking the loop.
//
//   ./bazelw run //examples:mysql_login                 # starts its own throw-away MariaDB
//   ./bazelw run //examples:mysql_login -- --dsn=mysql://app:secret@127.0.0.1:3306/cmdb
//
//   curl -d 'user=alice&password=wonderland' localhost:8888/login   # 200, welcome
//   curl -d 'user=alice&password=guess' localhost:8888/login        # 401
//   curl localhost:8888/sleep/3 & curl localhost:8888/               # the second answers at once
//
// Tornado's version (seed 004): `POOL = pools.Pool(dict(...), max_idle_connections=1,
// max_recycle_sec=3)`, `yield POOL.execute("SELECT SLEEP(%s)", (n,))` in a @gen.coroutine, and a
// LoginHandler that looks the user up. The same here: a ConnectionPool with those limits,
// `co_await pool.execute("SELECT SLEEP(?)", n)` in a coroutine handler, and POST /login checking
// the user table. The server keeps answering while statements run: the pool's connections are
// sockets on the same loop, not threads.
//
// With --dsn the tables are created if missing (users: name, salt, password_hash) and the demo
// user alice/wonderland is added if absent.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "http/url.h"
#include "http_server/site.h"
#include "mysql/pool.h"
#include "mysql/throwaway_server.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"

ABSL_FLAG(std::uint16_t, port, 8888, "TCP port to listen on (0: any free port)");
ABSL_FLAG(std::string, interface, "127.0.0.1", "address to listen on");
ABSL_FLAG(std::string, dsn, "",
          "the database, as mysql://user:password@host:port/database (default: start a "
          "throw-away MariaDB server for this run)");

namespace {

using deft::Deferred;
using deft::http::Request;
using deft::http::ServerResponse;
namespace mysql = deft::mysql;

constexpr const char* kForm =
    "<!doctype html><title>login</title>\n"
    "<form method=post action=/login>\n"
    "  <input name=user placeholder=user> <input name=password type=password>\n"
    "  <button>log in</button>\n"
    "</form>\n";

// "user=alice&password=x" -> the decoded value of `key`, if present.
std::optional<std::string> formValue(std::string_view body, std::string_view key) {
  for (std::string_view rest = body; !rest.empty();) {
    const std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      std::string value(pair.substr(key.size() + 1));
      for (char& c : value) c = c == '+' ? ' ' : c;
      return deft::http::percentDecode(value);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Deferred<void> createSchema(mysql::ConnectionPool& pool) {
  co_await pool.execute(
      "CREATE TABLE IF NOT EXISTS users (name VARCHAR(64) PRIMARY KEY, email VARCHAR(128), "
      "salt VARBINARY(16) NOT NULL, password_hash CHAR(64) NOT NULL)");
  // (Built before the co_await: g++ 12 miscompiles braced temporaries inside one.)
  const mysql::Bytes salt{"pepper"};
  co_await pool.execute(
      "INSERT IGNORE INTO users VALUES ('alice', 'alice@example.test', ?, SHA2(CONCAT(?, ?), 256))",
      salt, salt, "wonderland");
}

// POST /login: the seed's LoginHandler.post.
Deferred<ServerResponse> login(mysql::ConnectionPool& pool, Request request) {
  const std::optional<std::string> user = formValue(request.body, "user");
  const std::optional<std::string> password = formValue(request.body, "password");
  if (!user || !password) co_return ServerResponse::text(400, "send user and password\n");
  mysql::Result found = co_await pool.execute(
      "SELECT name, email FROM users WHERE name = ? AND password_hash = SHA2(CONCAT(salt, ?), 256)",
      *user, *password);
  if (found.empty()) co_return ServerResponse::text(401, kForm, "text/html; charset=utf-8");
  co_return ServerResponse::text(
      200, absl::StrCat("welcome, ", *found[0].get<std::string>("name"), " <",
                        found[0].get<std::string>("email").value_or("no email"), ">\n"));
}

// GET /sleep/N: the seed's get_user_by_conn_pool, SELECT SLEEP(N) on the pool.
Deferred<ServerResponse> sleep(mysql::ConnectionPool& pool, Request request) {
  double seconds = 0;
  if (!absl::SimpleAtod(request.path.substr(std::string_view("/sleep/").size()), &seconds) ||
      seconds < 0 || seconds > 60) {
    co_return ServerResponse::text(400, "usage: /sleep/N with N from 0 to 60 seconds\n");
  }
  const absl::Time start = deft::reactor().seconds();
  co_await pool.execute("SELECT SLEEP(?)", seconds);
  co_return ServerResponse::text(
      200, absl::StrCat("the database slept ", seconds, " s (", 
                        absl::ToDoubleSeconds(deft::reactor().seconds() - start),
                        " s here), and the server answered others meanwhile\n"));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::unique_ptr<mysql::ThrowawayServer> ownServer;
  mysql::ConnectOptions options;
  if (absl::GetFlag(FLAGS_dsn).empty()) {
    std::printf("starting a throw-away MariaDB server...\n");
    std::fflush(stdout);
    try {
      ownServer = std::make_unique<mysql::ThrowawayServer>();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mysql_login: %s\n", e.what());
      return 1;
    }
    options = ownServer->options();
    options.database = "cmdb";
  } else {
    auto parsed = mysql::parseDsn(absl::GetFlag(FLAGS_dsn));
    if (!parsed.ok()) {
      std::fprintf(stderr, "mysql_login: %s\n", std::string(parsed.status().message()).c_str());
      return 2;
    }
    options = *parsed;
  }

  deft::Reactor& reactor = deft::reactor();
  int status = 0;
  {
    // The seed's pool: max_idle_connections=1, max_recycle_sec=3.
    std::optional<mysql::ConnectionPool> pool;
    if (ownServer) {  // the database itself is created first, without selecting it
      mysql::ConnectOptions root = options;
      root.database.clear();
      pool.emplace(reactor, root, mysql::PoolOptions{.maxOpen = 1});
    }
    std::shared_ptr<deft::ListeningPort> port;
    auto start = [&]() -> Deferred<void> {
      try {
        if (pool) {
          co_await pool->execute("CREATE DATABASE IF NOT EXISTS cmdb CHARACTER SET utf8mb4");
          co_await pool->close();
        }
        const mysql::PoolOptions limits{.maxOpen = 10, .maxIdle = 1, .maxRecycle = absl::Seconds(3)};
        pool.emplace(reactor, options, limits);
        co_await createSchema(*pool);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "mysql_login: %s\n", e.what());
        status = 1;
        reactor.stop();
        co_return;
      }
      deft::http::Router router;
      router.route("/", [](Request) {
        return ServerResponse::text(200, "routes: GET /login (a form), POST /login, GET /sleep/N\n");
      });
      router.route("GET", "/login", [](Request) {
        return ServerResponse::text(200, kForm, "text/html; charset=utf-8");
      });
      router.route("POST", "/login", [&](Request r) { return login(*pool, std::move(r)); });
      router.prefix("/sleep/", [&](Request r) { return sleep(*pool, std::move(r)); });
      auto site = std::make_shared<deft::http::Site>(reactor, std::move(router));
      port = deft::listenTCP(reactor, absl::GetFlag(FLAGS_port), site,
                             deft::TcpListenOptions{.interface = absl::GetFlag(FLAGS_interface)});
      std::printf("login server on http://%s/ (database %s)\n", port->getHost().toString().c_str(),
                  options.unixSocket.empty()
                      ? absl::StrCat(options.host, ":", options.port, "/", options.database).c_str()
                      : options.unixSocket.c_str());
      std::fflush(stdout);
    };
    reactor.callWhenRunning(start);
    reactor.run();
  }
  return status;
}
