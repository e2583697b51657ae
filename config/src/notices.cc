// notices(): settings that load and validate but do not do all they seem to.
#include <string>
#include <vector>

#include "config/config.h"

namespace ringleader::config {

std::vector<std::string> notices(const Config& config) {
  std::vector<std::string> out;
  const bool replicated = config.ring.replicas > 1;
  if (replicated && config.replication.read == ReadPolicy::kNearest && config.proxy.zone.empty()) {
    out.push_back(
        "replication.read = \"nearest\" without proxy.zone: this instance has no zone, so reads "
        "go to each key's primary first, as with read = \"primary\"");
  }
  if (replicated && config.membership.mode == MembershipMode::kStatic &&
      config.backends.size() < config.ring.replicas) {
    out.push_back("ring.replicas = " + std::to_string(config.ring.replicas) + " but only " +
                  std::to_string(config.backends.size()) +
                  " backends: each key has as many copies as there are backends");
  }
  if (!replicated && config.replication.miss_failover) {
    out.push_back(
        "replication.miss_failover needs replica sets of more than one backend; with "
        "ring.replicas = 1 a miss has no other replica to ask");
  }
  if (!replicated && config.replication.write != WriteAck::kOne) {
    out.push_back(
        "replication.write applies to replica sets of more than one backend; with "
        "ring.replicas = 1 every write goes to one backend");
  }
  return out;
}

}  // namespace ringleader::config
