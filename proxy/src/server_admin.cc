// The admin API's view of the proxy. Static mode (membership.mode = "static"): the ring comes
// from the config file and changes only with SIGHUP, so membership mutations answer 409.
// Raft mode: mutations are proposals to the membership group, answered once applied here.

#include <algorithm>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/text.h"
#include "membership/state/command_codec.h"
#include "ring/hash.h"
#include "server_impl.h"

namespace ringleader::proxy {
namespace {

using nlohmann::json;
namespace state = membership::state;

// config::is_valid_backend_name, in words.
constexpr std::string_view kBackendNameRule = "1..128 characters of [A-Za-z0-9._:-]";

admin::AdminReply error_reply(int status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

admin::AdminReply no_ring_yet() {
  return error_reply(503,
                     "no ring yet: this instance has not applied the membership (see /cluster)");
}

// Fails (with *why) when `body` has a field not in `known`; `what` names the request.
bool only_fields(const json& body, std::initializer_list<const char*> known, const char* what,
                 std::string* why) {
  for (const auto& [key, value] : body.items()) {
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) ==
        known.end()) {
      std::string list;
      for (const char* k : known)
        list += std::string(list.empty() ? "" : ", ") + "\"" + k + "\"";
      *why = std::string(what) + " takes " + list + "; unknown field \"" + key + "\"";
      return false;
    }
  }
  return true;
}

// Reads an optional unsigned field; false (with *why) when present but not 1..max.
bool read_uint(const json& body, const char* key, uint32_t max, uint32_t* out, std::string* why) {
  if (!body.contains(key)) return true;
  const json& v = body.at(key);
  if (!v.is_number_unsigned() || v.get<uint64_t>() < 1 || v.get<uint64_t>() > max) {
    *why = std::string("\"") + key + "\" must be an integer between 1 and " + std::to_string(max);
    return false;
  }
  *out = static_cast<uint32_t>(v.get<uint64_t>());
  return true;
}

bool read_text(const json& body, const char* key, std::string* out, std::string* why) {
  if (!body.contains(key)) return true;
  if (!body.at(key).is_string()) {
    *why = std::string("\"") + key + "\" must be a string";
    return false;
  }
  *out = body.at(key).get<std::string>();
  return true;
}

// Reads an optional string field naming one of a set of values (`parse` knows their names);
// false (with *why) when present but not a string or not a name `parse` accepts.
template <typename T, typename Parse>
bool read_named(const json& body, const char* key, Parse parse, T* out, std::string* why) {
  std::string text;
  if (!body.contains(key)) return true;
  if (!read_text(body, key, &text, why)) return false;
  std::optional<T> value = parse(text);
  if (!value) {
    *why = std::string("\"") + key + "\": unknown value \"" + text + "\"";
    return false;
  }
  *out = *value;
  return true;
}

// A zone as the membership stores it (see state::validate_zone).
bool read_zone(const json& body, std::string* out, std::string* why) {
  if (!read_text(body, "zone", out, why)) return false;
  if (Status s = state::validate_zone(*out); !s) {
    *why = "\"zone\": " + s.message();
    return false;
  }
  return true;
}

// A backend state named in a PATCH, as the command that puts a backend in it.
json params_json(const ring::RingParams& p) {
  return {{"algorithm", std::string(ring::to_string(p.algorithm))},
          {"hash", std::string(ring::to_string(p.hash))},
          {"vnodes", p.vnodes},
          {"replicas", p.replicas},
          {"hash_tag", p.hash_tag},
          {"balance_factor", p.balance_factor},
          {"maglev_table_size", p.maglev_table_size}};
}

// Applies the fields of a PATCH /ring body to `p`; false (with *why) on a bad field. Whether
// the result is a valid combination is for state::validate_ring_params.
bool patch_params(const json& body, ring::RingParams* p, std::string* why) {
  if (!only_fields(body,
                   {"algorithm", "hash", "vnodes", "replicas", "hash_tag", "balance_factor",
                    "maglev_table_size"},
                   "PATCH /ring", why)) {
    return false;
  }
  if (!read_named(body, "algorithm", ring::parse_algorithm, &p->algorithm, why) ||
      !read_named(body, "hash", ring::parse_hash_kind, &p->hash, why)) {
    return false;
  }
  if (!read_uint(body, "vnodes", ring::kMaxVnodes, &p->vnodes, why) ||
      !read_uint(body, "replicas", ring::kMaxReplicas, &p->replicas, why) ||
      !read_text(body, "hash_tag", &p->hash_tag, why)) {
    return false;
  }
  // As ring.hash_tag in a config file (the state machine, which earlier logs replay through,
  // only insists on two characters).
  if (body.contains("hash_tag") && !ring::is_valid_hash_tag(p->hash_tag)) {
    *why =
        "\"hash_tag\" must be two printable ASCII characters such as \"{}\" or \"$$\", or \"\" "
        "to disable hash tags";
    return false;
  }
  if (body.contains("balance_factor")) {
    const json& v = body.at("balance_factor");
    if (!v.is_number() || !ring::is_valid_balance_factor(v.get<double>())) {
      *why = "\"balance_factor\" must be a number: 0 (off) or in [1, 1e6]";
      return false;
    }
    p->balance_factor = v.get<double>();
  }
  if (body.contains("maglev_table_size")) {
    const json& v = body.at("maglev_table_size");
    if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
      *why = "\"maglev_table_size\" must be 0 (automatic) or a prime";
      return false;
    }
    // As ring.maglev_table_size in a config file (the state machine takes any prime).
    const auto size = static_cast<uint32_t>(v.get<uint64_t>());
    if (std::string problem = ring::maglev_table_size_problem(size); !problem.empty()) {
      *why = "\"maglev_table_size\": " + problem;
      return false;
    }
    p->maglev_table_size = size;
  }
  return true;
}

}  // namespace

