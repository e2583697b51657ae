// notices(): settings that load and validate but are not (all) in force.
#include <string>
#include <vector>

#include "config/config.h"

namespace ringleader::config {

std::vector<std::string> notices(const Config& config) {
  std::vector<std::string> out;
  // Replica sets are computed and reported (ringleader lookup, /ring/lookup, churn figures),
  // but the data path forwards each key to its primary only.
  if (config.ring.replicas > 1) {
    out.push_back("ring.replicas = " + std::to_string(config.ring.replicas) +
                  ": replica sets are computed and reported, but requests go to each key's "
                  "primary only; writes are not copied to the other replicas and [replication] "
                  "write/read are not applied yet");
  }
  return out;
}

}  // namespace ringleader::config
