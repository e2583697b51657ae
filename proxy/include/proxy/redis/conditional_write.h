// Conditional writes under replication. Some single-key writes take effect only when a
// condition on the key holds (SET ... NX|XX, SETNX, HSETNX). Evaluated on every replica
// independently, replicas that have drifted apart would decide differently, and two clients
// could both be told they took the same lock. With replicas, the key's primary alone decides;
// once it has applied the write, the other replicas get the write's unconditional form, so they
// hold what it holds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
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

// Writes whose effect each replica would choose on its own: SPOP takes random members. With
// replicas the primary runs it, and the other replicas get the effect the primary's reply
// shows: SREM of the members it popped. (Fragment::derive holds the kind.)
//
// XADD with a generated ID ("*") is not one of them, though its ID comes from each server's
// clock: a stream refuses an ID at or below its last, and follow-ups of different clients
// (different workers, different connections) reach a replica in another order than the
// primary ran them, so copying the primary's IDs would lose entries where running XADD on
// each replica only gives them different IDs.
enum class Derived : uint8_t { kNone = 0, kSremPopped = 1 };

struct DerivedWrite {
  Derived kind = Derived::kNone;
  // The follow-up's arguments (views into the request's, or static names).
  std::vector<std::string_view> follow_up;
};

// The derived form of `args`, or nullopt for any other command.
std::optional<DerivedWrite> derived_write(std::span<const std::string_view> args);

// Appends the follow-up as planned to `out`: complete but for what the primary's reply adds.
// Returns the mark complete_derived is given back (a position in `out`).
uint32_t encode_derived(const DerivedWrite& w, std::string& out);

// Completes `payload` (from encode_derived, with its mark `at`) from the primary's complete
// reply. False when the reply shows nothing to copy (an error, nil, no member popped).
bool complete_derived(Derived kind, std::string& payload, uint32_t at, std::string_view reply);

}  // namespace ringleader::proxy::redis