nlohmann::json Server::ring_json(const ring::RingSnapshot& r) {
  std::vector<std::string> ejected = rings_.ejected();
  json backends = json::array();
  if (r) {
    std::vector<double> shares = r->primary_shares();
    for (ring::BackendIndex i = 0; i < r->backends().size(); ++i) {
      const ring::Backend& b = r->backend(i);
      backends.push_back(
          {{"name", b.name},
           {"address", b.address},
           {"weight", b.weight},
           {"zone", b.zone},
           {"state", std::string(ring::to_string(b.state))},
           {"ejected", std::find(ejected.begin(), ejected.end(), b.name) != ejected.end()},
           {"share", shares[i]}});
    }
  }
  json body = params_json(r ? r->params() : config_.ring);
  body["epoch"] = r ? r->epoch() : 0;
  body["mode"] = raft_mode() ? "raft" : "static";
  body["backends"] = backends;
  return body;
}

admin::AdminReply Server::health() {
  return {200, {{"status", "ok"}}};
}

namespace {
// /readyz's 503 for a membership reason: `reason` is true in the body, `error` says why and
// that the instance routes with its last ring (epoch `epoch`).
admin::AdminReply not_ready(const char* reason, uint64_t epoch, const std::string& error) {
  return {503, {{"ready", false}, {reason, true}, {"epoch", epoch}, {"error", error}}};
}
}  // namespace

admin::AdminReply Server::readiness() {
  ring::RingSnapshot r = rings_.current();
  if (!r) return no_ring_yet();
  uint64_t epoch = r->epoch();
  if (membership_) {
    membership::service::ServiceStatus st = membership_->status();
    const std::string last_ring = "routes with its last ring (epoch " + std::to_string(epoch) + ")";
    if (st.removed) {
      return not_ready("removed", epoch,
                       "removed from the membership group at log index " +
                           std::to_string(st.removed_at) +
                           ": this instance gets no more membership changes and " + last_ring +
                           "; stop it, or add it back as a peer");
    }
    if (st.diverged) {
      return not_ready("diverged", epoch,
                       "diverged: a leader's log disagrees with entries committed here, so this "
                       "instance takes no further part in the membership group and " +
                           last_ring +
                           "; stop it, wipe its data_dir and add it back under a new id");
    }
    if (st.unresponsive) {
      return not_ready("stale", epoch,
                       "stale: the membership thread has not reported for " +
                           std::to_string(st.unresponsive_ms) +
                           " ms (a stalled disk or a long ring build), so what it last heard "
                           "of the leader is that old; it " +
                           last_ring);
    }
    if (st.stale) {
      return not_ready(
          "stale", epoch,
          "stale: no leader heard from for more than two election timeouts; it " + last_ring);
    }
    if (!st.caught_up) {
      std::string why = !st.heard_leader
                            ? "no leader heard from since this instance started"
                            : "applied index " + std::to_string(st.applied_index) +
                                  ", waiting for the leader to confirm its commit index (last "
                                  "announced " +
                                  std::to_string(st.leader_commit) + ")";
      return not_ready("catching_up", epoch, "catching up: " + why + "; it " + last_ring);
    }
  }
  for (const ring::Backend& b : r->backends()) {
    const bool unreachable = counters_.backends && counters_.backends->unreachable(b.name);
    if (b.state != ring::BackendState::kDown && !unreachable) {
      return {200, {{"ready", true}, {"epoch", epoch}}};
    }
  }
  return {503,
          {{"ready", false},
           {"epoch", epoch},
           {"error",
            "no backend can take requests: every backend is down, ejected, or failed its last "
            "connection attempt"}}};
}

