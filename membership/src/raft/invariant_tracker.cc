#include "membership/raft/invariant_tracker.h"

#include <string>

namespace ringleader::membership::raft {
namespace {

Status fail(const RaftNode& node, const std::string& what) {
  return Status::error("invariant (" + node.id() + "): " + what);
}

}  // namespace

Status InvariantTracker::check(const RaftNode& node) {
  if (Status s = node.check_invariants(); !s) return fail(node, s.message());
  const RaftLog& log = node.log();
  Seen now{node.term(),
           node.vote(),
           node.role(),
           node.commit_index(),
           *log.term_at(node.commit_index()),
           node.applied_index(),
           log.snapshot_index(),
           log.last_index(),
           log.last_term()};
  if (last_) {
    const Seen& was = *last_;
    if (now.term < was.term) return fail(node, "term went back");
    if (now.commit < was.commit) return fail(node, "commit index went back");
    if (now.applied < was.applied) return fail(node, "applied index went back");
    if (now.snapshot_index < was.snapshot_index) return fail(node, "snapshot index went back");
    if (now.term == was.term && !was.vote.empty() && now.vote != was.vote) {
      return fail(node, "vote changed within term " + std::to_string(now.term));
    }
    if (was.role == Role::kLeader && now.role == Role::kLeader && now.term == was.term) {
      if (now.last_index < was.last_index) return fail(node, "leader's log shrank");
      std::optional<Term> t = log.term_at(was.last_index);
      if (t && *t != was.last_term) return fail(node, "leader overwrote its own entry");
    }
    std::optional<Term> t = log.term_at(was.commit);
    if (t && *t != was.commit_term) return fail(node, "a committed entry changed");
  }
  last_ = std::move(now);
  return Status::ok();
}

}  // namespace ringleader::membership::raft
