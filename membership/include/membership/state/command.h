// Commands of the replicated membership state machine: the only way the membership changes.
// A command travels through the Raft log as bytes (see command_codec.h) and every instance
// applies the same commands in the same order (see membership_state.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ring/backend.h"
#include "ring/params.h"

namespace ringleader::membership::state {

// Adds a backend (with its initial state, normally active).
struct AddBackend {
  ring::Backend backend;
};
struct RemoveBackend {
  std::string name;
};
struct SetWeight {
  std::string name;
  uint32_t weight = 1;
};
struct SetZone {
  std::string name;
  std::string zone;  // empty = no zone
};
// active -> draining: no new primary ownership. Idempotent.
struct DrainBackend {
  std::string name;
};
// draining or down -> active. Idempotent.
struct UndrainBackend {
  std::string name;
};
// -> down: skipped entirely by the ring. Idempotent.
struct MarkBackendDown {
  std::string name;
};
// Several changes to one backend as one entry: each field present is applied as SetWeight,
// SetZone and the state's command (active: UndrainBackend, draining: DrainBackend, down:
// MarkBackendDown) would apply it, in that order, and all or nothing: no instance ever routes
// with part of it, and a step that is refused leaves every other unapplied.
struct UpdateBackend {
  std::string name;
  std::optional<uint32_t> weight;
  std::optional<std::string> zone;
  std::optional<ring::BackendState> state;
};
struct SetRingParams {
  ring::RingParams params;
};
// The membership's first contents in one step: the ring parameters, then every backend, as
// SetRingParams and AddBackend would apply them. Only a membership with no backends accepts it,
// and it is all or nothing: no instance ever routes with part of a seed.
struct Seed {
  ring::RingParams params;
  std::vector<ring::Backend> backends;
};

using Command = std::variant<AddBackend, RemoveBackend, SetWeight, SetZone, DrainBackend,
                             UndrainBackend, MarkBackendDown, SetRingParams, Seed, UpdateBackend>;

// "add_backend", "remove_backend", ... for logs and errors.
std::string_view command_name(const Command& command);

}  // namespace ringleader::membership::state
