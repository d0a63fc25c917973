// A Deferred costs one heap allocation, however its chain changes type, for up to four callbacks
// with small captures; adding to a fired Deferred and awaiting a fired one cost none.
// Counts every operator new in this binary.

#include <cstddef>
#include <string>

#include "deferred/deferred.h"
#include "deferred/scope.h"
#include "gtest/gtest.h"
#include "tests/support/allocation_counter.h"


namespace deft {
namespace {

std::size_t allocations() { return deft::testing::allocationCount(); }

TEST(AllocationTest, FourCallbacksThatChangeTypeCostOneAllocation) {
  long sink = 0;
  const std::size_t before = allocations();
  {
    Deferred<int> producer;
    Deferred<int> d = producer;
    std::move(d)
        .addCallback([&sink](int x) { return x + static_cast<int>(sink); })
        .addCallback([&sink](int x) { return static_cast<double>(x) + static_cast<double>(sink); })
        .addCallback([&sink](double v) { return static_cast<long>(v) + sink; })
        .addCallback([&sink](long v) { sink = v; });
    producer.callback(41);
  }
  EXPECT_EQ(allocations() - before, 1u);
  EXPECT_EQ(sink, 41);
}

TEST(AllocationTest, AddingToAFiredDeferredAllocatesNothing) {
  Deferred<int> d = succeed(1);
  int sink = 0;
  const std::size_t before = allocations();
  for (int i = 0; i < 100; ++i) {
    d.addCallback([&sink](int x) {
      sink += x;
      return x;
    });
  }
  EXPECT_EQ(allocations() - before, 0u);
  EXPECT_EQ(sink, 100);
}

TEST(AllocationTest, FailingWithAStoredExceptionIsOneAllocation) {
  Deferred<int> d;
  bool handled = false;
  d.addErrback([&handled](Failure) {
    handled = true;
    return 0;
  });
  const std::size_t before = allocations();
  d.errback(TimeoutError("no throw"));
  EXPECT_TRUE(handled);
  // The Failure's one block (the exception lives inside it), plus the std::string in the message.
  EXPECT_LE(allocations() - before, 2u);
}

TEST(AllocationTest, AwaitingFiredDeferredsAllocatesNothingPerAwait) {
  Deferred<int> fired = succeed(1);
  auto body = [](Deferred<int> value, int times) -> Deferred<int> {
    int sum = 0;
    for (int i = 0; i < times; ++i) {
      Deferred<int> copy = value;
      (void)copy;
      sum += 1;
    }
    co_return sum + co_await std::move(value);
  };
  const std::size_t before = allocations();
  int got = 0;
  body(fired, 1000).addCallback([&got](int x) {
    got = x;
    return x;
  });
  EXPECT_EQ(got, 1001);
  // The coroutine frame and its Deferred's state; nothing per loop iteration or per await.
  EXPECT_LE(allocations() - before, 2u);
}

TEST(AllocationTest, AScopeCostsOneAllocationAndItsCallbacksNone) {
  int sink = 0;
  const std::size_t before = allocations();
  {
    Scope scope;
    auto a = scope.bind([&sink] { ++sink; });  // the scope's one allocation, on first use
    auto b = scope.bind([&sink] { ++sink; });
    a();
    b();
  }
  EXPECT_EQ(allocations() - before, 1u);
  EXPECT_EQ(sink, 2);

  Scope scope;
  scope.bind([] {});
  Deferred<int> producer;
  Deferred<int> d = producer;
  const std::size_t beforeTrack = allocations();
  scope.track(std::move(d))
      .addCallback([&sink](int x) { return x + sink; })
      .addCallback([&sink](int x) { sink = x; });
  producer.callback(40);
  // track() makes the Deferred the callbacks go on; the callbacks themselves cost nothing more.
  EXPECT_EQ(allocations() - beforeTrack, 1u);
  EXPECT_EQ(sink, 42);
}

}  // namespace
}  // namespace deft
