// Leadership transfer (Raft dissertation §3.10): catch the target up, then TimeoutNow.
#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {

Status RaftNode::transfer_leadership(std::optional<NodeId> target) {
  if (role_ != Role::kLeader) return Status::error("not the leader");
  if (!target) {
    Index best = 0;
    for (const auto& [peer, pr] : progress_) {
      if (config_.is_voter(peer) && (!target || pr.match > best)) {
        target = peer;
        best = pr.match;
      }
    }
    if (!target) return Status::error("no other voter to transfer leadership to");
  }
  if (*target == id()) return Status::error("already the leader");
  if (!config_.is_voter(*target)) return Status::error(*target + " is not a voter");
  transfer_target_ = *target;
  transfer_elapsed_ = 0;
  if (progress_.at(*target).match == log_.last_index()) {
    maybe_send_timeout_now(*target);
  } else {
    send_append(*target);
  }
  return Status::ok();
}

void RaftNode::maybe_send_timeout_now(const NodeId& peer) {
  if (peer != transfer_target_) return;
  if (progress_.at(peer).match == log_.last_index()) send(peer, term_, TimeoutNow{});
}

void RaftNode::abort_transfer() {
  transfer_target_.clear();
  transfer_elapsed_ = 0;
}

void RaftNode::handle_timeout_now(const Message& m) {
  (void)m;
  if (role_ == Role::kLeader || !config_.is_voter(id())) return;
  start_election(ElectionCause::kTransfer);
}

}  // namespace ringleader::membership::raft
