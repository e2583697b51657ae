#include "scan_order.h"

#include <algorithm>
#include <string_view>
#include <tuple>

#include "ring/hash.h"

namespace ringleader::proxy::redis {

ScanOrder::ScanOrder(const ring::Ring& ring) : ring_(ring) {
  const auto& backends = ring.backends();
  std::vector<std::tuple<uint32_t, std::string_view, ring::BackendIndex>> hashed;
  hashed.reserve(backends.size());
  for (ring::BackendIndex b = 0; b < backends.size(); ++b) {
    const uint32_t h = 1 + static_cast<uint32_t>(ring::hash_xxh3(backends[b].name) % kMaxPosition);
    hashed.emplace_back(h, backends[b].name, b);
  }
  std::sort(hashed.begin(), hashed.end());
  order_.reserve(hashed.size());
  uint32_t last = 0;
  for (const auto& [h, name, b] : hashed) {
    // Unique and increasing; a name hashed onto a taken position gets the next free one.
    // (Past kMaxPosition, which takes millions of backends, positions repeat.)
    const uint32_t position = std::min(std::max(h, last + 1), kMaxPosition);
    order_.emplace_back(position, b);
    last = position;
  }
}

std::optional<ScanOrder::Stop> ScanOrder::at_or_after(uint32_t position) const {
  auto it = std::lower_bound(order_.begin(), order_.end(),
                             std::make_pair(position, ring::BackendIndex{0}));
  for (; it != order_.end(); ++it) {
    if (ring_.backend(it->second).state != ring::BackendState::kDown) {
      return Stop{it->second, it->first};
    }
  }
  return std::nullopt;
}

}  // namespace ringleader::proxy::redis
