// StandardIO: as a child process's real stdin and stdout, and in this process over pipes, a
// regular file and /dev/null, including a reader of stdout that goes away.

#include "process/stdio.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "net/errors.h"
#include "process/process.h"
#include "process/utils.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::runUntil;
using testing::wait;

const char* childPath = nullptr;  // argv[1]: stdio_child

class Echo : public Protocol {
 public:
  explicit Echo(std::optional<Failure>* lost) : lost_(lost) {}
  void dataReceived(std::string_view data) override { transport()->write(data); }
  void connectionLost(const Failure& reason) override { *lost_ = reason; }

 private:
  std::optional<Failure>* lost_;
};

// Reads what is there now from a non-blocking descriptor; false at end of file.
bool drain(int fd, std::string& into) {
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    return n != 0;
  }
}

class StdioTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(StdioTest, AChildsStdinAndStdoutAreItsTransport) {
  ProcessOutputOptions options;
  auto result = std::make_shared<testing::Result<ProcessResult>>();
  class Feed : public ProcessProtocol {
   public:
    explicit Feed(std::shared_ptr<ProcessResult> result) : result_(std::move(result)) {}
    void connectionMade() override {
      transport()->write("hello\r\nworld\r\n");
      transport()->closeStdin();
    }
    void outReceived(std::string_view data) override { result_->out.append(data); }
    void processEnded(const Failure& reason) override {
      result_->exitCode = reason.check<ProcessDone>() ? 0 : 1;
    }

   private:
    std::shared_ptr<ProcessResult> result_;
  };
  auto seen = std::make_shared<ProcessResult>();
  spawnProcess(reactor_, std::make_unique<Feed>(seen), childPath);
  ASSERT_TRUE(runUntil(reactor_, [&] { return seen->exitCode.has_value(); }));
  EXPECT_EQ(seen->out, "HELLO\r\nWORLD\r\nbye\r\n");
  EXPECT_EQ(seen->exitCode, 0);
}

TEST_F(StdioTest, EchoOverPipesEndsCleanlyAtEndOfInput) {
  int in[2];
  int out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
  std::optional<Failure> lost;
  startStandardIO(reactor_, std::make_unique<Echo>(&lost), in[0], out[1]);
  ASSERT_EQ(::write(in[1], "ping", 4), 4);
  std::string echoed;
  ASSERT_TRUE(runUntil(reactor_, [&] {
    drain(out[0], echoed);
    return echoed == "ping";
  }));
  ::close(in[1]);  // end of input: the default readConnectionLost closes the transport
  ASSERT_TRUE(runUntil(reactor_, [&] { return lost.has_value(); }));
  EXPECT_TRUE(lost->check<ConnectionDone>()) << lost->describe();
  ASSERT_TRUE(runUntil(reactor_, [&] { return !drain(out[0], echoed); })) << "no end of file";
  ::close(in[0]);
  ::close(out[0]);
  ::close(out[1]);
}

