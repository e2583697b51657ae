// Helpers for the focused Raft tests: a bare RaftNode driven by hand, and cluster shortcuts.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster.h"
#include "membership/raft/raft_node.h"

namespace ringleader::membership::testing {

inline raft::RaftOptions options_for(const raft::NodeId& id, uint64_t seed = 1) {
  raft::RaftOptions o;
  o.id = id;
  o.election_ticks = 10;
  o.heartbeat_ticks = 2;
  o.random_seed = seed;
  return o;
}

inline raft::Configuration voters(std::vector<raft::NodeId> ids) {
  raft::Configuration c;
  c.voters = std::move(ids);
  return c;
}

// A node created from `state`; fails the test when create() refuses.
inline std::unique_ptr<raft::RaftNode> make_node(const raft::NodeId& id,
                                                 raft::PersistentState state, uint64_t seed = 1) {
  auto node = raft::RaftNode::create(options_for(id, seed), std::move(state));
  EXPECT_TRUE(node.is_ok()) << node.error();
  return std::move(node).value();
}

// Entries with the given terms at indexes 1, 2, ...
inline std::vector<raft::Entry> entries_with_terms(std::vector<raft::Term> terms,
                                                   raft::Index first = 1) {
  std::vector<raft::Entry> out;
  for (raft::Term t : terms) {
    out.push_back(raft::Entry{t, first, raft::EntryType::kCommand, "x" + std::to_string(first)});
    ++first;
  }
  return out;
}

// Messages of payload type T in `ready`.
template <typename T>
std::vector<raft::Message> messages_of(const raft::Ready& ready) {
  std::vector<raft::Message> out;
  for (const raft::Message& m : ready.messages) {
    if (std::holds_alternative<T>(m.payload)) out.push_back(m);
  }
  return out;
}

// Makes a bare node leader by ticking it into an election and answering for `others`.
inline void elect_bare(raft::RaftNode& node, const std::vector<raft::NodeId>& others) {
  for (int i = 0; i < 100 && node.role() == raft::Role::kFollower; ++i)
    node.tick();
  if (node.role() == raft::Role::kPreCandidate) {
    for (const raft::NodeId& o : others) {
      node.step(
          raft::Message{o, node.id(), node.term() + 1,
                        raft::VoteResponse{raft::VoteKind::kPreVote, raft::Verdict::kGranted}});
    }
  }
  ASSERT_EQ(node.role(), raft::Role::kCandidate);
  for (const raft::NodeId& o : others) {
    node.step(raft::Message{o, node.id(), node.term(),
                            raft::VoteResponse{raft::VoteKind::kVote, raft::Verdict::kGranted}});
  }
  ASSERT_EQ(node.role(), raft::Role::kLeader);
}

// Runs until some node leads and has committed its term's no-op; returns it.
inline raft::NodeId await_leader(Cluster& c, uint32_t max_ticks = 300) {
  std::optional<raft::NodeId> leader;
  bool ok = c.run_until(
      [&] {
        leader = c.leader();
        if (!leader) return false;
        const raft::RaftNode& n = c.node(*leader);
        return n.commit_index() == n.log().last_index() && n.log().last_term() == n.term();
      },
      max_ticks);
  EXPECT_TRUE(ok) << "no leader within " << max_ticks << " ticks";
  return leader.value_or("");
}

// Makes `id` the leader (by transfer if another node leads).
inline void make_leader(Cluster& c, const raft::NodeId& id) {
  raft::NodeId leader = await_leader(c);
  if (leader != id) {
    ASSERT_TRUE(c.transfer(leader, id).is_ok());
    ASSERT_TRUE(c.run_until([&] { return c.leader() == id; }, 100));
    await_leader(c);
  }
  ASSERT_EQ(c.leader(), id);
}

// Proposes on the leader and runs until every up member (except `ignore`) applied it.
inline raft::Index commit_on_all(Cluster& c, const std::string& command, uint32_t max_ticks = 200,
                                 const std::set<raft::NodeId>& ignore = {}) {
  std::optional<raft::NodeId> leader = c.leader();
  EXPECT_TRUE(leader.has_value());
  if (!leader) return 0;
  Result<raft::Index> index = c.propose(*leader, command);
  EXPECT_TRUE(index.is_ok()) << index.error();
  if (!index) return 0;
  bool ok = c.run_until(
      [&] {
        for (const raft::NodeId& id : c.ids()) {
          if (ignore.count(id) || !c.is_up(id)) continue;
          if (c.node(id).configuration().is_member(id) && c.applied_index(id) < *index) {
            return false;
          }
        }
        return true;
      },
      max_ticks);
  EXPECT_TRUE(ok) << "index " << *index << " not applied everywhere";
  return *index;
}

#define EXPECT_NO_VIOLATION(cluster) EXPECT_EQ((cluster).violation(), "")

}  // namespace ringleader::membership::testing
