// twemproxy-compatible ketama continuum. The point count per backend reproduces nutcracker's
// single-precision arithmetic exactly, since a different rounding would move keys.
#include <algorithm>
#include <cmath>
#include <string>

#include "builders.h"
#include "ring/hash.h"

namespace ringleader::ring {
namespace {
constexpr float kPointsPerServer = 160;  // twemproxy's KETAMA_POINTS_PER_SERVER
constexpr uint32_t kPointsPerHash = 4;   // one MD5 digest yields four points
}  // namespace

ContinuumArrays ketama_arrangement(const std::vector<Backend>& backends,
                                   const PickerInputs& inputs) {
  // As twemproxy rebuilds its continuum from the live servers when one is ejected, a backend
  // that is down (or ejected) takes no part in the point counts: the others' shares are those
  // twemproxy would give them, and an active backend whose weight rounds to no points next to
  // a heavy one gets them once that one is down. With every backend down, all take part, and
  // every key has no primary.
  const bool any_up = std::any_of(backends.begin(), backends.end(),
                                  [](const Backend& b) { return b.state != BackendState::kDown; });
  auto counted = [any_up](const Backend& b) { return !any_up || b.state != BackendState::kDown; };
  uint32_t total_weight = 0;
  uint32_t live = 0;
  for (const Backend& b : backends) {
    if (!counted(b)) continue;
    total_weight += b.weight;
    ++live;
  }
  const auto nservers = static_cast<float>(live);
  std::vector<uint64_t> points;
  for (BackendIndex i = 0; i < backends.size(); ++i) {
    const Backend& b = backends[i];
    if (!counted(b)) continue;
    float pct = static_cast<float>(b.weight) / static_cast<float>(total_weight);
    // Same expression and types as nutcracker: float products, then + 1e-10 in double.
    float scaled = pct * kPointsPerServer / 4 * nservers;
    auto per_server = static_cast<uint32_t>(
        std::floor(static_cast<float>(static_cast<double>(scaled) + 0.0000000001)) * 4);
    for (uint32_t k = 0; k < per_server / kPointsPerHash; ++k) {
      std::string host = b.name + "-" + std::to_string(k);
      auto digest = md5_digest(host);
      for (uint32_t x = 0; x < kPointsPerHash; ++x) {
        const uint8_t* d = digest.data() + 4 * x;
        uint32_t value =
            uint32_t{d[0]} | uint32_t{d[1]} << 8 | uint32_t{d[2]} << 16 | uint32_t{d[3]} << 24;
        points.push_back(tag_point(uint64_t{value} << 32, i));
      }
    }
  }
  return arrange_points(std::move(points), inputs);
}

}  // namespace ringleader::ring
