#include "membership/storage/memory_storage.h"

#include <algorithm>
#include <string>

namespace ringleader::membership::storage {

Status MemoryStorage::run(const PersistBatch& batch, PersistStep stop, size_t entries_written) {
  raft::Index start = (state_.snapshot ? state_.snapshot->meta.index : 0) + 1;
  std::vector<raft::Entry>& log = state_.entries;

  if (stop <= PersistStep::kTermAndVote) return Status::ok();
  if (batch.hard_state) {
    state_.hard_state.term = batch.hard_state->term;
    state_.hard_state.vote = batch.hard_state->vote;
  }

  if (stop <= PersistStep::kSnapshot) return Status::ok();
  if (batch.snapshot) {
    const raft::SnapshotMeta& meta = batch.snapshot->meta;
    bool keep = meta.index >= start && meta.index < start + log.size() &&
                log[meta.index - start].term == meta.term;
    if (keep) {
      log.erase(log.begin(), log.begin() + static_cast<ptrdiff_t>(meta.index - start + 1));
    } else {
      log.clear();
    }
    state_.snapshot = *batch.snapshot;
    start = meta.index + 1;
  }

  if (!batch.entries.empty()) {
    raft::Index first = batch.entries.front().index;
    if (first < start || first > start + log.size()) {
      return Status::error("entries starting at " + std::to_string(first) +
                           " do not follow the stored log [" + std::to_string(start) + ", " +
                           std::to_string(start + log.size()) + ")");
    }
    size_t count = stop <= PersistStep::kEntries ? std::min(entries_written, batch.entries.size())
                                                 : batch.entries.size();
    log.resize(first - start);
    for (size_t k = 0; k < count; ++k) {
      const raft::Entry& e = batch.entries[k];
      if (e.index != start + log.size()) return Status::error("entries are not contiguous");
      log.push_back(e);
    }
  }

  if (stop <= PersistStep::kCommit) return Status::ok();
  if (batch.hard_state) state_.hard_state.commit = batch.hard_state->commit;
  return Status::ok();
}

}  // namespace ringleader::membership::storage
