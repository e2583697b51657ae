// MembershipState: the replicated membership — backends (name, address, weight, zone, state)
// and ring parameters — and the deterministic rules for changing it.
//
// Every instance applies the same committed commands in the same order, so apply() is a pure
// function of (state, command): an invalid command (duplicate name, unknown backend, weight
// outside 1..kMaxWeight, bad ring parameters, ...) returns the same error on every instance
// and leaves the state unchanged.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "membership/state/command.h"
#include "ring/backend.h"
#include "ring/params.h"
#include "ring/ring.h"

namespace ringleader::membership::state {

// Most backends the membership holds.
inline constexpr size_t kMaxMembershipBackends = 4096;
// Largest Maglev table the membership accepts (keeps every instance's memory bounded).
inline constexpr uint32_t kMaxMaglevTableSize = ring::kMaxMaglevTableSize;

class MembershipState {
 public:
  // No backends, default ring parameters: the state before the first command.
  MembershipState() = default;

  // Backends in the order they were added.
  const std::vector<ring::Backend>& backends() const { return backends_; }
  const ring::RingParams& params() const { return params_; }
  const ring::Backend* find(std::string_view name) const;

  // Applies `command` when valid and when it leaves a backend that is not down (or none at
  // all); otherwise returns why and changes nothing.
  Status apply(const Command& command);

  // The ring these backends and parameters produce, stamped with `epoch`.
  Result<ring::RingSnapshot> build_ring(uint64_t epoch) const;

  // Whole-state encoding for snapshots:
  //   u8 version (1) | ring params (as in set_ring_params) | u32 count | backend*
  std::string encode() const;
  // Fails (never throws) on malformed bytes and on a state that breaks the rules above.
  static Result<MembershipState> decode(std::string_view bytes);

  bool operator==(const MembershipState&) const = default;

 private:
  ring::Backend* find_mutable(std::string_view name);
  // apply() without the rule that some backend is up (a seed is checked once, whole).
  Status apply_one(const Command& command);

  // Invariant: names unique and 1..kMaxFieldLength bytes, weights 1..kMaxWeight, at most
  // kMaxMembershipBackends; params_ pass validate_ring_params; apply() leaves some backend
  // not down (a snapshot of an older release may hold none). Changed only by apply().
  std::vector<ring::Backend> backends_;
  ring::RingParams params_;
};

// The rule for a backend's zone: at most kMaxFieldLength bytes, no control characters (empty
// is no zone).
Status validate_zone(std::string_view zone);

// The command that puts backend `name` in `state`: UndrainBackend, DrainBackend or
// MarkBackendDown.
Command state_command(const std::string& name, ring::BackendState state);

// The ring parameter rules the membership enforces (those of ring::Ring::build that do not
// depend on the backends, plus kMaxMaglevTableSize).
Status validate_ring_params(const ring::RingParams& params);

}  // namespace ringleader::membership::state
