// Restarts from persisted state, including a write torn by a crash.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace ringleader::membership::testing {
namespace {

TEST(Restart, WholeClusterRecoversFromStorage) {
  Cluster c(ClusterOptions{});
  await_leader(c);
  for (int i = 0; i < 5; ++i)
    commit_on_all(c, "c" + std::to_string(i));
  std::map<raft::NodeId, Term> terms;
  for (const raft::NodeId& id : c.ids())
    terms[id] = c.node(id).term();
  for (const raft::NodeId& id : c.ids())
    c.crash(id);
  for (const raft::NodeId& id : c.ids()) {
    c.restart(id);
    EXPECT_EQ(c.node(id).term(), terms[id]);
    EXPECT_EQ(c.applied_index(id), c.node(id).commit_index()) << "replays what it knew committed";
  }
  await_leader(c);
  commit_on_all(c, "after");
  EXPECT_EQ(c.committed_commands().size(), 6u);
  EXPECT_NO_VIOLATION(c);
}

TEST(Restart, CrashInTheMiddleOfPersistingLosesOnlyTheTornTail) {
  Cluster c(ClusterOptions{});
  raft::NodeId leader = await_leader(c);
  commit_on_all(c, "safe");
  raft::Index before = c.node(leader).log().last_index();
  // The proposal's entry is half written when the leader crashes.
  c.crash_during_next_persist(leader, storage::PersistStep::kEntries, 0);
  (void)c.propose(leader, "torn");
  ASSERT_FALSE(c.is_up(leader));
  EXPECT_LE(c.storage(leader).state().entries.back().index, before);
  c.restart(leader);
  EXPECT_EQ(c.node(leader).log().last_index(), before);
  await_leader(c);
  commit_on_all(c, "after");
  std::vector<std::string> cmds = c.committed_commands();
  EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "torn"), 0);
  EXPECT_NO_VIOLATION(c);
}

TEST(Restart, TornWriteNeverCommitsStaleEntries) {
  // A follower with stale entries 3..4 (term 2) learns from the term-3 leader that 3..4 are
  // different and that 4 is committed — then crashes somewhere inside persisting that.
  raft::PersistentState state;
  state.hard_state = raft::HardState{2, "", 2};
  state.entries = entries_with_terms({1, 1, 2, 2});
  auto node = make_node("p2", state);
  node->step(
      raft::Message{"p1", "p2", 3, raft::AppendRequest{2, 1, entries_with_terms({3, 3}, 3), 4, 0}});
  raft::Ready r = node->take_ready();
  ASSERT_EQ(r.hard_state->commit, 4u);
  for (int step = 0; step < static_cast<int>(storage::PersistStep::kDone); ++step) {
    for (size_t written = 0; written <= r.entries.size(); ++written) {
      storage::MemoryStorage disk(state);
      auto crash_at = static_cast<storage::PersistStep>(step);
      ASSERT_TRUE(disk.persist_interrupted(storage::PersistBatch::of(r), crash_at, written));
      auto restarted = make_node("p2", disk.load().value());
      for (raft::Index i = 3; i <= restarted->commit_index(); ++i) {
        EXPECT_EQ(restarted->log().term_at(i), 3u)
            << "stale entry " << i << " counted as committed after a crash in step " << step;
      }
    }
  }
}

TEST(Restart, CreateRejectsInconsistentState) {
  raft::PersistentState gap;
  gap.hard_state.term = 2;
  gap.entries = entries_with_terms({1, 1});
  gap.entries[1].index = 5;
  EXPECT_FALSE(raft::RaftNode::create(options_for("p1"), gap).is_ok());

  raft::PersistentState term_back;
  term_back.hard_state.term = 1;
  term_back.entries = entries_with_terms({1, 2});
  EXPECT_FALSE(raft::RaftNode::create(options_for("p1"), term_back).is_ok());

  raft::PersistentState bad_config = raft::bootstrap_state(voters({"p1"}));
  bad_config.entries[0].data = "garbage";
  EXPECT_FALSE(raft::RaftNode::create(options_for("p1"), bad_config).is_ok());

  raft::RaftOptions bad_options = options_for("p1");
  bad_options.heartbeat_ticks = 10;
  EXPECT_FALSE(raft::RaftNode::create(bad_options, raft::PersistentState{}).is_ok());
}

TEST(Restart, CommitIsClampedToTheLog) {
  raft::PersistentState state;
  state.hard_state = raft::HardState{2, "", 9};
  state.entries = entries_with_terms({1, 2});
  auto node = make_node("p1", state);
  EXPECT_EQ(node->commit_index(), 2u);
  EXPECT_EQ(node->applied_index(), 0u);
  EXPECT_EQ(node->take_ready().committed_entries.size(), 2u);
}

}  // namespace
}  // namespace ringleader::membership::testing
