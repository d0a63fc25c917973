// DeferredList, gatherResults and race.

#include "deferred/deferred_list.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "deferred/deferred.h"
#include "deferred/scope.h"
#include "gtest/gtest.h"
#include "tests/deferred/unhandled_recorder.h"

namespace deft {
namespace {

class DeferredListTest : public ::testing::Test {
 protected:
  const std::vector<std::string>& unhandled() const { return recorder_.messages(); }

  testing::UnhandledRecorder recorder_;
};

TEST_F(DeferredListTest, ResultsComeInInputOrderWhateverTheFiringOrder) {
  Deferred<int> a, b, c;
  std::vector<Outcome<int>> results;
  bool fired = false;
  DeferredList(std::vector<Deferred<int>>{a, b, c})
      .addCallback([&](std::vector<Outcome<int>> r) {
        results = std::move(r);
        fired = true;
        return std::vector<Outcome<int>>{};
      });
  c.callback(3);
  a.callback(1);
  EXPECT_FALSE(fired);
  b.errback(std::runtime_error("b failed"));
  ASSERT_TRUE(fired);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[0].value(), 1);
  EXPECT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].failure().getErrorMessage(), "b failed");
  EXPECT_EQ(results[2].value(), 3);
}

TEST_F(DeferredListTest, EmptyListFiresAtOnce) {
  bool fired = false;
  DeferredList(std::vector<Deferred<int>>{}).addCallback([&](std::vector<Outcome<int>> r) {
    fired = r.empty();
    return r;
  });
  EXPECT_TRUE(fired);
}

TEST_F(DeferredListTest, WithoutConsumeErrorsTheInputKeepsItsFailure) {
  {
    Deferred<int> a;
    DeferredList(std::vector<Deferred<int>>{a}).addCallback([](std::vector<Outcome<int>> r) {
      return r;
    });
    a.errback(std::runtime_error("also unhandled in the input"));
  }
  EXPECT_EQ(unhandled(), (std::vector<std::string>{"also unhandled in the input"}));
}

TEST_F(DeferredListTest, ConsumeErrorsStopsTheReportButLeavesTheFailureOnTheInput) {
  bool sawFailure = false;
  std::string laterErrback;
  {
    Deferred<int> a;
    DeferredList(std::vector<Deferred<int>>{a}, {.consumeErrors = true})
        .addCallback([&](std::vector<Outcome<int>> r) {
          sawFailure = !r[0].ok();
          return r;
        });
    a.errback(std::runtime_error("consumed"));
    a.addErrback([&](Failure f) {  // added later: still sees it, as a typed chain must
      laterErrback = f.getErrorMessage();
      return Failure(f);           // and a failure handed on from here is a new one
    });
  }
  EXPECT_TRUE(sawFailure);
  EXPECT_EQ(laterErrback, "consumed");
  EXPECT_EQ(unhandled(), (std::vector<std::string>{"consumed"}));
}

TEST_F(DeferredListTest, AConsumedFailureNobodyLooksAtAgainIsNotReported) {
  {
    Deferred<int> a;
    DeferredList(std::vector<Deferred<int>>{a}, {.consumeErrors = true});
    a.errback(std::runtime_error("consumed"));
  }
  EXPECT_TRUE(unhandled().empty());
}

TEST_F(DeferredListTest, MembersKeepTheirResultsForCallbacksAddedLater) {
  Deferred<std::string> early = succeed(std::string("early"));
  Deferred<std::string> late;
  std::vector<std::string> seen;
  DeferredList(std::vector<Deferred<std::string>>{early, late});
  gatherResults(std::vector<Deferred<std::string>>{early, late});
  race(std::vector<Deferred<std::string>>{late});
  late.callback("late");
  early.addCallback([&](std::string s) {
    seen.push_back(s);
    return s;
  });
  late.addCallback([&](std::string s) {
    seen.push_back(s);
    return s;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"early", "late"}));
}

