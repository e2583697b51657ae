// The admin API's view of a static-mode proxy (membership.mode = "static"): the ring comes
// from the config file and changes only with SIGHUP, so membership mutations answer 409.
#include <nlohmann/json.hpp>

#include "ring/hash.h"
#include "server_impl.h"

namespace ringleader::proxy {
namespace {

nlohmann::json backend_json(const ring::Ring& r, ring::BackendIndex i, double share, bool ejected) {
  const ring::Backend& b = r.backend(i);
  return {{"name", b.name},
          {"address", b.address},
          {"weight", b.weight},
          {"zone", b.zone},
          {"state", std::string(ring::to_string(b.state))},
          {"ejected", ejected},
          {"share", share}};
}

}  // namespace

admin::AdminReply Server::health() {
  return {200, {{"status", "ok"}}};
}

admin::AdminReply Server::readiness() {
  ring::RingSnapshot r = rings_.current();
  for (const ring::Backend& b : r->backends()) {
    if (b.state != ring::BackendState::kDown) {
      return {200, {{"ready", true}, {"epoch", r->epoch()}}};
    }
  }
  return {503,
          {{"ready", false},
           {"epoch", r->epoch()},
           {"error", "no backend can take requests: every backend is down or ejected"}}};
}

void Server::ring(bool /*consistent: static mode has no replicas to be stale against*/,
                  Reply reply) {
  ring::RingSnapshot r = rings_.current();
  std::vector<std::string> ejected = rings_.ejected();
  std::vector<double> shares = r->primary_shares();
  nlohmann::json backends = nlohmann::json::array();
  for (ring::BackendIndex i = 0; i < r->backends().size(); ++i) {
    bool is_ejected =
        std::find(ejected.begin(), ejected.end(), r->backend(i).name) != ejected.end();
    backends.push_back(backend_json(*r, i, shares[i], is_ejected));
  }
  const ring::RingParams& p = r->params();
  reply({200,
         {{"epoch", r->epoch()},
          {"algorithm", std::string(ring::to_string(p.algorithm))},
          {"hash", std::string(ring::to_string(p.hash))},
          {"vnodes", p.vnodes},
          {"replicas", p.replicas},
          {"hash_tag", p.hash_tag},
          {"balance_factor", p.balance_factor},
          {"mode", "static"},
          {"backends", backends}}});
}

admin::AdminReply Server::lookup(std::string_view key) {
  ring::RingSnapshot r = rings_.current();
  uint64_t h = r->hash(key);
  nlohmann::json replicas = nlohmann::json::array();
  for (ring::BackendIndex b : r->replicas(h))
    replicas.push_back(r->backend(b).name);
  // Keys may be binary: the JSON string holds them with invalid UTF-8 replaced.
  nlohmann::json body = {
      {"key", std::string(key)}, {"hash", h}, {"epoch", r->epoch()}, {"replicas", replicas}};
  return {200, body};
}

admin::AdminReply Server::cluster() {
  return {200,
          {{"node_id", config_.membership.node_id},
           {"role", "static"},
           {"term", 0},
           {"leader", nullptr},
           {"commit_index", 0},
           {"applied_index", 0},
           {"epoch", rings_.current()->epoch()},
           {"peers", nlohmann::json::array()}}};
}

admin::AdminReply Server::static_membership_refusal() const {
  return {409,
          {{"error", "membership.mode is \"static\": the [[backends]] of " + config_.source +
                         " are the ring. Edit the file and send SIGHUP to reload it, or run the "
                         "instances in raft mode to change membership through this API."}}};
}

void Server::add_backend(const nlohmann::json&, Reply reply) {
  reply(static_membership_refusal());
}
void Server::remove_backend(const std::string&, Reply reply) {
  reply(static_membership_refusal());
}
void Server::update_backend(const std::string&, const nlohmann::json&, Reply reply) {
  reply(static_membership_refusal());
}
void Server::drain_backend(const std::string&, Reply reply) {
  reply(static_membership_refusal());
}
void Server::add_peer(const nlohmann::json&, Reply reply) {
  reply(static_membership_refusal());
}
void Server::remove_peer(const std::string&, Reply reply) {
  reply(static_membership_refusal());
}

}  // namespace ringleader::proxy
