// HeapTrimRule on sampled figures: a trim is due once freed memory sits resident past the
// bound, whichever way the burst went, or past a small bound for two samples; never again
// for what a trim could not release.
#include "core/heap_trim_rule.h"

#include <gtest/gtest.h>

namespace ringleader::proxy {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kBound = 16 * kMiB;
constexpr size_t kSettled = 1 * kMiB;

TEST(HeapTrimRuleTest, FreedMemoryLeftResidentIsDue) {
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);                // at start: 5 MiB of code and stacks
  EXPECT_FALSE(rule.due(206 * kMiB, 201 * kMiB));  // a burst, all of it in use
  EXPECT_FALSE(rule.due(20 * kMiB, 1 * kMiB));     // freed, 14 MiB left resident
  EXPECT_TRUE(rule.due(22 * kMiB, 1 * kMiB));      // 16 MiB
}

TEST(HeapTrimRuleTest, ChunksDirtiedAgainAfterATrimAreDue) {
  // The case the free-bytes and resident-bytes rules missed: a trim in the middle of a
  // burst, then the freed chunks used again and freed again.
  HeapTrimRule rule(kBound, kSettled);
  EXPECT_FALSE(rule.due(6 * kMiB, 1 * kMiB));
  EXPECT_TRUE(rule.due(106 * kMiB, 51 * kMiB));   // one 50 MB value freed, the next in use
  rule.trimmed(56 * kMiB, 51 * kMiB, 51 * kMiB);  // the free one's pages went back
  EXPECT_FALSE(rule.due(106 * kMiB, 101 * kMiB));
  EXPECT_TRUE(rule.due(38 * kMiB, 1 * kMiB));  // all freed; 32 MiB of them resident
  rule.trimmed(6 * kMiB, 1 * kMiB, 1 * kMiB);
  EXPECT_FALSE(rule.due(6 * kMiB, 1 * kMiB));
}

TEST(HeapTrimRuleTest, WhatATrimLeavesIsNotDueAgain) {
  // An arena's top stays after a trim (malloc shrinks it past its own threshold only).
  HeapTrimRule rule(kBound, kSettled);
  EXPECT_FALSE(rule.due(6 * kMiB, 1 * kMiB));
  EXPECT_TRUE(rule.due(36 * kMiB, 1 * kMiB));
  rule.trimmed(36 * kMiB, 1 * kMiB, 1 * kMiB);  // nothing went back
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(rule.due(36 * kMiB, 1 * kMiB));
  EXPECT_TRUE(rule.due(52 * kMiB, 1 * kMiB));  // 16 MiB more on top of it
}

TEST(HeapTrimRuleTest, ABurstBeforeTheFirstSampleCountsFromTheStart) {
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);
  EXPECT_TRUE(rule.due(106 * kMiB, 51 * kMiB));    // 50 MB freed, 50 MB in use
  HeapTrimRule unset(kBound, kSettled);            // without the start's sample, the floor
  EXPECT_FALSE(unset.due(106 * kMiB, 51 * kMiB));  // would be the burst's own slack
  EXPECT_FALSE(unset.due(56 * kMiB, 1 * kMiB));    // and its leftovers stay
}

TEST(HeapTrimRuleTest, TheFloorFollowsMemoryGivenBackOtherwise) {
  // Slack that shrinks on its own (malloc trimmed an arena's top) lowers the floor: what is
  // freed after that counts from there.
  HeapTrimRule rule(kBound, kSettled);
  EXPECT_FALSE(rule.due(40 * kMiB, 1 * kMiB));
  EXPECT_FALSE(rule.due(8 * kMiB, 1 * kMiB));
  EXPECT_TRUE(rule.due(24 * kMiB, 1 * kMiB));
}

TEST(HeapTrimRuleTest, ChunksCountedWholeButPartlyResidentDoNotUnderflow) {
  // A 64 MiB buffer handed out with 1 MiB of it written: in use exceeds resident.
  HeapTrimRule rule(kBound, kSettled);
  EXPECT_FALSE(rule.due(8 * kMiB, 65 * kMiB));
  EXPECT_FALSE(rule.due(8 * kMiB, 1 * kMiB));  // freed: 7 MiB of slack, below the bound
  EXPECT_TRUE(rule.due(17 * kMiB, 1 * kMiB));
}

TEST(HeapTrimRuleTest, LeftoversStillThereASampleLaterAreDue) {
  // The last frees of a burst came after its trim: 6 MiB, under the bound, for good.
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);
  EXPECT_FALSE(rule.due(12 * kMiB, 1 * kMiB));
  EXPECT_TRUE(rule.due(12 * kMiB, 1 * kMiB));
  rule.trimmed(6 * kMiB, 1 * kMiB, 1 * kMiB);
  EXPECT_FALSE(rule.due(6 * kMiB, 1 * kMiB));
}

TEST(HeapTrimRuleTest, MemoryFreedWhileATrimRanIsDueAfterIt) {
  // A worker freed 100 MiB of buffers once the trim had passed its arena: they stayed
  // resident. Taken into the floor, they were never due again.
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);
  EXPECT_TRUE(rule.due(256 * kMiB, 201 * kMiB));  // 50 MiB freed, 200 MiB in use
  rule.trimmed(206 * kMiB, 201 * kMiB, 101 * kMiB);
  EXPECT_TRUE(rule.due(206 * kMiB, 101 * kMiB));
  rule.trimmed(106 * kMiB, 101 * kMiB, 101 * kMiB);
  EXPECT_FALSE(rule.due(106 * kMiB, 101 * kMiB));
}

TEST(HeapTrimRuleTest, MemoryFreedBeforeATrimReachedItAsksForOneMoreTrim) {
  // 20 MiB freed while the trim ran, before it passed their arena: they went back, and the
  // floor stands low by as much. One more trim sets it right.
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);
  EXPECT_TRUE(rule.due(56 * kMiB, 31 * kMiB));
  rule.trimmed(16 * kMiB, 31 * kMiB, 11 * kMiB);
  EXPECT_FALSE(rule.due(16 * kMiB, 11 * kMiB));
  EXPECT_TRUE(rule.due(16 * kMiB, 11 * kMiB));
  rule.trimmed(16 * kMiB, 11 * kMiB, 11 * kMiB);
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(rule.due(16 * kMiB, 11 * kMiB));
}

TEST(HeapTrimRuleTest, SlackThatComesAndGoesIsNotDue) {
  // Buffers of a steady load: freed, then in use again by the next sample.
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(rule.due(12 * kMiB, 1 * kMiB));
    EXPECT_FALSE(rule.due(12 * kMiB, 7 * kMiB));
  }
}

TEST(HeapTrimRuleTest, SlackUnderTheSettledBoundIsNeverDue) {
  HeapTrimRule rule(kBound, kSettled);
  rule.at_rest(6 * kMiB, 1 * kMiB);
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(rule.due(6 * kMiB + kSettled - 4096, 1 * kMiB));
}

}  // namespace
}  // namespace ringleader::proxy
