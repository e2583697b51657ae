// Leadership transfer (TimeoutNow), e.g. for a graceful shutdown.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

raft::NodeId some_follower(const Cluster& c, const raft::NodeId& leader) {
  for (const raft::NodeId& id : c.node(leader).configuration().voters) {
    if (id != leader) return id;
  }
  return "";
}

TEST(Transfer, TargetTakesOverWithinAFewTicks) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId target = some_follower(c, leader);
  Term term = c.node(leader).term();
  ASSERT_TRUE(c.transfer(leader, target).is_ok());
  uint64_t start = c.now();
  ASSERT_TRUE(c.run_until([&] { return c.leader() == target; }, 50));
  EXPECT_LE(c.now() - start, 5u) << "much faster than an election timeout";
  EXPECT_EQ(c.node(target).term(), term + 1);
  commit_on_all(c, "after transfer");
  EXPECT_NO_VIOLATION(c);
}

TEST(Transfer, LaggingTargetIsCaughtUpFirstAndNothingIsLost) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId target = some_follower(c, leader);
  c.isolate(target);
  for (int i = 0; i < 10; ++i)
    commit_on_all(c, "c" + std::to_string(i), 200, {target});
  c.heal();
  ASSERT_TRUE(c.transfer(leader, target).is_ok());
  ASSERT_TRUE(c.run_until([&] { return c.leader() == target; }, 50));
  commit_on_all(c, "after");
  std::vector<std::string> cmds = c.committed_commands();
  ASSERT_EQ(cmds.size(), 11u);
  EXPECT_EQ(cmds[9], "c9");
  EXPECT_NO_VIOLATION(c);
}

TEST(Transfer, ProposalsRefusedDuringTransferWhichGivesUpAfterATimeout) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId target = some_follower(c, leader);
  c.crash(target);
  ASSERT_TRUE(c.transfer(leader, target).is_ok());
  Result<raft::Index> refused = c.propose(leader, "x");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.error().find("transfer"), std::string::npos);
  c.run(11);
  EXPECT_EQ(c.node(leader).transfer_target(), "");
  EXPECT_EQ(c.leader(), leader);
  EXPECT_TRUE(c.propose(leader, "y").is_ok());
  EXPECT_NO_VIOLATION(c);
}

TEST(Transfer, WithoutTargetPicksAnUpToDateVoter) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  c.run(5);
  ASSERT_TRUE(c.transfer(leader, std::nullopt).is_ok());
  ASSERT_TRUE(c.run_until([&] { return c.leader() && *c.leader() != leader; }, 50));
  EXPECT_FALSE(c.transfer(*c.leader(), *c.leader()).is_ok());
  EXPECT_NO_VIOLATION(c);
}

}  // namespace
}  // namespace ringleader::membership::testing
