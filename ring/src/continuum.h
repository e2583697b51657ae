// Continuum: a sorted circle of points, each owned by a backend. Serves the vnode and ketama
// algorithms (they differ only in where the points go) and bounded-load placement.
//
// A position p belongs to the first point clockwise whose value is >= p (wrapping to the
// first point past the top). Each point also records its effective primary: normally the
// first active owner clockwise from it; bounded-load placement may pick another.
#pragma once

#include <memory>
#include <vector>

#include "replica_picker.h"
#include "ring/placement.h"

namespace ringleader::ring {

struct ContinuumPoint {
  uint64_t position;
  BackendIndex owner;
};

// Flat arrays, index-aligned and sorted by position.
struct ContinuumArrays {
  std::vector<uint64_t> positions;
  std::vector<BackendIndex> owners;     // who placed the point (the walk follows these)
  std::vector<BackendIndex> primaries;  // effective primary of the segment ending here
};

// Sorts points by (position, owner) and assigns every point the first active owner at or
// clockwise after it (else the first draining one; kNoBackend when all are down).
ContinuumArrays arrange_points(std::vector<ContinuumPoint> points, const PickerInputs& inputs);

// Reassigns primaries so that no backend's share of the circle exceeds
// factor × weight / total_weight (bounded-load placement). Segments may be split, so the
// result can hold more points. Precondition: factor >= 1, arrays non-empty.
ContinuumArrays bound_load(const ContinuumArrays& natural, const PickerInputs& inputs,
                           const std::vector<uint32_t>& weights, double factor);

class Continuum final : public Placement {
 public:
  Continuum(ContinuumArrays arrays, PickerInputs inputs);

  BackendIndex primary(uint64_t position) const override {
    return arrays_.primaries[point_at(position)];
  }
  ReplicaSet replicas(uint64_t position, uint32_t count) const override;
  void boundaries(std::vector<uint64_t>& out) const override;
  size_t size() const override { return arrays_.positions.size(); }

  // Index of the point that owns `position`.
  size_t point_at(uint64_t position) const {
    size_t lo = bucket_start_[position >> bucket_shift_];
    size_t hi = bucket_start_[(position >> bucket_shift_) + 1];
    const uint64_t* pos = arrays_.positions.data();
    while (lo < hi && pos[lo] < position) ++lo;
    return lo == arrays_.positions.size() ? 0 : lo;
  }

 private:
  ContinuumArrays arrays_;
  PickerInputs inputs_;
  // bucket_start_[b] = index of the first point with position >= b << bucket_shift_;
  // 2^k + 1 entries. A lookup scans only its bucket (about one point on average).
  std::vector<uint32_t> bucket_start_;
  unsigned bucket_shift_;
};

}  // namespace ringleader::ring