TEST_F(DeferredListTest, AMoveOnlyResultIsTakenAndTheMemberCarriesNothing) {
  Deferred<std::unique_ptr<int>> a;
  int got = 0;
  gatherResults(std::vector<Deferred<std::unique_ptr<int>>>{a})
      .addCallback([&](std::vector<std::unique_ptr<int>> v) { got = *v[0]; });
  a.callback(std::make_unique<int>(7));
  EXPECT_EQ(got, 7);
  EXPECT_THROW(a.addCallback([](std::unique_ptr<int> p) { return p; }), DeferredTypeError);
}

TEST_F(DeferredListTest, CancelGoesOnPastACancellerThatThrowsAndReportsIt) {
  bool bCancelled = false;
  Deferred<int> a([](Deferred<int>&) { throw std::runtime_error("canceller broke"); });
  Deferred<int> b([&](Deferred<int>&) { bCancelled = true; });
  bool fired = false;
  Deferred<std::vector<Outcome<int>>> list =
      DeferredList(std::vector<Deferred<int>>{a, b}, {.consumeErrors = true});
  list.addCallback([&](std::vector<Outcome<int>> r) {
    fired = true;
    return r;
  });
  list.cancel();
  EXPECT_TRUE(bCancelled);
  EXPECT_EQ(unhandled(), (std::vector<std::string>{"canceller broke"}));
  EXPECT_FALSE(fired);  // a has not fired: its canceller failed to stop it
  a.callback(1);
  EXPECT_TRUE(fired);
}

TEST_F(DeferredListTest, CancellingAListWhoseInputsWereCutOffFailsItAtOnce) {
  Deferred<int> a;
  Deferred<std::vector<Outcome<int>>> list = [&] {
    Scope scope;
    Deferred<std::vector<Outcome<int>>> l = DeferredList(std::vector<Deferred<int>>{scope.track(a)});
    return l;
  }();  // the scope ended: the input's chain, with the list's step, was dropped
  bool cancelled = false;
  list.addErrback([&](Failure f) {
    cancelled = f.check<CancelledError>();
    return std::vector<Outcome<int>>{};
  });
  list.cancel();
  EXPECT_TRUE(cancelled);  // not waiting forever on an input that can no longer report
}

TEST_F(DeferredListTest, AContainerOfMoveOnlyValuesIsTakenNotCopied) {
  Deferred<std::vector<std::unique_ptr<int>>> a;
  std::size_t got = 0;
  gatherResults(std::vector<Deferred<std::vector<std::unique_ptr<int>>>>{a})
      .addCallback([&](std::vector<std::vector<std::unique_ptr<int>>> all) { got = all[0].size(); });
  std::vector<std::unique_ptr<int>> values;
  values.push_back(std::make_unique<int>(1));
  values.push_back(std::make_unique<int>(2));
  a.callback(std::move(values));
  EXPECT_EQ(got, 2u);
}

TEST_F(DeferredListTest, CancellingGatherResultsFailsWithFirstErrorAroundCancelledError) {
  Deferred<int> a, b;
  std::size_t index = 99;
  bool cancelledInside = false;
  Deferred<std::vector<int>> all = gatherResults(std::vector<Deferred<int>>{a, b});
  all.addErrback([&](Failure f) {
    const FirstError* first = f.value<FirstError>();
    if (first != nullptr) {
      index = first->index();
      cancelledInside = first->subFailure().check<CancelledError>();
    }
    return std::vector<int>{};
  });
  all.cancel();
  EXPECT_EQ(index, 0u);
  EXPECT_TRUE(cancelledInside);
  EXPECT_TRUE(unhandled().empty());  // b's CancelledError came after: consumed
}

TEST_F(DeferredListTest, CancellingARaceFailsWithAFailureGroupOfTheCancellations) {
  Deferred<int> a, b;
  std::vector<bool> cancelled;
  Deferred<FirstResult<int>> first = race(std::vector<Deferred<int>>{a, b});
  first.addErrback([&](Failure f) {
    for (const Failure& each : f.value<FailureGroup>()->failures()) {
      cancelled.push_back(each.check<CancelledError>());
    }
    return FirstResult<int>{0, 0};
  });
  first.cancel();
  EXPECT_EQ(cancelled, (std::vector<bool>{true, true}));
}

