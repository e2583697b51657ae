// Log replication: AppendRequest/Response with fast back-up, InstallSnapshot, and the
// current-term commit rule.
#include <algorithm>

#include "common/assert.h"
#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {

void RaftNode::append_to_log(Entry entry) {
  unstable_from_ = std::min(unstable_from_, entry.index);
  bool config = entry.type == EntryType::kConfig;
  Index index = entry.index;
  std::string data = config ? entry.data : std::string();
  log_.append(std::move(entry));
  if (config) {
    Result<Configuration> decoded = decode_configuration(data);
    RL_CHECK(decoded.is_ok());  // config entries are validated before they enter the log
    apply_configuration(std::move(decoded).value(), index);
  }
}

void RaftNode::truncate_log_after(Index index) {
  RL_CHECK(index >= commit_);  // committed entries are never overwritten
  log_.truncate_after(index);
  unstable_from_ = std::min(unstable_from_, index + 1);
  if (config_index_ > index) recompute_configuration();
}

// ---- leader side ------------------------------------------------------------------------------

void RaftNode::send_snapshot(const NodeId& peer, Progress& pr) {
  if (pr.snapshot_in_flight && pr.ticks_since_snapshot < options_.election_ticks) {
    // Already on its way: keep the follower's timer and the read quorum going meanwhile.
    send(peer, term_,
         AppendRequest{log_.snapshot_index(), log_.snapshot_term(), {}, commit_, heartbeat_seq_});
    return;
  }
  pr.snapshot_in_flight = true;
  pr.ticks_since_snapshot = 0;
  send(peer, term_, SnapshotRequest{snapshot_, heartbeat_seq_});
}

void RaftNode::send_append(const NodeId& peer) {
  auto it = progress_.find(peer);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  Index prev = pr.next - 1;
  std::optional<Term> prev_term = log_.term_at(prev);
  if (!prev_term) {
    send_snapshot(peer, pr);
    return;
  }
  AppendRequest req;
  req.prev_index = prev;
  req.prev_term = *prev_term;
  if (pr.next <= log_.last_index()) {
    req.entries = log_.slice(pr.next, log_.last_index(), options_.max_entries_per_append);
  }
  req.leader_commit = commit_;
  req.heartbeat_seq = heartbeat_seq_;
  pr.commit_told = std::max(pr.commit_told, std::min(commit_, prev + req.entries.size()));
  note_commit_sent(pr);
  send(peer, term_, std::move(req));
}

void RaftNode::maybe_send_commit(const NodeId& peer) {
  auto it = progress_.find(peer);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  const Index reachable = std::min(commit_, pr.match);
  if (reachable <= pr.commit_told) return;
  // Anchored at what the peer is known to hold, so it carries no entries and is accepted. A
  // peer whose match entry was compacted away is being sent a snapshot, which carries it.
  std::optional<Term> match_term = log_.term_at(pr.match);
  if (!match_term) return;
  AppendRequest req;
  req.prev_index = pr.match;
  req.prev_term = *match_term;
  req.leader_commit = commit_;
  req.heartbeat_seq = heartbeat_seq_;
  pr.commit_told = reachable;
  note_commit_sent(pr);
  send(peer, term_, std::move(req));
}

void RaftNode::broadcast_append() {
  for (const auto& [peer, pr] : progress_)
    send_append(peer);
}

