// Single-server membership changes: one at a time, only after the leader committed an entry of
// its term, effective when appended.
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

std::vector<raft::NodeId> followers_of(const Cluster& c, const raft::NodeId& leader) {
  std::vector<raft::NodeId> out;
  for (const raft::NodeId& id : c.node(leader).configuration().voters) {
    if (id != leader) out.push_back(id);
  }
  return out;
}

TEST(ConfigChange, RefusedWhileAnotherIsPending) {
  Cluster c(with_spare());
  raft::NodeId leader = await_leader(c);
  for (const raft::NodeId& f : followers_of(c, leader))
    c.block(f, leader);  // no acks
  Result<raft::Index> first = c.change_config(leader, {ConfigChangeType::kAddLearner, "p4"});
  ASSERT_TRUE(first.is_ok()) << first.error();
  Result<raft::Index> second = c.change_config(leader, {ConfigChangeType::kRemove, "p4"});
  ASSERT_FALSE(second.is_ok());
  EXPECT_NE(second.error().find("not committed"), std::string::npos) << second.error();

  c.heal();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).commit_index() >= *first; }, 50));
  EXPECT_TRUE(c.change_config(leader, {ConfigChangeType::kRemove, "p4"}).is_ok());
  EXPECT_NO_VIOLATION(c);
}

// Removing a healthy voter while another is down would leave the leader and the dead one: no
// quorum, and no way to undo the change. It is refused; removing the dead one is not.
TEST(ConfigChange, RefusedWhenTheVotersLeftCouldNotReachAQuorum) {
  Cluster c{ClusterOptions{}};
  raft::NodeId leader = await_leader(c);
  std::vector<raft::NodeId> followers = followers_of(c, leader);
  c.isolate(followers[0]);
  c.run(40);  // more than two check-quorum rounds without a word from it
  ASSERT_EQ(c.node(leader).role(), raft::Role::kLeader);
  Result<raft::Index> removal = c.change_config(leader, {ConfigChangeType::kRemove, followers[1]});
  ASSERT_FALSE(removal.is_ok());
  EXPECT_TRUE(removal.status().is_refused());
  EXPECT_NE(removal.error().find("2 voters would remain, 1 of them reachable"), std::string::npos)
      << removal.error();
  EXPECT_NE(removal.error().find(followers[0] + " answered"), std::string::npos) << removal.error();
  Result<raft::Index> dead = c.change_config(leader, {ConfigChangeType::kRemove, followers[0]});
  ASSERT_TRUE(dead.is_ok()) << dead.error();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).commit_index() >= *dead; }, 50));
  EXPECT_EQ(c.node(leader).configuration().voters.size(), 2u);
  EXPECT_NO_VIOLATION(c);
}

// "Reachable" means heard from within the last election timeout, however the check-quorum
// rounds fall: a voter silent for just over one timeout already counts as unreachable.
TEST(ConfigChange, AVoterSilentForOneElectionTimeoutIsUnreachable) {
  Cluster c{ClusterOptions{}};
  raft::NodeId leader = await_leader(c);
  std::vector<raft::NodeId> followers = followers_of(c, leader);
  const uint32_t timeout = c.node(leader).options().election_ticks;
  for (uint32_t offset = 0; offset < timeout; offset += 3) {
    c.run(offset);  // shifts where the silence starts within a check-quorum round
    c.isolate(followers[0]);
    c.run(timeout + 1);
    ASSERT_EQ(c.node(leader).role(), raft::Role::kLeader);
    Result<raft::Index> removal =
        c.change_config(leader, {ConfigChangeType::kRemove, followers[1]});
    ASSERT_FALSE(removal.is_ok()) << "offset " << offset;
    EXPECT_TRUE(removal.status().is_refused()) << removal.error();
    c.heal();
    ASSERT_TRUE(c.run_until([&] { return c.node(leader).role() == raft::Role::kLeader; }, 50));
    c.run(2);
  }
  EXPECT_NO_VIOLATION(c);
}

// A learner not heard from yet is waited for (an error the caller retries), not refused as
// unreachable: in a group of one, the promotion would otherwise fail at once.
TEST(ConfigChange, PromotingALearnerThatHasNotAnsweredIsRetriedNotRefused) {
  auto node = make_node("p1", raft::bootstrap_state(voters({"p1"})));
  for (int i = 0; i < 100 && node->role() != raft::Role::kLeader; ++i)
    node->tick();
  ASSERT_EQ(node->role(), raft::Role::kLeader);
  ASSERT_TRUE(node->propose_config_change({ConfigChangeType::kAddLearner, "p2"}).is_ok());
  ASSERT_EQ(node->commit_index(), node->log().last_index());  // a group of one commits at once
  Result<raft::Index> promote =
      node->propose_config_change({ConfigChangeType::kPromoteLearner, "p2"});
  ASSERT_FALSE(promote.is_ok());
  EXPECT_FALSE(promote.status().is_refused());
  EXPECT_NE(promote.error().find("has not caught up"), std::string::npos) << promote.error();
}