TEST_F(DeferredListTest, FireOnOneErrbackFailsAtTheFirstFailureWithItsIndex) {
  Deferred<int> a, b;
  std::size_t index = 99;
  std::string message;
  DeferredList(std::vector<Deferred<int>>{a, b},
               {.fireOnOneErrback = true, .consumeErrors = true})
      .addErrback([&](Failure f) {
        const FirstError* first = f.value<FirstError>();
        index = first->index();
        message = first->subFailure().getErrorMessage();
        return std::vector<Outcome<int>>{};
      });
  b.errback(std::runtime_error("b broke"));
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(message, "b broke");
  a.errback(std::runtime_error("later, consumed"));
  EXPECT_TRUE(unhandled().empty());
}

TEST_F(DeferredListTest, FireOnOneCallbackFiresWithTheFirstSuccessAndItsIndex) {
  Deferred<std::string> a, b;
  FirstResult<std::string> first{"", 99};
  DeferredList(std::vector<Deferred<std::string>>{a, b}, fireOnOneCallback)
      .addCallback([&](FirstResult<std::string> r) {
        first = r;
        return r;
      });
  b.callback("b wins");
  EXPECT_EQ(first.result, "b wins");
  EXPECT_EQ(first.index, 1u);
  a.callback("a is not cancelled");  // the others are left running, as in Twisted
}

TEST_F(DeferredListTest, FireOnOneCallbackWhenAllFailGivesAFailureGroup) {
  Deferred<int> a, b;
  std::size_t failures = 0;
  DeferredList(std::vector<Deferred<int>>{a, b}, fireOnOneCallback, {.consumeErrors = true})
      .addErrback([&](Failure f) {
        failures = f.value<FailureGroup>()->failures().size();
        return FirstResult<int>{0, 0};
      });
  a.errback(std::runtime_error("a"));
  b.errback(std::runtime_error("b"));
  EXPECT_EQ(failures, 2u);
}

TEST_F(DeferredListTest, CancellingTheListCancelsPendingInputs) {
  int cancelled = 0;
  Deferred<int> a([&](Deferred<int>&) { ++cancelled; });
  Deferred<int> b([&](Deferred<int>&) { ++cancelled; });
  a.callback(1);
  Deferred<std::vector<Outcome<int>>> list =
      DeferredList(std::vector<Deferred<int>>{a, b}, {.consumeErrors = true});
  std::vector<Outcome<int>> results;
  list.addCallback([&](std::vector<Outcome<int>> r) {
    results = r;
    return r;
  });
  list.cancel();
  EXPECT_EQ(cancelled, 1);  // only b was pending
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].failure().check<CancelledError>());
}

TEST_F(DeferredListTest, DroppedListDoesNotKeepItsInputsAlive) {
  bool destroyed = false;
  struct Sentinel {
    bool* destroyed;
    ~Sentinel() { *destroyed = true; }
  };
  {
    auto sentinel = std::make_shared<Sentinel>(Sentinel{&destroyed});
    Deferred<int> a([sentinel](Deferred<int>&) {});  // never fired, then abandoned
    auto list = DeferredList(std::vector<Deferred<int>>{a});
  }
  EXPECT_TRUE(destroyed);
}

TEST_F(DeferredListTest, GatherResultsGivesTheValuesInOrder) {
  Deferred<int> a, b;
  std::vector<int> values;
  gatherResults(std::vector<Deferred<int>>{a, b}).addCallback([&](std::vector<int> v) {
    values = v;
    return v;
  });
  b.callback(2);
  a.callback(1);
  EXPECT_EQ(values, (std::vector<int>{1, 2}));
}

TEST_F(DeferredListTest, GatherResultsFailsWithTheFirstFailureAndCancelsTheRest) {
  bool cCancelled = false;
  Deferred<int> a, b;
  Deferred<int> c([&](Deferred<int>&) { cCancelled = true; });
  std::size_t index = 99;
  gatherResults(std::vector<Deferred<int>>{a, b, c}, /*consumeErrors=*/true)
      .addErrback([&](Failure f) {
        index = f.value<FirstError>()->index();
        return std::vector<int>{};
      });
  a.callback(1);
  b.errback(std::runtime_error("b"));
  EXPECT_EQ(index, 1u);
  EXPECT_TRUE(cCancelled);
  EXPECT_TRUE(unhandled().empty());  // c's CancelledError was ours, and consumed
}

