// The admin API's view of the proxy. Static mode (membership.mode = "static"): the ring comes
// from the config file and changes only with SIGHUP, so membership mutations answer 409.
// Raft mode: mutations are proposals to the membership group, answered once applied here.
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "ring/hash.h"
#include "server_impl.h"

namespace ringleader::proxy {
namespace {

using nlohmann::json;
namespace state = membership::state;

admin::AdminReply error_reply(int status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

admin::AdminReply no_ring_yet() {
  return error_reply(503,
                     "no ring yet: this instance has not applied the membership (see /cluster)");
}

// A backend name as the config accepts it.
bool valid_backend_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
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
  const ring::RingParams& p = r ? r->params() : config_.ring;
  return {{"epoch", r ? r->epoch() : 0},
          {"algorithm", std::string(ring::to_string(p.algorithm))},
          {"hash", std::string(ring::to_string(p.hash))},
          {"vnodes", p.vnodes},
          {"replicas", p.replicas},
          {"hash_tag", p.hash_tag},
          {"balance_factor", p.balance_factor},
          {"mode", raft_mode() ? "raft" : "static"},
          {"backends", backends}};
}

admin::AdminReply Server::health() {
  return {200, {{"status", "ok"}}};
}

admin::AdminReply Server::readiness() {
  ring::RingSnapshot r = rings_.current();
  if (!r) return no_ring_yet();
  uint64_t epoch = r->epoch();
  if (membership_) {
    membership::service::ServiceStatus st = membership_->status();
    if (st.stale) {
      return {503,
              {{"ready", false},
               {"stale", true},
               {"epoch", epoch},
               {"error",
                "stale: no leader heard from for more than two election timeouts; "
                "routing with the last ring (epoch " +
                    std::to_string(epoch) + ")"}}};
    }
  }
  for (const ring::Backend& b : r->backends()) {
    if (b.state != ring::BackendState::kDown) return {200, {{"ready", true}, {"epoch", epoch}}};
  }
  return {503,
          {{"ready", false},
           {"epoch", epoch},
           {"error", "no backend can take requests: every backend is down or ejected"}}};
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
  // Keys may be binary: the JSON string holds them with invalid UTF-8 replaced.
  return {200,
          {{"key", std::string(key)}, {"hash", h}, {"epoch", r->epoch()}, {"replicas", replicas}}};
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
             {"peers", json::array()}}};
  }
  membership::service::ServiceStatus st = membership_->status();
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
           {"elections", st.elections},
           {"listen", st.listen_address},
           {"peers", peers}}};
}

admin::AdminReply Server::static_membership_refusal() const {
  return error_reply(409, "membership.mode is \"static\": the [[backends]] of " + config_.source +
                              " are the ring. Edit the file and send SIGHUP to reload it, or run "
                              "the instances in raft mode to change membership through this API.");
}

void Server::answer_applied(Result<uint64_t> applied, nlohmann::json echo, Reply reply) {
  if (!applied) {
    const std::string& why = applied.error();
    // Conflicts with the state (unknown or duplicate names, last backend...) are the
    // caller's to fix: 409. Everything else (no leader, timeout, shutting down) is 503.
    bool conflict = why.find("leader") == std::string::npos &&
                    why.find("timed out") == std::string::npos &&
                    why.find("timeout") == std::string::npos &&
                    why.find("stopp") == std::string::npos && why.find("shut") == std::string::npos;
    reply(error_reply(conflict ? 409 : 503, why));
    return;
  }
  echo["epoch"] = applied.value();
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
  if (!read_text(body, "name", &b.name, &why) || !read_text(body, "address", &b.address, &why) ||
      !read_text(body, "zone", &b.zone, &why) ||
      !read_uint(body, "weight", ring::kMaxWeight, &b.weight, &why)) {
    return reply(error_reply(400, why));
  }
  if (!valid_backend_name(b.name)) {
    return reply(error_reply(400, "\"name\" must be 1..128 characters of [A-Za-z0-9._:-]"));
  }
  if (!config::parse_host_port(b.address, nullptr, nullptr)) {
    return reply(error_reply(400, "\"address\" must be host:port, e.g. \"127.0.0.1:6379\""));
  }
  json echo = {{"backend",
                {{"name", b.name},
                 {"address", b.address},
                 {"weight", b.weight},
                 {"zone", b.zone},
                 {"state", "active"}}}};
  propose(state::AddBackend{b}, echo, reply);
}

void Server::remove_backend(const std::string& name, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  propose(state::RemoveBackend{name}, {{"removed", name}}, reply);
}

void Server::update_backend(const std::string& name, const nlohmann::json& body, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  if (!body.is_object()) return reply(error_reply(400, "expected a JSON object"));
  for (const auto& [key, value] : body.items()) {
    if (key != "weight" && key != "zone") {
      return reply(error_reply(400,
                               "PATCH /backends/NAME changes \"weight\" and \"zone\"; "
                               "unknown field \"" +
                                   key + "\""));
    }
  }
  std::string why;
  uint32_t weight = 0;
  std::string zone;
  if (!read_uint(body, "weight", ring::kMaxWeight, &weight, &why) ||
      !read_text(body, "zone", &zone, &why)) {
    return reply(error_reply(400, why));
  }
  bool has_weight = body.contains("weight"), has_zone = body.contains("zone");
  if (!has_weight && !has_zone) return reply(error_reply(400, "nothing to change"));
  if (has_weight && has_zone) {
    // Two proposals in order; the answer carries the epoch of the second.
    membership_->propose(state::SetWeight{name, weight},
                         [this, name, zone, reply](Result<uint64_t> first) {
                           post([this, name, zone, reply, first] {
                             if (!first) return answer_applied(first, {}, reply);
                             propose(state::SetZone{name, zone}, {{"backend", name}}, reply);
                           });
                         });
    return;
  }
  if (has_weight) return propose(state::SetWeight{name, weight}, {{"backend", name}}, reply);
  propose(state::SetZone{name, zone}, {{"backend", name}}, reply);
}

void Server::drain_backend(const std::string& name, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  propose(state::DrainBackend{name}, {{"draining", name}}, reply);
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
  auto done = [this, reply, id](Result<uint64_t> applied) {
    post([this, reply, id, applied] { answer_applied(applied, {{"peer", id}}, reply); });
  };
  if (body.contains("promote")) {
    if (!body.at("promote").is_boolean() || !body.at("promote").get<bool>()) {
      return reply(error_reply(400, "\"promote\" must be true"));
    }
    membership_->promote_peer(id, done);
    return;
  }
  std::string address;
  std::string why;
  if (!read_text(body, "address", &address, &why)) return reply(error_reply(400, why));
  if (!config::parse_host_port(address, nullptr, nullptr)) {
    return reply(error_reply(400, "\"address\" must be the peer's membership host:port"));
  }
  membership_->add_peer(id, address, done);
}

void Server::remove_peer(const std::string& id, Reply reply) {
  if (!membership_) return reply(static_membership_refusal());
  membership_->remove_peer(id, [this, reply, id](Result<uint64_t> applied) {
    post([this, reply, id, applied] { answer_applied(applied, {{"removed", id}}, reply); });
  });
}

}  // namespace ringleader::proxy
