#include "ring_report.h"

#include "common/log.h"
#include "config/config.h"

namespace ringleader::proxy {

void RingReport::look(const ring::Ring& ring) {
  const auto epoch = static_cast<unsigned long long>(ring.epoch());
  std::string shortfall = config::short_of_replicas(ring.params().replicas, ring.backends());
  if (!shortfall.empty() && shortfall != shortfall_) {
    RL_LOG_WARN("ring epoch %llu: %s (add backends, or lower ring.replicas)", epoch,
                shortfall.c_str());
  } else if (shortfall.empty() && !shortfall_.empty()) {
    RL_LOG_INFO("ring epoch %llu: every key has its ring.replicas = %u copies again", epoch,
                ring.params().replicas);
  }
  shortfall_ = std::move(shortfall);

  std::string looping;
  std::string reached;
  if (const ring::Backend* b =
          config::backend_at_own_listener(config_, ring.backends(), &reached)) {
    looping = b->name + " " + b->address;
    if (looping != looping_) {
      RL_LOG_ERROR(
          "ring epoch %llu: backend %s (%s) is %s: requests for its keys %s until they time "
          "out; remove it",
          epoch, b->name.c_str(), b->address.c_str(), config::own_listener_owner(reached).c_str(),
          reached == "proxy.listen" ? "would loop through the proxy"
                                    : "would get no answer a backend gives");
    }
  }
  looping_ = std::move(looping);
}

}  // namespace ringleader::proxy
