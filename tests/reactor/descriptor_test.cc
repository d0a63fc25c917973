// addReader / addWriter on raw descriptors, including removal in the middle of a batch.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "reactor/reactor.h"

namespace deft {
namespace {

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  int read, write;
};

class Reader : public FileDescriptor {
 public:
  Reader(int fd, std::function<void(Reader&)> onRead) : fd_(fd), onRead_(std::move(onRead)) {}
  int fileno() const override { return fd_; }
  void doRead() override {
    ++reads;
    char buffer[64];
    while (::read(fd_, buffer, sizeof buffer) > 0) {
    }
    onRead_(*this);
  }
  int reads = 0;

 private:
  int fd_;
  std::function<void(Reader&)> onRead_;
};

class DescriptorTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(DescriptorTest, ReaderIsCalledWhenDataArrives) {
  Pipe pipe;
  Reader reader(pipe.read, [&](Reader&) { reactor_.stop(); });
  reactor_.addReader(&reader);
  EXPECT_TRUE(reactor_.isReading(&reader));
  reactor_.callLater(absl::Milliseconds(5), [&] { ASSERT_EQ(::write(pipe.write, "x", 1), 1); });
  reactor_.run(false);
  EXPECT_EQ(reader.reads, 1);
  reactor_.removeReader(&reader);
  EXPECT_FALSE(reactor_.isReading(&reader));
}

// epoll cannot watch a regular file: addReader throws, and the reactor keeps no pointer to the
// descriptor object (the caller destroys it next), so the number is free for the next watch.
TEST_F(DescriptorTest, ADescriptorEpollRefusesIsNotKept) {
  std::FILE* file = std::tmpfile();
  const int fd = ::fileno(file);
  {
    Reader reader(fd, [](Reader&) {});
    EXPECT_THROW(reactor_.addReader(&reader), std::system_error);
    EXPECT_FALSE(reactor_.isReading(&reader));
  }
  std::fclose(file);
  Pipe pipe;  // likely the same number again
  Reader reader(pipe.read, [&](Reader&) {});
  reactor_.addReader(&reader);
  ASSERT_EQ(::write(pipe.write, "x", 1), 1);
  reactor_.iterate(absl::Milliseconds(50));
  EXPECT_EQ(reader.reads, 1);
  reactor_.removeReader(&reader);
}

TEST_F(DescriptorTest, WriterIsCalledWhileWritable) {
  Pipe pipe;
  struct Writer : FileDescriptor {
    int fd;
    int writes = 0;
    Reactor* reactor;
    int fileno() const override { return fd; }
    void doWrite() override {
      if (++writes == 3) {
        reactor->removeWriter(this);
        reactor->stop();
      }
    }
  } writer;
  writer.fd = pipe.write;
  writer.reactor = &reactor_;
  reactor_.addWriter(&writer);
  reactor_.run(false);
  EXPECT_EQ(writer.writes, 3);
}

TEST_F(DescriptorTest, DescriptorRemovedAndItsNumberReusedMidBatchGetsNoStaleEvent) {
  // Two readable pipes in one batch. Whichever runs first removes the other, closes it, and opens
  // a new pipe that takes the same descriptor number and is watched by a fresh reader. The stale
  // event for the old number must not reach the new reader (nothing is readable on it).
  auto a = std::make_unique<Pipe>();
  auto b = std::make_unique<Pipe>();
  std::unique_ptr<Reader> readerA, readerB, replacement;
  std::unique_ptr<Pipe> reused;
  bool replacementCalled = false;
  auto removeTheOther = [&](Reader& self) {
    if (replacement) return;
    Reader* other = &self == readerA.get() ? readerB.get() : readerA.get();
    std::unique_ptr<Pipe>& otherPipe = &self == readerA.get() ? b : a;
    const int oldNumber = otherPipe->read;
    reactor_.removeReader(other);
    otherPipe.reset();  // closes both ends: the read number is free again
    reused = std::make_unique<Pipe>();
    EXPECT_EQ(reused->read, oldNumber);
    replacement = std::make_unique<Reader>(reused->read, [&](Reader&) { replacementCalled = true; });
    reactor_.addReader(replacement.get());
  };
  readerA = std::make_unique<Reader>(a->read, removeTheOther);
  readerB = std::make_unique<Reader>(b->read, removeTheOther);
  reactor_.addReader(readerA.get());
  reactor_.addReader(readerB.get());
  ASSERT_EQ(::write(a->write, "x", 1), 1);
  ASSERT_EQ(::write(b->write, "y", 1), 1);
  reactor_.iterate(absl::Milliseconds(100));
  reactor_.iterate(absl::Milliseconds(10));
  EXPECT_EQ(readerA->reads + readerB->reads, 1);
  EXPECT_FALSE(replacementCalled);
  reactor_.removeReader(replacement.get());
  reactor_.removeReader(readerA.get());
  reactor_.removeReader(readerB.get());
}

TEST_F(DescriptorTest, ADescriptorWhoseDoReadThrowsIsDroppedAndToldWhy) {
  std::vector<std::string> reported;
  auto previous = setUnhandledFailureHandler(
      [&](const Failure& f) { reported.push_back(f.getErrorMessage()); });
  Pipe bad, good;
  struct Throwing : Reader {
    using Reader::Reader;
    void connectionLost(const Failure& reason) override { lost = reason.getErrorMessage(); }
    std::string lost;
  };
  Throwing throwing(bad.read, [](Reader&) { throw std::runtime_error("reader bug"); });
  Reader fine(good.read, [](Reader&) {});
  reactor_.addReader(&throwing);
  reactor_.addReader(&fine);
  ASSERT_EQ(::write(bad.write, "x", 1), 1);
  ASSERT_EQ(::write(good.write, "y", 1), 1);
  reactor_.iterate(absl::Milliseconds(50));
  EXPECT_EQ(throwing.lost, "reader bug");
  EXPECT_FALSE(reactor_.isReading(&throwing));
  EXPECT_TRUE(reactor_.isReading(&fine));
  EXPECT_EQ(fine.reads, 1);
  ASSERT_EQ(::write(bad.write, "x", 1), 1);
  reactor_.iterate(absl::Milliseconds(10));
  EXPECT_EQ(throwing.reads, 1);  // no longer watched
  reactor_.removeReader(&fine);
  setUnhandledFailureHandler(std::move(previous));
  EXPECT_EQ(reported, std::vector<std::string>{"reader bug"});
}

}  // namespace
}  // namespace deft
