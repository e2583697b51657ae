#include "admin/admin_router.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fake_admin_service.h"

namespace ringleader::proxy::admin {
namespace {

using testing::FakeAdminService;

HttpRequest make_request(std::string method, std::string target, std::string body = "",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = target;
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class AdminRouterTest : public ::testing::Test {
 protected:
  // Routes `request` through a router with `token` and returns every response it produced.
  std::vector<HttpResponse> call(const HttpRequest& request, const std::string& token = "") {
    AdminRouter router(service_, token);
    std::vector<HttpResponse> responses;
    router.handle(request, [&responses](HttpResponse r) { responses.push_back(std::move(r)); });
    return responses;
  }

  // Exactly one response, with its body parsed as JSON.
  std::pair<int, nlohmann::json> call_json(const HttpRequest& request,
                                           const std::string& token = "") {
    std::vector<HttpResponse> responses = call(request, token);
    EXPECT_EQ(responses.size(), 1u);
    if (responses.empty()) return {0, nullptr};
    EXPECT_EQ(responses[0].content_type, "application/json");
    auto body = nlohmann::json::parse(responses[0].body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << responses[0].body;
    return {responses[0].status, body};
  }

  // The 4xx/5xx error message, after checking the status and the {"error": "..."} shape.
  std::string error_of(const HttpRequest& request, int status, const std::string& token = "") {
    auto [got, body] = call_json(request, token);
    EXPECT_EQ(got, status) << body.dump();
    EXPECT_TRUE(body.is_object() && body.size() == 1 && body.contains("error") &&
                body["error"].is_string())
        << body.dump();
    return body.value("error", "");
  }

  FakeAdminService service_;
};

TEST_F(AdminRouterTest, Metrics) {
  auto responses = call(make_request("GET", "/metrics"));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(responses[0].body.find("ringleader_up 1"), std::string::npos);
}

TEST_F(AdminRouterTest, ReadEndpoints) {
  auto [status, body] = call_json(make_request("GET", "/healthz"));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["status"], "ok");
  std::tie(status, body) = call_json(make_request("GET", "/readyz"));
  EXPECT_EQ(status, 503);
  EXPECT_EQ(body["ready"], false);
  std::tie(status, body) = call_json(make_request("GET", "/cluster"));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["role"], "static");
  std::tie(status, body) = call_json(make_request("GET", "/ring"));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["epoch"], 3);
  EXPECT_EQ(service_.calls,
            (std::vector<std::string>{"health", "readiness", "cluster", "ring consistent=0"}));
}

TEST_F(AdminRouterTest, HeadIsAcceptedWhereGetIs) {
  auto [status, body] = call_json(make_request("HEAD", "/healthz"));
  EXPECT_EQ(status, 200);
}

TEST_F(AdminRouterTest, RingConsistentFlag) {
  call(make_request("GET", "/ring?consistent=1"));
  call(make_request("GET", "/ring?consistent=true"));
  call(make_request("GET", "/ring?consistent"));
  call(make_request("GET", "/ring?consistent=0"));
  EXPECT_EQ(service_.calls, (std::vector<std::string>{"ring consistent=1", "ring consistent=1",
                                                      "ring consistent=1", "ring consistent=0"}));
  EXPECT_NE(error_of(make_request("GET", "/ring?consistent=maybe"), 400).find("consistent"),
            std::string::npos);
}

TEST_F(AdminRouterTest, LookupDecodesTheKey) {
  auto [status, body] = call_json(make_request("GET", "/ring/lookup?key=user%3A%7B42%7D+x%2By"));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["key"], "user:{42} x+y");
  call(make_request("GET", "/ring/lookup?key="));
  EXPECT_EQ(service_.calls.back(), "lookup ");
}

TEST_F(AdminRouterTest, LookupErrors) {
  EXPECT_NE(error_of(make_request("GET", "/ring/lookup"), 400).find("key"), std::string::npos);
  EXPECT_NE(error_of(make_request("GET", "/ring/lookup?k=1"), 400).find("?key="),
            std::string::npos);
  EXPECT_NE(error_of(make_request("GET", "/ring/lookup?key=%G1"), 400).find("escape"),
            std::string::npos);
}

TEST_F(AdminRouterTest, BinaryKeysComeBackAsValidJson) {
  auto responses = call(make_request("GET", "/ring/lookup?key=%FF%FE"));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_FALSE(nlohmann::json::parse(responses[0].body, nullptr, false).is_discarded());
}

