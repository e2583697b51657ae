// Ready: everything a RaftNode asks its driver to do, collected since the last take_ready().
//
// The driver handles each Ready completely and in the order they were taken:
//   1. persist — hard_state, snapshot, entries (RaftStorage::persist does it in a safe order)
//                and wait until they are durable;
//   2. send    — messages (only now: they promise what was just persisted);
//   3. apply   — if snapshot_origin is kFromLeader, restore the state machine from snapshot;
//                then apply committed_entries in order; then answer reads whose index has been
//                applied.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "membership/raft/message.h"
#include "membership/raft/snapshot.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

// Where a Ready's snapshot came from.
//   local_compaction — the driver's own compact(): persist it, the state machine already has it.
//   from_leader      — InstallSnapshot: persist it and restore the state machine from it.
enum class SnapshotOrigin : uint8_t { kLocalCompaction, kFromLeader };

// Outcome of a read_index() request.
//   ready  — apply up to `index`, then serve the read: it is linearizable.
//   failed — no leader could confirm the read (no leader known, leadership lost, timeout).
enum class ReadOutcome : uint8_t { kReady, kFailed };

struct ReadState {
  uint64_t request_id = 0;
  ReadOutcome outcome = ReadOutcome::kFailed;
  Index index = 0;
};

// A peer that acknowledged the leader's log up to `acknowledged` and later rejected an append
// at or below it: it lost entries it had made durable (a wiped or restored data directory).
// The leader replicates to it again from `agrees_below`, where the peer says its log stops
// matching. Entries it acknowledged counted toward commits; Raft's safety assumes they were
// not lost, so operators should learn of it.
struct LogLoss {
  NodeId peer;
  Index acknowledged = 0;
  Index agrees_below = 0;
};

// An append from the leader of `leader_term` that disagrees with an entry this node holds
// committed: at `index` the leader has term `leaders`, this log `ours`. Committed entries are
// in every later leader's log (Leader Completeness), so this happens only once safety was
// broken outside the protocol (a data_dir copied from another group, a log rolled back while
// its entries counted, or founders bootstrapped with different membership.peers). The node
// keeps its committed entries, never truncating them, and takes no further part in the group:
// it answers no message and never campaigns. Reported once.
struct CommittedConflict {
  NodeId leader;
  Term leader_term = 0;
  Index index = 0;
  Term ours = 0;
  Term leaders = 0;
};

struct Ready {
  // Changed since the last Ready; persist before sending.
  std::optional<HardState> hard_state;
  // Persist; the stored log keeps only entries after snapshot->meta.index, and only if the
  // stored entry at that index has snapshot->meta.term (else the stored log is dropped).
  std::optional<Snapshot> snapshot;
  SnapshotOrigin snapshot_origin = SnapshotOrigin::kLocalCompaction;
  // Append after dropping every stored entry with index >= entries.front().index.
  std::vector<Entry> entries;
  // Send after persisting.
  std::vector<Message> messages;
  // Apply in order, after persisting (and after restoring a from_leader snapshot).
  std::vector<Entry> committed_entries;
  std::vector<ReadState> reads;
  // Only to report (log, count): the node has already acted on them.
  std::vector<LogLoss> log_losses;
  std::vector<CommittedConflict> committed_conflicts;

  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() &&
           committed_entries.empty() && reads.empty() && log_losses.empty() &&
           committed_conflicts.empty();
  }
};

}  // namespace ringleader::membership::raft
