// A scripted AdminService for router and server tests: records every call and answers with
// canned replies, or holds mutation replies until the test releases them.
#pragma once

#include <string>
#include <vector>

#include "admin/admin_service.h"

namespace ringleader::proxy::admin::testing {

class FakeAdminService : public AdminService {
 public:
  // "ring consistent=1", "lookup a b", "add_backend {...}", "remove_backend NAME", ...
  std::vector<std::string> calls;
  // When set, ring() and the mutations keep their Reply in `held` instead of answering.
  bool hold_replies = false;
  std::vector<Reply> held;
  // What mutations answer when not held.
  AdminReply mutation_reply{200, {{"epoch", 7}}};
  bool throw_in_cluster = false;
  std::string metrics = "# TYPE ringleader_up gauge\nringleader_up 1\n";

  std::string metrics_text() override {
    calls.push_back("metrics");
    return metrics;
  }
  AdminReply health() override {
    calls.push_back("health");
    return {200, {{"status", "ok"}}};
  }
  AdminReply readiness() override {
    calls.push_back("readiness");
    return {503, {{"ready", false}, {"error", "no backend can take requests"}}};
  }
  void ring(bool consistent, Reply reply) override {
    calls.push_back(std::string("ring consistent=") + (consistent ? "1" : "0"));
    answer({200,
            {{"epoch", 3},
             {"algorithm", "vnode"},
             {"replicas", 1},
             {"backends", nlohmann::json::array()}}},
           std::move(reply));
  }
  AdminReply lookup(std::string_view key) override {
    calls.push_back("lookup " + std::string(key));
    return {200, {{"key", std::string(key)}, {"hash", 42}, {"epoch", 3}, {"replicas", {"b1"}}}};
  }
  AdminReply cluster() override {
    calls.push_back("cluster");
    if (throw_in_cluster) throw std::runtime_error("boom");
    return {200, {{"node_id", "n1"}, {"role", "static"}}};
  }
  void add_backend(const nlohmann::json& body, Reply reply) override {
    calls.push_back("add_backend " + body.dump());
    answer(mutation_reply, std::move(reply));
  }
  void remove_backend(const std::string& name, Reply reply) override {
    calls.push_back("remove_backend " + name);
    answer(mutation_reply, std::move(reply));
  }
  void update_backend(const std::string& name, const nlohmann::json& body, Reply reply) override {
    calls.push_back("update_backend " + name + " " + body.dump());
    answer(mutation_reply, std::move(reply));
  }
  void drain_backend(const std::string& name, Reply reply) override {
    calls.push_back("drain_backend " + name);
    answer(mutation_reply, std::move(reply));
  }
  void undrain_backend(const std::string& name, Reply reply) override {
    calls.push_back("undrain_backend " + name);
    answer(mutation_reply, std::move(reply));
  }
  void update_ring(const nlohmann::json& body, Reply reply) override {
    calls.push_back("update_ring " + body.dump());
    answer(mutation_reply, std::move(reply));
  }
  void add_peer(const nlohmann::json& body, Reply reply) override {
    calls.push_back("add_peer " + body.dump());
    answer(mutation_reply, std::move(reply));
  }
  void remove_peer(const std::string& id, Reply reply) override {
    calls.push_back("remove_peer " + id);
    answer(mutation_reply, std::move(reply));
  }

 private:
  void answer(const AdminReply& r, Reply reply) {
    if (hold_replies) {
      held.push_back(std::move(reply));
    } else {
      reply(r);
    }
  }
};

}  // namespace ringleader::proxy::admin::testing