TEST_F(StdioTest, ARegularFileAsStdinIsReadWhole) {
  char name[] = "/tmp/deft-stdio-XXXXXX";
  const int file = ::mkstemp(name);
  ASSERT_GE(file, 0);
  std::string content(300 * 1024, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i % 251);
  ASSERT_EQ(::write(file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::lseek(file, 0, SEEK_SET);
  ::unlink(name);
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
  ASSERT_EQ(::fcntl(out[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
  std::optional<Failure> lost;
  startStandardIO(reactor_, std::make_unique<Echo>(&lost), file, out[1]);
  std::string echoed;
  ASSERT_TRUE(runUntil(reactor_, [&] { return !drain(out[0], echoed) && lost.has_value(); }));
  EXPECT_EQ(echoed.size(), content.size());
  EXPECT_TRUE(echoed == content);
  EXPECT_TRUE(lost->check<ConnectionDone>());
  ::close(file);
  ::close(out[0]);
  ::close(out[1]);
}

TEST_F(StdioTest, DevNullAndARegularFileAsStdout) {
  const int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::FILE* file = std::tmpfile();
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  std::optional<Failure> lost;
  // StandardIO takes the descriptor over (it is /dev/null after): give it a copy.
  const int stdoutCopy = ::dup(::fileno(file));
  startStandardIO(reactor_, std::make_unique<Echo>(&lost), in[0], stdoutCopy);
  ASSERT_EQ(::write(in[1], "to a file", 9), 9);
  ::close(in[1]);
  ASSERT_TRUE(runUntil(reactor_, [&] { return lost.has_value(); }));
  char written[16] = {};
  ASSERT_EQ(::pread(::fileno(file), written, sizeof written, 0), 9);
  EXPECT_STREQ(written, "to a file");
  std::fclose(file);
  ::close(stdoutCopy);
  ::close(in[0]);

  // /dev/null cannot be watched by epoll either: it is read as a file, and ends at once.
  std::optional<Failure> nullLost;
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  startStandardIO(reactor_, std::make_unique<Echo>(&nullLost), devNull, out[1]);
  ASSERT_TRUE(runUntil(reactor_, [&] { return nullLost.has_value(); }));
  EXPECT_TRUE(nullLost->check<ConnectionDone>());
  ::close(devNull);
  ::close(out[0]);
  ::close(out[1]);
}

TEST_F(StdioTest, AReaderOfStdoutThatGoesAwayEndsTheTransportNotTheProcess) {
  int in[2];
  int out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  std::optional<Failure> lost;
  startStandardIO(reactor_, std::make_unique<Echo>(&lost), in[0], out[1]);
  ::close(out[0]);  // nobody reads stdout any more: writing to it is EPIPE (SIGPIPE is ignored)
  ASSERT_EQ(::write(in[1], "anyone?", 7), 7);
  ASSERT_TRUE(runUntil(reactor_, [&] { return lost.has_value(); }));
  EXPECT_TRUE(lost->check<ConnectionLost>()) << lost->describe();
  ::close(in[0]);
  ::close(in[1]);
  ::close(out[1]);
}

// A socket (or a terminal) can be stdin and stdout at once: input on it is input, not a sign
// that stdout's reader went away.
TEST_F(StdioTest, OneSocketAsStdinAndStdout) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const int theirs = ::dup(pair[0]);
  std::optional<Failure> lost;
  startStandardIO(reactor_, std::make_unique<Echo>(&lost), pair[0], theirs);
  ASSERT_EQ(::write(pair[1], "both ways", 9), 9);
  ASSERT_TRUE(::fcntl(pair[1], F_SETFL, O_NONBLOCK) == 0);
  std::string echoed;
  ASSERT_TRUE(runUntil(reactor_, [&] {
    drain(pair[1], echoed);
    return echoed == "both ways" || lost.has_value();
  }));
  EXPECT_EQ(echoed, "both ways");
  EXPECT_FALSE(lost.has_value()) << lost->describe();
  ::shutdown(pair[1], SHUT_WR);
  ASSERT_TRUE(runUntil(reactor_, [&] { return lost.has_value(); }));
  EXPECT_TRUE(lost->check<ConnectionDone>()) << lost->describe();
  ::close(pair[0]);
  ::close(pair[1]);
  ::close(theirs);
}

// Half-closed first (loseWriteConnection), then closed (loseConnection) while stdin is still
// open: the transport still ends.
TEST_F(StdioTest, AHalfCloseThenLoseConnectionEndsTheTransport) {
  class HalfCloser : public Protocol {
   public:
    HalfCloser(std::optional<Failure>* lost, ITransport** transport)
        : lost_(lost), transport_(transport) {}
    void connectionMade() override {
      *transport_ = transport();
      transport()->write("done writing");
      transport()->loseWriteConnection();
    }
    void connectionLost(const Failure& reason) override { *lost_ = reason; }

   private:
    std::optional<Failure>* lost_;
    ITransport** transport_;
  };
  int in[2];
  int out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
  std::optional<Failure> lost;
  ITransport* transport = nullptr;
  startStandardIO(reactor_, std::make_unique<HalfCloser>(&lost, &transport), in[0], out[1]);
  std::string written;
  ASSERT_TRUE(runUntil(reactor_, [&] { return !drain(out[0], written); })) << "stdout not closed";
  EXPECT_EQ(written, "done writing");
  EXPECT_FALSE(lost.has_value());
  transport->loseConnection();
  ASSERT_TRUE(runUntil(reactor_, [&] { return lost.has_value(); }));
  EXPECT_TRUE(lost->check<ConnectionDone>());
  ::close(in[0]);
  ::close(in[1]);
  ::close(out[0]);
  ::close(out[1]);
}

}  // namespace
}  // namespace deft

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: stdio_test STDIO_CHILD\n");
    return 2;
  }
  deft::childPath = argv[1];
  return RUN_ALL_TESTS();
}