TEST(ConfigChange, RefusedUntilTheLeaderCommittedInItsTerm) {
  raft::PersistentState state = raft::bootstrap_state(voters({"p1", "p2", "p3"}));
  auto node = make_node("p1", state);
  elect_bare(*node, {"p2", "p3"});
  Result<raft::Index> r = node->propose_config_change({ConfigChangeType::kAddLearner, "p4"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find("committed an entry of its term"), std::string::npos);
  raft::Index noop = node->log().last_index();
  for (const char* f : {"p2", "p3"}) {
    node->step(raft::Message{f, "p1", node->term(),
                             raft::AppendResponse{raft::Verdict::kGranted, noop, 0, 0, 0, 0}});
  }
  ASSERT_EQ(node->commit_index(), noop);
  EXPECT_TRUE(node->propose_config_change({ConfigChangeType::kAddLearner, "p4"}).is_ok());
}

TEST(ConfigChange, TakesEffectOnFollowersWhenAppendedNotWhenCommitted) {
  Cluster c(with_spare());
  raft::NodeId leader = await_leader(c);
  std::vector<raft::NodeId> followers = followers_of(c, leader);
  for (const raft::NodeId& f : followers)
    c.block(f, leader);
  Result<raft::Index> index = c.change_config(leader, {ConfigChangeType::kAddLearner, "p4"});
  ASSERT_TRUE(index.is_ok());
  c.run(3);
  for (const raft::NodeId& f : followers) {
    EXPECT_LT(c.node(f).commit_index(), *index);
    EXPECT_TRUE(c.node(f).configuration().is_learner("p4")) << f;
  }
  EXPECT_TRUE(c.node(leader).configuration().is_learner("p4"));
  EXPECT_NO_VIOLATION(c);
}

TEST(ConfigChange, AddVoterThenRemoveAnother) {
  Cluster c(with_spare());
  raft::NodeId leader = await_leader(c);
  ASSERT_TRUE(c.change_config(leader, {ConfigChangeType::kAddVoter, "p4"}).is_ok());
  commit_on_all(c, "four voters");
  EXPECT_EQ(c.node(leader).configuration().voters.size(), 4u);
  raft::NodeId victim = followers_of(c, leader).front();
  ASSERT_TRUE(c.change_config(leader, {ConfigChangeType::kRemove, victim}).is_ok());
  commit_on_all(c, "three again", 200, {victim});
  EXPECT_FALSE(c.node(leader).configuration().is_member(victim));
  // The removed node is not needed any more: the remaining three commit without it.
  c.crash(victim);
  commit_on_all(c, "without the removed node");
  EXPECT_NO_VIOLATION(c);
}

TEST(ConfigChange, RemovedLeaderStepsDownAfterCommitAndOthersTakeOver) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  Result<raft::Index> index = c.change_config(leader, {ConfigChangeType::kRemove, leader});
  ASSERT_TRUE(index.is_ok()) << index.error();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).role() != raft::Role::kLeader; }, 50));
  EXPECT_GE(c.node(leader).commit_index(), *index);
  raft::NodeId next = await_leader(c);
  EXPECT_NE(next, leader);
  commit_on_all(c, "two voters", 200, {leader});
  // The removed node never campaigns again.
  Term term = c.node(leader).term();
  c.isolate(leader);
  c.run(100);
  EXPECT_EQ(c.node(leader).role(), raft::Role::kFollower);
  EXPECT_EQ(c.node(leader).term(), term);
  EXPECT_NO_VIOLATION(c);
}

TEST(ConfigChange, RemovedFollowerLearnsItWasRemovedAndIsThenForgotten) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId victim = followers_of(c, leader).front();
  EXPECT_FALSE(c.node(victim).removed());
  Result<raft::Index> index = c.change_config(leader, {ConfigChangeType::kRemove, victim});
  ASSERT_TRUE(index.is_ok()) << index.error();
  // Still replicated to until it holds that its removal committed.
  EXPECT_TRUE(c.node(leader).progress(victim).has_value());
  ASSERT_TRUE(c.run_until([&] { return c.node(victim).removed(); }, 50));
  EXPECT_GE(c.node(victim).commit_index(), *index);
  EXPECT_FALSE(c.node(victim).configuration().is_member(victim));
  ASSERT_TRUE(c.run_until([&] { return !c.node(leader).progress(victim).has_value(); }, 50));
  // Its acknowledgements never counted: the two left commit, and it never campaigns.
  commit_on_all(c, "two voters", 200, {victim});
  Term term = c.node(victim).term();
  c.isolate(victim);
  c.run(100);
  EXPECT_EQ(c.node(victim).role(), raft::Role::kFollower);
  EXPECT_EQ(c.node(victim).term(), term);
  EXPECT_TRUE(c.node(victim).removed());
  for (const raft::NodeId& other : followers_of(c, leader))
    EXPECT_FALSE(c.node(other).removed()) << other;
  EXPECT_FALSE(c.node(leader).removed());
  // Compaction would fold the removal into a snapshot that no longer says this node was in:
  // a removed node keeps its log, and stays removed at its removal.
  EXPECT_FALSE(c.compact(victim).is_ok());
  EXPECT_EQ(c.node(victim).removal_index(), *index);
  EXPECT_TRUE(c.compact(leader).is_ok());
  EXPECT_NO_VIOLATION(c);
}

