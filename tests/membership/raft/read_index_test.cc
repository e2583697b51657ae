// ReadIndex: linearizable reads confirmed by a heartbeat round.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

const raft::ReadState* find_read(const Cluster& c, const raft::NodeId& id, uint64_t request) {
  for (const raft::ReadState& r : c.reads(id)) {
    if (r.request_id == request) return &r;
  }
  return nullptr;
}

TEST(ReadIndex, LeaderAnswersWithItsCommitIndexAfterAHeartbeatRound) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::Index committed = commit_on_all(c, "x");
  c.read(leader, 1);
  EXPECT_EQ(find_read(c, leader, 1), nullptr) << "not before a quorum confirmed leadership";
  c.settle();
  const raft::ReadState* r = find_read(c, leader, 1);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->outcome, raft::ReadOutcome::kReady);
  EXPECT_EQ(r->index, committed);
  EXPECT_NO_VIOLATION(c);
}

TEST(ReadIndex, FollowerForwardsToTheLeader) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::Index committed = commit_on_all(c, "x");
  raft::NodeId follower = leader == "p1" ? "p2" : "p1";
  c.read(follower, 7);
  c.settle();
  const raft::ReadState* r = find_read(c, follower, 7);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->outcome, raft::ReadOutcome::kReady);
  EXPECT_GE(r->index, committed);
  EXPECT_NO_VIOLATION(c);
}

TEST(ReadIndex, IsolatedLeaderNeverConfirmsAndFailsWhenItStepsDown) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  c.isolate(leader);
  c.read(leader, 3);
  c.run(5);
  EXPECT_EQ(find_read(c, leader, 3), nullptr);
  ASSERT_TRUE(c.run_until([&] { return find_read(c, leader, 3) != nullptr; }, 50));
  EXPECT_EQ(find_read(c, leader, 3)->outcome, raft::ReadOutcome::kFailed);
  EXPECT_NE(c.node(leader).role(), raft::Role::kLeader);
}

TEST(ReadIndex, NoLeaderKnownFailsAtOnce) {
  auto node = make_node("p1", raft::bootstrap_state(voters({"p1", "p2", "p3"})));
  node->read_index(9);
  raft::Ready r = node->take_ready();
  ASSERT_EQ(r.reads.size(), 1u);
  EXPECT_EQ(r.reads[0].outcome, raft::ReadOutcome::kFailed);
}

TEST(ReadIndex, NewLeaderWaitsForItsNoopToCommit) {
  auto node = make_node("p1", raft::bootstrap_state(voters({"p1", "p2", "p3"})));
  elect_bare(*node, {"p2", "p3"});
  raft::Index noop = node->log().last_index();
  node->read_index(5);
  raft::Ready r = node->take_ready();
  EXPECT_TRUE(r.reads.empty());
  // A quorum echoes the heartbeat but the no-op is not committed yet: still waiting.
  auto heartbeats = messages_of<raft::AppendRequest>(r);
  ASSERT_FALSE(heartbeats.empty());
  uint64_t seq = std::get<raft::AppendRequest>(heartbeats.back().payload).heartbeat_seq;
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kRejected, 0, 0, 1, 0, seq}});
  EXPECT_TRUE(node->take_ready().reads.empty());
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kGranted, noop, 0, 0, 0, seq}});
  r = node->take_ready();
  ASSERT_EQ(r.reads.size(), 1u);
  EXPECT_EQ(r.reads[0].outcome, raft::ReadOutcome::kReady);
  EXPECT_EQ(r.reads[0].index, noop);
}

}  // namespace
}  // namespace ringleader::membership::testing
