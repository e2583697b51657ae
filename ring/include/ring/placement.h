// Placement: the algorithm-specific part of a Ring (vnode/ketama continuum, Maglev table).
// Implementations are immutable after construction and safe to read from any thread.
//
// Positions are 64-bit points on the circle. A Ring maps a key hash to a position (shifting
// 32-bit hashes into the top half), so every placement works on the full 64-bit circle.
#pragma once

#include <cstdint>
#include <vector>

#include "ring/replica_set.h"

namespace ringleader::ring {

class Placement {
 public:
  virtual ~Placement() = default;

  // The primary owner of `position`; kNoBackend when no backend can own keys.
  virtual BackendIndex primary(uint64_t position) const = 0;

  // Up to `count` distinct backends for `position`, primary first (see ReplicaPicker).
  virtual ReplicaSet replicas(uint64_t position, uint32_t count) const = 0;

  // Appends the positions where primary() or replicas() may change value: each segment
  // [b_k, b_{k+1}) between consecutive boundaries (circularly) maps to one answer.
  virtual void boundaries(std::vector<uint64_t>& out) const = 0;

  // Number of points (continuum) or slots (Maglev).
  virtual size_t size() const = 0;
};

}  // namespace ringleader::ring
