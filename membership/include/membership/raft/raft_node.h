// RaftNode: one member of a Raft group as a pure, deterministic state machine.
//
// It owns no socket, clock, thread or file and no randomness of its own: time advances by
// tick(), messages arrive by step(), clients call propose()/propose_config_change()/
// read_index(), and everything the node wants done — persist, send, apply, answer reads —
// accumulates in a Ready that the driver takes with take_ready() (see ready.h for the order
// in which a Ready must be handled). Election timeouts come from a generator seeded by
// RaftOptions::random_seed, so the same inputs always produce the same outputs.
//
// Features: randomised election timeouts, pre-vote, check-quorum with leader leases, log
// replication with fast back-up on conflicts, a no-op entry at the start of every term, commit
// by the current-term rule, single-server membership changes (one at a time, only once the
// leader has committed an entry of its term, effective when appended), learners and their
// promotion, leadership transfer (TimeoutNow), snapshots and log compaction (InstallSnapshot),
// and ReadIndex for linearizable reads.
//
// Threading: not thread-safe; one driver thread owns the node.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "membership/raft/configuration.h"
#include "membership/raft/message.h"
#include "membership/raft/options.h"
#include "membership/raft/persistent_state.h"
#include "membership/raft/progress.h"
#include "membership/raft/raft_log.h"
#include "membership/raft/ready.h"
#include "membership/raft/snapshot.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

// follower      — follows the leader of its term (a learner is always a follower).
// pre_candidate — timed out; asking for pre-votes without changing its term.
// candidate     — campaigning in its term, having voted for itself.
// leader        — the one leader of its term.
enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view to_string(Role role);

class RaftNode {
 public:
  // Starts a node from what its storage recovered (or bootstrap_state() / an empty state).
  // Fails when the options are unusable or the state is inconsistent: entries not contiguous
  // after the snapshot, terms going back or beyond the hard state's term, undecodable config
  // entries. The node starts as a follower; its commit index is clamped to its log, its
  // applied index is the snapshot's (the driver restores the state machine from that snapshot).
  static Result<std::unique_ptr<RaftNode>> create(RaftOptions options, PersistentState state);

  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // ---- inputs -------------------------------------------------------------------------------

  // Advances the node's clock by one tick: election timeouts, heartbeats, check-quorum,
  // leadership-transfer and read timeouts.
  void tick();
  // Handles a message from a peer. Messages not addressed to this node, from itself, or
  // internally inconsistent are dropped; nothing a peer sends can make the node assert.
  void step(const Message& message);
  // Appends a command; returns its index. The command is applied when that index commits —
  // unless another leader overwrites it first, which the driver sees as a different entry at
  // that index. Fails unless leader, while a leadership transfer runs, or when
  // max_uncommitted_entries entries are waiting to commit.
  Result<Index> propose(std::string command);
  // Appends a configuration entry; returns its index. Fails unless leader, while a transfer
  // runs, until an entry of the leader's term has committed, while another configuration entry
  // is uncommitted, when the change does not apply (see apply_change), or when promoting a
  // learner that has not replicated up to the commit index yet. Refuses (Status::refused) a
  // change after which fewer than a quorum of the voters have answered the leader within the
  // last election timeout: the group could not commit again, nor undo the change, until the
  // silent ones return.
  Result<Index> propose_config_change(const ConfigChange& change);
  // Hands leadership to `target` (a voter), or, without one, to the voter whose log is most
  // up to date. The leader stops accepting proposals, brings the target's log up to date, then
  // sends it TimeoutNow. Gives up after an election timeout. Fails unless leader or without a
  // suitable target.
  Status transfer_leadership(std::optional<NodeId> target);
  // Requests a linearizable read; the answer is a ReadState with `request_id` in a later Ready
  // (kReady with the index to apply up to before reading, or kFailed). A follower forwards the
  // request to its leader.
  void read_index(uint64_t request_id);
  // Replaces the log up to `index` with a snapshot whose state machine bytes are `data`.
  // Precondition for success: snapshot index < index <= applied index, and no snapshot from
  // the leader is waiting in the current Ready. The snapshot appears in the next Ready.
  Status compact(Index index, std::string data);

  // ---- outputs ------------------------------------------------------------------------------

  bool has_ready() const;
  // Everything accumulated since the last call. Entries handed out in committed_entries count
  // as applied from now on.
  Ready take_ready();

  // ---- observers ----------------------------------------------------------------------------

