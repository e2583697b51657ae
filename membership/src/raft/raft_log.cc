#include "membership/raft/raft_log.h"

#include <algorithm>
#include <string>

#include "common/assert.h"

namespace ringleader::membership::raft {

std::optional<Term> RaftLog::term_at(Index index) const {
  if (index == snapshot_index_) return snapshot_term_;
  if (index < snapshot_index_ || index > last_index()) return std::nullopt;
  return entries_[index - first_index()].term;
}

const Entry& RaftLog::at(Index index) const {
  RL_CHECK(index >= first_index() && index <= last_index());
  return entries_[index - first_index()];
}

std::vector<Entry> RaftLog::slice(Index from, Index to, size_t max) const {
  RL_CHECK(from >= first_index());
  std::vector<Entry> out;
  to = std::min(to, last_index());
  for (Index i = from; i <= to && out.size() < max; ++i)
    out.push_back(at(i));
  return out;
}

bool RaftLog::is_up_to_date(Index other_last_index, Term other_last_term) const {
  if (other_last_term != last_term()) return other_last_term > last_term();
  return other_last_index >= last_index();
}

Index RaftLog::first_index_of_run(Index index) const {
  Term term = at(index).term;
  while (index > first_index() && at(index - 1).term == term)
    --index;
  return index;
}

std::optional<Index> RaftLog::last_index_of_term(Term term) const {
  for (Index i = last_index(); i >= first_index(); --i) {
    Term t = at(i).term;
    if (t == term) return i;
    if (t < term) break;
  }
  return std::nullopt;
}

void RaftLog::append(Entry entry) {
  RL_CHECK(entry.index == last_index() + 1);
  RL_CHECK(entry.term >= last_term());
  entries_.push_back(std::move(entry));
}

void RaftLog::truncate_after(Index index) {
  RL_CHECK(index >= snapshot_index_);
  if (index < last_index()) entries_.resize(index - snapshot_index_);
}

void RaftLog::compact(Index index) {
  RL_CHECK(index > snapshot_index_ && index <= last_index());
  Term term = at(index).term;
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<ptrdiff_t>(index - snapshot_index_));
  snapshot_index_ = index;
  snapshot_term_ = term;
}

void RaftLog::reset(Index index, Term term) {
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = term;
}

Status RaftLog::check() const {
  Term prev = snapshot_term_;
  for (size_t k = 0; k < entries_.size(); ++k) {
    const Entry& e = entries_[k];
    if (e.index != snapshot_index_ + 1 + k) {
      return Status::error("log: entry at position " + std::to_string(k) + " has index " +
                           std::to_string(e.index));
    }
    if (e.term < prev) {
      return Status::error("log: term goes back at index " + std::to_string(e.index));
    }
    prev = e.term;
  }
  return Status::ok();
}

}  // namespace ringleader::membership::raft
