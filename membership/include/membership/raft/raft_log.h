// RaftLog: a node's log in memory — the point its snapshot covers, followed by the entries
// after it. Pure data structure: no I/O; durability is the driver's job (see ready.h).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "common/result.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

class RaftLog {
 public:
  // An empty log at (0, 0).
  RaftLog() = default;

  // Index and term of the last entry the snapshot replaced; (0, 0) without a snapshot.
  Index snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  Index first_index() const { return snapshot_index_ + 1; }
  Index last_index() const { return snapshot_index_ + entries_.size(); }
  Term last_term() const { return entries_.empty() ? snapshot_term_ : entries_.back().term; }
  bool empty() const { return entries_.empty(); }

  // Term of the entry at `index`, known for snapshot_index() <= index <= last_index().
  std::optional<Term> term_at(Index index) const;
  // Precondition: first_index() <= index <= last_index().
  const Entry& at(Index index) const;
  // Entries [from, to], at most `max` of them. Precondition: first_index() <= from.
  std::vector<Entry> slice(Index from, Index to, size_t max) const;

  // Is a log ending at (last_index, last_term) at least as up to date as this one? (§5.4.1)
  bool is_up_to_date(Index other_last_index, Term other_last_term) const;
  // First index of the run of entries with the same term as the entry at `index`, not going
  // below first_index(). Precondition: first_index() <= index <= last_index().
  Index first_index_of_run(Index index) const;
  // Last index holding an entry of `term`, if this log (after the snapshot) has one.
  std::optional<Index> last_index_of_term(Term term) const;

  // Precondition: entry.index == last_index() + 1 and entry.term >= last_term().
  void append(Entry entry);
  // Drops every entry after `index`. Precondition: snapshot_index() <= index.
  void truncate_after(Index index);
  // Drops entries up to `index`, which becomes the snapshot point with the entry's term.
  // Precondition: snapshot_index() < index <= last_index().
  void compact(Index index);
  // Drops everything; the log restarts after (index, term).
  void reset(Index index, Term term);

  // Checks the invariants below; an error names the first one broken.
  Status check() const;

 private:
  // Invariant: entries_[k].index == snapshot_index_ + 1 + k; terms never decrease and are
  // >= snapshot_term_. Changes by append/truncate_after/compact/reset only.
  Index snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace ringleader::membership::raft