void RaftNode::handle_append_response(const Message& m, const AppendResponse& resp) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.activity = Activity::kHeard;
  pr.ticks_since_heard = 0;
  bool reads_may_advance = resp.heartbeat_seq > pr.acked_seq;
  pr.acked_seq = std::max(pr.acked_seq, std::min(resp.heartbeat_seq, heartbeat_seq_));

  if (resp.verdict == Verdict::kGranted && pr.removed_at != 0 && pr.removal_told_seq != 0 &&
      resp.heartbeat_seq > pr.removal_told_seq && resp.match_index >= pr.removed_at) {
    // Every append of a later round carried a commit index >= removed_at, and this one was
    // accepted with the removal entry: the departing peer now knows it was removed.
    pr.removal_learned = true;
  }
  if (resp.verdict == Verdict::kGranted) {
    if (resp.match_index > log_.last_index()) return;  // not from this leader's log
    if (resp.match_index >= pr.match) pr.match_seq = std::max(pr.match_seq, resp.heartbeat_seq);
    if (resp.match_index > pr.match) {
      pr.match = resp.match_index;
      pr.next = std::max(pr.next, pr.match + 1);
      if (pr.match >= log_.snapshot_index()) pr.snapshot_in_flight = false;
      const Index committed = commit_;
      maybe_commit();
      if (role_ != Role::kLeader) return;  // removed itself and stepped down
      // Peers learn a commit as soon as it is committed and they hold it, rather than at the
      // next heartbeat, so all instances apply a change (and route with its ring epoch)
      // within a round trip of the leader.
      if (pr.match < log_.last_index()) {
        send_append(m.from);
      } else {
        maybe_send_commit(m.from);
      }
      if (commit_ > committed) {
        for (const auto& [peer, other] : progress_) {
          if (peer != m.from) maybe_send_commit(peer);
        }
      }
      maybe_send_timeout_now(m.from);
    }
  } else if (resp.rejected_prev_index <= pr.match && resp.heartbeat_seq > pr.match_seq &&
             pr.match > 0) {
    // The peer acknowledged entries up to `match` and no longer holds them: it lost its log.
    // Replicate to it as to a new peer, from where its log now ends (or by snapshot).
    log_losses_.push_back(LogLoss{m.from, pr.match, resp.conflict_index});
    pr.match = 0;
    pr.match_seq = resp.heartbeat_seq;
    pr.commit_told = 0;
    pr.snapshot_in_flight = false;
    pr.next = std::clamp(resp.conflict_index, Index{1}, log_.last_index() + 1);
    send_append(m.from);
  } else if (resp.rejected_prev_index >= pr.match && resp.rejected_prev_index < pr.next) {
    // Fast back-up: skip the follower's whole conflicting term, or to its log's end.
    Index derived = resp.conflict_index;
    if (resp.conflict_term != 0) {
      if (std::optional<Index> last = log_.last_index_of_term(resp.conflict_term)) {
        derived = *last + 1;
      }
    }
    Index next = std::clamp(std::min(pr.next, derived), pr.match + 1, log_.last_index() + 1);
    if (next != pr.next) {
      pr.next = next;
      send_append(m.from);
    }
  }
  if (reads_may_advance) release_confirmed_reads();
  if (role_ == Role::kLeader) drop_departed_peers();  // `pr` may be gone after this
}