void Server::ring(bool consistent, Reply reply) {
  if (!consistent || !membership_) {
    reply({200, ring_json(rings_.current())});
    return;
  }
  // Linearizable: wait until this instance has applied everything committed before now.
  membership_->read_barrier([this, reply](Result<uint64_t> index) {
    post([this, reply, index] {
      if (!index) {
        reply(error_reply(503, "consistent read failed: " + index.error()));
        return;
      }
      json body = ring_json(rings_.current());
      body["read_index"] = index.value();
      reply({200, body});
    });
  });
}

admin::AdminReply Server::lookup(std::string_view key) {
  ring::RingSnapshot r = rings_.current();
  if (!r) return no_ring_yet();
  uint64_t h = r->hash(key);
  json replicas = json::array();
  for (ring::BackendIndex b : r->replicas(h))
    replicas.push_back(r->backend(b).name);
  // Keys may be binary: the JSON string holds them with invalid UTF-8 replaced. The hash is
  // also given as a decimal string: JSON readers whose numbers are doubles (jq, JavaScript)
  // round it above 2^53.
  return {200,
          {{"key", std::string(key)},
           {"hash", h},
           {"hash_str", std::to_string(h)},
           {"epoch", r->epoch()},
           {"replicas", replicas}}};
}

admin::AdminReply Server::cluster() {
  ring::RingSnapshot r = rings_.current();
  if (!membership_) {
    return {200,
            {{"node_id", config_.membership.node_id},
             {"role", "static"},
             {"term", 0},
             {"leader", nullptr},
             {"commit_index", 0},
             {"applied_index", 0},
             {"epoch", r ? r->epoch() : 0},
             {"stale", false},
             // The fields raft mode has, with what they mean without a group: readers of
             // either kind of instance find them all.
             {"caught_up", true},
             {"removed", false},
             {"diverged", false},
             {"elections", 0},
             {"listen", nullptr},
             {"founders", json::array()},
             {"foreign_peers", json::array()},
             {"peers", json::array()}}};
  }
  membership::service::ServiceStatus st = membership_->status();
  json foreign = json::array();
  for (const auto& [id, founders] : st.foreign_peers)
    foreign.push_back({{"id", id}, {"founders", founders}});
  json peers = json::array();
  for (const auto& p : st.peers) {
    json peer = {{"id", p.id},
                 {"address", p.address},
                 {"suffrage", p.suffrage},
                 {"match_index", p.match_index},
                 {"connected", p.connected}};
    peer["last_contact_ms"] = p.last_contact_ms ? json(*p.last_contact_ms) : json(nullptr);
    peers.push_back(peer);
  }
  return {200,
          {{"node_id", st.node_id},
           {"role", st.role},
           {"term", st.term},
           {"leader", st.leader.empty() ? json(nullptr) : json(st.leader)},
           {"commit_index", st.commit_index},
           {"applied_index", st.applied_index},
           {"epoch", r ? r->epoch() : 0},
           {"stale", st.stale},
           {"caught_up", st.caught_up},
           {"removed", st.removed},
           {"diverged", st.diverged},
           {"elections", st.elections},
           {"listen", st.listen_address},
           {"founders", st.founders},
           {"foreign_peers", foreign},
           {"peers", peers}}};
}

admin::AdminReply Server::static_membership_refusal() const {
  return error_reply(409, "membership.mode is \"static\": the [[backends]] of " + config_.source +
                              " are the ring. Edit the file and send SIGHUP to reload it, or run "
                              "the instances in raft mode to change membership through this API.");
}

