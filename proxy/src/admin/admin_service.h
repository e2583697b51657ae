// AdminService: what the admin HTTP API can see and change, implemented by the server.
// Every method is called on the control thread (the admin server runs on the control
// loop); mutation replies may be delivered later, also on the control thread (in raft mode
// a change answers once it is applied locally).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ringleader::proxy::admin {

// An HTTP status and a JSON body. Errors carry {"error": "what happened and what to do"}.
struct AdminReply {
  int status = 200;
  nlohmann::json body;
};

class AdminService {
 public:
  using Reply = std::function<void(AdminReply)>;
  virtual ~AdminService() = default;

  // GET /metrics: Prometheus text exposition (version 0.0.4).
  virtual std::string metrics_text() = 0;
  // GET /healthz: the process is up and serving its loops.
  virtual AdminReply health() = 0;
  // GET /readyz: 200 when it can route (a ring with a live backend, membership not stale),
  // else 503 saying why.
  virtual AdminReply readiness() = 0;
  // GET /ring (`consistent`: a linearizable read of the membership in raft mode).
  virtual void ring(bool consistent, Reply reply) = 0;
  // GET /ring/lookup?key=K
  virtual AdminReply lookup(std::string_view key) = 0;
  // GET /cluster
  virtual AdminReply cluster() = 0;

  // Membership mutations. Static mode answers 409 with an explanation.
  virtual void add_backend(const nlohmann::json& body, Reply reply) = 0;  // POST /backends
  virtual void remove_backend(const std::string& name, Reply reply) = 0;  // DELETE /backends/NAME
  virtual void update_backend(const std::string& name, const nlohmann::json& body,
                              Reply reply) = 0;  // PATCH /backends/NAME
  virtual void drain_backend(const std::string& name,
                             Reply reply) = 0;  // POST /backends/NAME/drain
  virtual void undrain_backend(const std::string& name,
                               Reply reply) = 0;  // POST /backends/NAME/undrain
  // PATCH /ring: the given ring parameters change, the others keep their applied values.
  virtual void update_ring(const nlohmann::json& body, Reply reply) = 0;
  virtual void add_peer(const nlohmann::json& body, Reply reply) = 0;  // POST /cluster/peers
  virtual void remove_peer(const std::string& id, Reply reply) = 0;    // DELETE /cluster/peers/ID
};

}  // namespace ringleader::proxy::admin