// A leader does not compact away the entries a departing peer needs to learn its removal:
// the snapshot it would be sent instead leaves it out without saying it was removed.
TEST(ConfigChange, ALeaderKeepsTheEntriesAnIsolatedDepartingPeerNeedsToLearnItsRemoval) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId victim = followers_of(c, leader).front();
  c.isolate(victim);
  Result<raft::Index> index = c.change_config(leader, {ConfigChangeType::kRemove, victim});
  ASSERT_TRUE(index.is_ok()) << index.error();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).commit_index() >= *index; }, 50));
  commit_on_all(c, "past the removal", 20, {victim});
  EXPECT_FALSE(c.compact(leader).is_ok());
  c.heal();
  ASSERT_TRUE(c.run_until([&] { return c.node(victim).removed(); }, 100));
  EXPECT_EQ(c.node(victim).removal_index(), *index);
  ASSERT_TRUE(c.run_until([&] { return !c.node(leader).progress(victim).has_value(); }, 100));
  EXPECT_TRUE(c.compact(leader).is_ok());
  EXPECT_NO_VIOLATION(c);
}

// One that never answers is given up on, and compaction goes on.
TEST(ConfigChange, ALeaderCompactsOnceADepartingPeerThatNeverAnswersIsGivenUp) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId victim = followers_of(c, leader).front();
  c.isolate(victim);
  Result<raft::Index> index = c.change_config(leader, {ConfigChangeType::kRemove, victim});
  ASSERT_TRUE(index.is_ok()) << index.error();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).commit_index() >= *index; }, 50));
  EXPECT_FALSE(c.compact(leader).is_ok());
  ASSERT_TRUE(c.run_until([&] { return !c.node(leader).progress(victim).has_value(); }, 200));
  commit_on_all(c, "after the peer was given up", 5, {victim});
  EXPECT_TRUE(c.compact(leader).is_ok());
  EXPECT_NO_VIOLATION(c);
}

// Removals back to back: the first removed node may receive the second removal's entry too
// (it is replicated to until it learns of its own). It stays removed, at its own removal.
TEST(ConfigChange, ANodeRemovedRightBeforeAnotherStaysRemovedAtItsOwnRemoval) {
  Cluster c(with_spare());
  raft::NodeId leader = await_leader(c);
  ASSERT_TRUE(c.change_config(leader, {ConfigChangeType::kAddVoter, "p4"}).is_ok());
  commit_on_all(c, "four voters");
  std::vector<raft::NodeId> followers = followers_of(c, leader);
  Result<raft::Index> first = c.change_config(leader, {ConfigChangeType::kRemove, followers[0]});
  ASSERT_TRUE(first.is_ok()) << first.error();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).commit_index() >= *first; }, 50));
  Result<raft::Index> second = Status::error("not tried");
  ASSERT_TRUE(c.run_until(
      [&] {
        second = c.change_config(leader, {ConfigChangeType::kRemove, followers[1]});
        return second.is_ok();
      },
      50));
  ASSERT_TRUE(c.run_until([&] { return c.node(followers[1]).removed(); }, 100));
  EXPECT_TRUE(c.node(followers[0]).removed());
  EXPECT_EQ(c.node(followers[0]).removal_index(), *first);
  EXPECT_EQ(c.node(followers[1]).removal_index(), *second);
  EXPECT_FALSE(c.node(leader).removed());
  EXPECT_NO_VIOLATION(c);
}

TEST(ConfigChange, ADepartingPeerThatNeverAnswersIsForgottenAfterFourElectionTimeouts) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  std::vector<raft::NodeId> followers = followers_of(c, leader);
  raft::NodeId dead = followers[0];
  c.crash(dead);
  Result<raft::Index> index = c.change_config(leader, {ConfigChangeType::kRemove, dead});
  ASSERT_TRUE(index.is_ok()) << index.error();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).commit_index() >= *index; }, 50));
  EXPECT_TRUE(c.node(leader).progress(dead).has_value());
  ASSERT_TRUE(c.run_until([&] { return !c.node(leader).progress(dead).has_value(); },
                          5 * c.node(leader).options().election_ticks));
  EXPECT_NO_VIOLATION(c);
}

// A learner replays configurations from before it was added; none of them makes it "removed".
TEST(ConfigChange, ALearnerCatchingUpOnOlderConfigurationsIsNotRemoved) {
  Cluster c(with_spare());
  raft::NodeId leader = await_leader(c);
  ASSERT_TRUE(c.change_config(leader, {ConfigChangeType::kAddLearner, "p4"}).is_ok());
  for (int step = 0; step < 200 && c.node("p4").commit_index() < c.node(leader).commit_index();
       ++step) {
    c.run(1);
    EXPECT_FALSE(c.node("p4").removed()) << "step " << step;
  }
  EXPECT_TRUE(c.node("p4").configuration().is_learner("p4"));
  EXPECT_NO_VIOLATION(c);
}

}  // namespace
}  // namespace ringleader::membership::testing
