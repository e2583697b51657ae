// End to end without a network: a single-voter RaftNode persisting to FileStorage, applying
// committed membership commands, and building rings whose epoch is the index of the last
// change applied — then the same after a restart from disk (snapshot + log).
#include <gtest/gtest.h>

#include "../storage/temp_dir.h"
#include "membership/raft/raft_node.h"
#include "membership/state/command_codec.h"
#include "membership/state/state_machine.h"
#include "membership/storage/file_storage.h"

namespace ringleader::membership {
namespace {

using state::Command;

// One instance: node + storage + state machine, driven in the documented order.
struct Instance {
  std::unique_ptr<storage::FileStorage> disk;
  std::unique_ptr<raft::RaftNode> node;
  state::MembershipStateMachine machine;
  std::map<raft::Index, Status> outcomes;  // command results by log index

  static Instance start(const std::string& dir) {
    Instance in;
    auto disk = storage::FileStorage::open(dir);
    EXPECT_TRUE(disk.is_ok()) << disk.error();
    in.disk = std::move(disk).value();
    auto loaded = in.disk->load();
    EXPECT_TRUE(loaded.is_ok());
    raft::PersistentState state = std::move(loaded).value();
    if (state.entries.empty() && !state.snapshot) {  // first start: bootstrap a group of one
      raft::Configuration solo;
      solo.voters = {"p1"};
      state = raft::bootstrap_state(solo);
      EXPECT_TRUE(in.disk->persist({&state.hard_state, nullptr, state.entries}).is_ok());
    }
    if (state.snapshot) {
      auto machine = state::MembershipStateMachine::restore(*state.snapshot);
      EXPECT_TRUE(machine.is_ok()) << machine.error();
      in.machine = std::move(machine).value();
    }
    raft::RaftOptions o;
    o.id = "p1";
    o.random_seed = 3;
    auto node = raft::RaftNode::create(o, std::move(state));
    EXPECT_TRUE(node.is_ok()) << node.error();
    in.node = std::move(node).value();
    in.drive();
    return in;
  }

  void drive() {
    while (node->has_ready()) {
      raft::Ready r = node->take_ready();
      ASSERT_TRUE(disk->persist(storage::PersistBatch::of(r)).is_ok());
      ASSERT_TRUE(r.messages.empty());  // a group of one talks to nobody
      for (const raft::Entry& e : r.committed_entries)
        outcomes[e.index] = machine.apply(e);
    }
  }

  void become_leader() {
    for (int i = 0; i < 100 && node->role() != raft::Role::kLeader; ++i) {
      node->tick();
      drive();
    }
    ASSERT_EQ(node->role(), raft::Role::kLeader);
  }

