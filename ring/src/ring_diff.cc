// Exact ring diff: sweeps the union of both placements' segment boundaries; within one
// segment of the union, both rings give one answer each, so one probe per segment suffices.
#include <algorithm>

#include "ring/ring.h"

namespace ringleader::ring {
namespace {

constexpr long double kCircle = 18446744073709551616.0L;  // 2^64

bool same_set(const Ring& a, const ReplicaSet& ra, const Ring& b, const ReplicaSet& rb) {
  if (ra.size() != rb.size()) return false;
  for (BackendIndex x : ra) {
    bool found = false;
    for (BackendIndex y : rb) {
      if (a.backend(x).name == b.backend(y).name) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

std::string_view name_of(const Ring& r, BackendIndex i) {
  return i == kNoBackend ? std::string_view() : std::string_view(r.backend(i).name);
}

}  // namespace

Result<RingDiff> diff(const Ring& before, const Ring& after) {
  if (before.params().hash != after.params().hash ||
      before.params().hash_tag != after.params().hash_tag) {
    return Status::error("the rings hash keys differently (hash or hash_tag differ)");
  }
  std::vector<uint64_t> starts;
  before.placement().boundaries(starts);
  after.placement().boundaries(starts);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());

  long double moved = 0, changed = 0;
  for (size_t k = 0; k < starts.size(); ++k) {
    uint64_t pos = starts[k];
    long double len = (starts.size() == 1)
                          ? kCircle
                          : static_cast<long double>(starts[(k + 1) % starts.size()] - pos);
    BackendIndex pa = before.placement().primary(pos);
    BackendIndex pb = after.placement().primary(pos);
    if (name_of(before, pa) != name_of(after, pb)) moved += len;
    ReplicaSet ra = before.placement().replicas(pos, before.params().replicas);
    ReplicaSet rb = after.placement().replicas(pos, after.params().replicas);
    if (!same_set(before, ra, after, rb)) changed += len;
  }
  return RingDiff{static_cast<double>(moved / kCircle), static_cast<double>(changed / kCircle)};
}

}  // namespace ringleader::ring
