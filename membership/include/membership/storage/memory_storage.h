// MemoryStorage: RaftStorage in memory, with the same contract and ordering as FileStorage.
// Tests keep it across a simulated crash: what persist() accepted is what load() returns.
#pragma once

#include "membership/storage/raft_storage.h"

namespace ringleader::membership::storage {

class MemoryStorage final : public RaftStorage {
 public:
  MemoryStorage() = default;
  explicit MemoryStorage(raft::PersistentState initial) : state_(std::move(initial)) {}

  Status persist(const PersistBatch& batch) override;
  Result<raft::PersistentState> load() const override { return state_; }

  // The stored state, for tests that inspect or tear it.
  const raft::PersistentState& state() const { return state_; }
  raft::PersistentState& mutable_state() { return state_; }

 private:
  // Invariant: state_.entries are contiguous and follow state_.snapshot (or index 0).
  raft::PersistentState state_;
};

}  // namespace ringleader::membership::storage
