// The current-term commit rule (Raft §5.4.2, Figure 8): a leader never commits an entry of an
// earlier term by counting replicas; it commits it only together with an entry of its own term.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

raft::Message ack(const raft::NodeId& from, const raft::RaftNode& leader, raft::Index match) {
  return raft::Message{from, leader.id(), leader.term(),
                       raft::AppendResponse{raft::Verdict::kGranted, match, 0, 0, 0, 0}};
}

TEST(CommitRule, Figure8OldTermEntryOnMajorityIsNotCommitted) {
  // S1 led term 2 and wrote index 2; it now leads term 4 (its no-op is index 3).
  raft::PersistentState state;
  state.snapshot =
      raft::Snapshot{raft::SnapshotMeta{0, 0, voters({"s1", "s2", "s3", "s4", "s5"})}, ""};
  state.hard_state.term = 3;
  state.entries = entries_with_terms({1, 2});
  auto s1 = make_node("s1", state);
  elect_bare(*s1, {"s2", "s3", "s4", "s5"});
  ASSERT_EQ(s1->term(), 4u);
  ASSERT_EQ(s1->log().last_index(), 3u);

  // Index 2 (term 2) reaches a majority: s1, s2, s3. Not committed — s5 could still win with
  // a term-3 entry at index 2 and overwrite it.
  s1->step(ack("s2", *s1, 2));
  s1->step(ack("s3", *s1, 2));
  EXPECT_EQ(s1->commit_index(), 0u);

  // Once the term-4 no-op is on a majority, it commits, and index 2 with it.
  s1->step(ack("s2", *s1, 3));
  EXPECT_EQ(s1->commit_index(), 0u);
  s1->step(ack("s3", *s1, 3));
  EXPECT_EQ(s1->commit_index(), 3u);
  EXPECT_TRUE(s1->check_invariants().is_ok());
}

TEST(CommitRule, FollowerCommitsOnlyWhatItHasVerified) {
  raft::PersistentState state;
  state.hard_state.term = 2;
  state.entries = entries_with_terms({1, 1, 2, 2, 2});  // 3..5 may be stale
  auto node = make_node("p2", state);
  // The leader's commit is 9 but this request only proves the prefix up to 2.
  node->step(raft::Message{"p1", "p2", 3, raft::AppendRequest{2, 1, {}, 9, 0}});
  EXPECT_EQ(node->commit_index(), 2u);
}

}  // namespace
}  // namespace ringleader::membership::testing
