#include "continuum.h"

#include <algorithm>

#include "common/assert.h"

namespace ringleader::ring {

void index_buckets(ContinuumArrays& a) {
  const size_t n = a.positions.size();
  const unsigned bits = bucket_bits(n);
  a.bucket_shift = 64 - bits;
  const size_t buckets = size_t{1} << bits;
  a.bucket_start.resize(buckets + 1);
  size_t i = 0;
  for (size_t b = 0; b < buckets; ++b) {
    uint64_t bucket_low = static_cast<uint64_t>(b) << a.bucket_shift;
    while (i < n && a.positions[i] < bucket_low)
      ++i;
    a.bucket_start[b] = static_cast<uint32_t>(i);
  }
  a.bucket_start[buckets] = static_cast<uint32_t>(n);
}

namespace {

// Stable LSD radix sort on bits kOwnerBits..63, 11 bits per pass (4 passes): each pass
// scatters into 2048 streams, which stays in cache, where comparison sorts of random keys
// are bound by branch mispredictions. The owner bits need no pass: the builders emit points
// by ascending owner and the sort is stable.
void radix_sort(std::vector<uint64_t>& values) {
  constexpr unsigned kDigitBits = 11;
  static_assert(kOwnerBits + 4 * kDigitBits == 64);
  constexpr size_t kRadix = size_t{1} << kDigitBits;
  const size_t n = values.size();
  std::unique_ptr<uint64_t[]> scratch(new uint64_t[n]);  // uninitialised: fully overwritten
  uint64_t* from = values.data();
  uint64_t* to = scratch.get();
  uint32_t count[kRadix];
  for (unsigned shift = kOwnerBits; shift < 64; shift += kDigitBits) {
    std::fill(count, count + kRadix, 0);
    for (size_t i = 0; i < n; ++i)
      ++count[(from[i] >> shift) & (kRadix - 1)];
    uint32_t sum = 0;
    for (auto& c : count) {
      uint32_t here = c;
      c = sum;
      sum += here;
    }
    for (size_t i = 0; i < n; ++i)
      to[count[(from[i] >> shift) & (kRadix - 1)]++] = from[i];
    std::swap(from, to);
  }
  // An even number of passes leaves the result in `values`.
}

}  // namespace

ContinuumArrays arrange_points(std::vector<uint64_t> tagged_points, const PickerInputs& inputs) {
  radix_sort(tagged_points);
  ContinuumArrays a;
  const size_t n = tagged_points.size();
  a.owners.resize(n);
  for (size_t i = 0; i < n; ++i)
    a.owners[i] = static_cast<BackendIndex>(tagged_points[i] & kOwnerMask);
  a.positions = std::move(tagged_points);
  a.primaries.assign(n, kNoBackend);
  // Two backward passes around the circle propagate "next active (or draining) owner".
  auto fill = [&](BackendState wanted) {
    BackendIndex next = kNoBackend;
    for (size_t pass = 0; pass < 2; ++pass) {
      for (size_t i = n; i-- > 0;) {
        if (inputs.states[a.owners[i]] == wanted) next = a.owners[i];
        if (pass == 1 && a.primaries[i] == kNoBackend) a.primaries[i] = next;
      }
    }
  };
  fill(BackendState::kActive);
  fill(BackendState::kDraining);  // only fills what no active backend could take
  if (n > 0) index_buckets(a);
  return a;
}

Continuum::Continuum(ContinuumArrays arrays, PickerInputs inputs)
    : arrays_(std::move(arrays)), inputs_(std::move(inputs)) {
  RL_CHECK(!arrays_.positions.empty() && arrays_.positions.size() < UINT32_MAX);
  RL_CHECK(arrays_.bucket_start.size() == (size_t{1} << (64 - arrays_.bucket_shift)) + 1);
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
  for (uint64_t p : arrays_.positions)
    out.push_back(p + 1);
}

}  // namespace ringleader::ring
