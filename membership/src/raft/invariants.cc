// RaftNode::check_invariants: the invariants written in raft_node.h and progress.h, as code.
#include <string>

#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {
namespace {

Status fail(const std::string& what) {
  return Status::error("invariant: " + what);
}

}  // namespace

Status RaftNode::check_invariants() const {
  if (Status s = log_.check(); !s) return s;
  if (Status s = config_.validate(); !s) return fail("configuration: " + s.message());
  if (snapshot_.meta.index != log_.snapshot_index() ||
      snapshot_.meta.term != log_.snapshot_term()) {
    return fail("snapshot_ does not match the log's snapshot point");
  }
  if (!(log_.snapshot_index() <= applied_ && applied_ <= commit_ && commit_ <= log_.last_index())) {
    return fail("snapshot " + std::to_string(log_.snapshot_index()) + " <= applied " +
                std::to_string(applied_) + " <= commit " + std::to_string(commit_) + " <= last " +
                std::to_string(log_.last_index()));
  }
  if (log_.last_term() > term_) return fail("log term above current term");
  if (unstable_from_ < log_.first_index() || unstable_from_ > log_.last_index() + 1) {
    return fail("unstable_from_ out of range");
  }

  // The configuration in effect is the last config entry, else the snapshot's.
  Index expected_index = log_.snapshot_index();
  for (Index i = log_.last_index(); i >= log_.first_index(); --i) {
    if (log_.at(i).type == EntryType::kConfig) {
      expected_index = i;
      break;
    }
  }
  if (config_index_ != expected_index) return fail("config_index_ is not the last config entry");
  if (config_ != configuration_at(config_index_)) return fail("config_ differs from the log");

  if ((role_ == Role::kLeader) != (leader_ == id())) return fail("leader_ == id iff leader");
  if ((role_ == Role::kCandidate || role_ == Role::kLeader) && vote_ != id()) {
    return fail("a candidate or leader voted for itself");
  }
  if (role_ == Role::kPreCandidate && !leader_.empty()) return fail("pre-candidate knows a leader");
  if (role_ != Role::kLeader) {
    if (!progress_.empty() || !pending_reads_.empty() || !transfer_target_.empty()) {
      return fail("leader state on a non-leader");
    }
    if (role_ == Role::kFollower && !votes_.empty()) return fail("follower counting votes");
    return Status::ok();
  }

  // Leader.
  if (!forwarded_reads_.empty()) return fail("leader with forwarded reads");
  if (term_start_index_ == 0 || term_start_index_ > log_.last_index()) {
    return fail("term_start_index_ outside the log");
  }
  if (term_start_index_ >= log_.first_index() &&
      (log_.at(term_start_index_).term != term_ ||
       log_.at(term_start_index_).type != EntryType::kNoop)) {
    return fail("term_start_index_ is not this term's no-op");
  }
  for (const NodeId& m : config_.members()) {
    if (m != id() && progress_.count(m) == 0) return fail("no progress for member " + m);
  }
  for (const auto& [peer, pr] : progress_) {
    if (config_.is_member(peer) != (pr.removed_at == 0)) {
      return fail("progress of " + peer + ": departing iff not a member");
    }
    if (pr.removed_at > config_index_) return fail("progress of " + peer + ": removed later");
    if (!(pr.match < pr.next && pr.next <= log_.last_index() + 1)) {
      return fail("progress of " + peer + ": match " + std::to_string(pr.match) + " < next " +
                  std::to_string(pr.next) + " <= last + 1 " +
                  std::to_string(log_.last_index() + 1));
    }
    if (pr.acked_seq > heartbeat_seq_) return fail("acked a heartbeat not sent yet");
  }
  for (size_t i = 1; i < pending_reads_.size(); ++i) {
    if (pending_reads_[i].heartbeat_seq < pending_reads_[i - 1].heartbeat_seq ||
        pending_reads_[i].index < pending_reads_[i - 1].index) {
      return fail("pending reads out of order");
    }
  }
  if (!transfer_target_.empty() && !config_.is_voter(transfer_target_)) {
    return fail("transfer target is not a voter");
  }
  return Status::ok();
}

}  // namespace ringleader::membership::raft
