// Replication rules: which replicas a read tries and in what order, and when a write that
// went to every replica is decided. Pure functions over a replica set and the policy
// (config [replication] plus the instance's proxy.zone); the core applies them to fragments.
//
// Writes: a copy goes to every replica; each copy ends acknowledged (any reply, error replies
// included: the backend ran the command) or failed (no reply: timeout, refused, ejected). The
// write succeeds as soon as `needed` copies are acknowledged (copies still in flight then
// finish unobserved). It fails only once every copy has finished short of `needed`, so that
// its error says exactly which replicas took the write and which did not; there is no
// rollback on the replicas that took it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "ring/ring.h"

namespace ringleader::proxy {

struct ReplicationPolicy {
  config::WriteAck write = config::WriteAck::kOne;
  config::ReadPolicy read = config::ReadPolicy::kPrimary;
  std::string zone;            // this instance's zone (proxy.zone), for read = "nearest"
  bool miss_failover = false;  // a miss asks the next replica too

  static ReplicationPolicy from(const config::Config& config) {
    return {config.replication.write, config.replication.read, config.proxy.zone,
            config.replication.miss_failover};
  }
};

// Acknowledgements a write to `replicas` backends needs: 1, a majority, or all of them.
uint32_t acks_needed(config::WriteAck write, uint32_t replicas);

// The order in which a read tries `replicas` (primary first in the input):
//   primary — as given;
//   any     — rotated by `turn` (callers pass a counter, so reads spread over the replicas);
//   nearest — replicas whose backend zone is `policy.zone` first, the others after, each
//             group in the given order (as given when the zone is empty).
ring::ReplicaSet read_order(const ring::ReplicaSet& replicas, const ring::Ring& ring,
                            const ReplicationPolicy& policy, uint64_t turn);

enum class WriteVerdict : uint8_t { kPending, kAcked, kFailed };

// The state of a write after `acks` acknowledged and `failures` failed copies out of
// `replicas`: kAcked at `needed` acknowledgements, kFailed when all finished short of it.
WriteVerdict write_verdict(uint32_t acks, uint32_t failures, uint32_t needed, uint32_t replicas);

// The error of a write that failed: "write acknowledged by A of R replicas (N needed): "
// followed by the failed copies' errors (`errors`, already joined).
std::string write_failure(uint32_t acks, uint32_t replicas, uint32_t needed,
                          std::string_view errors);

}  // namespace ringleader::proxy