void Server::answer_applied(Result<uint64_t> applied, nlohmann::json echo, Reply reply,
                            const char* index_key) {
  if (!applied) {
    // A refusal by the state (unknown or duplicate names, the last backend...) is the caller's
    // to fix: 409. Everything else (no leader, a timeout, shutting down) may pass later: 503.
    reply(error_reply(applied.status().is_refused() ? 409 : 503, applied.error()));
    return;
  }
  echo[index_key] = applied.value();
  reply({200, echo});
}

void Server::propose(state::Command command, nlohmann::json echo, Reply reply) {
  membership_->propose(std::move(command), [this, echo, reply](Result<uint64_t> applied) {
    post([this, applied, echo, reply] { answer_applied(applied, echo, reply); });
  });
}

void Server::add_backend(const nlohmann::json& body, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (!body.is_object()) return reply(error_reply(400, "expected a JSON object"));
  ring::Backend b;
  std::string why;
  if (!only_fields(body, {"name", "address", "weight", "zone"}, "POST /backends", &why) ||
      !read_text(body, "name", &b.name, &why) || !read_text(body, "address", &b.address, &why) ||
      !read_zone(body, &b.zone, &why) ||
      !read_uint(body, "weight", ring::kMaxWeight, &b.weight, &why)) {
    return reply(error_reply(400, why));
  }
  if (!config::is_valid_backend_name(b.name)) {
    return reply(error_reply(400, "\"name\" must be " + std::string(kBackendNameRule)));
  }
  if (!config::is_backend_address(b.address)) {
    return reply(error_reply(400,
                             "\"address\" must be host:port, e.g. \"127.0.0.1:6379\", or a Unix "
                             "socket, e.g. \"unix:/run/redis/redis.sock\" (an absolute path of at "
                             "most 107 bytes)"));
  }
  if (b.address.size() > state::kMaxFieldLength) {
    return reply(error_reply(
        400, "\"address\" is longer than " + std::to_string(state::kMaxFieldLength) + " bytes"));
  }
  // The membership compares addresses as text; localhost and 127.0.0.1 are one server too
  // (with replicas, a key's copies would land on it twice).
  if (ring::RingSnapshot r = rings_.current()) {
    const std::string same = config::canonical_address(b.address);
    for (const ring::Backend& other : r->backends()) {
      if (other.address != b.address && config::canonical_address(other.address) == same) {
        return reply(error_reply(409, "address " + b.address + " is the server of backend \"" +
                                          other.name + "\" (" + other.address + ")"));
      }
    }
  }
  // As a config file refuses it (other instances' addresses are known only to them: each logs
  // an error if it finds itself in the ring).
  if (const std::string reached = config::own_listener_reached(config_, b.address);
      !reached.empty()) {
    return reply(error_reply(
        409, "address " + b.address + " is " + config::own_listener_owner(reached) +
                 (reached == "proxy.listen" ? ": requests for its keys would loop through the proxy"
                                            : ", which does not answer a backend's protocol")));
  }
  json echo = {{"backend",
                {{"name", b.name},
                 {"address", b.address},
                 {"weight", b.weight},
                 {"zone", b.zone},
                 {"state", "active"}}}};
  membership_->propose(state::AddBackend{b}, [this, b, echo, reply](Result<uint64_t> applied) {
    post([this, b, applied, echo, reply] {
      if (applied || !applied.status().is_refused()) return answer_applied(applied, echo, reply);
      answer_existing_backend(b, applied.error(), echo, reply);
    });
  });
}

void Server::answer_existing_backend(const ring::Backend& asked, const std::string& refusal,
                                     nlohmann::json echo, Reply reply) {
  // Asking again for an add whose answer was lost (a 503 "may still be applied", a dropped
  // connection) finds the backend there. When it is the very backend asked for, that is the
  // outcome asked for: 200 with "unchanged". Anything else keeps the refusal; a check that
  // cannot be made (no quorum for the read barrier) is a 503 to ask again.
  membership_->read_barrier([this, asked, refusal, echo, reply](Result<uint64_t> index) {
    post([this, asked, refusal, echo, reply, index] {
      ring::RingSnapshot r = rings_.current();
      std::optional<ring::BackendIndex> i = r ? r->find(asked.name) : std::nullopt;
      const bool same_here = i && r->backend(*i).address == asked.address &&
                             r->backend(*i).weight == asked.weight &&
                             r->backend(*i).zone == asked.zone;
      // A removed instance gets no later word: its refusal is final.
      if (membership_->status().removed) return reply(error_reply(409, refusal));
      if (!index) {
        // Without the barrier this instance's ring may lag the leader's, which refused the
        // add: whether the backend there is the one asked for is neither confirmed nor
        // denied. Nothing changed, and asking again is what will tell.
        return reply(error_reply(503, refusal +
                                          "; whether it is the backend asked for could "
                                          "not be checked (" +
                                          index.error() + "): retry"));
      }
      if (!same_here) return reply(error_reply(409, refusal));
      const ring::Backend& have = r->backend(*i);
      nlohmann::json same = echo;
      same["backend"]["state"] = std::string(ring::to_string(have.state));
      same["epoch"] = r->epoch();
      same["unchanged"] = true;
      reply({200, same});
    });
  });
}

