// notices(): settings that load and validate but do not do all they seem to.
#include <string>
#include <vector>

#include "config/config.h"

namespace ringleader::config {

std::string short_of_replicas(uint32_t replicas, const std::vector<ring::Backend>& backends) {
  size_t serving = 0;  // backends not "down"
  for (const ring::Backend& b : backends)
    serving += b.state != ring::BackendState::kDown ? 1 : 0;
  if (replicas <= 1 || serving == 0 || serving >= replicas) return "";
  return "ring.replicas = " + std::to_string(replicas) + " but only " + std::to_string(serving) +
         " backends that are not down: each key has at most that many copies";
}

std::vector<std::string> notices(const Config& config) {
  std::vector<std::string> out;
  const bool replicated = config.ring.replicas > 1;
  if (replicated && config.replication.read == ReadPolicy::kNearest && config.proxy.zone.empty()) {
    out.push_back(
        "replication.read = \"nearest\" without proxy.zone: this instance has no zone, so reads "
        "go to each key's primary first, as with read = \"primary\"");
  }
  const bool static_mode = config.membership.mode == MembershipMode::kStatic;
  size_t serving = 0;  // backends not "down"
  for (const ring::Backend& b : config.backends)
    serving += b.state != ring::BackendState::kDown ? 1 : 0;
  if (static_mode && !config.backends.empty() && serving == 0) {
    out.push_back(
        "every backend has state = \"down\": no key can be served until one is "
        "active again");
  }
  if (static_mode) {
    if (std::string shortfall = short_of_replicas(config.ring.replicas, config.backends);
        !shortfall.empty()) {
      out.push_back(std::move(shortfall));
    }
  }
  if (static_mode) {
    MembershipConfig raft_only = config.membership;
    raft_only.mode = MembershipMode::kStatic;
    if (!(raft_only == MembershipConfig{})) {
      out.push_back(
          "the [membership] settings other than mode apply to mode = \"raft\" only; "
          "with mode = \"static\" they are unused");
    }
  }
  if (!is_unix_address(config.proxy.listen) &&
      config.proxy.unix_socket_mode != ProxyConfig{}.unix_socket_mode) {
    out.push_back(
        "proxy.unix_socket_mode applies to a unix: proxy.listen only; with a TCP listener it is "
        "unused");
  }
  const bool maglev = config.ring.algorithm == ring::Algorithm::kMaglev;
  if (!maglev && config.ring.maglev_table_size != 0) {
    out.push_back("ring.maglev_table_size applies to algorithm = \"maglev\" only; it is unused");
  }
  if (maglev && config.ring.vnodes != ring::RingParams{}.vnodes) {
    out.push_back(
        "ring.vnodes applies to algorithm = \"vnode\" only; maglev sizes its table "
        "with ring.maglev_table_size");
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
