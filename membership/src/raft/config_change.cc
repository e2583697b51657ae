// Membership of the Raft group: single-server changes, effective when appended.
#include "common/assert.h"
#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {

void RaftNode::apply_configuration(Configuration config, Index index) {
  config_ = std::move(config);
  config_index_ = index;
  if (role_ == Role::kLeader) sync_progress_with_configuration();
}

Configuration RaftNode::configuration_at(Index index) const {
  for (Index i = std::min(index, log_.last_index()); i >= log_.first_index(); --i) {
    const Entry& e = log_.at(i);
    if (e.type == EntryType::kConfig) {
      Result<Configuration> c = decode_configuration(e.data);
      RL_CHECK(c.is_ok());
      return std::move(c).value();
    }
  }
  return snapshot_.meta.config;
}

void RaftNode::recompute_configuration() {
  config_index_ = log_.snapshot_index();
  for (Index i = log_.last_index(); i >= log_.first_index(); --i) {
    if (log_.at(i).type == EntryType::kConfig) {
      config_index_ = i;
      break;
    }
  }
  config_ = configuration_at(config_index_);
  if (role_ == Role::kLeader) sync_progress_with_configuration();
}

void RaftNode::sync_progress_with_configuration() {
  for (auto& [peer, pr] : progress_) {
    if (config_.is_member(peer)) {
      pr.removed_at = 0;  // added back while departing
      pr.removal_told_seq = 0;
      pr.removal_learned = false;
      pr.departing_ticks = 0;
    } else if (pr.removed_at == 0) {
      pr.removed_at = config_index_;
    }
  }
  for (const NodeId& member : config_.members()) {
    if (member == id() || progress_.count(member) != 0) continue;
    Progress pr;
    pr.next = log_.last_index() + 1;
    progress_.emplace(member, pr);
  }
  if (!transfer_target_.empty() && !config_.is_voter(transfer_target_)) abort_transfer();
}

void RaftNode::note_commit_sent(Progress& pr) const {
  if (pr.removed_at != 0 && pr.removal_told_seq == 0 && pr.commit_told >= pr.removed_at)
    pr.removal_told_seq = heartbeat_seq_;
}

void RaftNode::drop_departed_peers() {
  for (auto it = progress_.begin(); it != progress_.end();) {
    const Progress& pr = it->second;
    const bool given_up = pr.departing_ticks >= 4 * options_.election_ticks;
    it = pr.removed_at != 0 && (pr.removal_learned || given_up) ? progress_.erase(it)
                                                                : std::next(it);
  }
}

Index RaftNode::removal_index() const {
  if (config_.is_member(id()) || config_index_ == 0) return 0;
  // Back through the configuration entries that leave this node out, to the first of them:
  // the one before it (or the snapshot's) must hold the node.
  Index removal = 0;
  for (Index i = config_index_; i >= log_.first_index(); --i) {
    const Entry& e = log_.at(i);
    if (e.type != EntryType::kConfig) continue;
    Result<Configuration> c = decode_configuration(e.data);
    RL_CHECK(c.is_ok());
    if (c->is_member(id())) return removal != 0 && removal <= commit_ ? removal : 0;
    removal = i;
  }
  return removal != 0 && removal <= commit_ && snapshot_.meta.config.is_member(id()) ? removal : 0;
}

bool RaftNode::removed() const {
  return removal_index() != 0;
}

bool RaftNode::recently_heard(const NodeId& peer) const {
  if (peer == id()) return true;
  auto it = progress_.find(peer);
  // Within the last election timeout: the check-quorum rounds are too coarse (a peer silent
  // for up to two timeouts was still "heard" in the round before).
  return it != progress_.end() && it->second.ticks_since_heard < options_.election_ticks;
}

Result<Index> RaftNode::propose_config_change(const ConfigChange& change) {
  if (role_ != Role::kLeader) return Status::error("not the leader");
  if (!transfer_target_.empty()) return Status::error("leadership transfer in progress");
  if (commit_ < term_start_index_) {
    return Status::error("the leader has not committed an entry of its term yet");
  }
  if (config_index_ > commit_) {
    return Status::error("another configuration change (index " + std::to_string(config_index_) +
                         ") is not committed yet");
  }
  Result<Configuration> next = apply_change(config_, change);
  if (!next) return next.status();
  // First, so that a learner still catching up is waited for rather than refused as silent.
  if (change.type == ConfigChangeType::kPromoteLearner) {
    auto it = progress_.find(change.node);
    if (it == progress_.end() || it->second.match < commit_) {
      return Status::error("learner " + change.node + " has not caught up with the log yet");
    }
  }
  // Strict reconfiguration: the new voters must include a quorum that is reachable now.
  std::vector<NodeId> silent;
  for (const NodeId& v : next->voters) {
    if (!recently_heard(v)) silent.push_back(v);
  }
  const size_t reachable = next->voters.size() - silent.size();
  if (reachable < next->quorum()) {
    std::string names;
    for (const NodeId& v : silent)
      names += (names.empty() ? "" : ", ") + v;
    return Status::refused(
        "after this change " + std::to_string(next->voters.size()) + " voters would remain, " +
        std::to_string(reachable) + " of them reachable, and a quorum needs " +
        std::to_string(next->quorum()) + ": the group could not commit again until " + names +
        " answered. Bring " + names + " back first, or remove an unreachable voter instead");
  }
  append_to_log(
      Entry{term_, log_.last_index() + 1, EntryType::kConfig, encode_configuration(next.value())});
  broadcast_append();
  maybe_commit();
  return log_.last_index();
}

}  // namespace ringleader::membership::raft