TEST_F(DeferredListTest, GatherResultsOfVoidAndOfNothing) {
  Deferred<void> a, b;
  bool fired = false;
  gatherResults(std::vector<Deferred<void>>{a, b}).addCallback([&] { fired = true; });
  a.callback();
  EXPECT_FALSE(fired);
  b.callback();
  EXPECT_TRUE(fired);
  bool emptyFired = false;
  gatherResults(std::vector<Deferred<int>>{}).addCallback([&](std::vector<int> v) {
    emptyFired = v.empty();
    return v;
  });
  EXPECT_TRUE(emptyFired);
}

TEST_F(DeferredListTest, RaceGivesTheFirstSuccessAndCancelsTheOthers) {
  int cancelled = 0;
  Deferred<std::string> a([&](Deferred<std::string>&) { ++cancelled; });
  Deferred<std::string> b([&](Deferred<std::string>&) { ++cancelled; });
  Deferred<std::string> c([&](Deferred<std::string>&) { ++cancelled; });
  FirstResult<std::string> winner{"", 99};
  race(std::vector<Deferred<std::string>>{a, b, c}).addCallback([&](FirstResult<std::string> r) {
    winner = r;
    return r;
  });
  a.errback(std::runtime_error("a failed first"));  // a failure does not end the race
  EXPECT_EQ(winner.index, 99u);
  c.callback("c");
  EXPECT_EQ(winner.result, "c");
  EXPECT_EQ(winner.index, 2u);
  EXPECT_EQ(cancelled, 1);  // b only: a had failed, c won
  EXPECT_TRUE(unhandled().empty());
}

TEST_F(DeferredListTest, RaceWhereAllFailGivesAllFailures) {
  Deferred<int> a, b;
  std::vector<std::string> messages;
  race(std::vector<Deferred<int>>{a, b}).addErrback([&](Failure f) {
    for (const Failure& each : f.value<FailureGroup>()->failures()) {
      messages.push_back(each.getErrorMessage());
    }
    return FirstResult<int>{0, 0};
  });
  b.errback(std::runtime_error("b"));
  a.errback(std::runtime_error("a"));
  EXPECT_EQ(messages, (std::vector<std::string>{"a", "b"}));
}

TEST_F(DeferredListTest, AsCompletedGivesResultsInTheOrderTheyArrive) {
  Deferred<std::string> a, b, c;
  std::vector<Deferred<std::string>> ordered = asCompleted(std::vector<Deferred<std::string>>{a, b, c});
  ASSERT_EQ(ordered.size(), 3u);
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    std::move(ordered[i]).addCallbacks([&seen, i](std::string v) { seen.push_back(std::to_string(i) + ":" + v); },
                            [&seen, i](Failure f) { seen.push_back(std::to_string(i) + ":" + f.getErrorMessage()); });
  }
  c.callback("c");
  EXPECT_EQ(seen, (std::vector<std::string>{"0:c"}));
  a.errback(std::runtime_error("a failed"));  // a failure takes the next place too
  b.callback("b");
  EXPECT_EQ(seen, (std::vector<std::string>{"0:c", "1:a failed", "2:b"}));
  EXPECT_TRUE(unhandled().empty());
  EXPECT_TRUE(asCompleted(std::vector<Deferred<int>>{}).empty());
}

TEST_F(DeferredListTest, AsCompletedDropsTheResultOfACancelledPlace) {
  Deferred<int> a, b;
  std::vector<Deferred<int>> ordered = asCompleted(std::vector<Deferred<int>>{a, b});
  ordered[0].addErrback([](Failure f) -> int {
    f.trap<CancelledError>();
    return -1;
  });
  ordered[0].cancel();  // the first place is given up; the inputs go on
  int second = 0;
  std::move(ordered[1]).addCallback([&](int v) { second = v; });
  a.callback(1);  // would have gone to the first place: dropped
  b.callback(2);
  EXPECT_EQ(second, 2);
  EXPECT_TRUE(unhandled().empty());
}

}  // namespace
}  // namespace deft
