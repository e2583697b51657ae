#include "ring/ring.h"

#include <algorithm>
#include <unordered_set>

#include "builders.h"
#include "continuum.h"

namespace ringleader::ring {
namespace {

Status validate(const std::vector<Backend>& backends, const RingParams& p) {
  if (backends.empty()) return Status::error("a ring needs at least one backend");
  if (backends.size() > kMaxBackends) {
    return Status::error("a ring holds at most " + std::to_string(kMaxBackends) + " backends");
  }
  std::unordered_set<std::string_view> names;
  for (const Backend& b : backends) {
    if (b.name.empty()) return Status::error("backend name must not be empty");
    if (!names.insert(b.name).second) {
      return Status::error("duplicate backend name \"" + b.name + "\"");
    }
    if (b.weight < 1 || b.weight > kMaxWeight) {
      return Status::error("backend \"" + b.name + "\": weight must be 1.." +
                           std::to_string(kMaxWeight) + ", got " + std::to_string(b.weight));
    }
  }
  if (p.vnodes < 1 || p.vnodes > kMaxVnodes) {
    return Status::error("vnodes must be 1.." + std::to_string(kMaxVnodes));
  }
  if (p.replicas < 1 || p.replicas > kMaxReplicas) {
    return Status::error("replicas must be 1.." + std::to_string(kMaxReplicas));
  }
  if (!p.hash_tag.empty() && p.hash_tag.size() != 2) {
    return Status::error("hash_tag must be empty or two characters, e.g. \"{}\"");
  }
  if (!is_valid_balance_factor(p.balance_factor)) {
    return Status::error("balance_factor must be 0 (off) or in [1, 1e6]");
  }
  if (p.algorithm == Algorithm::kKetama) {
    if (p.hash != HashKind::kFnv1a64 && p.hash != HashKind::kMd5) {
      return Status::error("the ketama algorithm needs hash fnv1a_64 or md5 (twemproxy's)");
    }
    if (p.balance_factor != 0) {
      return Status::error("balance_factor cannot be combined with ketama placement");
    }
  }
  if (p.algorithm == Algorithm::kMaglev && p.maglev_table_size != 0 &&
      (!is_prime(p.maglev_table_size) || p.maglev_table_size < backends.size() ||
       p.maglev_table_size > kMaxMaglevTableSize)) {
    return Status::error("maglev_table_size must be a prime >= the number of backends and <= " +
                         std::to_string(kMaxMaglevTableSize));
  }
  uint64_t points = 0;
  for (const Backend& b : backends)
    points += uint64_t{b.weight} * p.vnodes;
  if (p.algorithm == Algorithm::kVnode && points > kMaxVnodePoints) {
    return Status::error(too_many_points(points));
  }
  return Status::ok();
}

std::vector<uint32_t> weights_of(const std::vector<Backend>& backends) {
  std::vector<uint32_t> w;
  w.reserve(backends.size());
  for (const Backend& b : backends)
    w.push_back(b.weight);
  return w;
}

}  // namespace

Ring::Ring(std::vector<Backend> backends, RingParams params, uint64_t epoch,
           std::unique_ptr<const Placement> placement)
    : backends_(std::move(backends)),
      params_(std::move(params)),
      epoch_(epoch),
      position_shift_(64 - hash_bits(params_.hash)),
      placement_(std::move(placement)) {}

Result<std::shared_ptr<const Ring>> Ring::build(std::vector<Backend> backends, RingParams params,
                                                uint64_t epoch) {
  if (Status s = validate(backends, params); !s) return s;
  PickerInputs inputs = PickerInputs::from(backends);
  std::unique_ptr<const Placement> placement;
  switch (params.algorithm) {
    case Algorithm::kVnode:
    case Algorithm::kKetama: {
      ContinuumArrays arrays = params.algorithm == Algorithm::kVnode
                                   ? vnode_arrangement(backends, params.vnodes, inputs)
                                   : ketama_arrangement(backends, inputs);
      if (arrays.positions.empty()) {
        return Status::error("the backends' weights give the ring no points");
      }
      if (params.balance_factor >= 1.0) {
        arrays = bound_load(arrays, inputs, weights_of(backends), params.balance_factor);
      }
      placement = std::make_unique<Continuum>(std::move(arrays), std::move(inputs));
      break;
    }
    case Algorithm::kMaglev: {
      uint32_t size = params.maglev_table_size ? params.maglev_table_size
                                               : default_maglev_size(backends.size());
      placement = build_maglev(backends, std::move(inputs), size);
      break;
    }
  }
  return std::shared_ptr<const Ring>(
      new Ring(std::move(backends), std::move(params), epoch, std::move(placement)));
}

std::optional<BackendIndex> Ring::find(std::string_view name) const {
  for (BackendIndex i = 0; i < backends_.size(); ++i) {
    if (backends_[i].name == name) return i;
  }
  return std::nullopt;
}

std::string_view Ring::hash_input(std::string_view key) const {
  if (params_.hash_tag.size() != 2) return key;
  size_t open = key.find(params_.hash_tag[0]);
  if (open == std::string_view::npos) return key;
  size_t close = key.find(params_.hash_tag[1], open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

std::vector<double> Ring::primary_shares() const {
  std::vector<uint64_t> starts;
  placement_->boundaries(starts);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  std::vector<long double> owned(backends_.size(), 0);
  for (size_t k = 0; k < starts.size(); ++k) {
    uint64_t begin = starts[k];
    // Unsigned wrap gives the last segment's length across the top of the circle.
    long double len = (starts.size() == 1)
                          ? 18446744073709551616.0L
                          : static_cast<long double>(starts[(k + 1) % starts.size()] - begin);
    BackendIndex owner = placement_->primary(begin);
    if (owner != kNoBackend) owned[owner] += len;
  }
  std::vector<double> shares;
  shares.reserve(owned.size());
  for (long double o : owned)
    shares.push_back(static_cast<double>(o / 18446744073709551616.0L));
  return shares;
}

}  // namespace ringleader::ring
