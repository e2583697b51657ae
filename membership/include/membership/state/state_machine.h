// MembershipStateMachine: MembershipState fed by committed Raft entries. Applying the entry at
// index i makes i the applied index, which is the epoch of the ring built from the state.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "membership/raft/snapshot.h"
#include "membership/raft/types.h"
#include "membership/state/membership_state.h"

namespace ringleader::membership::state {

class MembershipStateMachine {
 public:
  // The empty state at index 0.
  MembershipStateMachine() = default;
  // The state a snapshot holds, at the snapshot's index.
  static Result<MembershipStateMachine> restore(const raft::Snapshot& snapshot);

  // Applies the committed entry `entry` (whose index must be applied_index() + 1): a command
  // is decoded and applied; no-op and config entries only advance the applied index. Returns
  // the command's outcome: an undecodable or invalid command is an error and changes nothing
  // but the applied index — the same on every instance.
  Status apply(const raft::Entry& entry);

  raft::Index applied_index() const { return applied_index_; }
  const MembershipState& state() const { return state_; }
  // Snapshot data for RaftNode::compact(applied_index(), ...).
  std::string snapshot_data() const { return state_.encode(); }
  // The ring for the current state, with epoch = applied index.
  Result<ring::RingSnapshot> build_ring() const { return state_.build_ring(applied_index_); }

 private:
  MembershipState state_;
  // Index of the last entry applied (or of the snapshot restored). Only grows.
  raft::Index applied_index_ = 0;
};

}  // namespace ringleader::membership::state