TEST_F(AdminRouterTest, Mutations) {
  const std::string add = R"({"name":"r4","address":"127.0.0.1:7004","weight":2,"zone":"b"})";
  auto [status, body] = call_json(make_request("POST", "/backends", add));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["epoch"], 7);
  call(make_request("DELETE", "/backends/r4"));
  call(make_request("PATCH", "/backends/r4", R"({"weight":3})"));
  call(make_request("POST", "/backends/r4/drain"));
  call(make_request("POST", "/backends/r4/undrain"));
  call(make_request("PATCH", "/ring", R"({"replicas":2})"));
  call(make_request("POST", "/cluster/peers", R"({"id":"p4","address":"127.0.0.1:7404"})"));
  call(make_request("DELETE", "/cluster/peers/p4"));
  EXPECT_EQ(service_.calls,
            (std::vector<std::string>{
                "add_backend " + nlohmann::json::parse(add).dump(), "remove_backend r4",
                "update_backend r4 {\"weight\":3}", "drain_backend r4", "undrain_backend r4",
                "update_ring {\"replicas\":2}",
                "add_peer {\"address\":\"127.0.0.1:7404\",\"id\":\"p4\"}", "remove_peer p4"}));
  EXPECT_NE(error_of(make_request("PATCH", "/ring", "[1]"), 400).find("JSON object"),
            std::string::npos);
  EXPECT_NE(error_of(make_request("PATCH", "/ring", R"({"balance_factor": 1e400})"), 400)
                .find("malformed JSON body"),
            std::string::npos);
}

TEST_F(AdminRouterTest, PathParametersAreDecoded) {
  call(make_request("DELETE", "/backends/127.0.0.1%3A7001"));
  call(make_request("POST", "/backends/a+b/drain"));
  EXPECT_EQ(service_.calls,
            (std::vector<std::string>{"remove_backend 127.0.0.1:7001", "drain_backend a+b"}));
  EXPECT_NE(error_of(make_request("DELETE", "/backends/%zz"), 400).find("escape"),
            std::string::npos);
}

TEST_F(AdminRouterTest, ServiceErrorsPassThrough) {
  service_.mutation_reply = {409, {{"error", "membership.mode is \"static\""}}};
  EXPECT_EQ(error_of(make_request("POST", "/backends/x/drain"), 409),
            "membership.mode is \"static\"");
}

TEST_F(AdminRouterTest, UnknownPathIs404) {
  for (const char* path : {"/", "/nope", "/ring/", "/backends/", "/backends/a/b",
                           "/backends//drain", "/cluster/peers/a/b", "/metrics/x"}) {
    const std::string message = error_of(make_request("GET", path), 404);
    EXPECT_NE(message.find("/ring/lookup?key=K"), std::string::npos) << message;
  }
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(AdminRouterTest, WrongMethodIs405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c :
       {Case{"POST", "/ring", "GET, HEAD, PATCH"}, Case{"DELETE", "/metrics", "GET, HEAD"},
        Case{"GET", "/backends", "POST"}, Case{"PUT", "/backends/x", "DELETE, PATCH"},
        Case{"GET", "/backends/x/drain", "POST"}, Case{"GET", "/backends/x/undrain", "POST"},
        Case{"GET", "/cluster/peers", "POST"}, Case{"POST", "/cluster/peers/p1", "DELETE"},
        Case{"get", "/healthz", "GET, HEAD"}}) {
    auto responses = call(make_request(c.method, c.path));
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 405) << c.method << " " << c.path;
    ASSERT_EQ(responses[0].headers.size(), 1u);
    EXPECT_EQ(responses[0].headers[0].first, "Allow");
    EXPECT_EQ(responses[0].headers[0].second, c.allow);
  }
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(AdminRouterTest, TokenRules) {
  const std::string token = "s3cret-token";
  const auto drain = [](std::vector<std::pair<std::string, std::string>> headers) {
    return make_request("POST", "/backends/r1/drain", "", std::move(headers));
  };
  // Missing, wrong scheme, wrong token, prefix of the token: 401 with WWW-Authenticate.
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {},
           {{"authorization", "Basic czNjcmV0LXRva2Vu"}},
           {{"authorization", "Bearer wrong"}},
           {{"authorization", "Bearer s3cret"}},
           {{"authorization", "Bearer s3cret-token-and-more"}},
           {{"authorization", "Bearer"}}}) {
    auto responses = call(drain(headers), token);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 401);
    ASSERT_EQ(responses[0].headers.size(), 1u);
    EXPECT_EQ(responses[0].headers[0].first, "WWW-Authenticate");
    EXPECT_NE(responses[0].body.find("admin.token"), std::string::npos) << responses[0].body;
  }
  EXPECT_TRUE(service_.calls.empty());
  // The right token (scheme case-insensitive) goes through.
  EXPECT_EQ(call(drain({{"authorization", "Bearer s3cret-token"}}), token)[0].status, 200);
  EXPECT_EQ(call(drain({{"authorization", "bearer s3cret-token"}}), token)[0].status, 200);
  EXPECT_EQ(service_.calls.size(), 2u);
  // GETs need no token; without a configured token, mutations need none.
  EXPECT_EQ(call(make_request("GET", "/ring"), token)[0].status, 200);
  EXPECT_EQ(call(drain({}), "")[0].status, 200);
  // 404 and 405 come before the token check (they reveal nothing and change nothing).
  EXPECT_EQ(call(make_request("POST", "/nope"), token)[0].status, 404);
  EXPECT_EQ(call(make_request("POST", "/ring"), token)[0].status, 405);
}

