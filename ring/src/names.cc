// Text names of ring enums, as used in config files and the admin API.
#include "ring/backend.h"
#include "ring/params.h"

namespace ringleader::ring {

bool is_valid_hash_tag(std::string_view tag) {
  auto printable = [](char c) { return c >= ' ' && c < 0x7f; };
  return tag.empty() || (tag.size() == 2 && printable(tag[0]) && printable(tag[1]));
}

bool is_valid_zone(std::string_view zone) {
  if (zone.size() > kMaxZoneBytes) return false;
  for (char c : zone) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string_view to_string(BackendState state) {
  switch (state) {
    case BackendState::kActive:
      return "active";
    case BackendState::kDraining:
      return "draining";
    case BackendState::kDown:
      return "down";
  }
  return "unknown";
}

std::optional<BackendState> parse_backend_state(std::string_view name) {
  if (name == "active") return BackendState::kActive;
  if (name == "draining") return BackendState::kDraining;
  if (name == "down") return BackendState::kDown;
  return std::nullopt;
}

std::string_view to_string(Algorithm algorithm) {
  switch (algorithm) {
#define RL_ALGO_NAME(e, name) \
  case Algorithm::e:          \
    return name;
    RINGLEADER_RING_ALGORITHMS(RL_ALGO_NAME)
#undef RL_ALGO_NAME
  }
  return "unknown";
}

std::optional<Algorithm> parse_algorithm(std::string_view text) {
#define RL_ALGO_PARSE(e, name) \
  if (text == name) return Algorithm::e;
  RINGLEADER_RING_ALGORITHMS(RL_ALGO_PARSE)
#undef RL_ALGO_PARSE
  return std::nullopt;
}

}  // namespace ringleader::ring
