// Backpressure: a fast producer against a slow reader, push and pull; and descriptor exhaustion.

#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "net/errors.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

using testing::OneShotClientFactory;
using testing::FloodProducer;
using testing::Record;
using testing::Recorder;
using testing::runUntil;

class BackpressureTest : public ::testing::Test {
 protected:
  ReactorScope scope_;
  Reactor& reactor_ = scope_.reactor();
};

TEST_F(BackpressureTest, SlowReaderPausesAFastPushProducerAndNothingIsLost) {
  constexpr std::size_t kBlocks = 1024;  // 16 MiB
  FloodProducer::pauses = 0;
  FloodProducer::maxBuffered = 0;
  auto port = listenTCP(reactor_, 0, makeFactory<FloodProducer>(kBlocks), {.interface = "127.0.0.1"});
  auto record = std::make_shared<Record>();
  auto factory = std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(record));
  connectTCP(reactor_, "127.0.0.1", port->getHost().port(), factory, absl::Seconds(5));
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->made; }));

  // The slow reader: stop reading for a while, so the server's buffer fills and it must pause.
  record->transport->pauseProducing();
  ASSERT_TRUE(runUntil(reactor_, [&] { return FloodProducer::pauses > 0; }));
  // While paused, the server's buffer stays bounded (the kernel buffers hold the rest).
  for (int i = 0; i < 20; ++i) reactor_.iterate(absl::Milliseconds(5));
  EXPECT_LT(FloodProducer::maxBuffered, 64 * 1024 + 2 * 16 * 1024);

  // Read in dribbles: pause and resume repeatedly, as a slow consumer would.
  while (!record->lost) {
    record->transport->resumeProducing();
    reactor_.iterate(absl::Milliseconds(1));
    if (record->transport != nullptr) record->transport->pauseProducing();
    reactor_.iterate(absl::Milliseconds(1));
    if (record->received.size() == kBlocks * 16 * 1024 && record->transport != nullptr) {
      record->transport->resumeProducing();
      ASSERT_TRUE(runUntil(reactor_, [&] { return record->lost.has_value(); }));
    }
  }
  ASSERT_EQ(record->received.size(), kBlocks * 16 * 1024);
  for (std::size_t b = 0; b < kBlocks; ++b) {
    ASSERT_EQ(record->received[b * 16 * 1024], static_cast<char>('a' + b % 26)) << "block " << b;
  }
  EXPECT_GT(FloodProducer::pauses, 1);
  EXPECT_TRUE(record->lost->check<ConnectionDone>());
}

// A pull producer: asked for one chunk each time the transport's buffer drains.
class ChunkPuller : public Protocol, public IPullProducer {
 public:
  void connectionMade() override { transport()->registerProducer(static_cast<IPullProducer*>(this)); }
  void resumeProducing() override {
    ++asked;
    if (sent_ == 64) {
      transport()->unregisterProducer();
      transport()->loseConnection();
      return;
    }
    transport()->write(std::string(32 * 1024, static_cast<char>('0' + sent_++ % 10)));
  }
  void stopProducing() override {}
  static inline int asked = 0;

 private:
  int sent_ = 0;
};

TEST_F(BackpressureTest, PullProducerIsAskedForOneChunkPerDrain) {
  ChunkPuller::asked = 0;
  auto port = listenTCP(reactor_, 0, makeFactory<ChunkPuller>(), {.interface = "127.0.0.1"});
  auto record = std::make_shared<Record>();
  auto factory = std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(record));
  connectTCP(reactor_, "127.0.0.1", port->getHost().port(), factory, absl::Seconds(5));
  ASSERT_TRUE(runUntil(reactor_, [&] { return record->lost.has_value(); }));
  EXPECT_EQ(record->received.size(), 64u * 32 * 1024);
  EXPECT_EQ(ChunkPuller::asked, 65);  // 64 chunks, then the call that finds it done
}

double processCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST_F(BackpressureTest, OutOfDescriptorsTheServerShedsConnectionsWithoutSpinning) {
  auto port = listenTCP(reactor_, 0, makeFactory<testing::Echo>(), {.interface = "127.0.0.1"});
  rlimit original{};
  ::getrlimit(RLIMIT_NOFILE, &original);
  // Use up the descriptors, keeping a few for the client sockets.
  std::vector<int> hogs;
  rlimit lowered = original;
  lowered.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  while (true) {
    const int fd = ::dup(0);
    if (fd < 0) break;
    hogs.push_back(fd);
  }
  for (int i = 0; i < 3 && !hogs.empty(); ++i) {
    ::close(hogs.back());
    hogs.pop_back();
  }
  // Three clients: the server cannot accept them (the client sockets took what was left), so
  // it must shed them rather than spin on a listening socket that stays readable.
  std::vector<std::shared_ptr<Record>> records;
  std::vector<std::shared_ptr<OneShotClientFactory>> factories;
  for (int i = 0; i < 3; ++i) {
    records.push_back(std::make_shared<Record>());
    factories.push_back(std::make_shared<OneShotClientFactory>(std::make_unique<Recorder>(records.back())));
    connectTCP(reactor_, "127.0.0.1", port->getHost().port(), factories.back(), absl::Seconds(5));
  }
  const double cpuBefore = processCpuSeconds();
  const absl::Time start = reactor_.seconds();
  while (reactor_.seconds() - start < absl::Milliseconds(300)) reactor_.iterate(absl::Milliseconds(10));
  const double cpu = processCpuSeconds() - cpuBefore;
  for (int fd : hogs) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &original);
  // A spinning loop would burn the whole 300 ms of CPU.
  EXPECT_LT(cpu, 0.15);
  // Clients that did connect were dropped (reset or EOF), not left hanging.
  ASSERT_TRUE(runUntil(reactor_, [&] {
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (records[i]->made && !records[i]->lost) return false;
      if (!records[i]->made && !factories[i]->failed) return false;
    }
    return true;
  }));
}

}  // namespace
}  // namespace deft
