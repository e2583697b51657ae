// ScanOrder: the order in which SCAN visits a ring's backends, and the positions its cursors
// name them by.
//
// A backend's position is a hash of its name (1 .. 2^kPositionBits - 1; 0 is the start), and
// backends are visited in the order of their positions. A cursor therefore keeps naming the
// same backend while others are added or removed during a scan, and a backend that left is
// passed over to the next position: a scan still reports every key of the backends that stay
// throughout. (Positions taken from the ring's order shifted when an earlier backend left,
// and the cursor then skipped a backend or handed its cursor to another.) Names whose hashes
// collide get the next free positions, in name order; only among such names can a change
// during a scan move a position.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "ring/ring.h"

namespace ringleader::proxy::redis {

class ScanOrder {
 public:
  static constexpr unsigned kPositionBits = 24;
  static constexpr uint32_t kMaxPosition = (uint32_t{1} << kPositionBits) - 1;

  explicit ScanOrder(const ring::Ring& ring);

  struct Stop {
    ring::BackendIndex backend = 0;
    uint32_t position = 0;
  };
  // The backend with `position`, or the first after it, passing over backends that are down
  // (their keys are unreachable anyway); nullopt when none is left.
  std::optional<Stop> at_or_after(uint32_t position) const;
  // The backend after `position` in the order (down ones passed over); nullopt at the end.
  std::optional<Stop> after(uint32_t position) const { return at_or_after(position + 1); }

 private:
  const ring::Ring& ring_;
  std::vector<std::pair<uint32_t, ring::BackendIndex>> order_;  // (position, backend), sorted
};

}  // namespace ringleader::proxy::redis
