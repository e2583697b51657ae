#include "commands.h"

namespace ringleader::app {

Result<ring::RingSnapshot> ring_from_config(const config::Config& config) {
  auto ring = ring::Ring::build(config.backends, config.ring, 0);
  if (!ring) return Status::error(config.source + ": ring: " + ring.error());
  return ring.value();
}

}  // namespace ringleader::app