TEST_F(AdminRouterTest, JsonBodyErrors) {
  std::string message = error_of(make_request("POST", "/backends", R"({"name": "x",})"), 400);
  EXPECT_NE(message.find("malformed JSON body"), std::string::npos) << message;
  EXPECT_NE(message.find("line 1, column 14"), std::string::npos) << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;

  message = error_of(make_request("POST", "/backends", ""), 400);
  EXPECT_NE(message.find("JSON object body"), std::string::npos) << message;

  // A NUL byte, where the parser would stop and ignore what follows.
  message = error_of(
      make_request("POST", "/backends",
                   std::string(R"({"name": "x", "address": "127.0.0.1:1"})") + '\0' + "garbage"),
      400);
  EXPECT_NE(message.find("a NUL byte at offset 39"), std::string::npos) << message;

  // A name twice in one object, at any depth; the same name in sibling objects is fine.
  message = error_of(make_request("POST", "/backends", R"({"name": "x1", "name": "x2"})"), 400);
  EXPECT_NE(message.find("the name \"name\" appears twice"), std::string::npos) << message;
  message =
      error_of(make_request("PATCH", "/ring", R"({"replicas": 2, "x": {"a": 1, "a": 2}})"), 400);
  EXPECT_NE(message.find("\"a\" appears twice"), std::string::npos) << message;
  message = error_of(make_request("PATCH", "/backends/x", R"([{"a": 1}, {"a": 2}])"), 400);
  EXPECT_NE(message.find("must be a JSON object, got array"), std::string::npos) << message;

  message = error_of(make_request("PATCH", "/backends/x", "[1,2]"), 400);
  EXPECT_NE(message.find("must be a JSON object, got array"), std::string::npos) << message;

  message = error_of(make_request("POST", "/cluster/peers", "\"p4\""), 400);
  EXPECT_NE(message.find("got string"), std::string::npos) << message;
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(AdminRouterTest, RequestsWithEverythingInThePathTakeNoBody) {
  // A body they would ignore is refused: the caller meant something by it.
  for (const char* body : {"not json at all", R"({"state":"down"})", "[]"}) {
    for (auto [method, path] : {std::pair{"POST", "/backends/r4/drain"},
                                {"POST", "/backends/r4/undrain"},
                                {"DELETE", "/backends/r4"},
                                {"DELETE", "/cluster/peers/p4"}}) {
      EXPECT_NE(error_of(make_request(method, path, body), 400).find("takes no body"),
                std::string::npos)
          << method << " " << path << " " << body;
    }
  }
  EXPECT_TRUE(service_.calls.empty());
  call(make_request("POST", "/backends/r4/drain", " {} \n"));
  call(make_request("DELETE", "/cluster/peers/p4", ""));
  EXPECT_EQ(service_.calls, (std::vector<std::string>{"drain_backend r4", "remove_peer p4"}));
}

TEST_F(AdminRouterTest, DeeplyNestedJsonIsRefused) {
  const std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_NE(error_of(make_request("POST", "/backends", deep), 400).find("nests deeper"),
            std::string::npos);
  // Brackets inside strings do not count.
  const std::string in_string = "{\"zone\":\"" + std::string(40, '[') + "\\\"\"}";
  auto [status, body] = call_json(make_request("PATCH", "/backends/x", in_string));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(service_.calls.size(), 1u);
}

TEST_F(AdminRouterTest, InvalidServiceStatusBecomes500) {
  service_.mutation_reply = {0, nullptr};
  EXPECT_NE(error_of(make_request("POST", "/backends/x/drain"), 500).find("status 0"),
            std::string::npos);
}

TEST_F(AdminRouterTest, ServiceExceptionBecomes500) {
  service_.throw_in_cluster = true;
  const std::string message = error_of(make_request("GET", "/cluster"), 500);
  EXPECT_NE(message.find("boom"), std::string::npos);
}

TEST_F(AdminRouterTest, AsyncReplyArrivesLaterExactlyOnce) {
  service_.hold_replies = true;
  AdminRouter router(service_, "");
  std::vector<HttpResponse> responses;
  router.handle(make_request("DELETE", "/backends/r1"),
                [&responses](HttpResponse r) { responses.push_back(std::move(r)); });
  EXPECT_TRUE(responses.empty());
  ASSERT_EQ(service_.held.size(), 1u);
  service_.held[0]({200, {{"epoch", 9}}});
  service_.held[0]({500, {{"error", "second reply"}}});  // ignored
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(nlohmann::json::parse(responses[0].body)["epoch"], 9);
}

TEST_F(AdminRouterTest, AsyncReplyAfterTheRouterIsGone) {
  service_.hold_replies = true;
  std::vector<HttpResponse> responses;
  {
    AdminRouter router(service_, "");
    router.handle(make_request("GET", "/ring"),
                  [&responses](HttpResponse r) { responses.push_back(std::move(r)); });
  }
  ASSERT_EQ(service_.held.size(), 1u);
  service_.held[0]({200, {{"epoch", 1}}});  // must not touch the destroyed router
  ASSERT_EQ(responses.size(), 1u);
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_FALSE(constant_time_equals(std::string("a\0", 2), "a"));
}

}  // namespace
}  // namespace ringleader::proxy::admin
