#include "core/gather_rule.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ringleader::proxy {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kWindow = GatherRule::kWindowNs;

GatherRule::Look look(size_t unwritten, uint64_t now_ns, bool others_due = true,
                      bool loop_busy = false, bool timer_running = true) {
  return {unwritten, now_ns, others_due, loop_busy, timer_running};
}

// A rule whose share goal is `goal` whenever it is asked; counts the asks.
struct Share {
  size_t goal = 0;
  int asked = 0;
  size_t operator()() {
    ++asked;
    return goal;
  }
};

// Writes of `batch` requests every `interval_ns`, `writes` times from `start_ns`: the arrival
// averages the rate rule judges by. Returns the time of the last write.
uint64_t write_steadily(GatherRule& rule, size_t batch, uint64_t interval_ns, int writes,
                        uint64_t start_ns) {
  uint64_t now = start_ns;
  for (int i = 0; i < writes; ++i, now += interval_ns)
    rule.wrote(batch, now);
  return now - interval_ns;
}

// A rule whose only write so far was of `requests` at `t`: no arrival averages yet, so only
// the share rule can hold.
GatherRule written_once(size_t requests, uint64_t t) {
  GatherRule rule;
  rule.wrote(requests, t);
  return rule;
}

TEST(GatherRuleTest, NothingIsHeldBeforeAnyWriteWithoutAShare) {
  GatherRule rule;
  Share share;
  EXPECT_FALSE(rule.hold(look(10, 1'000'000), share));
  EXPECT_FALSE(rule.gathering());
}

TEST(GatherRuleTest, TheShareRuleHoldsUntilItsGoalThoughALookBringsNothing) {
  const uint64_t t = 10'000'000;
  GatherRule rule = written_once(3, t);
  Share share{5};
  EXPECT_TRUE(rule.hold(look(1, t + 50 * kUs), share));
  EXPECT_TRUE(rule.gathering());
  EXPECT_EQ(rule.started_ns(), t + 50 * kUs);
  EXPECT_TRUE(rule.hold(look(1, t + 100 * kUs), share));
  EXPECT_TRUE(rule.hold(look(4, t + 150 * kUs), share));
  EXPECT_TRUE(rule.hold(look(4, t + 200 * kUs), share));
  EXPECT_TRUE(rule.hold(look(5, t + 250 * kUs), share));   // the goal, and this look brought one
  EXPECT_FALSE(rule.hold(look(5, t + 300 * kUs), share));  // the goal, and nothing new
  EXPECT_EQ(share.asked, 1);                               // only when the gathering began
}

TEST(GatherRuleTest, AShareGatheringGoesOnPastItsGoalWhileEachLookBringsMore) {
  // Requests have been arriving slowly, so the rate rule would not begin this gathering; once
  // begun, it goes on past the goal for as long as the polls bring more.
  GatherRule rule;
  const uint64_t t = write_steadily(rule, 2, 400 * kUs, 10, 1'000'000);
  Share slow{0};
  ASSERT_FALSE(rule.hold(look(2, t + 10 * kUs), slow));
  Share share{4};
  EXPECT_TRUE(rule.hold(look(2, t + 20 * kUs), share));
  EXPECT_TRUE(rule.hold(look(6, t + 40 * kUs), share));
  EXPECT_TRUE(rule.hold(look(7, t + 60 * kUs), share));
  EXPECT_FALSE(rule.hold(look(7, t + 80 * kUs), share));  // this look brought nothing
}

TEST(GatherRuleTest, AGatheringGoesOnNoLongerThanTheWindowAfterItBegan) {
  const uint64_t t = 5'000'000;
  GatherRule rule = written_once(1, t);
  Share share{4};
  const uint64_t begin = t + 10 * kUs;
  ASSERT_TRUE(rule.hold(look(1, begin), share));
  EXPECT_TRUE(rule.hold(look(5, begin + kWindow - 1), share));
  EXPECT_FALSE(rule.hold(look(6, begin + kWindow), share));
}

