// AdminRouter: maps admin HTTP requests onto AdminService calls (ARCHITECTURE.md "Admin HTTP
// API"). It owns no sockets: the AdminServer parses requests, hands them here and writes what
// comes back, so the routing rules can be tested without a network.
//
// Rules, in the order they are applied:
//   unknown path → 404; known path, wrong method → 405 with Allow; a mutation (any method but
//   GET/HEAD) while a token is configured needs "Authorization: Bearer TOKEN" → 401;
//   malformed query or JSON body → 400; then the service answers.
// HEAD is accepted wherever GET is (the server leaves the body out).
// Every error body is {"error": "..."}.
//
// Threading: control thread only, like AdminService.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "admin/admin_service.h"
#include "admin/http_request_parser.h"
#include "admin/http_response.h"

namespace ringleader::proxy::admin {

class AdminRouter {
 public:
  using Respond = std::function<void(HttpResponse)>;
  enum class Route : int;  // the endpoints; defined in admin_router.cc

  // `service` must outlive the router and every reply it has not delivered yet is still
  // routed through `respond`. An empty `token` leaves mutations open (loopback only; the
  // server enforces that at start).
  AdminRouter(AdminService& service, std::string token);

  // Answers `request` by calling `respond` exactly once: before returning, or later on the
  // control thread when the service replies asynchronously. Extra replies from the service
  // are ignored; an exception thrown by the service becomes a 500. Never throws.
  void handle(const HttpRequest& request, Respond respond);
  // The token later mutations must carry (a reloaded admin.token).
  void set_token(std::string token) { token_ = std::move(token); }

 private:
  // Calls the service for `route`; `param` is the decoded NAME/ID path segment where the
  // route has one. May throw what the service throws; handle() catches it.
  void dispatch(Route route, const HttpRequest& request, const std::string& param,
                const Respond& respond);

  AdminService& service_;
  std::string token_;
};

// Compares two secrets in time that depends only on their lengths, not on where they differ.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace ringleader::proxy::admin
