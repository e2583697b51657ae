// Pre-vote: a node that was cut off and rejoins cannot depose a healthy leader.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

struct Outcome {
  raft::NodeId leader_before;
  raft::NodeId leader_after;
  Term term_before;
  Term term_after;
  Term isolated_term;
};

Outcome isolate_and_rejoin(raft::PreVote pre_vote, raft::CheckQuorum check_quorum) {
  ClusterOptions o;
  o.pre_vote = pre_vote;
  o.check_quorum = check_quorum;
  Cluster c(o);
  Outcome out;
  out.leader_before = await_leader(c);
  out.term_before = c.node(out.leader_before).term();
  raft::NodeId loner = out.leader_before == "p3" ? "p2" : "p3";
  c.isolate(loner);
  c.run(100);  // the loner times out again and again
  commit_on_all(c, "while away", 200, {loner});
  out.isolated_term = c.node(loner).term();
  c.heal();
  c.run(50);
  out.leader_after = c.leader().value_or("");
  out.term_after = c.node(out.leader_after.empty() ? "p1" : out.leader_after).term();
  EXPECT_NO_VIOLATION(c);
  return out;
}

TEST(PreVote, RejoiningNodeDoesNotDisruptTheLeader) {
  Outcome out = isolate_and_rejoin(raft::PreVote::kOn, raft::CheckQuorum::kOn);
  EXPECT_EQ(out.isolated_term, out.term_before) << "pre-votes never bump the term";
  EXPECT_EQ(out.leader_after, out.leader_before);
  EXPECT_EQ(out.term_after, out.term_before);
}

TEST(PreVote, WithoutCheckQuorumTheStaleLogStillLosesThePreVote) {
  Outcome out = isolate_and_rejoin(raft::PreVote::kOn, raft::CheckQuorum::kOff);
  EXPECT_EQ(out.leader_after, out.leader_before);
  EXPECT_EQ(out.term_after, out.term_before);
}

TEST(PreVote, WithoutPreVoteTheRejoiningNodeForcesANewTerm) {
  // The contrast: plain Raft lets the loner's inflated term depose the leader.
  Outcome out = isolate_and_rejoin(raft::PreVote::kOff, raft::CheckQuorum::kOff);
  EXPECT_GT(out.isolated_term, out.term_before + 2);
  EXPECT_GE(out.term_after, out.isolated_term);
}

TEST(PreVote, PreVoteRequestChangesNoTerm) {
  auto node = make_node("p1", raft::bootstrap_state(voters({"p1", "p2", "p3"})));
  node->step(raft::Message{
      "p2", "p1", 7,
      raft::VoteRequest{raft::VoteKind::kPreVote, raft::ElectionCause::kTimeout, 5, 6}});
  EXPECT_EQ(node->term(), 1u);
  EXPECT_EQ(node->vote(), "");
  auto replies = messages_of<raft::VoteResponse>(node->take_ready());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(std::get<raft::VoteResponse>(replies[0].payload).verdict, raft::Verdict::kGranted);
  EXPECT_EQ(replies[0].term, 7u);  // a granted pre-vote echoes the term asked about
}

}  // namespace
}  // namespace ringleader::membership::testing
