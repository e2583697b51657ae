// Messages between Raft nodes. The core produces them (Ready::messages) and consumes them
// (RaftNode::step); how they travel is the driver's business. Every message carries the
// sender's term; the payload says what it is.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "membership/raft/snapshot.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

// A pre-vote asks "would you vote for me in term+1?" without anyone changing term; a vote is
// the real election (Raft §5.2; pre-vote from the Raft dissertation §9.6).
enum class VoteKind : uint8_t { kPreVote = 0, kVote = 1 };

// Why an election runs. A transfer election (after TimeoutNow) may interrupt a live leader's
// lease: voters that recently heard from a leader grant it anyway.
enum class ElectionCause : uint8_t { kTimeout = 0, kTransfer = 1 };

enum class Verdict : uint8_t { kRejected = 0, kGranted = 1 };

struct VoteRequest {
  VoteKind kind = VoteKind::kVote;
  ElectionCause cause = ElectionCause::kTimeout;
  Index last_log_index = 0;
  Term last_log_term = 0;
};

// For a granted pre-vote the message term is the term the pre-candidate asked about; for a
// rejection it is the responder's current term.
struct VoteResponse {
  VoteKind kind = VoteKind::kVote;
  Verdict verdict = Verdict::kRejected;
};

// Replicates entries after (prev_index, prev_term); with no entries it is a heartbeat.
// `heartbeat_seq` is echoed in the response and confirms leadership for ReadIndex.
struct AppendRequest {
  Index prev_index = 0;
  Term prev_term = 0;
  std::vector<Entry> entries;
  Index leader_commit = 0;
  uint64_t heartbeat_seq = 0;
};

// Answer to AppendRequest and SnapshotRequest.
//   granted  — the follower's log matches the leader's up to `match_index`.
//   rejected — the follower lacks (prev_index, prev_term). Hints for fast back-up:
//              conflict_term = term of the follower's entry at prev_index (0 when it has
//              none), conflict_index = first index of that term in the follower's log, or the
//              follower's last index + 1 when conflict_term is 0.
// A response with a lower term than the leader's tells a stale leader to step down.
struct AppendResponse {
  Verdict verdict = Verdict::kRejected;
  Index match_index = 0;
  Index rejected_prev_index = 0;
  Index conflict_index = 0;
  Term conflict_term = 0;
  uint64_t heartbeat_seq = 0;
};

// InstallSnapshot, sent in one piece (the membership state is small).
struct SnapshotRequest {
  Snapshot snapshot;
  uint64_t heartbeat_seq = 0;
};

// Leadership transfer: the recipient campaigns at once, skipping pre-vote.
struct TimeoutNow {};

// A follower forwards a linearizable read to the leader; the leader answers with the index the
// read must wait for, or with no index when it cannot serve reads.
struct ReadIndexRequest {
  uint64_t request_id = 0;
};
struct ReadIndexResponse {
  uint64_t request_id = 0;
  Verdict verdict = Verdict::kRejected;
  Index read_index = 0;
};

using Payload = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse,
                             SnapshotRequest, TimeoutNow, ReadIndexRequest, ReadIndexResponse>;

struct Message {
  NodeId from;
  NodeId to;
  Term term = 0;
  Payload payload;
};

// Short name of the payload type, for traces and test output.
std::string_view payload_name(const Payload& payload);

}  // namespace ringleader::membership::raft
