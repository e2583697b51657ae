// AdminServer: the admin HTTP/1.1 port (ARCHITECTURE.md "Admin HTTP API") on the control loop.
//
// Accepts connections on `admin.listen`, parses requests (HttpRequestParser), routes them to
// the AdminService (AdminRouter) and writes the answers (AdminConnection). A bad or slow client
// only ever loses its own connection.
//
// Lifetime: the handles live in an internal object that frees itself in its last libuv close
// callback, so the AdminServer may be destroyed at any point on the loop thread; the loop must
// run afterwards for the memory to be released. Replies the service delivers after that are
// dropped safely. The AdminService must outlive the AdminServer.
//
// Threading: start(), close() and the destructor on the loop's thread (or before the loop runs).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "admin/admin_connection.h"
#include "admin/admin_service.h"
#include "common/result.h"
#include "config/config.h"

namespace ringleader::proxy::admin {

class AdminListener;

class AdminServer {
 public:
  // Binds and listens on `config.listen` ("HOST:PORT"; port 0 picks a free port) on `loop`.
  // Fails, with a message naming the address, when the address is malformed or cannot be
  // bound, and when it is not a loopback address (127.0.0.0/8, ::1) while `config.token` is
  // empty. The caller does not start an admin server when `config.listen` is empty.
  static Result<std::unique_ptr<AdminServer>> start(uv_loop_t* loop,
                                                    const config::AdminConfig& config,
                                                    AdminService& service,
                                                    AdminServerLimits limits = {});

  ~AdminServer();  // close()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Stops accepting and closes every connection; answers still pending are dropped.
  // Idempotent.
  void close();

  // The bound address, e.g. "127.0.0.1:9180" or "[::1]:9180" (the real port when 0 was asked).
  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }
  // Connections accepted and not yet fully closed (0 after close()).
  size_t open_connections() const;
  // Open connections that hold no part of a request and no answer: those a newcomer may
  // displace when the server is full.
  size_t idle_connections() const;
  // Replaces the token mutations need (a reloaded admin.token), under the rule start()
  // applies: an empty token only on a loopback address. Fails, changing nothing, otherwise.
  Status set_token(std::string token);

 private:
  AdminServer(AdminListener* listener, std::string address, uint16_t port);

  AdminListener* listener_;  // owned until close(); then it frees itself
  std::string address_;
  uint16_t port_;
};

// Whether `address` is a loopback address: 127.0.0.0/8, ::1, or IPv4-mapped 127.0.0.0/8.
bool is_loopback(const sockaddr_storage& address);

}  // namespace ringleader::proxy::admin
