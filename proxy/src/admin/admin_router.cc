#include "admin_router.h"

#include <array>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "admin/url_codec.h"

namespace ringleader::proxy::admin {

enum class AdminRouter::Route : int {
  kMetrics,
  kHealth,
  kReady,
  kRing,
  kLookup,
  kCluster,
  kBackends,
  kBackend,
  kBackendDrain,
  kBackendUndrain,
  kPeers,
  kPeer,
};

namespace {

using Route = AdminRouter::Route;

constexpr std::string_view kParam = "{}";  // a path segment that captures NAME or ID

// One endpoint: its path pattern, split into segments, and the methods it answers.
struct RouteSpec {
  Route route;
  std::array<std::string_view, 3> segments;  // unused trailing segments are empty
  std::string_view allow;                    // the Allow header for 405 answers
};

constexpr std::array<RouteSpec, 12> kRoutes{{
    {Route::kMetrics, {"metrics"}, "GET, HEAD"},
    {Route::kHealth, {"healthz"}, "GET, HEAD"},
    {Route::kReady, {"readyz"}, "GET, HEAD"},
    {Route::kRing, {"ring"}, "GET, HEAD, PATCH"},
    {Route::kLookup, {"ring", "lookup"}, "GET, HEAD"},
    {Route::kCluster, {"cluster"}, "GET, HEAD"},
    {Route::kBackends, {"backends"}, "POST"},
    {Route::kBackend, {"backends", kParam}, "DELETE, PATCH"},
    {Route::kBackendDrain, {"backends", kParam, "drain"}, "POST"},
    {Route::kBackendUndrain, {"backends", kParam, "undrain"}, "POST"},
    {Route::kPeers, {"cluster", "peers"}, "POST"},
    {Route::kPeer, {"cluster", "peers", kParam}, "DELETE"},
}};

constexpr std::string_view kEndpointList =
    "GET /metrics, /healthz, /readyz, /ring, /ring/lookup?key=K, /cluster; "
    "PATCH /ring; POST /backends; DELETE or PATCH /backends/NAME; "
    "POST /backends/NAME/drain, /backends/NAME/undrain; POST /cluster/peers; "
    "DELETE /cluster/peers/ID";

struct RouteMatch {
  const RouteSpec* spec = nullptr;
  std::string param;
};

enum class MatchOutcome { kMatched, kNoRoute, kBadEscape };

// Splits `path` ("/a/b") into raw segments; an empty path segment ("//", trailing "/") is
// kept so that it matches nothing.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);  // the parser guarantees a leading '/'
  while (true) {
    const size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

MatchOutcome match_route(std::string_view path, RouteMatch* out) {
  const std::vector<std::string_view> segments = split_path(path);
  for (const RouteSpec& spec : kRoutes) {
    size_t count = 0;
    while (count < spec.segments.size() && !spec.segments[count].empty())
      ++count;
    if (count != segments.size()) continue;
    bool matches = true;
    std::string_view raw_param;
    for (size_t i = 0; i < count && matches; ++i) {
      if (spec.segments[i] == kParam) {
        raw_param = segments[i];
        matches = !raw_param.empty();
      } else {
        matches = spec.segments[i] == segments[i];
      }
    }
    if (!matches) continue;
    auto decoded = url_decode(raw_param, PlusMeans::kPlus);
    if (!decoded) return MatchOutcome::kBadEscape;
    out->spec = &spec;
    out->param = std::move(*decoded);
    return MatchOutcome::kMatched;
  }
  return MatchOutcome::kNoRoute;
}

bool method_allowed(const RouteSpec& spec, std::string_view method) {
  std::string_view allow = spec.allow;
  while (!allow.empty()) {
    const size_t comma = allow.find(", ");
    if (allow.substr(0, comma) == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 2);
  }
  return false;
}

bool is_read(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

bool has_scheme(std::string_view value, std::string_view scheme) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i]) return false;
  }
  return true;
}

// nullopt when the request carries the right bearer token; otherwise the 401 to send.
std::optional<HttpResponse> check_token(const HttpRequest& request, const std::string& token) {
  const std::string* auth = request.header("authorization");
  std::string_view why;
  if (auth == nullptr) {
    why =
        "this request changes the cluster and needs the admin token: send "
        "\"Authorization: Bearer TOKEN\" with the value of admin.token (ringleader ctl: --token "
        "or RINGLEADER_ADMIN_TOKEN)";
  } else if (!has_scheme(*auth, "bearer")) {
    why = "the Authorization header must be \"Bearer TOKEN\" with the value of admin.token";
  } else {
    std::string_view presented(*auth);
    presented.remove_prefix(7);  // "bearer "
    while (!presented.empty() && presented.front() == ' ')
      presented.remove_prefix(1);
    if (constant_time_equals(presented, token)) return std::nullopt;
    why = "the admin token is wrong: use the value of admin.token from the server's config";
  }
  HttpResponse response = error_response(401, why);
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ringleader admin\"");
  return response;
}