// A backend named in the path that no backend could be named (too long, or with characters
// outside the name alphabet): refused as a bad request before anything is proposed.
namespace {
std::optional<admin::AdminReply> bad_backend_name(const std::string& name) {
  if (config::is_valid_backend_name(name)) return std::nullopt;
  return error_reply(400, "no backend can be named \"" + printable(name, 64) + "\": names are " +
                              std::string(kBackendNameRule));
}
}  // namespace

void Server::remove_backend(const std::string& name, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (auto bad = bad_backend_name(name)) return reply(std::move(*bad));
  propose(state::RemoveBackend{name}, {{"removed", name}}, reply);
}

void Server::update_backend(const std::string& name, const nlohmann::json& body, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (auto bad = bad_backend_name(name)) return reply(std::move(*bad));
  if (!body.is_object()) return reply(error_reply(400, "expected a JSON object"));
  std::string why;
  uint32_t weight = 0;
  std::string zone, state_name;
  if (!only_fields(body, {"weight", "zone", "state"}, "PATCH /backends/NAME", &why) ||
      !read_uint(body, "weight", ring::kMaxWeight, &weight, &why) ||
      !read_zone(body, &zone, &why) || !read_text(body, "state", &state_name, &why)) {
    return reply(error_reply(400, why));
  }
  std::optional<ring::BackendState> state;
  if (body.contains("state")) {
    state = ring::parse_backend_state(state_name);
    if (!state) {
      return reply(error_reply(
          400,
          "\"state\" must be \"active\", \"draining\" or \"down\", got \"" + state_name + "\""));
    }
  }
  state::UpdateBackend update{name, {}, {}, state};
  if (body.contains("weight")) update.weight = weight;
  if (body.contains("zone")) update.zone = zone;
  const int fields =
      int{update.weight.has_value()} + int{update.zone.has_value()} + int{update.state.has_value()};
  if (fields == 0) return reply(error_reply(400, "nothing to change"));
  // One field is the command of its own; several are one entry that applies whole or not at
  // all, so no instance routes with part of the change and a refusal changes nothing.
  state::Command command = update;
  if (fields == 1 && update.weight) command = state::SetWeight{name, *update.weight};
  if (fields == 1 && update.zone) command = state::SetZone{name, *update.zone};
  if (fields == 1 && update.state) command = state::state_command(name, *update.state);
  propose(std::move(command), {{"backend", name}}, reply);
}

void Server::drain_backend(const std::string& name, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (auto bad = bad_backend_name(name)) return reply(std::move(*bad));
  propose(state::DrainBackend{name}, {{"draining", name}}, reply);
}

void Server::undrain_backend(const std::string& name, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (auto bad = bad_backend_name(name)) return reply(std::move(*bad));
  propose(state::UndrainBackend{name}, {{"active", name}}, reply);
}

