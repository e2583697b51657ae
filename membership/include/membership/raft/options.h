// RaftOptions: a node's identity and its timing, in ticks. The driver decides how long a tick is.
#pragma once

#include <cstdint>

#include "membership/raft/types.h"

namespace ringleader::membership::raft {

// Pre-vote (Raft dissertation §9.6): a node that timed out first asks whether it could win
// before it bumps its term, so a partitioned node rejoining cannot depose a healthy leader.
enum class PreVote : uint8_t { kOff, kOn };
// Check-quorum: a leader that has not heard from a majority within an election timeout steps
// down, and followers that heard from a leader within an election timeout ignore elections
// (except leadership transfers).
enum class CheckQuorum : uint8_t { kOff, kOn };

struct RaftOptions {
  NodeId id;
  // A follower campaigns after a random timeout in [election_ticks, 2 * election_ticks).
  uint32_t election_ticks = 10;
  // A leader sends heartbeats (and retransmits) every heartbeat_ticks; < election_ticks.
  uint32_t heartbeat_ticks = 1;
  uint32_t max_entries_per_append = 64;
  // propose() fails while this many entries are appended but not committed.
  uint32_t max_uncommitted_entries = 1024;
  // Seeds the node's own generator for election timeouts; the only randomness in the core.
  uint64_t random_seed = 0;
  PreVote pre_vote = PreVote::kOn;
  CheckQuorum check_quorum = CheckQuorum::kOn;
};

}  // namespace ringleader::membership::raft
