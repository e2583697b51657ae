// Ring: an immutable snapshot of the backends and the placement of every key among them.
//
// Threading: a Ring never changes after build(); share it as std::shared_ptr<const Ring> and
// read it from any thread. A membership change builds a new Ring with a new epoch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ring/backend.h"
#include "ring/params.h"
#include "ring/placement.h"
#include "ring/replica_set.h"

namespace ringleader::ring {

class Ring {
 public:
  // Validates and builds. Fails on: no backends, duplicate names, weight 0 or above
  // kMaxWeight, vnodes outside 1..kMaxVnodes, replicas outside 1..kMaxReplicas, a hash tag
  // that is neither empty nor two characters, balance_factor in (0, 1), ketama with a hash
  // other than fnv1a_64/md5, or a table size that is not a prime >= number of backends.
  static Result<std::shared_ptr<const Ring>> build(std::vector<Backend> backends, RingParams params,
                                                   uint64_t epoch);

  // The Raft index that produced this ring; 0 for a static configuration.
  uint64_t epoch() const { return epoch_; }
  const RingParams& params() const { return params_; }
  const std::vector<Backend>& backends() const { return backends_; }
  const Backend& backend(BackendIndex i) const { return backends_[i]; }
  std::optional<BackendIndex> find(std::string_view name) const;

  // The part of `key` that is hashed: the text between the first hash_tag[0] and the next
  // hash_tag[1] when that text is non-empty, else the whole key.
  std::string_view hash_input(std::string_view key) const;
  // Hash of hash_input(key) with params().hash (32-bit values for fnv1a_64/md5).
  uint64_t hash(std::string_view key) const { return hash_key(params_.hash, hash_input(key)); }

  // Owner / replica set of a key hash, as returned by hash().
  BackendIndex primary(uint64_t hash) const { return placement_->primary(position(hash)); }
  // With one replica the set is the primary alone (asked directly: no walk).
  ReplicaSet replicas(uint64_t hash) const {
    if (params_.replicas == 1) {
      ReplicaSet set;
      if (const BackendIndex p = primary(hash); p != kNoBackend) set.push_back(p);
      return set;
    }
    return placement_->replicas(position(hash), params_.replicas);
  }
  BackendIndex primary_for_key(std::string_view key) const { return primary(hash(key)); }
  ReplicaSet replicas_for_key(std::string_view key) const { return replicas(hash(key)); }

  // Exact share of the key space (0..1) that each backend owns as primary, by backend index.
  std::vector<double> primary_shares() const;

  // Maps a key hash onto the 64-bit circle the placement works on.
  uint64_t position(uint64_t hash) const { return hash << position_shift_; }
  const Placement& placement() const { return *placement_; }

 private:
  Ring(std::vector<Backend> backends, RingParams params, uint64_t epoch,
       std::unique_ptr<const Placement> placement);

  std::vector<Backend> backends_;
  RingParams params_;
  uint64_t epoch_;
  unsigned position_shift_;  // 64 - hash_bits(params_.hash)
  std::unique_ptr<const Placement> placement_;
};

using RingSnapshot = std::shared_ptr<const Ring>;

// How much of the key space changes hands between two rings (backends matched by name).
struct RingDiff {
  double primary_moved = 0;     // share whose primary changed
  double replicas_changed = 0;  // share whose replica set (as a set) changed
};

// Exact over the whole circle. Fails when the rings hash keys differently (hash or hash tag).
Result<RingDiff> diff(const Ring& before, const Ring& after);

}  // namespace ringleader::ring