constexpr int kMaxJsonDepth = 32;

// Whether arrays and objects in `text` nest deeper than kMaxJsonDepth (so that nothing that
// walks the parsed body recursively can exhaust the stack). Brackets inside strings do not
// count.
bool nests_too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Requests that carry everything in their path take no body: an empty one, or {}. Anything
// else is refused rather than ignored, so a field the caller meant to set is not lost.
bool takes_no_body(const HttpRequest& request, HttpResponse* error) {
  const std::string_view body = request.body;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return true;
  const size_t last = body.find_last_not_of(" \t\r\n");
  std::string_view inner = body.substr(first, last - first + 1);
  if (inner.size() >= 2 && inner.front() == '{' && inner.back() == '}' &&
      inner.substr(1, inner.size() - 2).find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return true;
  }
  *error = error_response(400, request.method + " " + request.path +
                                   " takes no body (everything is in the path), or {}");
  return false;
}

// The request body as a JSON object, or the 400 to send. `example` shows a valid body.
std::optional<nlohmann::json> parse_object_body(const HttpRequest& request,
                                                std::string_view example, HttpResponse* error) {
  if (request.body.empty()) {
    *error =
        error_response(400, "this request needs a JSON object body, e.g. " + std::string(example));
    return std::nullopt;
  }
  // JSON text holds no NUL byte (strings escape it); the parser would stop at one and take
  // what follows for the end of the body.
  if (const size_t nul = request.body.find('\0'); nul != std::string::npos) {
    *error = error_response(400, "malformed JSON body: a NUL byte at offset " +
                                     std::to_string(nul) + " (JSON escapes it as \\u0000)");
    return std::nullopt;
  }
  if (nests_too_deep(request.body)) {
    *error = error_response(
        400, "the JSON body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return std::nullopt;
  }
  nlohmann::json body;
  // A name given twice in one object would silently take its last value (parsers differ on
  // which): refused instead.
  std::vector<std::set<std::string>> names;  // of each enclosing object, innermost last
  std::optional<std::string> duplicate;
  auto check_names = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      names.emplace_back();
    } else if (event == Event::object_end && !names.empty()) {
      names.pop_back();
    } else if (event == Event::key && !names.empty() &&
               !names.back().insert(parsed.get<std::string>()).second && !duplicate) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  try {
    body = nlohmann::json::parse(request.body, check_names);
  } catch (const nlohmann::json::exception& e) {
    // A syntax error, or a number out of range (1e400). e.what() is
    // "[json.exception.parse_error.101] parse error at line 1, column 9: ...".
    std::string_view what = e.what();
    if (const size_t bracket = what.find("] "); what.front() == '[' && bracket != what.npos)
      what.remove_prefix(bracket + 2);
    *error = error_response(400, "malformed JSON body: " + std::string(what));
    return std::nullopt;
  }
  if (duplicate) {
    *error = error_response(
        400, "malformed JSON body: the name \"" + *duplicate + "\" appears twice in one object");
    return std::nullopt;
  }
  if (!body.is_object()) {
    *error =
        error_response(400, "the body must be a JSON object, got " + std::string(body.type_name()) +
                                "; e.g. " + std::string(example));
    return std::nullopt;
  }
  return body;
}

// The parameter `name` read as a yes/no flag ("1"/"true"/"yes" or "0"/"false"/"no"; present
// without a value means yes), or nullopt when it is something else.
std::optional<bool> flag_param(const QueryParams& params, std::string_view name) {
  const std::string* value = find_param(params, name);
  if (value == nullptr) return false;
  if (value->empty() || *value == "1" || *value == "true" || *value == "yes") return true;
  if (*value == "0" || *value == "false" || *value == "no") return false;
  return std::nullopt;
}

// The service's answer; a status that is not a valid HTTP status becomes a 500.
HttpResponse from_reply(const AdminReply& reply) {
  if (reply.status < 200 || reply.status > 599) {
    return error_response(500, "internal error: the admin service answered with status " +
                                   std::to_string(reply.status));
  }
  return json_response(reply.status, reply.body);
}

}  // namespace

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Walk the longer length so the time does not reveal a matching prefix.
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

AdminRouter::AdminRouter(AdminService& service, std::string token)
    : service_(service), token_(std::move(token)) {}

