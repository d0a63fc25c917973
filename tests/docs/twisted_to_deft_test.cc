// Runs the blocks of docs/twisted-to-deft.md that need no network: deferToThread, Clock, react.

#include "tests/docs/twisted_to_deft.h"

#include "gtest/gtest.h"
#include "reactor/reactor.h"
#include "tests/support/loop_helpers.h"

namespace deft {
namespace {

TEST(TwistedToDeftTest, DeferToThreadSums) {
  ReactorScope scope;
  auto sum = testing::wait(scope.reactor(), sumOnAThread(scope.reactor(), 1000));
  ASSERT_TRUE(sum.value);
  EXPECT_EQ(*sum.value, 500500u);
}

TEST(TwistedToDeftTest, TheClockMovesOnlyWhenTold) { EXPECT_EQ(timeoutAfterFiveSeconds(), 42); }

TEST(TwistedToDeftTest, ReactReturnsZeroWhenMainSucceeds) {
  ReactorScope scope;
  EXPECT_EQ(mainLikeReact(), 0);
}

}  // namespace
}  // namespace deft
