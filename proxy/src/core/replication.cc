#include "replication.h"

namespace ringleader::proxy {

uint32_t acks_needed(config::WriteAck write, uint32_t replicas) {
  if (replicas == 0) return 0;
  switch (write) {
    case config::WriteAck::kOne:
      return 1;
    case config::WriteAck::kQuorum:
      return replicas / 2 + 1;
    case config::WriteAck::kAll:
      return replicas;
  }
  return replicas;
}

ring::ReplicaSet read_order(const ring::ReplicaSet& replicas, const ring::Ring& ring,
                            const ReplicationPolicy& policy, uint64_t turn) {
  const uint32_t n = replicas.size();
  if (n <= 1) return replicas;
  ring::ReplicaSet out;
  switch (policy.read) {
    case config::ReadPolicy::kPrimary:
      return replicas;
    case config::ReadPolicy::kAny: {
      const uint32_t first = static_cast<uint32_t>(turn % n);
      for (uint32_t i = 0; i < n; ++i)
        out.push_back(replicas[(first + i) % n]);
      return out;
    }
    case config::ReadPolicy::kNearest: {
      if (policy.zone.empty()) return replicas;
      for (ring::BackendIndex b : replicas) {
        if (ring.backend(b).zone == policy.zone) out.push_back(b);
      }
      for (ring::BackendIndex b : replicas) {
        if (ring.backend(b).zone != policy.zone) out.push_back(b);
      }
      return out;
    }
  }
  return replicas;
}

WriteVerdict write_verdict(uint32_t acks, uint32_t failures, uint32_t needed, uint32_t replicas) {
  if (acks >= needed) return WriteVerdict::kAcked;
  if (acks + failures >= replicas) return WriteVerdict::kFailed;
  return WriteVerdict::kPending;
}

std::string write_failure(uint32_t acks, uint32_t replicas, uint32_t needed,
                          std::string_view errors) {
  std::string out = "write acknowledged by " + std::to_string(acks) + " of " +
                    std::to_string(replicas) + " replicas (" + std::to_string(needed) +
                    " needed): ";
  out += errors;
  return out;
}

}  // namespace ringleader::proxy
