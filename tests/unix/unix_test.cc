// Unix-domain sockets: round trips over a file and an abstract name, credentials, file mode,
// stale-socket replacement and the refusal of a live one, connection errors.

#include "unix/unix.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/errors.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::Echo;
using testing::OneShotClientFactory;
using testing::Recorder;
using testing::runUntil;

class UnixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/deft-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<testing::Record> connect(const std::string& path,
                                           std::shared_ptr<OneShotClientFactory>* factoryOut = nullptr) {
    auto record = std::make_shared<testing::Record>();
    auto factory = std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(record));
    connectUNIX(reactor_, path, factory, absl::Seconds(5));
    if (factoryOut != nullptr) *factoryOut = factory;
    return record;
  }

  void expectEcho(const std::string& path) {
    std::shared_ptr<OneShotClientFactory> factory;
    auto client = connect(path, &factory);
    ASSERT_TRUE(runUntil(reactor_, [&] { return client->made; }));
    client->transport->write("over a unix socket");
    ASSERT_TRUE(runUntil(reactor_, [&] { return client->received == "over a unix socket"; }));
    EXPECT_EQ(client->transport->getPeer().path(), path);
    client->transport->loseConnection();
    ASSERT_TRUE(runUntil(reactor_, [&] { return factory->lost.has_value(); }));
    EXPECT_TRUE(factory->lost->check<ConnectionDone>()) << factory->lost->getErrorMessage();
  }

  std::string dir_;
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

// A socket file as a server that died leaves it: bound, then closed without unlink.
void leaveDeadSocketFile(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  std::optional<Address> address = Address::fromUnixPath(path);
  ASSERT_EQ(::bind(fd, address->sockaddrPointer(), address->length()), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ::close(fd);
}

// The pid of a process that has exited and been reaped.
pid_t deadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST_F(UnixTest, EchoRoundTripOverASocketFile) {
  const std::string path = dir_ + "/echo.sock";
  auto port = listenUNIX(reactor_, path, makeFactory<Echo>());
  EXPECT_EQ(port->getHost().path(), path);
  EXPECT_TRUE(port->getHost().isUnix());
  expectEcho(path);
  port->stopListening();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::is_symlink(path + ".lock"));
}

TEST_F(UnixTest, EchoRoundTripOverAnAbstractName) {
  const std::string name = "@deft-test-" + std::to_string(::getpid());
  auto port = listenUNIX(reactor_, name, makeFactory<Echo>());
  EXPECT_EQ(port->getHost().path(), name);
  expectEcho(name);
  // Nothing in the file system, and the name is free again once the port closes.
  EXPECT_FALSE(std::filesystem::exists(name));
  port->stopListening();
  auto again = listenUNIX(reactor_, name, makeFactory<Echo>());
  again->stopListening();
}

TEST_F(UnixTest, TheServerSeesTheClientsCredentials) {
  const std::string path = dir_ + "/creds.sock";
  std::vector<std::shared_ptr<testing::Record>> servers;
  auto port = listenUNIX(reactor_, path, testing::recordingFactory(servers));
  auto client = connect(path);
  ASSERT_TRUE(runUntil(reactor_, [&] { return client->made && !servers.empty() && servers[0]->made; }));
  std::optional<PeerCredentials> peer = getPeerCredentials(*servers[0]->transport);
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->pid, ::getpid());
  EXPECT_EQ(peer->uid, ::getuid());
  EXPECT_EQ(peer->gid, ::getgid());
  EXPECT_TRUE(servers[0]->transport->getPeer().isUnix());
}

TEST_F(UnixTest, TcpTransportsHaveNoPeerCredentials) {
  std::vector<std::shared_ptr<testing::Record>> servers;
  auto port = listenTCP(reactor_, 0, testing::recordingFactory(servers), {.interface = "127.0.0.1"});
  auto record = std::make_shared<testing::Record>();
  connectTCP(reactor_, "127.0.0.1", port->getHost().port(),
             std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(record)));
  ASSERT_TRUE(runUntil(reactor_, [&] { return !servers.empty() && servers[0]->made; }));
  EXPECT_FALSE(getPeerCredentials(*servers[0]->transport).has_value());
}

