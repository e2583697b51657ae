// RaftNode: construction, the clock, message dispatch, role changes, proposals and Ready.
// Elections, replication, membership changes, reads and transfers live in their own files.
#include "membership/raft/raft_node.h"

#include <algorithm>

#include "common/assert.h"

namespace ringleader::membership::raft {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre_candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

PersistentState bootstrap_state(const Configuration& initial) {
  PersistentState state;
  state.hard_state.term = 1;
  state.entries.push_back(Entry{1, 1, EntryType::kConfig, encode_configuration(initial)});
  return state;
}

namespace {

Status validate_options(const RaftOptions& o) {
  if (o.id.empty() || o.id.size() > kMaxNodeIdLength) return Status::error("node id: 1..255 bytes");
  if (o.election_ticks < 2) return Status::error("election_ticks must be >= 2");
  if (o.heartbeat_ticks < 1 || o.heartbeat_ticks >= o.election_ticks) {
    return Status::error("heartbeat_ticks must be >= 1 and < election_ticks");
  }
  if (o.max_entries_per_append < 1) return Status::error("max_entries_per_append must be >= 1");
  if (o.max_uncommitted_entries < 1) return Status::error("max_uncommitted_entries must be >= 1");
  return Status::ok();
}

Status validate_state(const PersistentState& s) {
  Index snap_index = s.snapshot ? s.snapshot->meta.index : 0;
  Term prev_term = s.snapshot ? s.snapshot->meta.term : 0;
  if (s.snapshot) {
    if (Status st = s.snapshot->meta.config.validate(); !st) {
      return Status::error("snapshot configuration: " + st.message());
    }
  }
  if (s.hard_state.vote.size() > kMaxNodeIdLength) return Status::error("vote: id too long");
  for (size_t k = 0; k < s.entries.size(); ++k) {
    const Entry& e = s.entries[k];
    if (e.index != snap_index + 1 + k) {
      return Status::error("log: entry " + std::to_string(k) + " has index " +
                           std::to_string(e.index) + ", expected " +
                           std::to_string(snap_index + 1 + k));
    }
    if (e.term < prev_term)
      return Status::error("log: term goes back at " + std::to_string(e.index));
    prev_term = e.term;
    if (e.type == EntryType::kConfig && !decode_configuration(e.data)) {
      return Status::error("log: undecodable config entry at " + std::to_string(e.index));
    }
    if (e.type != EntryType::kNoop && e.type != EntryType::kCommand &&
        e.type != EntryType::kConfig) {
      return Status::error("log: unknown entry type at " + std::to_string(e.index));
    }
  }
  if (prev_term > s.hard_state.term) {
    return Status::error("hard state term " + std::to_string(s.hard_state.term) +
                         " is below the log's last term " + std::to_string(prev_term));
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<RaftNode>> RaftNode::create(RaftOptions options, PersistentState state) {
  if (Status s = validate_options(options); !s) return s;
  if (Status s = validate_state(state); !s) return s;
  std::unique_ptr<RaftNode> node(new RaftNode(std::move(options)));
  if (state.snapshot) {
    node->snapshot_ = std::move(*state.snapshot);
    node->log_.reset(node->snapshot_.meta.index, node->snapshot_.meta.term);
  }
  for (Entry& e : state.entries)
    node->log_.append(std::move(e));
  node->term_ = state.hard_state.term;
  node->vote_ = state.hard_state.vote;
  node->commit_ =
      std::clamp(state.hard_state.commit, node->log_.snapshot_index(), node->log_.last_index());
  node->applied_ = node->log_.snapshot_index();
  node->unstable_from_ = node->log_.last_index() + 1;
  node->last_hard_state_ = HardState{node->term_, node->vote_, node->commit_};
  node->recompute_configuration();
  node->reset_election_timer();
  return node;
}

RaftNode::RaftNode(RaftOptions options)
    : options_(std::move(options)), rng_state_(options_.random_seed) {}

uint64_t RaftNode::next_random() {
  // SplitMix64 (Steele, Lea, Flood 2014).
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void RaftNode::reset_election_timer() {
  election_elapsed_ = 0;
  randomized_election_timeout_ =
      options_.election_ticks + static_cast<uint32_t>(next_random() % options_.election_ticks);
}

// ---- clock ------------------------------------------------------------------------------------

void RaftNode::tick() {
  for (auto it = forwarded_reads_.begin(); it != forwarded_reads_.end();) {
    if (++it->second >= 2 * options_.election_ticks) {
      ready_reads_.push_back(ReadState{it->first, ReadOutcome::kFailed, 0});
      it = forwarded_reads_.erase(it);
    } else {
      ++it;
    }
  }

  if (role_ != Role::kLeader) {
    if (++election_elapsed_ < randomized_election_timeout_) return;
    if (promotable()) {
      start_election(ElectionCause::kTimeout);
    } else {
      // Learners and non-members never campaign, but a leader silent for a whole timeout is
      // forgotten all the same: otherwise its lease would never lapse here, and this node
      // would ignore the elections of the voters that need its vote.
      set_leader(NodeId());
      reset_election_timer();
    }
    return;
  }

  if (!transfer_target_.empty() && ++transfer_elapsed_ >= options_.election_ticks) {
    abort_transfer();
  }
  for (auto& [peer, pr] : progress_) {
    if (pr.snapshot_in_flight) ++pr.ticks_since_snapshot;
    if (pr.ticks_since_heard != Progress::kNeverHeard) ++pr.ticks_since_heard;
    if (pr.removed_at != 0) ++pr.departing_ticks;
  }
  drop_departed_peers();
  if (++election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum == CheckQuorum::kOn) {
      size_t heard = config_.is_voter(id()) ? 1 : 0;
      for (const NodeId& v : config_.voters) {
        auto it = progress_.find(v);
        if (it != progress_.end() && it->second.activity == Activity::kHeard) ++heard;
      }
      if (heard < config_.quorum()) {
        become_follower(term_, NodeId());  // lost touch with a majority: step down
        return;
      }
    }
    for (auto& [peer, pr] : progress_) {
      pr.last_round = pr.activity;
      pr.activity = Activity::kSilent;
    }
  }
  if (++heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    ++heartbeat_seq_;  // each round is told apart from the ones before (see Progress::match_seq)
    broadcast_append();
  }
}

// ---- messages ---------------------------------------------------------------------------------

void RaftNode::send(const NodeId& to, Term term, Payload payload) {
  outbox_.push_back(Message{id(), to, term, std::move(payload)});
}

bool RaftNode::payload_is_consistent(const Message& m) const {
  if (m.from.empty() || m.from.size() > kMaxNodeIdLength) return false;
  // Entry, snapshot and vote terms are at most m.term.
  if (m.term >= kMaxTerm || (m.term > term_ && m.term - term_ > kMaxTermJump)) return false;
  if (const auto* req = std::get_if<AppendRequest>(&m.payload)) {
    if (req->prev_term > m.term) return false;
    if (req->prev_index >= kMaxIndex - req->entries.size()) return false;
    Term prev = req->prev_term;
    for (size_t k = 0; k < req->entries.size(); ++k) {
      const Entry& e = req->entries[k];
      if (e.index != req->prev_index + 1 + k || e.term < prev || e.term > m.term) return false;
      if (e.type != EntryType::kNoop && e.type != EntryType::kCommand &&
          e.type != EntryType::kConfig) {
        return false;
      }
      if (e.type == EntryType::kConfig && !decode_configuration(e.data)) return false;
      prev = e.term;
    }
  } else if (const auto* snap = std::get_if<SnapshotRequest>(&m.payload)) {
    if (snap->snapshot.meta.term > m.term || snap->snapshot.meta.index >= kMaxIndex ||
        !snap->snapshot.meta.config.validate()) {
      return false;
    }
  } else if (const auto* vote = std::get_if<VoteRequest>(&m.payload)) {
    if (vote->last_log_term > m.term) return false;
  }
  return true;
}

bool RaftNode::step_term(const Message& m) {
  const auto* vote_req = std::get_if<VoteRequest>(&m.payload);
  if (m.term > term_) {
    if (vote_req != nullptr) {
      // Under a lease a voter ignores elections it did not cause (check-quorum stickiness).
      if (vote_req->cause != ElectionCause::kTransfer && in_lease()) return false;
      if (vote_req->kind == VoteKind::kPreVote) return true;  // a pre-vote changes no term
    }
    if (const auto* vr = std::get_if<VoteResponse>(&m.payload)) {
      // A granted pre-vote carries the term asked about, not a term anyone is in.
      if (vr->kind == VoteKind::kPreVote && vr->verdict == Verdict::kGranted) return true;
    }
    bool from_leader = std::holds_alternative<AppendRequest>(m.payload) ||
                       std::holds_alternative<SnapshotRequest>(m.payload) ||
                       std::holds_alternative<TimeoutNow>(m.payload);
    become_follower(m.term, from_leader ? m.from : NodeId());
    return true;
  }
  if (m.term < term_) {
    if (std::holds_alternative<AppendRequest>(m.payload) ||
        std::holds_alternative<SnapshotRequest>(m.payload)) {
      // A deposed leader: tell it about the newer term so it steps down.
      send(m.from, term_, AppendResponse{});
    } else if (vote_req != nullptr && vote_req->kind == VoteKind::kPreVote) {
      send(m.from, term_, VoteResponse{VoteKind::kPreVote, Verdict::kRejected});
    }
    return false;
  }
  return true;
}

void RaftNode::step(const Message& m) {
  if (m.to != id() || m.from == id() || !payload_is_consistent(m)) return;
  if (diverged_) return;  // takes no part any more: see CommittedConflict
  if (!step_term(m)) return;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          handle_vote_request(m, p);
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          handle_vote_response(m, p);
        } else if constexpr (std::is_same_v<T, AppendRequest>) {
          handle_append_request(m, p);
        } else if constexpr (std::is_same_v<T, AppendResponse>) {
          handle_append_response(m, p);
        } else if constexpr (std::is_same_v<T, SnapshotRequest>) {
          handle_snapshot_request(m, p);
        } else if constexpr (std::is_same_v<T, TimeoutNow>) {
          handle_timeout_now(m);
        } else if constexpr (std::is_same_v<T, ReadIndexRequest>) {
          handle_read_index_request(m, p);
        } else if constexpr (std::is_same_v<T, ReadIndexResponse>) {
          handle_read_index_response(m, p);
        }
      },
      m.payload);
}

std::string_view payload_name(const Payload& payload) {
  static constexpr std::string_view kNames[] = {
      "VoteRequest",     "VoteResponse", "AppendRequest",    "AppendResponse",
      "SnapshotRequest", "TimeoutNow",   "ReadIndexRequest", "ReadIndexResponse"};
  return kNames[payload.index()];
}

// ---- roles ------------------------------------------------------------------------------------

void RaftNode::set_leader(const NodeId& leader) {
  if (leader == leader_) return;
  leader_ = leader;
  fail_forwarded_reads();
}

void RaftNode::become_follower(Term term, const NodeId& leader) {
  RL_CHECK(term >= term_);
  if (role_ == Role::kLeader) {
    fail_pending_reads();
    abort_transfer();
    progress_.clear();
    term_start_index_ = 0;
  }
  if (term > term_) {
    term_ = term;
    vote_.clear();
  }
  role_ = Role::kFollower;
  votes_.clear();
  set_leader(leader);
  reset_election_timer();
}

bool RaftNode::promotable() const {
  if (diverged_) return false;
  if (config_.is_voter(id())) return true;
  // Our removal may not be committed yet. Until it is, the committed configuration counts on
  // us, and we may hold the only copy of the entries the others need (say, the removal
  // itself, appended while we led): refusing to campaign could then stall the group forever.
  return config_index_ > commit_ && configuration_at(commit_).is_voter(id());
}

void RaftNode::start_election(ElectionCause cause) {
  if (options_.pre_vote == PreVote::kOn && cause == ElectionCause::kTimeout) {
    become_pre_candidate();
  } else {
    become_candidate(cause);
  }
}

void RaftNode::become_pre_candidate() {
  RL_CHECK(role_ != Role::kLeader);
  role_ = Role::kPreCandidate;
  set_leader(NodeId());
  votes_.clear();
  reset_election_timer();
  for (const NodeId& v : config_.voters) {
    if (v == id()) continue;
    send(v, term_ + 1,
         VoteRequest{VoteKind::kPreVote, ElectionCause::kTimeout, log_.last_index(),
                     log_.last_term()});
  }
  votes_[id()] = Verdict::kGranted;
  tally_votes();
}

void RaftNode::become_candidate(ElectionCause cause) {
  RL_CHECK(role_ != Role::kLeader);
  ++term_;
  vote_ = id();
  role_ = Role::kCandidate;
  set_leader(NodeId());
  votes_.clear();
  reset_election_timer();
  for (const NodeId& v : config_.voters) {
    if (v == id()) continue;
    send(v, term_, VoteRequest{VoteKind::kVote, cause, log_.last_index(), log_.last_term()});
  }
  votes_[id()] = Verdict::kGranted;
  tally_votes();
}

void RaftNode::become_leader() {
  RL_CHECK(role_ == Role::kCandidate);
  role_ = Role::kLeader;
  set_leader(id());
  votes_.clear();
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  progress_.clear();
  sync_progress_with_configuration();
  append_to_log(Entry{term_, log_.last_index() + 1, EntryType::kNoop, {}});
  term_start_index_ = log_.last_index();
  broadcast_append();
  maybe_commit();
}

// ---- proposals --------------------------------------------------------------------------------

Result<Index> RaftNode::propose(std::string command) {
  if (role_ != Role::kLeader) return Status::error("not the leader");
  if (!transfer_target_.empty()) return Status::error("leadership transfer in progress");
  if (log_.last_index() - commit_ >= options_.max_uncommitted_entries) {
    return Status::error("too many uncommitted entries");
  }
  append_to_log(Entry{term_, log_.last_index() + 1, EntryType::kCommand, std::move(command)});
  broadcast_append();
  maybe_commit();
  return log_.last_index();
}

Status RaftNode::compact(Index index, std::string data) {
  if (index <= log_.snapshot_index()) return Status::error("already compacted to that index");
  if (index > applied_) return Status::error("cannot compact beyond the applied index");
  if (pending_snapshot_ && pending_snapshot_origin_ == SnapshotOrigin::kFromLeader) {
    return Status::error("a snapshot from the leader is waiting to be applied");
  }
  // A removed node keeps the entry that removed it: a snapshot's configuration would leave
  // it out with no record that it had been in, and removal_index() reads that entry. No
  // leader sends it entries once it knows, so its log stays as it is.
  if (removed()) return Status::error("this node was removed; its log keeps the removal");
  // Nor does a leader compact away what a departing peer still needs to learn its removal:
  // the snapshot it would be sent instead leaves it out with no word of why. Until it learns
  // or is given up on (Progress::departing_ticks), a few election timeouts at most.
  for (const auto& [peer, pr] : progress_) {
    if (pr.removed_at != 0 && index >= pr.next) {
      return Status::error("peer " + peer + " has yet to learn of its removal");
    }
  }
  RL_CHECK(unstable_from_ > index);
  Snapshot snap;
  snap.meta.index = index;
  snap.meta.term = *log_.term_at(index);
  snap.meta.config = configuration_at(index);
  snap.data = std::move(data);
  log_.compact(index);
  snapshot_ = snap;
  if (config_index_ < index) config_index_ = index;
  pending_snapshot_ = std::move(snap);
  pending_snapshot_origin_ = SnapshotOrigin::kLocalCompaction;
  return Status::ok();
}

// ---- Ready ------------------------------------------------------------------------------------

bool RaftNode::has_ready() const {
  return HardState{term_, vote_, commit_} != last_hard_state_ || pending_snapshot_ ||
         unstable_from_ <= log_.last_index() || !outbox_.empty() || commit_ > applied_ ||
         !ready_reads_.empty() || !log_losses_.empty() || !committed_conflicts_.empty();
}

Ready RaftNode::take_ready() {
  Ready r;
  HardState hs{term_, vote_, commit_};
  if (hs != last_hard_state_) {
    r.hard_state = hs;
    last_hard_state_ = std::move(hs);
  }
  if (pending_snapshot_) {
    r.snapshot = std::move(pending_snapshot_);
    r.snapshot_origin = pending_snapshot_origin_;
    pending_snapshot_.reset();
  }
  if (unstable_from_ <= log_.last_index()) {
    r.entries = log_.slice(unstable_from_, log_.last_index(), SIZE_MAX);
  }
  unstable_from_ = log_.last_index() + 1;
  r.messages = std::move(outbox_);
  outbox_.clear();
  if (commit_ > applied_) {
    r.committed_entries = log_.slice(applied_ + 1, commit_, SIZE_MAX);
    applied_ = commit_;
  }
  r.reads = std::move(ready_reads_);
  ready_reads_.clear();
  r.log_losses = std::move(log_losses_);
  log_losses_.clear();
  r.committed_conflicts = std::move(committed_conflicts_);
  committed_conflicts_.clear();
  return r;
}

std::optional<Progress> RaftNode::progress(const NodeId& peer) const {
  auto it = progress_.find(peer);
  if (it == progress_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ringleader::membership::raft
