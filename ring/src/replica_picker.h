// ReplicaPicker: chooses a key's replica set from the backends met on a clockwise walk.
//
// Contract, for a walk that offers backends in clockwise order from the key's position:
//   1. The primary comes first: the one given to set_primary(), else the first active
//      backend offered, else (no active backend at all) the first draining one.
//   2. Then distinct backends in walk order, preferring, in this order:
//        a. active, in a zone not yet in the set (a backend without a zone is its own zone);
//        b. active, in a zone already in the set;
//        c. draining.
//      Down backends are never chosen.
//   3. The set has min(count, number of non-down backends) members.
// The walk may stop as soon as offer() returns true; finish() completes the set from the
// candidates held back in tiers b and c.
#pragma once

#include <cstdint>
#include <vector>

#include "ring/backend.h"
#include "ring/replica_set.h"

namespace ringleader::ring {

// Per-ring facts the picker needs, computed once when a Ring is built.
struct PickerInputs {
  std::vector<BackendState> states;  // by backend index
  std::vector<uint32_t> zone_ids;    // by backend index; zoneless backends get unique ids
  uint32_t active_zones = 0;         // distinct zone ids among active backends
  uint32_t eligible = 0;             // backends that are not down

  static PickerInputs from(const std::vector<Backend>& backends);
};

class ReplicaPicker {
 public:
  // Precondition: 1 <= count <= kMaxReplicas.
  ReplicaPicker(const PickerInputs& inputs, uint32_t count);

  // Fixes the primary (bounded-load placement decides it apart from the walk). Call before
  // any offer(); a down backend or kNoBackend is ignored.
  void set_primary(BackendIndex b);

  // Offers the next backend of the walk; true when the set is complete and the walk can stop.
  bool offer(BackendIndex b);

  // Distinct backends offered or set so far (down ones included).
  uint32_t distinct_seen() const { return distinct_seen_; }
  // True when every non-down backend has been seen: walking further cannot change the set.
  bool exhausted() const { return eligible_seen_ >= inputs_.eligible; }

  // The replica set, completed from held-back candidates.
  ReplicaSet finish();

 private:
  bool mark_seen(BackendIndex b);  // false when already seen
  void choose(BackendIndex b);
  bool zone_used(BackendIndex b) const;
  bool complete() const { return chosen_.size() >= target_; }
  void flush_active_held();

  const PickerInputs& inputs_;
  uint32_t target_;  // min(count, eligible)
  ReplicaSet chosen_;
  BackendIndex active_held_[kMaxReplicas];  // tier b, walk order
  uint32_t n_active_held_ = 0;
  BackendIndex draining_held_[kMaxReplicas];  // tier c, walk order
  uint32_t n_draining_held_ = 0;
  uint32_t zones_used_ = 0;
  bool zones_exhausted_ = false;  // no tier-a candidate can appear any more
  uint32_t distinct_seen_ = 0;
  uint32_t eligible_seen_ = 0;
  // Seen-set: inline bits for up to kInlineBackends, a heap bitmap beyond.
  static constexpr uint32_t kInlineBackends = 1024;
  uint64_t seen_inline_[kInlineBackends / 64] = {};
  std::vector<uint64_t> seen_heap_;
};

}  // namespace ringleader::ring
