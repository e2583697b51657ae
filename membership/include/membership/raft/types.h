// Basic Raft vocabulary: node ids, terms, indexes, log entries and the hard state.
#pragma once

#include <cstdint>
#include <string>

namespace ringleader::membership::raft {

// A node's stable identity, e.g. "p1". Never empty for a real node.
using NodeId = std::string;
// Election term; 0 = before any election.
using Term = uint64_t;
// Log position; the first entry has index 1, index 0 is "before the log".
using Index = uint64_t;
// No log comes near this index. A message naming a later one is dropped as inconsistent, so
// index + 1 never wraps whatever a peer sends.
inline constexpr Index kMaxIndex = Index{1} << 62;
// No election comes near this term either, and none moves a term this far at once (that
// takes 2^32 elections). A message naming a later term, or one more than kMaxTermJump ahead of
// the node's, is dropped: a peer cannot push a node to a term whose successor wraps to 0 or
// is itself dropped (where every vote would be refused for good, the term being persisted)
// with one frame, or with fewer than 2^30.
inline constexpr Term kMaxTerm = Term{1} << 62;
inline constexpr Term kMaxTermJump = Term{1} << 32;

// What a log entry holds.
//   noop    — appended by every new leader at the start of its term; carries no data.
//   command — opaque bytes for the replicated state machine.
//   config  — an encoded Configuration (see configuration.h); takes effect when appended.
enum class EntryType : uint8_t { kNoop = 0, kCommand = 1, kConfig = 2 };

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNoop;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// What must survive a crash before any message that depends on it is sent.
//   term   — latest term this node has seen.
//   vote   — the candidate voted for in `term`, or empty.
//   commit — highest index known committed (an optimisation: a node may restart with less).
struct HardState {
  Term term = 0;
  NodeId vote;
  Index commit = 0;

  bool operator==(const HardState&) const = default;
};

}  // namespace ringleader::membership::raft
