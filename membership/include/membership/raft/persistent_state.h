// PersistentState: what a RaftStorage hands back on restart and RaftNode::create starts from.
#pragma once

#include <optional>
#include <vector>

#include "membership/raft/configuration.h"
#include "membership/raft/snapshot.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

struct PersistentState {
  HardState hard_state;
  // The latest snapshot; none means "the empty state at index 0, term 0, empty configuration".
  std::optional<Snapshot> snapshot;
  // Contiguous entries following the snapshot (or index 1).
  std::vector<Entry> entries;

  bool operator==(const PersistentState&) const = default;
};

// The state a member of a brand-new group starts from: term 1 and one config entry at index 1
// holding `initial`. Every founding member must start from the same `initial`; a node that
// joins later starts from an empty PersistentState and learns the log from the leader.
PersistentState bootstrap_state(const Configuration& initial);

}  // namespace ringleader::membership::raft
