// Progress: what a leader knows about one peer's log. Exists only while the node leads; every
// peer (voter or learner) in the leader's configuration except the leader itself has one.
#pragma once

#include <cstdint>

#include "membership/raft/types.h"

namespace ringleader::membership::raft {

// Whether the leader has heard from a peer since the last check-quorum round.
enum class Activity : uint8_t { kSilent, kHeard };

struct Progress {
  // Highest index known to match the leader's log on the peer. Only grows within a term,
  // except when the peer turns out to have lost entries it acknowledged (back to 0).
  Index match = 0;
  // Next index to send. Invariant: match < next <= leader's last index + 1. Set to last + 1 on
  // election, lowered by rejections (using the conflict hints), raised by acknowledgements.
  Index next = 1;
  // A snapshot was sent and not acknowledged yet; resent after an election timeout.
  bool snapshot_in_flight = false;
  uint32_t ticks_since_snapshot = 0;
  // Highest commit index the appends sent to the peer this term let it reach:
  // min(leader_commit, last index carried). Below min(commit, match), it should be told.
  Index commit_told = 0;
  // Highest heartbeat sequence number the peer echoed in this term (ReadIndex confirmation).
  uint64_t acked_seq = 0;
  // Highest heartbeat sequence number echoed by an acknowledgement of `match` or more. A
  // rejection at or below `match` that echoes a later one comes from a peer that no longer
  // holds what it acknowledged (its data was wiped or restored from an older copy); an
  // earlier one is a stale message.
  uint64_t match_seq = 0;
  // Ticks since the last response from the peer (kNeverHeard before the first in this term).
  // A voter silent for a whole election timeout counts as unreachable for membership changes.
  static constexpr uint32_t kNeverHeard = UINT32_MAX;
  uint32_t ticks_since_heard = kNeverHeard;
  // Reset at every check-quorum round; kHeard once any response arrives.
  Activity activity = Activity::kSilent;
  // What `activity` was at the end of the previous round.
  Activity last_round = Activity::kSilent;
  // Departing peer: the index of the configuration entry that removed it (0 for a member).
  // The leader keeps replicating to it until it acknowledged a heartbeat round sent after it
  // was told that entry committed, so that it learns it was removed, or until
  // four election timeouts passed. Its acknowledgements never count toward commits or reads.
  Index removed_at = 0;
  // Heartbeat round in which the peer was first sent a commit index >= removed_at (0: not yet).
  uint64_t removal_told_seq = 0;
  // It acknowledged removed_at in answer to a later round: it holds that the entry committed.
  bool removal_learned = false;
  uint32_t departing_ticks = 0;
};

}  // namespace ringleader::membership::raft
