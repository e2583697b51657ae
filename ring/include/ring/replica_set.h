// ReplicaSet: the backends that hold a key, primary first. Fixed capacity, no allocation.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ring/params.h"

namespace ringleader::ring {

// Index of a backend in its Ring's backends(); valid only together with that Ring.
using BackendIndex = uint32_t;
inline constexpr BackendIndex kNoBackend = UINT32_MAX;

class ReplicaSet {
 public:
  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  BackendIndex operator[](uint32_t i) const { return ids_[i]; }
  BackendIndex primary() const { return size_ ? ids_[0] : kNoBackend; }
  const BackendIndex* begin() const { return ids_; }
  const BackendIndex* end() const { return ids_ + size_; }
  bool contains(BackendIndex b) const {
    for (uint32_t i = 0; i < size_; ++i) {
      if (ids_[i] == b) return true;
    }
    return false;
  }
  // Precondition: size() < kMaxReplicas.
  void push_back(BackendIndex b) { ids_[size_++] = b; }

  // Same backends in the same order.
  friend bool operator==(const ReplicaSet& a, const ReplicaSet& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  // Lexicographic by backend index, primary first: sets group by primary when sorted.
  friend bool operator<(const ReplicaSet& a, const ReplicaSet& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  BackendIndex ids_[kMaxReplicas];
  uint32_t size_ = 0;
};

}  // namespace ringleader::ring
