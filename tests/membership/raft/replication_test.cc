// Log replication and fast back-up of conflicting entries.
#include <gtest/gtest.h>

#include <map>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

raft::AppendResponse only_append_response(raft::RaftNode& node) {
  auto replies = messages_of<raft::AppendResponse>(node.take_ready());
  EXPECT_EQ(replies.size(), 1u);
  return replies.empty() ? raft::AppendResponse{}
                         : std::get<raft::AppendResponse>(replies[0].payload);
}

TEST(Replication, FollowerRejectsWithConflictHints) {
  raft::PersistentState state;
  state.hard_state.term = 4;
  state.entries = entries_with_terms({1, 1, 2, 2, 2, 2, 2});
  auto node = make_node("p2", state);
  node->take_ready();

  // Mismatching term at prev_index 7: skip back over the whole term-2 run.
  node->step(raft::Message{"p1", "p2", 5, raft::AppendRequest{7, 4, {}, 0, 0}});
  raft::AppendResponse r = only_append_response(*node);
  EXPECT_EQ(r.verdict, raft::Verdict::kRejected);
  EXPECT_EQ(r.rejected_prev_index, 7u);
  EXPECT_EQ(r.conflict_term, 2u);
  EXPECT_EQ(r.conflict_index, 3u);

  // prev_index beyond the log: go back to the log's end.
  node->step(raft::Message{"p1", "p2", 5, raft::AppendRequest{12, 5, {}, 0, 0}});
  r = only_append_response(*node);
  EXPECT_EQ(r.conflict_term, 0u);
  EXPECT_EQ(r.conflict_index, 8u);
}

TEST(Replication, FollowerReplacesConflictingSuffixOnly) {
  raft::PersistentState state;
  state.hard_state.term = 3;
  state.entries = entries_with_terms({1, 1, 2, 2});
  auto node = make_node("p2", state);
  node->take_ready();
  std::vector<raft::Entry> leader_entries = entries_with_terms({3, 3}, 3);
  node->step(raft::Message{"p1", "p2", 3, raft::AppendRequest{2, 1, leader_entries, 2, 0}});
  raft::Ready ready = node->take_ready();
  ASSERT_EQ(ready.entries.size(), 2u);  // persist: replace from index 3
  EXPECT_EQ(ready.entries[0].index, 3u);
  EXPECT_EQ(node->log().last_index(), 4u);
  EXPECT_EQ(node->log().term_at(4), 3u);
  EXPECT_EQ(node->commit_index(), 2u);

  // A stale, shorter copy of an earlier request must not cut the log.
  node->step(
      raft::Message{"p1", "p2", 3, raft::AppendRequest{2, 1, entries_with_terms({3}, 3), 2, 0}});
  EXPECT_EQ(node->log().last_index(), 4u);
  EXPECT_EQ(only_append_response(*node).match_index, 3u);
}

// Committed entries are in every later leader's log. A leader that disagrees with one (a log
// from another group, a rolled-back data_dir) is reported; the committed entry stays, and the
// node takes no further part: no answers, no campaigns.
TEST(Replication, AnAppendDisagreeingWithCommittedEntriesIsReportedAndTheNodeStops) {
  raft::PersistentState state;
  state.hard_state.term = 3;
  state.hard_state.commit = 3;
  state.entries = entries_with_terms({1, 1, 2, 2});
  auto node = make_node("p2", state);
  node->take_ready();
  ASSERT_EQ(node->commit_index(), 3u);

  // Agreeing appends, below and above the commit index, report nothing.
  node->step(raft::Message{"p1", "p2", 3,
                           raft::AppendRequest{1, 1, entries_with_terms({1, 2, 3}, 2), 4, 0}});
  raft::Ready agreeing = node->take_ready();
  EXPECT_TRUE(agreeing.committed_conflicts.empty());
  ASSERT_EQ(node->log().term_at(4), 3u);  // the uncommitted entry was replaced
  ASSERT_EQ(node->commit_index(), 4u);

  // Index 3 is committed here with term 2; this leader has term 1 there.
  node->step(raft::Message{"p1", "p2", 3,
                           raft::AppendRequest{2, 1, entries_with_terms({1, 3, 3}, 3), 5, 0}});
  raft::Ready ready = node->take_ready();
  ASSERT_EQ(ready.committed_conflicts.size(), 1u);
  EXPECT_EQ(ready.committed_conflicts[0].leader, "p1");
  EXPECT_EQ(ready.committed_conflicts[0].leader_term, 3u);
  EXPECT_EQ(ready.committed_conflicts[0].index, 3u);
  EXPECT_EQ(ready.committed_conflicts[0].ours, 2u);
  EXPECT_EQ(ready.committed_conflicts[0].leaders, 1u);
  EXPECT_TRUE(ready.entries.empty());
  EXPECT_TRUE(ready.messages.empty());
  EXPECT_TRUE(node->diverged());
  EXPECT_EQ(node->log().term_at(3), 2u);
  EXPECT_EQ(node->log().last_index(), 4u);

  // From now on: nothing answered or taken, from any leader, and no campaign.
  node->step(raft::Message{"p3", "p2", 4, raft::AppendRequest{4, 3, {}, 4, 0}});
  node->step(
      raft::Message{"p3", "p2", 5,
                    raft::VoteRequest{raft::VoteKind::kVote, raft::ElectionCause::kTimeout, 9, 9}});
  for (int i = 0; i < 100; ++i)
    node->tick();
  raft::Ready after = node->take_ready();
  EXPECT_TRUE(after.messages.empty());
  EXPECT_TRUE(after.committed_conflicts.empty());
  EXPECT_EQ(node->term(), 3u);
  EXPECT_EQ(node->role(), raft::Role::kFollower);
}

