// Configuration: who is in the Raft group. Voters elect leaders and form quorums; learners
// receive the log but never vote, campaign or count towards a quorum.
//
// A configuration changes by one server at a time (ConfigChange), so any majority of the old
// voters and any majority of the new voters overlap. A configuration is stored in the log as a
// config entry and takes effect on a node as soon as the entry is in its log (committed or not).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "membership/raft/types.h"

namespace ringleader::membership::raft {

struct Configuration {
  // Invariant: both sorted, without duplicates, and disjoint.
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  // host:port of members added with one (ConfigChange::address), so that every instance,
  // including those whose membership.peers never listed them, can reach them. Keys are
  // members. Founding members have none: their addresses are in every instance's config.
  std::map<NodeId, std::string> addresses = {};

  bool operator==(const Configuration&) const = default;

  bool is_voter(std::string_view id) const;
  bool is_learner(std::string_view id) const;
  bool is_member(std::string_view id) const { return is_voter(id) || is_learner(id); }
  // Voters needed for a majority: voters.size() / 2 + 1.
  size_t quorum() const { return voters.size() / 2 + 1; }
  // Voters then learners.
  std::vector<NodeId> members() const;
  // Ok when the invariant holds, else what is wrong.
  Status validate() const;
};

// A single-server change of the configuration.
//   add_learner     — `node` joins as a learner (must not be a member).
//   promote_learner — learner `node` becomes a voter.
//   add_voter       — `node` (not a member) joins directly as a voter.
//   remove          — `node` (voter or learner) leaves; the last voter cannot leave.
enum class ConfigChangeType : uint8_t {
  kAddLearner = 0,
  kPromoteLearner = 1,
  kAddVoter = 2,
  kRemove = 3,
};
std::string_view to_string(ConfigChangeType type);

struct ConfigChange {
  ConfigChangeType type = ConfigChangeType::kAddLearner;
  NodeId node;
  // For additions: where `node` listens, recorded in the configuration (empty: not recorded).
  std::string address = {};
};

// Longest peer address recorded in a configuration.
inline constexpr size_t kMaxPeerAddressLength = 300;

// The configuration after `change`, or why the change does not apply to `current`.
Result<Configuration> apply_change(const Configuration& current, const ConfigChange& change);

// Longest node id accepted anywhere (ids travel in messages and on disk).
inline constexpr size_t kMaxNodeIdLength = 255;

// Ids joined with commas ("p1,p2,p3"), for log lines and errors.
std::string join_ids(const std::vector<NodeId>& ids);

// Versioned binary form used in config entries and snapshots.
std::string encode_configuration(const Configuration& config);
// Fails (never throws or asserts) on truncated, oversized or invalid input.
Result<Configuration> decode_configuration(std::string_view bytes);

}  // namespace ringleader::membership::raft
