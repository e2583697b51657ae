#include "membership/raft/configuration.h"

#include <algorithm>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"

namespace ringleader::membership::raft {
namespace {

// Version 1: voters and learners. Version 2 adds the recorded peer addresses.
constexpr uint8_t kConfigurationVersion = 2;
constexpr uint8_t kConfigurationVersionWithoutAddresses = 1;
constexpr uint32_t kMaxMembers = 1024;

bool contains(const std::vector<NodeId>& sorted, std::string_view id) {
  return std::binary_search(sorted.begin(), sorted.end(), id,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

void insert_sorted(std::vector<NodeId>& sorted, const NodeId& id) {
  sorted.insert(std::lower_bound(sorted.begin(), sorted.end(), id), id);
}

void erase(std::vector<NodeId>& sorted, const NodeId& id) {
  sorted.erase(std::remove(sorted.begin(), sorted.end(), id), sorted.end());
}

Status validate_list(const std::vector<NodeId>& ids, std::string_view what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty() || ids[i].size() > kMaxNodeIdLength) {
      return Status::error(std::string(what) + ": node id must be 1.." +
                           std::to_string(kMaxNodeIdLength) + " bytes");
    }
    if (i > 0 && !(ids[i - 1] < ids[i])) {
      return Status::error(std::string(what) + " must be sorted and unique");
    }
  }
  return Status::ok();
}

}  // namespace

bool Configuration::is_voter(std::string_view id) const {
  return contains(voters, id);
}
bool Configuration::is_learner(std::string_view id) const {
  return contains(learners, id);
}

std::vector<NodeId> Configuration::members() const {
  std::vector<NodeId> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  return all;
}

Status Configuration::validate() const {
  if (Status s = validate_list(voters, "voters"); !s) return s;
  if (Status s = validate_list(learners, "learners"); !s) return s;
  for (const NodeId& id : learners) {
    if (is_voter(id)) return Status::error("node " + id + " is both voter and learner");
  }
  for (const auto& [id, address] : addresses) {
    if (!is_member(id)) return Status::error("address recorded for " + id + ", not a member");
    if (address.empty() || address.size() > kMaxPeerAddressLength) {
      return Status::error("address of " + id + " must be 1.." +
                           std::to_string(kMaxPeerAddressLength) + " bytes");
    }
  }
  return Status::ok();
}

std::string_view to_string(ConfigChangeType type) {
  switch (type) {
    case ConfigChangeType::kAddLearner:
      return "add_learner";
    case ConfigChangeType::kPromoteLearner:
      return "promote_learner";
    case ConfigChangeType::kAddVoter:
      return "add_voter";
    case ConfigChangeType::kRemove:
      return "remove";
  }
  return "unknown";
}

Result<Configuration> apply_change(const Configuration& current, const ConfigChange& change) {
  const NodeId& id = change.node;
  if (id.empty() || id.size() > kMaxNodeIdLength) {
    return Status::error("node id must be 1.." + std::to_string(kMaxNodeIdLength) + " bytes");
  }
  if (change.address.size() > kMaxPeerAddressLength) {
    return Status::error("address must be at most " + std::to_string(kMaxPeerAddressLength) +
                         " bytes");
  }
  Configuration next = current;
  switch (change.type) {
    case ConfigChangeType::kAddLearner:
      if (current.is_member(id)) return Status::error("node " + id + " is already a member");
      insert_sorted(next.learners, id);
      if (!change.address.empty()) next.addresses[id] = change.address;
      break;
    case ConfigChangeType::kPromoteLearner:
      if (!current.is_member(id)) {
        return Status::error("node " + id + " is not a member: add it as a learner first");
      }
      if (!current.is_learner(id)) return Status::error("node " + id + " is already a voter");
      erase(next.learners, id);
      insert_sorted(next.voters, id);
      break;
    case ConfigChangeType::kAddVoter:
      if (current.is_member(id)) return Status::error("node " + id + " is already a member");
      insert_sorted(next.voters, id);
      if (!change.address.empty()) next.addresses[id] = change.address;
      break;
    case ConfigChangeType::kRemove:
      if (!current.is_member(id)) return Status::error("node " + id + " is not a member");
      if (current.is_voter(id) && current.voters.size() == 1) {
        return Status::error("cannot remove the last voter " + id);
      }
      erase(next.voters, id);
      erase(next.learners, id);
      next.addresses.erase(id);
      break;
    default:
      return Status::error("unknown configuration change");
  }
  if (next.members().size() > kMaxMembers) return Status::error("too many members");
  return next;
}

std::string encode_configuration(const Configuration& config) {
  codec::ByteWriter w;
  w.u8(kConfigurationVersion);
  w.u32(static_cast<uint32_t>(config.voters.size()));
  for (const NodeId& id : config.voters)
    w.bytes(id);
  w.u32(static_cast<uint32_t>(config.learners.size()));
  for (const NodeId& id : config.learners)
    w.bytes(id);
  w.u32(static_cast<uint32_t>(config.addresses.size()));
  for (const auto& [id, address] : config.addresses) {
    w.bytes(id);
    w.bytes(address);
  }
  return std::move(w).take();
}

Result<Configuration> decode_configuration(std::string_view bytes) {
  codec::ByteReader r(bytes);
  const uint8_t version = r.u8();
  if (!r.ok() ||
      (version != kConfigurationVersion && version != kConfigurationVersionWithoutAddresses)) {
    return Status::error("configuration: unknown version or empty input");
  }
  Configuration config;
  for (std::vector<NodeId>* list : {&config.voters, &config.learners}) {
    uint32_t n = r.u32();
    if (!r.ok() || n > kMaxMembers) return Status::error("configuration: bad member count");
    for (uint32_t i = 0; i < n && r.ok(); ++i)
      list->push_back(r.bytes(kMaxNodeIdLength));
  }
  if (version == kConfigurationVersion) {
    uint32_t n = r.u32();
    if (!r.ok() || n > kMaxMembers) return Status::error("configuration: bad address count");
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      NodeId id = r.bytes(kMaxNodeIdLength);
      std::string address = r.bytes(kMaxPeerAddressLength);
      if (r.ok() && !config.addresses.emplace(std::move(id), std::move(address)).second) {
        return Status::error("configuration: an address recorded twice");
      }
    }
  }
  if (!r.done()) return Status::error("configuration: truncated or trailing bytes");
  if (Status s = config.validate(); !s) return Status::error("configuration: " + s.message());
  return config;
}

std::string join_ids(const std::vector<NodeId>& ids) {
  std::string out;
  for (const NodeId& id : ids)
    out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace ringleader::membership::raft
