// Continuum: a sorted circle of points, each owned by a backend. Serves the vnode and ketama
// algorithms (they differ only in where the points go) and bounded-load placement.
//
// A position p belongs to the first point clockwise whose value is >= p (wrapping to the
// first point past the top). Each point also records its effective primary: normally the
// first active owner clockwise from it; bounded-load placement may pick another.
#pragma once

#include <bit>
#include <memory>
#include <vector>

#include "replica_picker.h"
#include "ring/placement.h"

namespace ringleader::ring {

// Flat arrays, index-aligned and sorted by position, plus a bucket index over them.
struct ContinuumArrays {
  std::vector<uint64_t> positions;
  std::vector<BackendIndex> owners;     // who placed the point (the walk follows these)
  std::vector<BackendIndex> primaries;  // effective primary of the segment ending here
  // bucket_start[b] = index of the first point with position >= b << bucket_shift;
  // 2^k + 1 entries, about one point per bucket.
  std::vector<uint32_t> bucket_start;
  unsigned bucket_shift = 64;
};

// Bits of the bucket index for n points: about two points per bucket.
inline unsigned bucket_bits(size_t n) {
  constexpr unsigned kMaxBucketBits = 22;
  return std::min<unsigned>(kMaxBucketBits, std::max<unsigned>(1, std::bit_width(n) - 1));
}

// A ring point is one 64-bit value whose low kOwnerBits bits hold its owner's index: the
// builders place a point at (hash & ~kOwnerMask) | owner. Sorting plain integers then
// orders equal hashes by owner, and a point's owner travels with its position.
inline constexpr unsigned kOwnerBits = 20;
inline constexpr uint64_t kOwnerMask = (uint64_t{1} << kOwnerBits) - 1;
inline constexpr size_t kMaxBackends = kOwnerMask;  // indexes 0 .. 2^20 - 2
inline uint64_t tag_point(uint64_t hash, BackendIndex owner) {
  return (hash & ~kOwnerMask) | owner;
}

// (Re)computes arrays.bucket_start and bucket_shift from sorted positions.
void index_buckets(ContinuumArrays& arrays);

// Sorts tagged points and builds the arrays: positions, owners, each point's natural primary
// (the first active owner at or clockwise after it, else the first draining one, else
// kNoBackend) and the bucket index.
ContinuumArrays arrange_points(std::vector<uint64_t> tagged_points, const PickerInputs& inputs);

// Reassigns primaries so that no backend's share of the circle exceeds
// factor × weight / total_weight (bounded-load placement). Segments may be split, so the
// result can hold more points. Precondition: factor >= 1, arrays non-empty.
ContinuumArrays bound_load(const ContinuumArrays& natural, const PickerInputs& inputs,
                           const std::vector<uint32_t>& weights, double factor);

class Continuum final : public Placement {
 public:
  // Precondition: arrays non-empty, sorted and indexed.
  Continuum(ContinuumArrays arrays, PickerInputs inputs);

  BackendIndex primary(uint64_t position) const override {
    return arrays_.primaries[point_at(position)];
  }
  ReplicaSet replicas(uint64_t position, uint32_t count) const override;
  void boundaries(std::vector<uint64_t>& out) const override;
  size_t size() const override { return arrays_.positions.size(); }

  // Index of the point that owns `position`: scans only its bucket.
  size_t point_at(uint64_t position) const {
    size_t b = position >> arrays_.bucket_shift;
    size_t lo = arrays_.bucket_start[b];
    size_t hi = arrays_.bucket_start[b + 1];
    const uint64_t* pos = arrays_.positions.data();
    while (lo < hi && pos[lo] < position)
      ++lo;
    return lo == arrays_.positions.size() ? 0 : lo;
  }

 private:
  ContinuumArrays arrays_;
  PickerInputs inputs_;
};

}  // namespace ringleader::ring
