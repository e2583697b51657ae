#include "ring_report.h"

#include "common/log.h"
#include "config/config.h"

namespace ringleader::proxy {

void RingReport::look(const ring::Ring& ring) {
  size_t serving = 0;
  for (const ring::Backend& b : ring.backends())
    serving += b.state != ring::BackendState::kDown ? 1 : 0;
  const size_t replicas = ring.params().replicas;
  const bool short_now = replicas > 1 && serving > 0 && serving < replicas;
  if (short_now && serving != short_serving_) {
    RL_LOG_WARN(
        "ring epoch %llu: ring.replicas = %zu but only %zu backends that are not down: each key "
        "has at most that many copies (add backends, or lower ring.replicas)",
        static_cast<unsigned long long>(ring.epoch()), replicas, serving);
  } else if (!short_now && short_serving_ != 0) {
    RL_LOG_INFO("ring epoch %llu: every key has its ring.replicas = %zu copies again",
                static_cast<unsigned long long>(ring.epoch()), replicas);
  }
  short_serving_ = short_now ? serving : 0;

  std::string looping;
  for (const ring::Backend& b : ring.backends()) {
    if (config::listeners_collide(own_listen_, b.address)) {
      looping = b.name + " " + b.address;
      if (looping != looping_) {
        RL_LOG_ERROR(
            "ring epoch %llu: backend %s (%s) is this instance's own proxy.listen: requests for "
            "its keys would loop through the proxy until they time out; remove it",
            static_cast<unsigned long long>(ring.epoch()), b.name.c_str(), b.address.c_str());
      }
      break;
    }
  }
  looping_ = looping;
}

}  // namespace ringleader::proxy
