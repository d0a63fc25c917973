// WriteQueue: small writes coalesce, large owned strings are kept without a copy, and gather and
// consume hand the bytes out in order across partial sends.

#include "net/write_queue.h"

#include <string>

#include "gtest/gtest.h"

namespace deft {
namespace {

// Everything gather() points at, as one string.
std::string gathered(const WriteQueue& queue) {
  iovec iov[64];
  const int count = queue.gather(iov, 64);
  std::string out;
  for (int i = 0; i < count; ++i) out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

TEST(WriteQueueTest, SmallWritesJoinOneChunk) {
  WriteQueue queue;
  for (int i = 0; i < 100; ++i) queue.append("abc");
  iovec iov[4];
  EXPECT_EQ(queue.gather(iov, 4), 1);
  EXPECT_EQ(queue.size(), 300u);
}

TEST(WriteQueueTest, PartialConsumesKeepTheOrder) {
  WriteQueue queue;
  queue.append("hello, ");
  queue.appendOwned(std::string(10000, 'x'), 0);
  queue.append("world");
  const std::string all = "hello, " + std::string(10000, 'x') + "world";
  EXPECT_EQ(gathered(queue), all);
  queue.consume(3);
  EXPECT_EQ(gathered(queue), all.substr(3));
  queue.consume(5000);
  EXPECT_EQ(gathered(queue), all.substr(5003));
  queue.consume(queue.size());
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(gathered(queue), "");
}

TEST(WriteQueueTest, AnOwnedStringIsKeptFromItsOffsetWithoutACopy) {
  WriteQueue queue;
  std::string big(100000, 'b');
  big[0] = 'a';
  const char* storage = big.data();
  queue.appendOwned(std::move(big), 1);  // the kernel took the first byte already
  iovec iov[2];
  ASSERT_EQ(queue.gather(iov, 2), 1);
  EXPECT_EQ(iov[0].iov_base, storage + 1);
  EXPECT_EQ(iov[0].iov_len, 99999u);
  EXPECT_EQ(queue.size(), 99999u);
}

TEST(WriteQueueTest, ClearEmptiesIt) {
  WriteQueue queue;
  queue.append("abc");
  queue.clear();
  EXPECT_TRUE(queue.empty());
  queue.append("de");
  EXPECT_EQ(gathered(queue), "de");
}

}  // namespace
}  // namespace deft