void Server::update_ring(const nlohmann::json& body, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (!body.is_object()) return reply(error_reply(400, "expected a JSON object"));
  if (body.empty()) return reply(error_reply(400, "nothing to change"));
  std::string why;
  ring::RingParams probe = config_.ring;
  if (!patch_params(body, &probe, &why)) return reply(error_reply(400, why));
  // The fields not in the body keep the values this instance applied after a linearizable
  // read, so a PATCH does not undo a change committed just before it. (Two concurrent PATCHes
  // of different fields can still overwrite each other: the last one applied sets them all.)
  membership_->read_barrier([this, body, reply](Result<uint64_t> index) {
    post([this, body, reply, index] {
      // A removed instance's refusal is final, as its proposals say (not a barrier to retry).
      if (const auto st = membership_->status(); st.removed) {
        return reply(error_reply(409,
                                 "this instance was removed from the group (configuration "
                                 "at index " +
                                     std::to_string(st.removed_at) +
                                     "); it takes no more changes: send them to a member"));
      }
      if (!index) return answer_applied(index, {}, reply);
      ring::RingSnapshot r = rings_.current();
      if (!r) return reply(no_ring_yet());
      ring::RingParams params = r->params();
      std::string bad;
      if (!patch_params(body, &params, &bad)) return reply(error_reply(400, bad));
      if (Status s = state::validate_ring_params(params); !s) {
        return reply(error_reply(400, s.message()));
      }
      // As in a config file; the state machine, which earlier logs replay through, lets it by.
      if ((body.contains("balance_factor") || body.contains("algorithm")) &&
          params.algorithm == ring::Algorithm::kMaglev && params.balance_factor != 0) {
        return reply(error_reply(400,
                                 "\"balance_factor\" is not supported with algorithm \"maglev\" "
                                 "(its table already spreads keys evenly): set it to 0"));
      }
      // More replicas than backends is refused by the leader, against the membership the
      // change will meet (MembershipService::admissible).
      propose(state::SetRingParams{params}, {{"ring", params_json(params)}}, reply);
    });
  });
}

void Server::add_peer(const nlohmann::json& body, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (!body.is_object() || !body.contains("id") || !body.at("id").is_string()) {
    return reply(error_reply(400,
                             "expected {\"id\": ..., \"address\": \"host:port\"} to add a "
                             "learner, or {\"id\": ..., \"promote\": true} to make a "
                             "learner a voter"));
  }
  std::string id = body.at("id").get<std::string>();
  if (!config::is_valid_node_id(id)) {
    return reply(error_reply(400,
                             "\"id\" must be 1..64 characters of [A-Za-z0-9._-], as in "
                             "membership.peers"));
  }
  // A change of Raft peers leaves the ring and its epoch as they are: it answers with the
  // index of the configuration entry.
  auto done = [this, reply, id](Result<uint64_t> applied) {
    post([this, reply, id, applied] { answer_applied(applied, {{"peer", id}}, reply, "index"); });
  };
  std::string why;
  if (body.contains("promote")) {
    if (!only_fields(body, {"id", "promote"}, "a promotion", &why)) {
      return reply(error_reply(400, why));
    }
    if (!body.at("promote").is_boolean() || !body.at("promote").get<bool>()) {
      return reply(error_reply(400, "\"promote\" must be true"));
    }
    membership_->promote_peer(id, done);
    return;
  }
  if (!only_fields(body, {"id", "address"}, "adding a peer", &why)) {
    return reply(error_reply(400, why));
  }
  std::string address;
  if (!read_text(body, "address", &address, &why)) return reply(error_reply(400, why));
  std::string host;
  if (!config::parse_host_port(address, &host, nullptr)) {
    return reply(error_reply(400, "\"address\" must be the peer's membership host:port"));
  }
  if (!config::is_numeric_host(host)) {
    return reply(error_reply(400,
                             "\"address\": the host of a peer must be a numeric IP or "
                             "localhost, not a name"));
  }
  // This instance's proxy or admin listener answers no Raft frame: the group would dial it for
  // good. (Its membership listener, and the other peers', the membership itself refuses.)
  if (const std::string reached = config::own_listener_reached(config_, address);
      reached == "proxy.listen" || reached == "admin.listen") {
    return reply(error_reply(400, "\"address\" " + address + " is " +
                                      config::own_listener_owner(reached) +
                                      ", not a membership listener"));
  }
  membership_->add_peer(id, address, done);
}

void Server::remove_peer(const std::string& id, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  // An id no peer could have (as POST /cluster/peers checks it) is a bad request, not a
  // refusal by the membership; unless a peer has it (added by a release that took any id
  // of up to 255 bytes), which must stay removable.
  const auto peers = membership_->status().peers;
  const bool known =
      std::any_of(peers.begin(), peers.end(),
                  [&](const membership::service::PeerStatus& p) { return p.id == id; });
  if (!config::is_valid_node_id(id) && !known) {
    return reply(error_reply(400, "no peer can have the id \"" + printable(id, 64) +
                                      "\": ids are 1..64 characters of [A-Za-z0-9._-], as in "
                                      "membership.peers"));
  }
  membership_->remove_peer(id, [this, reply, id](Result<uint64_t> applied) {
    post([this, reply, id, applied] {
      answer_applied(applied, {{"removed", id}}, reply, "index");
    });
  });
}

}  // namespace ringleader::proxy