void AdminRouter::handle(const HttpRequest& request, Respond respond) {
  // One-shot: the first answer wins, later ones (a service replying twice, or replying and
  // then throwing) are dropped.
  auto answered = std::make_shared<bool>(false);
  Respond once = [answered, respond = std::move(respond)](HttpResponse response) {
    if (*answered) return;
    *answered = true;
    respond(std::move(response));
  };

  RouteMatch match;
  switch (match_route(request.path, &match)) {
    case MatchOutcome::kNoRoute:
      once(error_response(404, "no endpoint " + request.method + " " + request.path +
                                   "; the admin API has " + std::string(kEndpointList)));
      return;
    case MatchOutcome::kBadEscape:
      once(error_response(400, "malformed %-escape in the path " + request.path));
      return;
    case MatchOutcome::kMatched:
      break;
  }
  if (!method_allowed(*match.spec, request.method)) {
    HttpResponse response =
        error_response(405, "method " + request.method + " is not allowed on " + request.path +
                                "; use " + std::string(match.spec->allow));
    response.headers.emplace_back("Allow", std::string(match.spec->allow));
    once(std::move(response));
    return;
  }
  if (!is_read(request.method) && !token_.empty()) {
    if (auto denied = check_token(request, token_)) {
      once(std::move(*denied));
      return;
    }
  }
  try {
    dispatch(match.spec->route, request, match.param, once);
  } catch (const std::exception& e) {
    once(error_response(500, "internal error while handling " + request.method + " " +
                                 request.path + ": " + e.what()));
  } catch (...) {
    once(error_response(500,
                        "internal error while handling " + request.method + " " + request.path));
  }
}

void AdminRouter::dispatch(Route route, const HttpRequest& request, const std::string& param,
                           const Respond& respond) {
  auto reply = [respond](AdminReply r) { respond(from_reply(r)); };
  HttpResponse error;
  switch (route) {
    case Route::kMetrics: {
      HttpResponse response;
      response.content_type = std::string(kPrometheusContentType);
      response.body = service_.metrics_text();
      respond(std::move(response));
      return;
    }
    case Route::kHealth:
      respond(from_reply(service_.health()));
      return;
    case Route::kReady:
      respond(from_reply(service_.readiness()));
      return;
    case Route::kRing:
      if (request.method == "PATCH") {
        auto body = parse_object_body(request, R"({"replicas": 2, "vnodes": 200})", &error);
        if (!body) return respond(std::move(error));
        service_.update_ring(*body, reply);
        return;
      }
      [[fallthrough]];
    case Route::kLookup: {
      const auto params = parse_query(request.query);
      if (!params) {
        respond(error_response(400, "malformed %-escape in the query string"));
        return;
      }
      if (route == Route::kRing) {
        const std::optional<bool> consistent = flag_param(*params, "consistent");
        if (!consistent) {
          respond(error_response(400, "consistent must be 1 or 0 (true or false)"));
          return;
        }
        service_.ring(*consistent, reply);
        return;
      }
      const std::string* key = find_param(*params, "key");
      if (key == nullptr) {
        respond(error_response(
            400, "missing query parameter \"key\": use /ring/lookup?key=KEY (URL-encoded)"));
        return;
      }
      respond(from_reply(service_.lookup(*key)));
      return;
    }
    case Route::kCluster:
      respond(from_reply(service_.cluster()));
      return;
    case Route::kBackends: {
      auto body = parse_object_body(
          request, R"({"name": "redis-4", "address": "10.0.0.4:6379", "weight": 1, "zone": "a"})",
          &error);
      if (!body) return respond(std::move(error));
      service_.add_backend(*body, reply);
      return;
    }
    case Route::kBackend:
      if (request.method == "DELETE") {
        if (!takes_no_body(request, &error)) return respond(std::move(error));
        service_.remove_backend(param, reply);
        return;
      } else {
        auto body =
            parse_object_body(request, R"({"weight": 2, "zone": "b", "state": "active"})", &error);
        if (!body) return respond(std::move(error));
        service_.update_backend(param, *body, reply);
        return;
      }
    case Route::kBackendDrain:
      if (!takes_no_body(request, &error)) return respond(std::move(error));
      service_.drain_backend(param, reply);
      return;
    case Route::kBackendUndrain:
      if (!takes_no_body(request, &error)) return respond(std::move(error));
      service_.undrain_backend(param, reply);
      return;
    case Route::kPeers: {
      auto body = parse_object_body(request, R"({"id": "p4", "address": "10.0.0.4:7401"})", &error);
      if (!body) return respond(std::move(error));
      service_.add_peer(*body, reply);
      return;
    }
    case Route::kPeer:
      if (!takes_no_body(request, &error)) return respond(std::move(error));
      service_.remove_peer(param, reply);
      return;
  }
  respond(error_response(500, "internal error: unhandled route"));
}

}  // namespace ringleader::proxy::admin
