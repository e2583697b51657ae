// Elections: pre-vote, vote, leases (check-quorum stickiness) and counting votes.
#include "common/assert.h"
#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {

// A node is in a lease while it believes a live leader exists: the leader itself, or a
// follower that heard from its leader within the last election timeout. Only meaningful with
// check-quorum, which guarantees that a leader without a majority steps down within that time.
bool RaftNode::in_lease() const {
  if (options_.check_quorum != CheckQuorum::kOn || leader_.empty()) return false;
  return role_ == Role::kLeader || election_elapsed_ < options_.election_ticks;
}

void RaftNode::handle_vote_request(const Message& m, const VoteRequest& req) {
  // Here m.term >= term_ for a pre-vote and m.term == term_ for a vote (step_term).
  bool pre = req.kind == VoteKind::kPreVote;
  bool can_vote = vote_ == m.from || (vote_.empty() && leader_.empty()) || (pre && m.term > term_);
  bool grant = can_vote && log_.is_up_to_date(req.last_log_index, req.last_log_term);
  if (grant && !pre) {
    vote_ = m.from;
    reset_election_timer();
  }
  Term reply_term = grant && pre ? m.term : term_;
  send(m.from, reply_term, VoteResponse{req.kind, grant ? Verdict::kGranted : Verdict::kRejected});
}

void RaftNode::handle_vote_response(const Message& m, const VoteResponse& resp) {
  if (!config_.is_voter(m.from)) return;  // learners' and strangers' votes do not count
  if (role_ == Role::kPreCandidate && resp.kind == VoteKind::kPreVote) {
    bool current = resp.verdict == Verdict::kGranted ? m.term == term_ + 1 : m.term == term_;
    if (!current) return;
  } else if (role_ == Role::kCandidate && resp.kind == VoteKind::kVote) {
    if (m.term != term_) return;
  } else {
    return;
  }
  votes_.emplace(m.from, resp.verdict);
  tally_votes();
}

void RaftNode::tally_votes() {
  size_t granted = 0;
  size_t rejected = 0;
  for (const auto& [voter, verdict] : votes_) {
    if (!config_.is_voter(voter)) continue;
    (verdict == Verdict::kGranted ? granted : rejected) += 1;
  }
  if (granted >= config_.quorum()) {
    if (role_ == Role::kPreCandidate) {
      become_candidate(ElectionCause::kTimeout);
    } else {
      become_leader();
    }
  } else if (rejected > config_.voters.size() - config_.quorum()) {
    become_follower(term_, NodeId());
  }
}

}  // namespace ringleader::membership::raft
