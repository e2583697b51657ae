#include <xxhash.h>

#include "builders.h"

namespace ringleader::ring {
namespace {
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio, odd
}  // namespace

uint64_t vnode_position(uint64_t name_hash, uint64_t k) {
  // SplitMix64's output function over the counter name_hash + (k + 1) × kGolden.
  uint64_t z = name_hash + (k + 1) * kGolden;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

ContinuumArrays vnode_arrangement(const std::vector<Backend>& backends, uint32_t vnodes,
                                  const PickerInputs& inputs) {
  size_t total = 0;
  for (const Backend& b : backends)
    total += size_t{b.weight} * vnodes;
  std::vector<uint64_t> points;
  points.reserve(total);
  for (BackendIndex i = 0; i < backends.size(); ++i) {
    const std::string& name = backends[i].name;
    uint64_t name_hash = XXH3_64bits(name.data(), name.size());
    uint64_t count = uint64_t{backends[i].weight} * vnodes;
    for (uint64_t k = 0; k < count; ++k) {
      points.push_back(tag_point(vnode_position(name_hash, k), i));
    }
  }
  return arrange_points(std::move(points), inputs);
}

}  // namespace ringleader::ring
