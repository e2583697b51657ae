// ClusterChecker: Raft's cluster-wide safety properties, checked incrementally as the
// simulation runs (the per-node ones are InvariantTracker's):
//   - election safety: at most one leader per term, and a node that knows a leader for its
//     term knows that one;
//   - no node's commit index is beyond what some leader committed;
//   - log matching: two logs holding an entry with the same index and term hold the same
//     entries up to it — checked by registering every (index, term) ever persisted with its
//     content and the term before it, which by induction pins the whole prefix;
//   - leader completeness: an entry committed in term T is in the log of every leader of a
//     term above T (checked when a leader appears and when an entry commits);
//   - state machine safety: every node's applied sequence is a prefix of one global sequence
//     (compared by hash chain), snapshots included;
//   - reads: a ReadIndex answer is at least the highest index committed when the read began.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "membership/raft/raft_node.h"

namespace ringleader::membership::testing {

// Hash chain of an applied sequence: chain(i) = mix(chain(i - 1), entry i).
uint64_t chain_hash(uint64_t previous, const raft::Entry& entry);

class ClusterChecker {
 public:
  // After every step of an up node.
  Status after_step(const raft::RaftNode& node);
  // Entries a node is about to persist; the node's log is as right after the step.
  Status on_persist(const raft::RaftNode& node, std::span<const raft::Entry> entries);
  // A node applied `entry`; its chain is now `chain`.
  Status on_apply(const raft::NodeId& id, const raft::Entry& entry, uint64_t chain);
  // A node's state machine now holds the state up to (index, term) with hash `chain`.
  Status on_restore(const raft::NodeId& id, raft::Index index, raft::Term term, uint64_t chain);
  // A read issued when `committed_at_request` was the highest committed index was answered.
  Status on_read(const raft::NodeId& id, const raft::ReadState& read,
                 raft::Index committed_at_request);
  // A node crashed: forget what was seen of this incarnation.
  void on_crash(const raft::NodeId& id) {
    seen_.erase(id);
    leaders_now_.erase(id);
  }

  // Highest index any leader has committed so far.
  raft::Index highest_committed() const { return committed_.size(); }
  struct Applied {
    raft::Term term;
    uint64_t chain;
    raft::EntryType type;
    std::string data;
  };
  // The global applied sequence; element i - 1 is index i.
  const std::vector<Applied>& sequence() const { return sequence_; }

 private:
  struct Fingerprint {
    uint64_t content;
    raft::Term prev_term;
  };
  struct Committed {
    raft::Term entry_term;
    raft::Term commit_term;  // lowest leader term seen committing it
  };
  struct Seen {
    raft::Term term = 0;
    raft::Role role = raft::Role::kFollower;
    raft::Index commit = 0;
  };
  struct PairHash {
    size_t operator()(const std::pair<raft::Index, raft::Term>& p) const {
      return std::hash<uint64_t>()(p.first * 0x9e3779b97f4a7c15ULL ^ p.second);
    }
  };

  Status check_leader_has_committed(const raft::RaftNode& leader);
  Status record_commits(const raft::RaftNode& leader, raft::Index from, raft::Index to);

  std::map<raft::Term, raft::NodeId> leaders_;
  std::unordered_map<std::pair<raft::Index, raft::Term>, Fingerprint, PairHash> fingerprints_;
  std::vector<Committed> committed_;  // element i - 1 is index i
  std::vector<Applied> sequence_;
  std::map<raft::NodeId, Seen> seen_;
  // Up nodes currently leading (for leader completeness on commit); cleared on crash.
  std::map<raft::NodeId, const raft::RaftNode*> leaders_now_;
};

}  // namespace ringleader::membership::testing
