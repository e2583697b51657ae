// Shared cases for RaftStorage implementations.
#pragma once

#include <string>
#include <vector>

#include "membership/raft/persistent_state.h"
#include "membership/storage/raft_storage.h"

namespace ringleader::membership::storage {

inline std::vector<raft::Entry> make_entries(raft::Index first, std::vector<raft::Term> terms) {
  std::vector<raft::Entry> out;
  for (raft::Term t : terms) {
    out.push_back(raft::Entry{t, first, raft::EntryType::kCommand,
                              "entry " + std::to_string(first) + " of term " + std::to_string(t)});
    ++first;
  }
  return out;
}

inline Status persist(RaftStorage& s, const raft::HardState* hs, const raft::Snapshot* snap,
                      const std::vector<raft::Entry>& entries) {
  return s.persist(PersistBatch{hs, snap, entries});
}

inline raft::Snapshot make_snapshot(raft::Index index, raft::Term term) {
  raft::Snapshot s;
  s.meta.index = index;
  s.meta.term = term;
  s.meta.config.voters = {"p1", "p2", "p3"};
  s.data = "state at " + std::to_string(index);
  return s;
}

}  // namespace ringleader::membership::storage