  raft::Index propose(const Command& c) {
    auto index = node->propose(state::encode_command(c));
    EXPECT_TRUE(index.is_ok()) << index.error();
    drive();
    return index.is_ok() ? *index : 0;
  }
};

ring::Backend backend(const std::string& name, uint32_t weight) {
  return ring::Backend{name, name + ".internal:6379", weight, "", ring::BackendState::kActive};
}

TEST(RingFromRaft, CommittedCommandsBuildRingsStampedWithTheirIndex) {
  testing::TempDir dir;
  raft::Index last = 0;
  ring::RingSnapshot before_restart;
  {
    Instance in = Instance::start(dir.path());
    in.become_leader();
    in.propose(state::AddBackend{backend("r1", 1)});
    in.propose(state::AddBackend{backend("r2", 2)});
    raft::Index dup = in.propose(state::AddBackend{backend("r1", 1)});
    in.propose(state::AddBackend{backend("r3", 1)});
    last = in.propose(state::DrainBackend{"r3"});

    ASSERT_FALSE(in.outcomes.at(dup).is_ok()) << "duplicate name: an error, state unchanged";
    EXPECT_EQ(in.machine.applied_index(), last);
    auto ring = in.machine.build_ring();
    ASSERT_TRUE(ring.is_ok()) << ring.error();
    EXPECT_EQ((*ring)->epoch(), last);
    ASSERT_EQ((*ring)->backends().size(), 3u);
    EXPECT_EQ((*ring)->backends()[2].state, ring::BackendState::kDraining);
    // Every key lands on an active backend (r3 is draining).
    for (int k = 0; k < 100; ++k) {
      EXPECT_NE((*ring)->backend((*ring)->primary_for_key("key" + std::to_string(k))).name, "r3");
    }

    // Compact, then one more change after the snapshot.
    ASSERT_TRUE(in.node->compact(in.machine.applied_index(), in.machine.snapshot_data()).is_ok());
    in.drive();
    last = in.propose(state::SetWeight{"r1", 4});
    before_restart = std::move(ring).value();
    EXPECT_EQ(in.machine.state().find("r1")->weight, 4u);
  }

  // Restart from disk: the snapshot restores the state, the log replays the rest.
  Instance again = Instance::start(dir.path());
  EXPECT_EQ(again.machine.applied_index(), last);
  EXPECT_EQ(again.machine.state().find("r1")->weight, 4u);
  EXPECT_EQ(again.machine.state().backends().size(), 3u);
  auto ring = again.machine.build_ring();
  ASSERT_TRUE(ring.is_ok());
  EXPECT_EQ((*ring)->epoch(), last);
  EXPECT_GT((*ring)->epoch(), before_restart->epoch());
  again.become_leader();
  raft::Index next = again.propose(state::RemoveBackend{"r2"});
  EXPECT_EQ(again.machine.build_ring().value()->epoch(), next);
  EXPECT_EQ(again.machine.state().backends().size(), 2u);
}

TEST(RingFromRaft, TheEpochMovesOnlyWithTheRing) {
  testing::TempDir dir;
  raft::Index changed = 0;
  {
    Instance in = Instance::start(dir.path());
    in.become_leader();
    changed = in.propose(state::AddBackend{backend("r1", 1)});
    raft::Index refused = in.propose(state::AddBackend{backend("r1", 1)});
    ASSERT_FALSE(in.outcomes.at(refused).is_ok());
    EXPECT_EQ(in.machine.applied_index(), refused);
    EXPECT_EQ(in.machine.ring_epoch(), changed);
    // Changes that change nothing (a retry, a weight set to what it is) keep it too.
    for (const state::Command& same :
         {state::Command{state::SetWeight{"r1", 1}}, state::Command{state::UndrainBackend{"r1"}}}) {
      raft::Index at = in.propose(same);
      ASSERT_TRUE(in.outcomes.at(at).is_ok());
      EXPECT_EQ(in.machine.ring_epoch(), changed);
    }
    // The snapshot is taken past the last change: it carries the epoch.
    ASSERT_TRUE(in.node->compact(in.machine.applied_index(), in.machine.snapshot_data()).is_ok());
    in.drive();
  }
  for (int restart = 0; restart < 2; ++restart) {
    Instance again = Instance::start(dir.path());
    EXPECT_EQ(again.machine.build_ring().value()->epoch(), changed) << "restart " << restart;
    again.become_leader();  // a new term starts with a no-op entry
    EXPECT_GT(again.machine.applied_index(), changed);
    EXPECT_EQ(again.machine.build_ring().value()->epoch(), changed) << "restart " << restart;
  }
}

TEST(RingFromRaft, AStateOnlySnapshotTakesItsIndexAsTheEpoch) {
  state::MembershipState st;
  ASSERT_TRUE(st.apply(state::AddBackend{backend("r1", 1)}).is_ok());
  raft::Snapshot old;
  old.meta.index = 7;
  old.data = st.encode();  // as written before the epoch was kept in the snapshot
  auto m = state::MembershipStateMachine::restore(old);
  ASSERT_TRUE(m.is_ok()) << m.error();
  EXPECT_EQ(m->ring_epoch(), 7u);
  EXPECT_EQ(m->state().backends().size(), 1u);

  raft::Snapshot bad = old;
  bad.data = state::MembershipStateMachine(*m).snapshot_data();
  bad.meta.index = 6;  // an epoch past the snapshot's own index cannot be right
  EXPECT_FALSE(state::MembershipStateMachine::restore(bad).is_ok());
  bad.data[0] = 9;
  bad.meta.index = 7;
  EXPECT_FALSE(state::MembershipStateMachine::restore(bad).is_ok());
  bad.data = state::MembershipStateMachine(*m).snapshot_data();
  auto again = state::MembershipStateMachine::restore(bad);
  ASSERT_TRUE(again.is_ok()) << again.error();
  EXPECT_EQ(again->ring_epoch(), 7u);
}

TEST(RingFromRaft, GarbageCommandInTheLogIsAnErrorNotACrash) {
  state::MembershipStateMachine m;
  raft::Entry e{1, 1, raft::EntryType::kCommand, "\x01\x63garbage"};
  Status st = m.apply(e);
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(m.applied_index(), 1u);
  EXPECT_EQ(m.ring_epoch(), 0u);
  EXPECT_TRUE(m.state().backends().empty());
  EXPECT_FALSE(m.apply(raft::Entry{1, 5, raft::EntryType::kNoop, ""}).is_ok()) << "out of order";
}

}  // namespace
}  // namespace ringleader::membership
