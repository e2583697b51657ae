#include "continuum.h"

#include <algorithm>
#include <bit>

#include "common/assert.h"

namespace ringleader::ring {
namespace {
constexpr unsigned kMaxBucketBits = 22;
}  // namespace

ContinuumArrays arrange_points(std::vector<ContinuumPoint> points, const PickerInputs& inputs) {
  std::sort(points.begin(), points.end(), [](const ContinuumPoint& a, const ContinuumPoint& b) {
    return a.position != b.position ? a.position < b.position : a.owner < b.owner;
  });
  ContinuumArrays out;
  size_t n = points.size();
  out.positions.reserve(n);
  out.owners.reserve(n);
  for (const auto& p : points) {
    out.positions.push_back(p.position);
    out.owners.push_back(p.owner);
  }
  out.primaries.assign(n, kNoBackend);
  // Two backward passes around the circle propagate "next active (or draining) owner".
  auto fill = [&](BackendState wanted) {
    BackendIndex next = kNoBackend;
    for (size_t pass = 0; pass < 2; ++pass) {
      for (size_t i = n; i-- > 0;) {
        if (inputs.states[out.owners[i]] == wanted) next = out.owners[i];
        if (pass == 1 && out.primaries[i] == kNoBackend) out.primaries[i] = next;
      }
    }
  };
  fill(BackendState::kActive);
  fill(BackendState::kDraining);  // only fills what no active backend could take
  return out;
}

Continuum::Continuum(ContinuumArrays arrays, PickerInputs inputs)
    : arrays_(std::move(arrays)), inputs_(std::move(inputs)) {
  size_t n = arrays_.positions.size();
  RL_CHECK(n > 0 && n < UINT32_MAX);
  unsigned bits = std::min<unsigned>(kMaxBucketBits, std::bit_width(n));
  bucket_shift_ = 64 - bits;
  size_t buckets = size_t{1} << bits;
  bucket_start_.resize(buckets + 1);
  size_t i = 0;
  for (size_t b = 0; b < buckets; ++b) {
    uint64_t bucket_low = static_cast<uint64_t>(b) << bucket_shift_;
    while (i < n && arrays_.positions[i] < bucket_low) ++i;
    bucket_start_[b] = static_cast<uint32_t>(i);
  }
  bucket_start_[buckets] = static_cast<uint32_t>(n);
}

ReplicaSet Continuum::replicas(uint64_t position, uint32_t count) const {
  size_t start = point_at(position);
  ReplicaPicker picker(inputs_, count);
  picker.set_primary(arrays_.primaries[start]);
  size_t n = arrays_.positions.size();
  for (size_t step = 0, i = start; step < n; ++step) {
    if (picker.offer(arrays_.owners[i]) || picker.exhausted()) break;
    if (++i == n) i = 0;
  }
  return picker.finish();
}

void Continuum::boundaries(std::vector<uint64_t>& out) const {
  // The segment owned by point i is (positions[i-1], positions[i]]: it starts one past the
  // previous point (unsigned wrap maps the top of the circle to 0).
  for (uint64_t p : arrays_.positions) out.push_back(p + 1);
}

}  // namespace ringleader::ring
