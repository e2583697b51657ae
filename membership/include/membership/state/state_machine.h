// MembershipStateMachine: MembershipState fed by committed Raft entries. Applying the entry at
// index i makes i the applied index; when that entry is a command the state accepts, i is also
// the new ring epoch. Entries that leave the state as it was (an election's no-op, a change of
// Raft peers, a refused command) keep the epoch: one ring, one epoch, on every instance.
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
  // is decoded and applied, and when it changed the state its index becomes the ring epoch;
  // no-op and config entries, and commands that leave the state as it was, only advance the
  // applied index. Returns the command's outcome: an undecodable or invalid
  // command is an error and changes nothing but the applied index — the same on every
  // instance.
  Status apply(const raft::Entry& entry);

  raft::Index applied_index() const { return applied_index_; }
  // Index of the last command that changed the state (0 before any): the ring's epoch.
  raft::Index ring_epoch() const { return ring_epoch_; }
  const MembershipState& state() const { return state_; }
  // Snapshot data for RaftNode::compact(applied_index(), ...): the ring epoch and the state.
  std::string snapshot_data() const;
  // The ring for the current state, stamped with ring_epoch().
  Result<ring::RingSnapshot> build_ring() const { return state_.build_ring(ring_epoch_); }

 private:
  MembershipState state_;
  // Index of the last entry applied (or of the snapshot restored). Only grows.
  raft::Index applied_index_ = 0;
  // Index of the last command applied; at most applied_index_. Only grows.
  raft::Index ring_epoch_ = 0;
};

}  // namespace ringleader::membership::state
