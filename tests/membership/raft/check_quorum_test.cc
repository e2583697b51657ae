// Check-quorum: a leader cut off from its majority steps down; followers under a lease ignore
// elections they did not cause.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

TEST(CheckQuorum, IsolatedLeaderStepsDownWithinTwoElectionTimeouts) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  c.isolate(leader);
  uint64_t start = c.now();
  ASSERT_TRUE(c.run_until([&] { return c.node(leader).role() != raft::Role::kLeader; }, 100));
  EXPECT_LE(c.now() - start, 2u * 10u + 1u);
  // The majority side elects a leader of a newer term meanwhile.
  raft::NodeId other = leader == "p1" ? "p2" : "p1";
  ASSERT_TRUE(c.run_until(
      [&] { return c.node(other).leader() != "" && c.node(other).leader() != leader; }, 100));
  EXPECT_NO_VIOLATION(c);
}

TEST(CheckQuorum, WithoutCheckQuorumAnIsolatedLeaderStaysLeader) {
  ClusterOptions o;
  o.check_quorum = raft::CheckQuorum::kOff;
  Cluster c(o);
  raft::NodeId leader = await_leader(c);
  c.isolate(leader);
  c.run(100);
  EXPECT_EQ(c.node(leader).role(), raft::Role::kLeader);
}

TEST(CheckQuorum, LeaderWithMajorityStaysDespiteOneSilentFollower) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  Term term = c.node(leader).term();
  raft::NodeId silent = leader == "p3" ? "p2" : "p3";
  c.block(silent, leader);  // one way: the follower hears the leader, the leader not it
  c.run(100);
  EXPECT_EQ(c.leader(), leader);
  EXPECT_EQ(c.node(leader).term(), term);
  EXPECT_NO_VIOLATION(c);
}

TEST(CheckQuorum, FollowerUnderLeaseIgnoresVoteRequests) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  c.run(5);
  std::vector<raft::NodeId> others;
  for (const raft::NodeId& id : c.ids()) {
    if (id != leader) others.push_back(id);
  }
  raft::NodeId follower = others[0];
  raft::NodeId candidate = others[1];
  Term term = c.node(follower).term();
  const raft::RaftNode& f = c.node(follower);
  c.deliver(raft::Message{candidate, follower, term + 5,
                          raft::VoteRequest{raft::VoteKind::kVote, raft::ElectionCause::kTimeout,
                                            f.log().last_index() + 10, term + 1}});
  EXPECT_EQ(c.node(follower).term(), term);
  EXPECT_EQ(c.node(follower).leader(), leader);
  // A leadership transfer's election is honoured even under the lease.
  c.deliver(raft::Message{candidate, follower, term + 5,
                          raft::VoteRequest{raft::VoteKind::kVote, raft::ElectionCause::kTransfer,
                                            f.log().last_index() + 10, term + 1}});
  EXPECT_EQ(c.node(follower).term(), term + 5);
  EXPECT_EQ(c.node(follower).vote(), candidate);
}

}  // namespace
}  // namespace ringleader::membership::testing
