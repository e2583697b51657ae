// Learners: they receive and apply the log but never vote, campaign or count for a quorum;
// promotion waits until they have caught up.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

using raft::ConfigChangeType;

ClusterOptions with_spare() {
  ClusterOptions o;
  o.spares = {"p4"};
  return o;
}

// Elects a leader and adds p4 as a learner; returns the leader.
raft::NodeId add_learner(Cluster& c) {
  raft::NodeId leader = await_leader(c);
  EXPECT_TRUE(c.change_config(leader, {ConfigChangeType::kAddLearner, "p4"}).is_ok());
  commit_on_all(c, "hello learner");
  return leader;
}

TEST(Learner, ReceivesAndAppliesTheLog) {
  Cluster c(with_spare());
  raft::NodeId leader = add_learner(c);
  EXPECT_TRUE(c.node("p4").is_learner());
  EXPECT_EQ(c.applied_index("p4"), c.applied_index(leader));
  EXPECT_NO_VIOLATION(c);
}

TEST(Learner, NeverCampaigns) {
  Cluster c(with_spare());
  add_learner(c);
  Term term = c.node("p4").term();
  c.isolate("p4");
  c.run(300);
  EXPECT_EQ(c.node("p4").role(), raft::Role::kFollower);
  EXPECT_EQ(c.node("p4").term(), term);
}

TEST(Learner, ItsVoteDoesNotCount) {
  Cluster c(with_spare());
  raft::NodeId leader = add_learner(c);
  // Leave one voter and the learner: two live nodes, but only one vote out of three.
  raft::NodeId survivor = leader;
  for (const raft::NodeId id : {"p1", "p2", "p3"}) {
    if (id != survivor) c.crash(id);
  }
  c.run(300);
  EXPECT_NE(c.node(survivor).role(), raft::Role::kLeader);
  EXPECT_FALSE(c.leader().has_value());
  EXPECT_NO_VIOLATION(c);
}

TEST(Learner, GrantsFromLearnersAreNotCounted) {
  // Votes go to voters only, but a learner's answer must not count even if one arrives.
  raft::Configuration config = voters({"p1", "p2", "p3"});
  config.learners = {"p4"};
  auto node = make_node("p1", raft::bootstrap_state(config));
  while (node->role() == raft::Role::kFollower)
    node->tick();
  ASSERT_EQ(node->role(), raft::Role::kPreCandidate);
  auto grant = [&](const raft::NodeId& from, raft::VoteKind kind, Term term) {
    node->step(raft::Message{from, "p1", term, raft::VoteResponse{kind, raft::Verdict::kGranted}});
  };
  grant("p4", raft::VoteKind::kPreVote, node->term() + 1);
  EXPECT_EQ(node->role(), raft::Role::kPreCandidate);
  grant("p2", raft::VoteKind::kPreVote, node->term() + 1);
  ASSERT_EQ(node->role(), raft::Role::kCandidate);
  grant("p4", raft::VoteKind::kVote, node->term());
  EXPECT_EQ(node->role(), raft::Role::kCandidate);
  grant("p3", raft::VoteKind::kVote, node->term());
  EXPECT_EQ(node->role(), raft::Role::kLeader);
}

TEST(Learner, PromotionWaitsForCatchUpThenCounts) {
  Cluster c(with_spare());
  raft::NodeId leader = add_learner(c);
  c.isolate("p4");
  for (int i = 0; i < 5; ++i)
    commit_on_all(c, "behind " + std::to_string(i), 200, {"p4"});
  Result<raft::Index> early = c.change_config(leader, {ConfigChangeType::kPromoteLearner, "p4"});
  ASSERT_FALSE(early.is_ok());
  EXPECT_NE(early.error().find("caught up"), std::string::npos) << early.error();

  c.heal();
  ASSERT_TRUE(c.run_until(
      [&] { return c.node(leader).progress("p4")->match >= c.node(leader).commit_index(); }, 100));
  Result<raft::Index> promoted = c.change_config(leader, {ConfigChangeType::kPromoteLearner, "p4"});
  ASSERT_TRUE(promoted.is_ok()) << promoted.error();
  commit_on_all(c, "four voters");
  EXPECT_TRUE(c.node(leader).configuration().is_voter("p4"));

  // Now p4 counts: with another voter removed and a third crashed, leader + p4 commit.
  raft::NodeId gone;
  raft::NodeId down;
  for (const raft::NodeId id : {"p1", "p2", "p3"}) {
    if (id == leader) continue;
    (gone.empty() ? gone : down) = id;
  }
  ASSERT_TRUE(c.change_config(leader, {ConfigChangeType::kRemove, gone}).is_ok());
  commit_on_all(c, "three voters", 200, {gone});
  c.crash(down);
  c.crash(gone);
  commit_on_all(c, "leader and promoted learner");
  EXPECT_NO_VIOLATION(c);
}

}  // namespace
}  // namespace ringleader::membership::testing
