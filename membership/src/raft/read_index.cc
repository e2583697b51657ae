// ReadIndex (Raft dissertation §6.4): a read is linearizable once the leader has confirmed,
// after the read arrived, that it still leads (a quorum echoed a heartbeat sent after it), and
// the state machine has applied up to the commit index the leader had when the read arrived.
#include <algorithm>

#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {

void RaftNode::read_index(uint64_t request_id) {
  if (role_ == Role::kLeader) {
    register_read(request_id, id());
  } else if (!leader_.empty()) {
    forwarded_reads_[request_id] = 0;
    send(leader_, term_, ReadIndexRequest{request_id});
  } else {
    ready_reads_.push_back(ReadState{request_id, ReadOutcome::kFailed, 0});
  }
}

void RaftNode::register_read(uint64_t request_id, const NodeId& requester) {
  // Every entry committed before now is at or below max(commit_, the no-op): entries of
  // earlier terms precede the no-op, entries of this term commit only after it.
  Index index = std::max(commit_, term_start_index_);
  pending_reads_.push_back(PendingRead{request_id, requester, index, ++heartbeat_seq_});
  broadcast_append();
  release_confirmed_reads();
}

void RaftNode::release_confirmed_reads() {
  if (role_ != Role::kLeader) return;
  while (!pending_reads_.empty()) {
    const PendingRead& r = pending_reads_.front();
    if (commit_ < r.index) return;
    size_t acks = config_.is_voter(id()) ? 1 : 0;
    for (const NodeId& v : config_.voters) {
      auto it = progress_.find(v);
      if (it != progress_.end() && it->second.acked_seq >= r.heartbeat_seq) ++acks;
    }
    if (acks < config_.quorum()) return;
    if (r.requester == id()) {
      ready_reads_.push_back(ReadState{r.request_id, ReadOutcome::kReady, r.index});
    } else {
      send(r.requester, term_, ReadIndexResponse{r.request_id, Verdict::kGranted, r.index});
    }
    pending_reads_.erase(pending_reads_.begin());
  }
}

void RaftNode::fail_pending_reads() {
  for (const PendingRead& r : pending_reads_) {
    if (r.requester == id()) {
      ready_reads_.push_back(ReadState{r.request_id, ReadOutcome::kFailed, 0});
    } else {
      send(r.requester, term_, ReadIndexResponse{r.request_id, Verdict::kRejected, 0});
    }
  }
  pending_reads_.clear();
}

void RaftNode::fail_forwarded_reads() {
  for (const auto& [request_id, waited] : forwarded_reads_)
    ready_reads_.push_back(ReadState{request_id, ReadOutcome::kFailed, 0});
  forwarded_reads_.clear();
}

void RaftNode::handle_read_index_request(const Message& m, const ReadIndexRequest& req) {
  if (role_ == Role::kLeader) {
    register_read(req.request_id, m.from);
  } else {
    send(m.from, term_, ReadIndexResponse{req.request_id, Verdict::kRejected, 0});
  }
}

void RaftNode::handle_read_index_response(const Message& m, const ReadIndexResponse& resp) {
  if (m.from != leader_) return;
  auto it = forwarded_reads_.find(resp.request_id);
  if (it == forwarded_reads_.end()) return;
  forwarded_reads_.erase(it);
  if (resp.verdict == Verdict::kGranted) {
    ready_reads_.push_back(ReadState{resp.request_id, ReadOutcome::kReady, resp.read_index});
  } else {
    ready_reads_.push_back(ReadState{resp.request_id, ReadOutcome::kFailed, 0});
  }
}

}  // namespace ringleader::membership::raft
