// Snapshots and log compaction; InstallSnapshot for followers behind the compacted prefix.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

TEST(Snapshot, CompactionDropsTheLogPrefix) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  for (int i = 0; i < 10; ++i)
    commit_on_all(c, "c" + std::to_string(i));
  raft::Index applied = c.applied_index(leader);
  ASSERT_TRUE(c.compact(leader).is_ok());
  EXPECT_EQ(c.node(leader).log().snapshot_index(), applied);
  EXPECT_EQ(c.node(leader).snapshot().meta.config, c.node(leader).configuration());
  EXPECT_FALSE(c.compact(leader).is_ok()) << "nothing new to compact";
  ASSERT_TRUE(c.storage(leader).state().snapshot.has_value());
  EXPECT_EQ(c.storage(leader).state().snapshot->meta.index, applied);
  EXPECT_TRUE(c.storage(leader).state().entries.empty());
  commit_on_all(c, "more");
  EXPECT_NO_VIOLATION(c);
}

TEST(Snapshot, FollowerBehindTheCompactedPrefixGetsASnapshot) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  raft::NodeId lagging = leader == "p3" ? "p2" : "p3";
  c.crash(lagging);
  for (int i = 0; i < 20; ++i)
    commit_on_all(c, "c" + std::to_string(i));
  for (const raft::NodeId& id : c.ids()) {
    if (c.is_up(id)) {
      ASSERT_TRUE(c.compact(id).is_ok());
    }
  }
  int snapshots = 0;
  c.set_observer([&](const raft::Message& m) {
    if (std::holds_alternative<raft::SnapshotRequest>(m.payload) && m.to == lagging) ++snapshots;
  });
  c.restart(lagging);
  ASSERT_TRUE(
      c.run_until([&] { return c.applied_index(lagging) == c.applied_index(leader); }, 100));
  EXPECT_GE(snapshots, 1);
  EXPECT_EQ(c.node(lagging).log().snapshot_index(), c.node(leader).log().snapshot_index());
  commit_on_all(c, "after install");
  EXPECT_NO_VIOLATION(c);
}

TEST(Snapshot, SnapshotMatchingTheFollowersLogKeepsTheRest) {
  raft::PersistentState state;
  state.hard_state.term = 2;
  state.entries = entries_with_terms({1, 1, 2, 2});
  auto node = make_node("p2", state);
  raft::Snapshot snap{raft::SnapshotMeta{3, 2, voters({"p1", "p2"})}, "state at 3"};
  node->step(raft::Message{"p1", "p2", 2, raft::SnapshotRequest{snap, 0}});
  EXPECT_EQ(node->commit_index(), 3u);
  EXPECT_EQ(node->log().last_index(), 4u);
  raft::Ready r = node->take_ready();
  EXPECT_FALSE(r.snapshot.has_value()) << "entries 1..3 are applied normally instead";
  EXPECT_EQ(r.committed_entries.size(), 3u);
}

TEST(Snapshot, ConflictingLogIsReplacedBySnapshot) {
  raft::PersistentState state;
  state.hard_state.term = 2;
  state.entries = entries_with_terms({1, 1, 2, 2});
  auto node = make_node("p2", state);
  raft::Snapshot snap{raft::SnapshotMeta{6, 3, voters({"p1", "p2"})}, "state at 6"};
  node->step(raft::Message{"p1", "p2", 3, raft::SnapshotRequest{snap, 0}});
  EXPECT_EQ(node->log().snapshot_index(), 6u);
  EXPECT_TRUE(node->log().empty());
  EXPECT_EQ(node->configuration(), snap.meta.config);
  raft::Ready r = node->take_ready();
  ASSERT_TRUE(r.snapshot.has_value());
  EXPECT_EQ(r.snapshot_origin, raft::SnapshotOrigin::kFromLeader);
  EXPECT_EQ(r.snapshot->data, "state at 6");
  EXPECT_TRUE(r.committed_entries.empty());
  auto acks = messages_of<raft::AppendResponse>(r);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(std::get<raft::AppendResponse>(acks[0].payload).match_index, 6u);
  EXPECT_TRUE(node->check_invariants().is_ok());
}

// Indexes no log reaches are dropped, whatever the term: index + 1 would wrap, and the node
// must not assert on what a peer sends.
TEST(Snapshot, AnIndexPastKMaxIndexIsDropped) {
  for (raft::Index index : {raft::kMaxIndex, UINT64_MAX - 1, UINT64_MAX}) {
    raft::PersistentState state;
    state.hard_state.term = 2;
    state.entries = entries_with_terms({1, 1, 2});
    auto node = make_node("p2", state);
    raft::Snapshot snap{raft::SnapshotMeta{index, 2, voters({"p1", "p2"})}, "state"};
    node->step(raft::Message{"p1", "p2", 2, raft::SnapshotRequest{snap, 0}});
    node->step(raft::Message{
        "p1", "p2", 2,
        raft::AppendRequest{
            index - 1, 2, {raft::Entry{2, index, raft::EntryType::kNoop, ""}}, index, 1}});
    EXPECT_EQ(node->log().snapshot_index(), 0u) << index;
    EXPECT_EQ(node->log().last_index(), 3u) << index;
    EXPECT_EQ(node->commit_index(), 0u) << index;
    EXPECT_TRUE(node->check_invariants().is_ok()) << index;
  }
}

TEST(Snapshot, RestartFromSnapshotAndLog) {
  Cluster c(ClusterOptions{});
  await_leader(c);
  for (int i = 0; i < 8; ++i)
    commit_on_all(c, "c" + std::to_string(i));
  for (const raft::NodeId& id : c.ids())
    ASSERT_TRUE(c.compact(id).is_ok());
  for (int i = 0; i < 3; ++i)
    commit_on_all(c, "d" + std::to_string(i));
  for (const raft::NodeId& id : c.ids())
    c.crash(id);
  for (const raft::NodeId& id : c.ids())
    c.restart(id);
  await_leader(c);
  commit_on_all(c, "after restart");
  EXPECT_EQ(c.committed_commands().size(), 12u);
  EXPECT_NO_VIOLATION(c);
}

}  // namespace
}  // namespace ringleader::membership::testing