// p1 elected leader of p1..p3 over a log of terms 1 1 3 3 3; its no-op at 6 is not taken out
// of its Ready yet.
std::unique_ptr<raft::RaftNode> leader_over_five_entries() {
  raft::PersistentState state;
  state.snapshot = raft::Snapshot{raft::SnapshotMeta{0, 0, voters({"p1", "p2", "p3"})}, ""};
  state.hard_state.term = 3;
  state.entries = entries_with_terms({1, 1, 3, 3, 3});
  auto node = make_node("p1", state);
  elect_bare(*node, {"p2", "p3"});
  return node;
}

TEST(Replication, LeaderBacksUpByWholeTerms) {
  auto node = leader_over_five_entries();
  node->take_ready();
  ASSERT_EQ(node->progress("p2")->next, 6u);  // then the no-op at 6 went out

  // The follower has term 2 at 5, which this leader never had: jump to its first term-2 index.
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kRejected, 0, 5, 3, 2, 0}});
  EXPECT_EQ(node->progress("p2")->next, 3u);
  auto sent = messages_of<raft::AppendRequest>(node->take_ready());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<raft::AppendRequest>(sent[0].payload).prev_index, 2u);

  // For p3, whose conflicting term 3 the leader has: resume after the leader's last term-3 entry.
  node->step(raft::Message{"p3", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kRejected, 0, 5, 4, 3, 0}});
  EXPECT_EQ(node->progress("p3")->next, 6u);
}

// The heartbeat sequence number of the one append the leader sent to `peer`.
uint64_t seq_of_append_to(raft::RaftNode& leader, const raft::NodeId& peer) {
  uint64_t seq = 0;
  int found = 0;
  for (const raft::Message& m : messages_of<raft::AppendRequest>(leader.take_ready())) {
    if (m.to != peer) continue;
    seq = std::get<raft::AppendRequest>(m.payload).heartbeat_seq;
    ++found;
  }
  EXPECT_EQ(found, 1);
  return seq;
}

// A follower restarted with a wiped or older data directory rejects appends at indexes it had
// acknowledged. The leader starts over with it instead of ignoring it for the rest of the term;
// a stale rejection (from before the acknowledgement) changes nothing.
TEST(Replication, APeerThatLostWhatItAcknowledgedIsReplicatedToAgain) {
  auto node = leader_over_five_entries();
  const uint64_t first = seq_of_append_to(*node, "p2");  // the no-op at 6
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kGranted, 6, 0, 0, 0, first}});
  node->take_ready();
  ASSERT_EQ(node->progress("p2")->match, 6u);

  // Stale: a rejection sent before the acknowledgement, delivered after it.
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kRejected, 0, 5, 1, 0, first}});
  EXPECT_EQ(node->progress("p2")->match, 6u);
  EXPECT_TRUE(node->take_ready().log_losses.empty());

  // The next heartbeat round: p2's log now ends at 2.
  for (int i = 0; i < 2; ++i)
    node->tick();
  const uint64_t later = seq_of_append_to(*node, "p2");
  ASSERT_GT(later, first);
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kRejected, 0, 6, 3, 0, later}});
  EXPECT_EQ(node->progress("p2")->match, 0u);
  EXPECT_EQ(node->progress("p2")->next, 3u);
  raft::Ready ready = node->take_ready();
  ASSERT_EQ(ready.log_losses.size(), 1u);
  EXPECT_EQ(ready.log_losses[0].peer, "p2");
  EXPECT_EQ(ready.log_losses[0].acknowledged, 6u);
  EXPECT_EQ(ready.log_losses[0].agrees_below, 3u);
  auto sent = messages_of<raft::AppendRequest>(ready);
  ASSERT_EQ(sent.size(), 1u);
  const auto& resend = std::get<raft::AppendRequest>(sent[0].payload);
  EXPECT_EQ(resend.prev_index, 2u);
  EXPECT_EQ(resend.entries.size(), 4u);

  // It catches up: acknowledged again, and counted toward commits again.
  node->step(raft::Message{"p2", "p1", node->term(),
                           raft::AppendResponse{raft::Verdict::kGranted, 6, 0, 0, 0, later}});
  EXPECT_EQ(node->progress("p2")->match, 6u);
  EXPECT_EQ(node->commit_index(), 6u);
}