  const NodeId& id() const { return options_.id; }
  const RaftOptions& options() const { return options_; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  const NodeId& vote() const { return vote_; }
  // The leader of the current term as far as this node knows; empty when unknown.
  const NodeId& leader() const { return leader_; }
  Index commit_index() const { return commit_; }
  Index applied_index() const { return applied_; }
  const RaftLog& log() const { return log_; }
  const Snapshot& snapshot() const { return snapshot_; }
  const Configuration& configuration() const { return config_; }
  // Index of the config entry that produced configuration(); the snapshot index when the
  // configuration came from the snapshot.
  Index configuration_index() const { return config_index_; }
  bool is_learner() const { return config_.is_learner(options_.id); }
  // This node was a member, and the configuration entry removing it is committed here: it
  // takes no part in the group any more (it never campaigns) and gets no further entries.
  bool removed() const;
  // The index of the configuration entry that removed this node (the first of those that
  // leave it out since it was last a member), once committed here; 0 when not removed.
  Index removal_index() const;
  // See CommittedConflict: this node found its committed log contradicted and has stopped
  // taking part in the group.
  bool diverged() const { return diverged_; }
  // The leader's view of `peer`; none unless leader and `peer` is a member or departing.
  std::optional<Progress> progress(const NodeId& peer) const;
  // The target of a running leadership transfer, or empty.
  const NodeId& transfer_target() const { return transfer_target_; }

  // Checks every invariant written in this header against the current state; an error names
  // the first one broken. Tests call it after every step.
  Status check_invariants() const;

 private:
  struct PendingRead {
    uint64_t request_id;
    NodeId requester;        // this node, or the follower that forwarded the read
    Index index;             // the read index: max(commit, this term's no-op) when registered
    uint64_t heartbeat_seq;  // confirmed once a quorum echoed a sequence >= this
  };

  explicit RaftNode(RaftOptions options);

  // Role changes.
  void become_follower(Term term, const NodeId& leader);
  void become_pre_candidate();
  void become_candidate(ElectionCause cause);
  void become_leader();
  // May this node start an election? A voter of its configuration may; so may a node whose
  // own removal is appended but not committed and which is a voter of the committed one.
  bool promotable() const;
  void start_election(ElectionCause cause);
  void reset_election_timer();
  void set_leader(const NodeId& leader);

  // Election (election.cc).
  void handle_vote_request(const Message& m, const VoteRequest& req);
  void handle_vote_response(const Message& m, const VoteResponse& resp);
  bool in_lease() const;
  void tally_votes();

  // Replication (replication.cc).
  void handle_append_request(const Message& m, const AppendRequest& req);
  void handle_append_response(const Message& m, const AppendResponse& resp);
  void handle_snapshot_request(const Message& m, const SnapshotRequest& req);
  void append_to_log(Entry entry);
  void truncate_log_after(Index index);
  void send_append(const NodeId& peer);
  void send_snapshot(const NodeId& peer, Progress& pr);
  // Sends `peer` an append with no entries when it holds committed entries it was not told
  // are committed (Progress::commit_told).
  void maybe_send_commit(const NodeId& peer);
  void broadcast_append();
  void maybe_commit();
  void on_commit_advanced();
  void reject_append(const Message& m, Index prev_index);
  // Reports an append that disagrees with a committed entry, and stops taking part; see
  // CommittedConflict.
  void check_committed_agree(const Message& m, const AppendRequest& req);

  // Membership (config_change.cc).
  void apply_configuration(Configuration config, Index index);
  void recompute_configuration();
  Configuration configuration_at(Index index) const;
  void sync_progress_with_configuration();
  // Marks `pr`'s removal as told once a commit index covering it is sent to the peer.
  void note_commit_sent(Progress& pr) const;
  // Forgets departing peers that learned their removal (see Progress::removed_at), or that
  // have been departing for too long.
  void drop_departed_peers();
  // The leader itself, or a peer that answered it in this check-quorum round or the last.
  bool recently_heard(const NodeId& peer) const;

  // Reads and transfer (read_index.cc, transfer.cc).
  void handle_read_index_request(const Message& m, const ReadIndexRequest& req);
  void handle_read_index_response(const Message& m, const ReadIndexResponse& resp);
  void register_read(uint64_t request_id, const NodeId& requester);
  void release_confirmed_reads();
  void fail_pending_reads();
  void fail_forwarded_reads();
  void handle_timeout_now(const Message& m);
  void maybe_send_timeout_now(const NodeId& peer);
  void abort_transfer();

  // Message plumbing.
  void send(const NodeId& to, Term term, Payload payload);
  bool payload_is_consistent(const Message& m) const;
  bool step_term(const Message& m);  // false when the message must be dropped
  uint64_t next_random();

  const RaftOptions options_;
  // SplitMix64 state; advanced only by next_random(), i.e. when an election timer is reset.
  uint64_t rng_state_;

  // ---- persistent state (mirrored to storage through Ready::hard_state) ---------------------
  // Latest term seen. Only grows: on any message with a higher term (except pre-votes and
  // elections ignored under a lease) and when becoming a candidate.
  Term term_ = 0;
  // Candidate voted for in term_, or empty. Set when granting a vote or becoming a candidate;
  // cleared when term_ grows. Never changes otherwise within a term.
  NodeId vote_;
  // The log. Entries are appended by the leader (proposals, no-ops, config entries) or from
  // AppendRequests; a suffix is dropped only when a leader's entry conflicts with it, and never
  // at or below commit_. Compacted by compact() and replaced by InstallSnapshot.
  RaftLog log_;
  // Latest snapshot (from compact() or the leader); snapshot_.meta.index == log_.snapshot_index().
  Snapshot snapshot_;

  // ---- volatile state -----------------------------------------------------------------------
  Role role_ = Role::kFollower;
  // Leader of term_ as far as known; empty when unknown. Set by AppendRequest/SnapshotRequest
  // from the leader (or to self on becoming leader); cleared when term_ changes or on losing
  // leadership/starting an election. Invariant: role_ == kLeader iff leader_ == id.
  NodeId leader_;
  // Highest index known committed. Invariant: log_.snapshot_index() <= applied_ <= commit_ <=
  // log_.last_index() (clamped on restart). Never decreases.
  Index commit_ = 0;
  // Highest index handed to the driver to apply (or restored from a snapshot). Never decreases.
  Index applied_ = 0;
  // Configuration in effect: the last config entry in log_ (at config_index_), else the
  // snapshot's. Recomputed whenever log_ changes at or below config_index_.
  Configuration config_;
  Index config_index_ = 0;

  // Ticks since the timer was last reset. Followers/candidates: since hearing from a leader,
  // granting a vote or starting an election. Leader: since the last check-quorum round.
  uint32_t election_elapsed_ = 0;
  // Drawn from [election_ticks, 2 * election_ticks) at every reset.
  uint32_t randomized_election_timeout_ = 0;
  // Leader only: ticks since the last heartbeat broadcast.
  uint32_t heartbeat_elapsed_ = 0;
  // Pre-candidate/candidate: each voter's answer in the current election (self included).
  std::map<NodeId, Verdict> votes_;

  // ---- leader state (empty / zero unless role_ == kLeader) ---------------------------------
  std::map<NodeId, Progress> progress_;
  // Index of this leader's no-op; commit_ >= term_start_index_ means "committed in its term".
  Index term_start_index_ = 0;
  // Incremented for every registered read; carried by every AppendRequest/SnapshotRequest.
  uint64_t heartbeat_seq_ = 0;
  // Reads waiting for leadership confirmation and commit; FIFO, seq and index nondecreasing.
  std::vector<PendingRead> pending_reads_;
  // Voter leadership is being handed to, or empty; transfer_elapsed_ counts towards giving up.
  NodeId transfer_target_;
  uint32_t transfer_elapsed_ = 0;

  // ---- follower state -----------------------------------------------------------------------
  // Reads forwarded to leader_: request id -> ticks waited. Failed when leader_ changes or after
  // two election timeouts.
  std::map<uint64_t, uint32_t> forwarded_reads_;

  // ---- Ready bookkeeping --------------------------------------------------------------------
  // Entries at and after unstable_from_ have not been handed out for persisting yet.
  // Invariant: log_.first_index() <= unstable_from_ <= log_.last_index() + 1, except right
  // after an installed snapshot when it is log_.last_index() + 1.
  Index unstable_from_ = 1;
  // Hard state in the last Ready (or recovered); a Ready carries hard_state when it differs.
  HardState last_hard_state_;
  std::optional<Snapshot> pending_snapshot_;
  SnapshotOrigin pending_snapshot_origin_ = SnapshotOrigin::kLocalCompaction;
  std::vector<Message> outbox_;
  std::vector<ReadState> ready_reads_;
  std::vector<LogLoss> log_losses_;
  std::vector<CommittedConflict> committed_conflicts_;
  // A CommittedConflict was found: this log is not the group's. The node then ignores every
  // message and never campaigns (its log could win an election and overwrite entries the
  // group committed), for the rest of the process's life.
  bool diverged_ = false;
};

}  // namespace ringleader::membership::raft
