// InvariantTracker: the invariants of one RaftNode over time (LogCabin's "compare with the
// state seen last time"). Create one per node incarnation and call check() after every step:
//   - the term never goes back; neither do the commit, applied and snapshot indexes;
//   - the vote never changes within a term once cast;
//   - a leader's log only grows within its term (leader append-only);
//   - a committed entry never changes while it is in the log.
// Plus everything RaftNode::check_invariants() checks.
#pragma once

#include <optional>

#include "common/result.h"
#include "membership/raft/raft_node.h"

namespace ringleader::membership::raft {

class InvariantTracker {
 public:
  Status check(const RaftNode& node);

 private:
  struct Seen {
    Term term;
    NodeId vote;
    Role role;
    Index commit;
    Term commit_term;
    Index applied;
    Index snapshot_index;
    Index last_index;
    Term last_term;
  };
  std::optional<Seen> last_;
};

}  // namespace ringleader::membership::raft
