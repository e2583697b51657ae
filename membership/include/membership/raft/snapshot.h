// Snapshot: the state machine as of some log index, replacing every entry up to that index.
#pragma once

#include <string>

#include "membership/raft/configuration.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

struct SnapshotMeta {
  Index index = 0;       // last log index the snapshot covers
  Term term = 0;         // term of the entry at `index`
  Configuration config;  // configuration in effect at `index`

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // the state machine's own encoding; opaque to Raft

  bool operator==(const Snapshot&) const = default;
};

}  // namespace ringleader::membership::raft