void RaftNode::maybe_commit() {
  if (role_ != Role::kLeader) return;
  std::vector<Index> matches;
  for (const NodeId& v : config_.voters) {
    if (v == id()) {
      matches.push_back(log_.last_index());
    } else {
      auto it = progress_.find(v);
      matches.push_back(it == progress_.end() ? 0 : it->second.match);
    }
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  Index n = matches[config_.quorum() - 1];
  // Only an entry of the current term commits by counting replicas (§5.4.2).
  if (n > commit_ && log_.term_at(n) == term_) {
    commit_ = n;
    on_commit_advanced();
  }
}

void RaftNode::on_commit_advanced() {
  release_confirmed_reads();
  if (role_ == Role::kLeader && config_index_ <= commit_ && !config_.is_voter(id())) {
    // The configuration removing this leader has committed: hand over by stepping down.
    become_follower(term_, NodeId());
  }
}

// ---- follower side ----------------------------------------------------------------------------

void RaftNode::reject_append(const Message& m, Index prev_index) {
  AppendResponse resp;
  resp.verdict = Verdict::kRejected;
  resp.rejected_prev_index = prev_index;
  if (prev_index > log_.last_index()) {
    resp.conflict_index = log_.last_index() + 1;
  } else {
    resp.conflict_term = *log_.term_at(prev_index);
    resp.conflict_index = std::max(log_.first_index_of_run(prev_index), commit_ + 1);
  }
  if (const auto* req = std::get_if<AppendRequest>(&m.payload)) {
    resp.heartbeat_seq = req->heartbeat_seq;
  }
  send(m.from, term_, resp);
}

void RaftNode::check_committed_agree(const Message& m, const AppendRequest& req) {
  if (diverged_) return;
  auto disagrees = [&](Index index, Term leaders) {
    if (index == 0 || index > commit_) return false;
    const std::optional<Term> ours = log_.term_at(index);  // none: compacted away
    if (!ours || *ours == leaders) return false;
    diverged_ = true;
    committed_conflicts_.push_back(CommittedConflict{m.from, term_, index, *ours, leaders});
    return true;
  };
  if (disagrees(req.prev_index, req.prev_term)) return;
  for (const Entry& e : req.entries) {
    if (e.index > commit_ || disagrees(e.index, e.term)) return;
  }
}

void RaftNode::handle_append_request(const Message& m, const AppendRequest& req) {
  // Here m.term == term_ and m.from leads term_.
  if (role_ == Role::kLeader) return;  // two leaders in one term cannot happen; drop
  if (role_ != Role::kFollower) {
    become_follower(term_, m.from);
  } else {
    set_leader(m.from);
    reset_election_timer();
  }

  check_committed_agree(m, req);
  if (diverged_) return;  // neither takes the entries nor answers: it has left the group
  Index last_new = req.prev_index + req.entries.size();
  AppendResponse ok;
  ok.verdict = Verdict::kGranted;
  ok.heartbeat_seq = req.heartbeat_seq;

  // Entries up to commit_ are known to match every current leader's log: skip them.
  size_t skip = 0;
  Index prev = req.prev_index;
  Term prev_term = req.prev_term;
  if (prev < commit_) {
    if (last_new <= commit_) {
      ok.match_index = commit_;
      send(m.from, term_, ok);
      return;
    }
    skip = commit_ - prev;
    prev = commit_;
    prev_term = req.entries[skip - 1].term;
  }
  if (log_.term_at(prev) != prev_term) {
    reject_append(m, prev);
    return;
  }
  for (size_t k = skip; k < req.entries.size(); ++k) {
    const Entry& e = req.entries[k];
    std::optional<Term> existing = log_.term_at(e.index);
    if (existing == e.term) continue;  // already have it (a duplicate or reordered request)
    if (existing) truncate_log_after(e.index - 1);
    append_to_log(e);
  }
  Index new_commit = std::min(req.leader_commit, last_new);
  if (new_commit > commit_) commit_ = new_commit;
  ok.match_index = last_new;
  send(m.from, term_, ok);
}

void RaftNode::handle_snapshot_request(const Message& m, const SnapshotRequest& req) {
  if (role_ == Role::kLeader) return;
  if (role_ != Role::kFollower) {
    become_follower(term_, m.from);
  } else {
    set_leader(m.from);
    reset_election_timer();
  }
  const SnapshotMeta& meta = req.snapshot.meta;
  AppendResponse ok;
  ok.verdict = Verdict::kGranted;
  ok.heartbeat_seq = req.heartbeat_seq;
  if (meta.index <= commit_) {
    ok.match_index = commit_;
  } else if (log_.term_at(meta.index) == meta.term) {
    // The log already holds the snapshot's last entry: the prefix is committed, keep the rest.
    commit_ = meta.index;
    ok.match_index = meta.index;
  } else {
    // Replace the whole log and the state machine.
    log_.reset(meta.index, meta.term);
    snapshot_ = req.snapshot;
    commit_ = meta.index;
    applied_ = meta.index;
    unstable_from_ = meta.index + 1;
    recompute_configuration();
    pending_snapshot_ = req.snapshot;
    pending_snapshot_origin_ = SnapshotOrigin::kFromLeader;
    ok.match_index = meta.index;
  }
  send(m.from, term_, ok);
}

}  // namespace ringleader::membership::raft
