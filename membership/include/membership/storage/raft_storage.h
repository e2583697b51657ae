// RaftStorage: where a node's hard state, log and snapshot survive crashes. The driver hands
// each Ready's persistent part to persist() before it sends the Ready's messages, and feeds
// load() into RaftNode::create on restart. MemoryStorage is the in-memory twin for tests;
// FileStorage keeps the same state in a directory.
#pragma once

#include <span>

#include "common/result.h"
#include "membership/raft/persistent_state.h"
#include "membership/raft/ready.h"

namespace ringleader::membership::storage {

// The persistent part of a Ready, as views into it (the Ready must outlive the batch).
struct PersistBatch {
  const raft::HardState* hard_state = nullptr;
  const raft::Snapshot* snapshot = nullptr;
  std::span<const raft::Entry> entries;

  static PersistBatch of(const raft::Ready& ready) {
    return PersistBatch{ready.hard_state ? &*ready.hard_state : nullptr,
                        ready.snapshot ? &*ready.snapshot : nullptr, ready.entries};
  }
};

class RaftStorage {
 public:
  virtual ~RaftStorage() = default;

  // Makes `batch` durable before returning, in an order that is safe to interrupt:
  //   1. term and vote (so no entry is ever stored with a term above the stored term);
  //   2. the snapshot, then the log compacted to it: stored entries after the snapshot index
  //      are kept only if the stored entry at that index has the snapshot's term;
  //   3. entries: every stored entry at or after entries.front().index is replaced;
  //   4. the commit index (after the entries it may refer to).
  // Fails on I/O errors and on entries that do not follow the stored log; after a failure
  // the storage holds some prefix of those steps and the node must stop.
  virtual Status persist(const PersistBatch& batch) = 0;

  // Everything durable, ready for RaftNode::create.
  virtual Result<raft::PersistentState> load() const = 0;
};

}  // namespace ringleader::membership::storage
