// Conditional writes under replication. Some single-key writes take effect only when a
// condition on the key holds (SET ... NX|XX, SETNX, HSETNX). Evaluated on every replica
// independently, replicas that have drifted apart would decide differently, and two clients
// could both be told they took the same lock. With replicas, the key's primary alone decides;
// once it has applied the write, the other replicas get the write's unconditional form, so they
// hold what it holds.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ringleader::proxy::redis {

struct ConditionalWrite {
  // The start of the primary's reply when the write took effect ("+OK", ":1").
  std::string_view applied;
  // The unconditional write for the other replicas: views into the request's arguments (or
  // static names), valid as long as they are.
  std::vector<std::string_view> follow_up;
};

// The conditional form of `args` (a whole command, name first), or nullopt for any other
// command. SET with GET is not one: its reply (the old value) does not say whether it wrote;
// nor is SET with an option other than NX, XX, EX, PX, EXAT, PXAT and KEEPTTL.
std::optional<ConditionalWrite> conditional_write(std::span<const std::string_view> args);

}  // namespace ringleader::proxy::redis