TEST_F(UnixTest, TheSocketFileGetsTheModeAsked) {
  const std::string path = dir_ + "/mode.sock";
  auto port = listenUNIX(reactor_, path, makeFactory<Echo>(), {.mode = 0600});
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(UnixTest, AStaleSocketFileAndLockOfADeadServerAreReplaced) {
  const std::string path = dir_ + "/stale.sock";
  leaveDeadSocketFile(path);
  const std::string deadHolder = std::to_string(deadPid());
  ASSERT_EQ(::symlink(deadHolder.c_str(), (path + ".lock").c_str()), 0);
  auto port = listenUNIX(reactor_, path, makeFactory<Echo>());
  expectEcho(path);
  // The lock now names this process.
  EXPECT_EQ(std::filesystem::read_symlink(path + ".lock").string(), std::to_string(::getpid()));
}

TEST_F(UnixTest, ALiveServerKeepsItsSocket) {
  const std::string path = dir_ + "/live.sock";
  auto port = listenUNIX(reactor_, path, makeFactory<Echo>());
  try {
    listenUNIX(reactor_, path, makeFactory<Echo>());
    FAIL() << "a second server took a live socket";
  } catch (const CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by process " + std::to_string(::getpid())),
              std::string::npos)
        << e.what();
  }
  expectEcho(path);  // the first server is untouched
}

TEST_F(UnixTest, ALiveServerThatTookNoLockKeepsItsSocketToo) {
  const std::string path = dir_ + "/foreign.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  std::optional<Address> address = Address::fromUnixPath(path);
  ASSERT_EQ(::bind(fd, address->sockaddrPointer(), address->length()), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  EXPECT_THROW(listenUNIX(reactor_, path, makeFactory<Echo>()), CannotListenError);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::is_symlink(path + ".lock"));  // its lock was given back
  ::close(fd);
}

TEST_F(UnixTest, SomethingElseInTheWayIsNotRemoved) {
  const std::string path = dir_ + "/file";
  { std::FILE* f = std::fopen(path.c_str(), "w"); std::fclose(f); }
  EXPECT_THROW(listenUNIX(reactor_, path, makeFactory<Echo>()), CannotListenError);
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
}

TEST_F(UnixTest, BadNamesAreRefusedWithTheReason) {
  EXPECT_THROW(listenUNIX(reactor_, "", makeFactory<Echo>()), CannotListenError);
  EXPECT_THROW(listenUNIX(reactor_, dir_ + "/" + std::string(120, 'x'), makeFactory<Echo>()),
               CannotListenError);
  EXPECT_THROW(listenUNIX(reactor_, dir_ + "/missing/dir.sock", makeFactory<Echo>()),
               CannotListenError);
}

TEST_F(UnixTest, ConnectingWhereNobodyListensFails) {
  std::shared_ptr<OneShotClientFactory> factory;
  connect(dir_ + "/nobody.sock", &factory);
  // Not inside connectUNIX: the factory hears of it from the loop, as for a name resolved.
  EXPECT_FALSE(factory->failed.has_value());
  ASSERT_TRUE(runUntil(reactor_, [&] { return factory->failed.has_value(); }));
  EXPECT_TRUE(factory->failed->check<ConnectError>());
  EXPECT_NE(factory->failed->getErrorMessage().find("nobody.sock"), std::string::npos)
      << factory->failed->getErrorMessage();

  const std::string path = dir_ + "/dead.sock";
  leaveDeadSocketFile(path);
  std::shared_ptr<OneShotClientFactory> refused;
  connect(path, &refused);
  ASSERT_TRUE(runUntil(reactor_, [&] { return refused->failed.has_value(); }));
  EXPECT_TRUE(refused->failed->check<ConnectionRefusedError>()) << refused->failed->getErrorMessage();
}

TEST_F(UnixTest, ReactorShutdownRemovesTheSocketFile) {
  const std::string path = dir_ + "/shutdown.sock";
  {
    ReactorScope inner;
    listenUNIX(inner.reactor(), path, makeFactory<Echo>());
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::is_symlink(path + ".lock"));
}

}  // namespace
}  // namespace deft