TEST(Replication, DeposedLeaderLogIsRepairedInFewRoundTrips) {
  ClusterOptions o;
  o.max_uncommitted_entries = 100;
  Cluster c(o);
  raft::NodeId old_leader = await_leader(c);
  commit_on_all(c, "before");
  c.isolate(old_leader);
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(c.propose(old_leader, "lost " + std::to_string(i)));
  raft::NodeId other = old_leader == "p1" ? "p2" : "p1";
  ASSERT_TRUE(c.run_until(
      [&] {
        return c.leader() && *c.leader() != old_leader &&
               c.node(old_leader).role() != raft::Role::kLeader;
      },
      200));
  for (int i = 0; i < 3; ++i)
    commit_on_all(c, "kept " + std::to_string(i), 200, {old_leader});

  int rejections = 0;
  c.set_observer([&](const raft::Message& m) {
    const auto* r = std::get_if<raft::AppendResponse>(&m.payload);
    if (m.from == old_leader && r && r->verdict == raft::Verdict::kRejected) ++rejections;
  });
  c.heal();
  commit_on_all(c, "after");
  EXPECT_LE(rejections, 3) << "one rejection per conflicting term, not per entry";
  for (const std::string& cmd : c.committed_commands())
    EXPECT_EQ(cmd.rfind("lost", 0), std::string::npos);
  EXPECT_EQ(c.node(old_leader).log().last_index(), c.node(*c.leader()).log().last_index());
  EXPECT_NO_VIOLATION(c);
  (void)other;
}

// A follower learns that an entry committed as soon as it is committed and the follower holds
// it, in an append with no entries, instead of at the leader's next heartbeat: followers
// apply a membership change within a round trip of the leader.
TEST(Replication, FollowersLearnACommitWithoutWaitingForAHeartbeat) {
  raft::PersistentState state;
  state.snapshot = raft::Snapshot{raft::SnapshotMeta{0, 0, voters({"p1", "p2", "p3"})}, ""};
  auto node = make_node("p1", state);
  elect_bare(*node, {"p2", "p3"});
  node->take_ready();
  auto ack = [&](const raft::NodeId& from, raft::Index match) {
    node->step(raft::Message{from, "p1", node->term(),
                             raft::AppendResponse{raft::Verdict::kGranted, match, 0, 0, 0, 0}});
    return messages_of<raft::AppendRequest>(node->take_ready());
  };
  // What `sent` tells each peer: {peer: leader_commit}, checking no entry is sent again.
  auto commits_told = [](const std::vector<raft::Message>& sent) {
    std::map<raft::NodeId, raft::Index> told;
    for (const raft::Message& m : sent) {
      const auto& req = std::get<raft::AppendRequest>(m.payload);
      EXPECT_TRUE(req.entries.empty()) << m.to;
      told[m.to] = req.leader_commit;
    }
    return told;
  };
  const raft::Index noop = node->log().last_index();
  EXPECT_EQ(commits_told(ack("p2", noop)), (std::map<raft::NodeId, raft::Index>{{"p2", noop}}));
  EXPECT_EQ(commits_told(ack("p3", noop)), (std::map<raft::NodeId, raft::Index>{{"p3", noop}}));

  ASSERT_TRUE(node->propose("add backend"));
  node->take_ready();
  const raft::Index entry = node->log().last_index();
  // p2's acknowledgement commits the entry: p2 hears of it at once; p3, which has not
  // acknowledged it yet, hears nothing it could use.
  EXPECT_EQ(commits_told(ack("p2", entry)), (std::map<raft::NodeId, raft::Index>{{"p2", entry}}));
  ASSERT_EQ(node->commit_index(), entry);
  // p3 acknowledges it after the commit: it hears of the commit at once too, and only once.
  EXPECT_EQ(commits_told(ack("p3", entry)), (std::map<raft::NodeId, raft::Index>{{"p3", entry}}));
  EXPECT_TRUE(ack("p3", entry).empty());
  EXPECT_TRUE(ack("p2", entry).empty());
}

TEST(Replication, CommitsDespiteLossDuplicationAndReordering) {
  ClusterOptions o;
  o.founders = {"p1", "p2", "p3", "p4", "p5"};
  o.seed = 11;
  Cluster c(o);
  c.set_faults(Faults{150, 150, 1, 4, 0});
  await_leader(c, 1000);
  for (int i = 0; i < 20; ++i) {
    std::optional<raft::NodeId> l = c.leader();
    if (l) (void)c.propose(*l, "cmd" + std::to_string(i));
    c.run(3);
  }
  c.set_faults(Faults{});
  await_leader(c, 1000);
  commit_on_all(c, "final", 500);
  EXPECT_GE(c.committed_commands().size(), 1u);
  EXPECT_NO_VIOLATION(c);
}

}  // namespace
}  // namespace ringleader::membership::testing
