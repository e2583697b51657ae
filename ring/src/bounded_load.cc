// Bounded-load placement over a continuum: every active backend b may own at most
// factor × weight(b) / total_active_weight of the circle as primary. Segments are handed
// out clockwise from position 0; a segment whose natural primary is full goes (in part or
// whole) to the next owner clockwise that still has room, splitting it where a cap is hit.
// Only primaries move; the walk for further replicas still follows the natural owners.
#include <algorithm>

#include "common/uint128.h"
#include "continuum.h"

namespace ringleader::ring {
namespace {

using u128 = ringleader::uint128;
constexpr u128 kCircle = u128{1} << 64;

struct Emitted {
  uint64_t position;
  BackendIndex owner;
  BackendIndex primary;
};

}  // namespace

ContinuumArrays bound_load(const ContinuumArrays& natural, const PickerInputs& inputs,
                           const std::vector<uint32_t>& weights, double factor) {
  size_t n = natural.positions.size();
  size_t backends = weights.size();
  u128 active_weight = 0;
  for (size_t b = 0; b < backends; ++b) {
    if (inputs.states[b] == BackendState::kActive) active_weight += weights[b];
  }
  if (active_weight == 0) return natural;

  std::vector<u128> cap(backends, 0), load(backends, 0);
  for (size_t b = 0; b < backends; ++b) {
    if (inputs.states[b] != BackendState::kActive) continue;
    long double share = static_cast<long double>(weights[b]) * factor /
                        static_cast<long double>(static_cast<uint64_t>(active_weight));
    long double c = share * 18446744073709551616.0L;  // 2^64
    cap[b] = c >= static_cast<long double>(kCircle) ? kCircle : static_cast<u128>(c);
  }

  std::vector<Emitted> out;
  out.reserve(n + n / 8 + 16);
  for (size_t i = 0; i < n; ++i) {
    uint64_t prev = natural.positions[(i + n - 1) % n];
    u128 remaining = (n == 1) ? kCircle : u128{static_cast<uint64_t>(natural.positions[i] - prev)};
    uint64_t cursor = prev;
    size_t k = i;      // candidate walk, continues where the last full backend was found
    size_t tried = 0;  // candidates looked at for this segment
    while (true) {
      BackendIndex c = kNoBackend;
      while (tried < n) {
        BackendIndex o = natural.owners[k];
        if (inputs.states[o] == BackendState::kActive && load[o] < cap[o]) {
          c = o;
          break;
        }
        k = (k + 1) % n;
        ++tried;
      }
      // Rounding can leave every cap full by a few units: the natural primary takes the rest.
      u128 room = (c == kNoBackend) ? remaining : cap[c] - load[c];
      if (c == kNoBackend) c = natural.primaries[i];
      if (room >= remaining) {
        load[c] += remaining;
        out.push_back({natural.positions[i], natural.owners[i], c});
        break;
      }
      load[c] += room;
      remaining -= room;
      cursor += static_cast<uint64_t>(room);
      out.push_back({cursor, natural.owners[i], c});
    }
  }

  std::stable_sort(out.begin(), out.end(),
                   [](const Emitted& a, const Emitted& b) { return a.position < b.position; });
  ContinuumArrays result;
  result.positions.reserve(out.size());
  result.owners.reserve(out.size());
  result.primaries.reserve(out.size());
  for (const Emitted& e : out) {
    result.positions.push_back(e.position);
    result.owners.push_back(e.owner);
    result.primaries.push_back(e.primary);
  }
  index_buckets(result);
  return result;
}

}  // namespace ringleader::ring