TEST(GatherRuleTest, TheShareRuleWaitsNoLongerThanTheWindowAfterThePreviousWrite) {
  const uint64_t t = 5'000'000;
  GatherRule rule = written_once(1, t);
  Share share{10};
  EXPECT_TRUE(rule.hold(look(1, t + 100 * kUs), share));
  EXPECT_TRUE(rule.hold(look(1, t + kWindow - 1), share));
  EXPECT_FALSE(rule.hold(look(1, t + kWindow), share));
}

TEST(GatherRuleTest, TheShareRuleNeedsSomethingElseDue) {
  const uint64_t t = 5'000'000;
  GatherRule rule = written_once(1, t);
  Share share{10};
  EXPECT_FALSE(rule.hold(look(1, t + 10 * kUs, /*others_due=*/false), share));
  EXPECT_EQ(share.asked, 0);
  // Begun while others were due, it ends when nothing else is (and nothing new came).
  EXPECT_TRUE(rule.hold(look(1, t + 20 * kUs), share));
  EXPECT_TRUE(rule.hold(look(1, t + 30 * kUs), share));
  EXPECT_FALSE(rule.hold(look(1, t + 40 * kUs, /*others_due=*/false), share));
}

TEST(GatherRuleTest, AGoalOfZeroMeansTheShareRuleDoesNotApply) {
  const uint64_t t = 5'000'000;
  GatherRule rule = written_once(1, t);
  Share share{0};
  EXPECT_FALSE(rule.hold(look(1, t + 10 * kUs), share));
  EXPECT_EQ(share.asked, 1);
}

TEST(GatherRuleTest, TheRateRuleHoldsWhileEveryLookBringsMore) {
  GatherRule rule;
  // 20 requests every 100 µs: 100 expected within the window.
  const uint64_t t = write_steadily(rule, 20, 100 * kUs, 16, 1'000'000);
  Share none{0};
  EXPECT_TRUE(rule.hold(look(2, t + 10 * kUs, false), none));
  EXPECT_TRUE(rule.hold(look(5, t + 30 * kUs, false), none));
  EXPECT_TRUE(rule.hold(look(9, t + 50 * kUs, false), none));
  EXPECT_FALSE(rule.hold(look(9, t + 70 * kUs, false), none));  // this look brought nothing
}

TEST(GatherRuleTest, TheRateRuleWaitsNoLongerThanTheWindowAfterTheGatheringBegan) {
  GatherRule rule;
  const uint64_t t = write_steadily(rule, 20, 100 * kUs, 16, 1'000'000);
  Share none{0};
  const uint64_t begin = t + 10 * kUs;
  ASSERT_TRUE(rule.hold(look(2, begin, false), none));
  EXPECT_TRUE(rule.hold(look(3, begin + kWindow - 1, false), none));
  EXPECT_FALSE(rule.hold(look(4, begin + kWindow, false), none));
}

TEST(GatherRuleTest, TheRateRuleLeavesALoneRequestAlone) {
  GatherRule rule;
  const uint64_t t = write_steadily(rule, 20, 100 * kUs, 16, 1'000'000);
  Share none{0};
  EXPECT_FALSE(rule.hold(look(1, t + 10 * kUs, false), none));
  EXPECT_TRUE(rule.hold(look(2, t + 10 * kUs, false), none));
}

TEST(GatherRuleTest, ABusyLoopLowersTheRateTheRuleNeeds) {
  // 2 requests every 100 µs: 10 expected within the window, under kMin but over kMinBusy.
  static_assert(GatherRule::kMinBusy < 10 && 10 < GatherRule::kMin);
  GatherRule idle_loop;
  GatherRule busy_loop;
  const uint64_t t = write_steadily(idle_loop, 2, 100 * kUs, 16, 1'000'000);
  write_steadily(busy_loop, 2, 100 * kUs, 16, 1'000'000);
  Share none{0};
  EXPECT_FALSE(idle_loop.hold(look(2, t + 10 * kUs, false, /*loop_busy=*/false), none));
  EXPECT_TRUE(busy_loop.hold(look(2, t + 10 * kUs, false, /*loop_busy=*/true), none));
}

