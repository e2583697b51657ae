// MemoryStorage: RaftStorage in memory, with the same contract and ordering as FileStorage.
// Tests keep it across a simulated crash: what persist() accepted is what load() returns, and
// persist_interrupted() leaves what a crash halfway through persist() would.
#pragma once

#include <cstddef>
#include <cstdint>

#include "membership/storage/raft_storage.h"

namespace ringleader::membership::storage {

// The steps of RaftStorage::persist, in order.
enum class PersistStep : uint8_t { kTermAndVote, kSnapshot, kEntries, kCommit, kDone };

class MemoryStorage final : public RaftStorage {
 public:
  MemoryStorage() = default;
  explicit MemoryStorage(raft::PersistentState initial) : state_(std::move(initial)) {}

  Status persist(const PersistBatch& batch) override {
    return run(batch, PersistStep::kDone, batch.entries.size());
  }
  // A crash during persist(batch): the steps before `crash_at` complete; when crash_at is
  // kCommit or later all entries are written, when it is kEntries only the first
  // `entries_written` of them (a torn tail).
  Status persist_interrupted(const PersistBatch& batch, PersistStep crash_at,
                             size_t entries_written) {
    return run(batch, crash_at, entries_written);
  }
  Result<raft::PersistentState> load() const override { return state_; }

  // The stored state, for tests that inspect it.
  const raft::PersistentState& state() const { return state_; }

 private:
  Status run(const PersistBatch& batch, PersistStep stop, size_t entries_written);

  // Invariant: state_.entries are contiguous and follow state_.snapshot (or index 0).
  raft::PersistentState state_;
};

}  // namespace ringleader::membership::storage
