// A backend as the ring sees it: identity, placement inputs and routing state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringleader::ring {

// Routing state of a backend.
//   active   — owns keys as primary and replica.
//   draining — receives no new primary ownership; may still serve as a replica when the
//              active backends cannot fill a replica set.
//   down     — ejected: skipped entirely, its keys go to the next backends clockwise.
enum class BackendState : uint8_t { kActive, kDraining, kDown };

std::string_view to_string(BackendState state);
std::optional<BackendState> parse_backend_state(std::string_view name);

// A zone: at most kMaxZoneBytes bytes, no control characters (empty = no zone). The one rule
// for config files and the membership alike.
inline constexpr size_t kMaxZoneBytes = 255;
bool is_valid_zone(std::string_view zone);
// A hash tag as a config file or the admin API takes it: empty (off), or two printable ASCII
// characters, the opening and the closing one, which may be the same (twemproxy's "$$"). Keys
// are bytes: a character of two bytes could never be one of the pair.
bool is_valid_hash_tag(std::string_view tag);

struct Backend {
  std::string name;     // stable identity; placement hashes the name, never the address
  std::string address;  // host:port the proxy connects to
  uint32_t weight = 1;  // relative share of the key space, >= 1
  std::string zone;     // failure domain; empty = no zone given
  BackendState state = BackendState::kActive;

  bool operator==(const Backend&) const = default;
};

}  // namespace ringleader::ring