TEST(GatherRuleTest, ALongSilenceOutweighsTheAverages) {
  // The averages still describe a burst, but the last write was long ago: the rate is
  // judged by the time since then.
  GatherRule rule;
  const uint64_t t = write_steadily(rule, 20, 100 * kUs, 16, 1'000'000);
  Share none{0};
  EXPECT_FALSE(rule.hold(look(2, t + 10'000 * kUs, false), none));
}

TEST(GatherRuleTest, NothingIsHeldOnceTheTimerFired) {
  GatherRule rule;
  const uint64_t t = write_steadily(rule, 20, 100 * kUs, 16, 1'000'000);
  Share share{30};
  ASSERT_TRUE(rule.hold(look(2, t + 10 * kUs), share));
  EXPECT_FALSE(rule.hold(look(5, t + 20 * kUs, true, false, /*timer_running=*/false), share));
}

TEST(GatherRuleTest, NothingIsHeldAtTheTarget) {
  GatherRule rule;
  const uint64_t t = write_steadily(rule, 60, 100 * kUs, 16, 1'000'000);
  Share share{GatherRule::kTarget + 10};
  EXPECT_FALSE(rule.hold(look(GatherRule::kTarget, t + 10 * kUs), share));
  ASSERT_TRUE(rule.hold(look(GatherRule::kTarget - 1, t + 10 * kUs), share));
  EXPECT_FALSE(rule.hold(look(GatherRule::kTarget, t + 20 * kUs), share));
}

TEST(GatherRuleTest, AWriteEndsTheGatheringAndTheNextOneBeginsAfresh) {
  const uint64_t t = 5'000'000;
  GatherRule rule = written_once(1, t);
  Share share{5};
  ASSERT_TRUE(rule.hold(look(1, t + 10 * kUs), share));
  rule.wrote(5, t + 60 * kUs);
  EXPECT_FALSE(rule.gathering());
  EXPECT_EQ(rule.started_ns(), 0u);
  share.goal = 3;
  EXPECT_TRUE(rule.hold(look(1, t + 70 * kUs), share));
  EXPECT_EQ(share.asked, 2);
  EXPECT_EQ(rule.started_ns(), t + 70 * kUs);
}

TEST(GatherRuleTest, StopEndsTheGatheringWithoutCountingAWrite) {
  GatherRule stopped;
  GatherRule untouched;
  const uint64_t t = write_steadily(stopped, 20, 100 * kUs, 16, 1'000'000);
  write_steadily(untouched, 20, 100 * kUs, 16, 1'000'000);
  Share none{0};
  ASSERT_TRUE(stopped.hold(look(2, t + 10 * kUs, false), none));
  stopped.stop();
  EXPECT_FALSE(stopped.gathering());
  EXPECT_EQ(stopped.started_ns(), 0u);
  // The arrival averages and the previous write's time are as they were: from here the rule
  // decides as one that never gathered, on both sides of where the rate rule stops holding
  // (about 540 µs after the previous write).
  for (uint64_t after : {20 * kUs, 300 * kUs, 500 * kUs, 600 * kUs, 2'000 * kUs}) {
    GatherRule a = stopped;
    GatherRule b = untouched;
    EXPECT_EQ(a.hold(look(2, t + after, false), none), b.hold(look(2, t + after, false), none))
        << after / kUs << " µs after the previous write";
  }
  // The share rule's bound still runs from the previous write.
  Share share{10};
  GatherRule before_bound = stopped;
  EXPECT_TRUE(before_bound.hold(look(1, t + kWindow - 1), share));
  GatherRule at_bound = stopped;
  EXPECT_FALSE(at_bound.hold(look(1, t + kWindow), share));
}

}  // namespace
}  // namespace ringleader::proxy
