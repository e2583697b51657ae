// Elections: one leader, its no-op, randomised timeouts, determinism.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

TEST(Election, ThreeNodesElectOneLeaderWhoCommitsItsNoop) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  ASSERT_FALSE(leader.empty());
  const raft::RaftNode& l = c.node(leader);
  // The new leader's first entry in its term is a no-op, and it commits.
  const raft::Entry& last = l.log().at(l.log().last_index());
  EXPECT_EQ(last.type, raft::EntryType::kNoop);
  EXPECT_EQ(last.term, l.term());
  c.run(20);
  for (const raft::NodeId& id : c.ids()) {
    EXPECT_EQ(c.node(id).leader(), leader);
    EXPECT_EQ(c.node(id).term(), l.term());
    EXPECT_EQ(c.node(id).commit_index(), l.log().last_index());
  }
  EXPECT_NO_VIOLATION(c);
}

// A message at a term no election reaches, or that no election moves to at once, is dropped:
// a node pushed to 2^64 - 1 would wrap to term 0 at its next campaign, one pushed to
// kMaxTerm - 1 would campaign at a term every peer drops, and every vote would be refused for
// good.
TEST(Election, ATermPastKMaxTermOrTooFarAheadIsDropped) {
  for (raft::Term term : {raft::kMaxTerm - 1, raft::kMaxTerm, UINT64_MAX - 1, UINT64_MAX,
                          raft::Term{2} + raft::kMaxTermJump + 1}) {
    raft::PersistentState state;
    state.hard_state.term = 2;
    state.entries = entries_with_terms({1, 1, 2});
    auto node = make_node("p2", state);
    node->step(raft::Message{"p1", "p2", term, raft::AppendResponse{}});
    node->step(raft::Message{"p1", "p2", term, raft::AppendRequest{3, 2, {}, 3, 1}});
    node->step(raft::Message{
        "p1", "p2", term,
        raft::VoteRequest{raft::VoteKind::kVote, raft::ElectionCause::kTimeout, 3, 2}});
    EXPECT_EQ(node->term(), 2u) << term;
    EXPECT_EQ(node->commit_index(), 0u) << term;
    EXPECT_TRUE(node->check_invariants().is_ok()) << term;
  }
  // A jump of kMaxTermJump is still taken.
  raft::PersistentState state;
  state.hard_state.term = 2;
  auto node = make_node("p2", state);
  node->step(raft::Message{"p1", "p2", 2 + raft::kMaxTermJump, raft::AppendResponse{}});
  EXPECT_EQ(node->term(), 2 + raft::kMaxTermJump);
}

TEST(Election, SingleVoterElectsItself) {
  ClusterOptions o;
  o.founders = {"solo"};
  Cluster c(o);
  EXPECT_EQ(await_leader(c), "solo");
  EXPECT_GE(commit_on_all(c, "a"), 3u);
  EXPECT_NO_VIOLATION(c);
}

TEST(Election, NewLeaderAfterLeaderCrash) {
  Cluster c(ClusterOptions{});
  raft::NodeId first = await_leader(c);
  Term term = c.node(first).term();
  c.crash(first);
  raft::NodeId second = await_leader(c);
  EXPECT_NE(second, first);
  EXPECT_GT(c.node(second).term(), term);
  c.restart(first);
  c.run(30);
  EXPECT_EQ(c.node(first).leader(), second);
  EXPECT_NO_VIOLATION(c);
}

TEST(Election, SameSeedSameHistory) {
  auto history = [](uint64_t seed) {
    ClusterOptions o;
    o.seed = seed;
    Cluster c(o);
    raft::NodeId leader = await_leader(c);
    return std::make_tuple(leader, c.node(leader).term(), c.now(), c.messages_delivered());
  };
  EXPECT_EQ(history(7), history(7));
  EXPECT_EQ(history(8), history(8));
}

TEST(Election, TimeoutsAreRandomisedWithinBounds) {
  // A lone voter campaigns after a timeout in [election_ticks, 2 * election_ticks).
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto node = make_node("p1", raft::bootstrap_state(voters({"p1", "p2", "p3"})), seed);
    int ticks = 0;
    while (node->role() == raft::Role::kFollower) {
      node->tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    seen.insert(ticks);
  }
  EXPECT_GE(seen.size(), 5u);
}

TEST(Election, VoteIsGrantedOncePerTermAndOnlyToUpToDateLogs) {
  raft::PersistentState state;
  state.hard_state.term = 3;
  state.entries = entries_with_terms({1, 2, 3});
  auto node = make_node("p1", state);
  auto ask = [&](const raft::NodeId& from, Term term, raft::Index last, Term last_term) {
    node->step(raft::Message{
        from, "p1", term,
        raft::VoteRequest{raft::VoteKind::kVote, raft::ElectionCause::kTimeout, last, last_term}});
    auto votes = messages_of<raft::VoteResponse>(node->take_ready());
    EXPECT_EQ(votes.size(), 1u);
    return std::get<raft::VoteResponse>(votes.at(0).payload).verdict;
  };
  EXPECT_EQ(ask("p2", 4, 2, 3), raft::Verdict::kRejected);  // shorter log
  EXPECT_EQ(ask("p2", 4, 5, 2), raft::Verdict::kRejected);  // older last term
  EXPECT_EQ(ask("p2", 4, 3, 3), raft::Verdict::kGranted);
  EXPECT_EQ(node->vote(), "p2");
  EXPECT_EQ(ask("p3", 4, 9, 3), raft::Verdict::kRejected);  // already voted in term 4
  EXPECT_EQ(ask("p2", 4, 3, 3), raft::Verdict::kGranted);   // same candidate again is fine
  EXPECT_EQ(ask("p3", 5, 9, 3), raft::Verdict::kGranted);   // new term, new vote
}

}  // namespace
}  // namespace ringleader::membership::testing
