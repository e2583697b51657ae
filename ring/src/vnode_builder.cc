#include <xxhash.h>

#include <cstring>
#include <string>

#include "builders.h"

namespace ringleader::ring {

// Point k of backend NAME sits at XXH3-64 of the bytes NAME, 0x00, k (8 bytes, little-endian).
// (Seeding XXH3 with k instead would correlate points of similar short names.)
std::vector<ContinuumPoint> vnode_points(const std::vector<Backend>& backends, uint32_t vnodes) {
  size_t total = 0;
  for (const Backend& b : backends) total += size_t{b.weight} * vnodes;
  std::vector<ContinuumPoint> points;
  points.reserve(total);
  std::string buf;
  for (BackendIndex i = 0; i < backends.size(); ++i) {
    const std::string& name = backends[i].name;
    buf.assign(name);
    buf.push_back('\0');
    size_t at = buf.size();
    buf.resize(at + 8);
    uint64_t count = uint64_t{backends[i].weight} * vnodes;
    for (uint64_t k = 0; k < count; ++k) {
      for (int byte = 0; byte < 8; ++byte) buf[at + byte] = static_cast<char>(k >> (8 * byte));
      points.push_back({XXH3_64bits(buf.data(), buf.size()), i});
    }
  }
  return points;
}

}  // namespace ringleader::ring
