#include "ctl_arguments.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ringleader::app::ctl {
namespace {

CtlOptions parse_ok(const std::vector<std::string>& args, const std::string& env_token = "") {
  auto parsed = parse_ctl_arguments(args, env_token);
  EXPECT_TRUE(parsed.is_ok()) << parsed.error();
  return parsed.is_ok() ? parsed.value() : CtlOptions{};
}

CtlCall plan_ok(const std::vector<std::string>& args) {
  auto planned = plan_call(parse_ok(args));
  EXPECT_TRUE(planned.is_ok()) << planned.error();
  return planned.is_ok() ? planned.value() : CtlCall{};
}

std::string plan_error(const std::vector<std::string>& args) {
  auto parsed = parse_ctl_arguments(args, "");
  if (!parsed) return parsed.error();
  auto planned = plan_call(parsed.value());
  EXPECT_FALSE(planned.is_ok());
  return planned.error();
}

TEST(CtlArguments, Defaults) {
  CtlOptions o = parse_ok({"ring"});
  EXPECT_EQ(o.admin, "127.0.0.1:9180");
  EXPECT_EQ(o.token, "");
  EXPECT_FALSE(o.json);
  EXPECT_EQ(o.timeout_s, 30u);
  EXPECT_EQ(o.words, std::vector<std::string>{"ring"});
}

TEST(CtlArguments, TimeoutIsWholeSecondsUpToAnHour) {
  EXPECT_EQ(parse_ok({"--timeout", "5", "ring"}).timeout_s, 5u);
  EXPECT_EQ(parse_ok({"ring", "--timeout=3600"}).timeout_s, 3600u);
  for (const char* bad : {"0", "-1", "1.5", "x", "3601", ""}) {
    auto parsed = parse_ctl_arguments({"--timeout", bad, "ring"}, "");
    ASSERT_FALSE(parsed.is_ok()) << bad;
    EXPECT_NE(parsed.error().find("--timeout must be a whole number of seconds"), std::string::npos)
        << parsed.error();
  }
}

TEST(CtlArguments, OptionsAnywhereInBothForms) {
  CtlOptions o = parse_ok({"--admin", "10.0.0.1:9000", "ring", "--json", "--token=abc"});
  EXPECT_EQ(o.admin, "10.0.0.1:9000");
  EXPECT_EQ(o.token, "abc");
  EXPECT_TRUE(o.json);
  EXPECT_EQ(parse_ok({"--admin=[::1]:9180", "health"}).admin, "[::1]:9180");
}

TEST(CtlArguments, TokenFromTheEnvironmentUnlessGiven) {
  EXPECT_EQ(parse_ok({"ring"}, "from-env").token, "from-env");
  EXPECT_EQ(parse_ok({"--token", "flag", "ring"}, "from-env").token, "flag");
  EXPECT_EQ(parse_ok({"--token", "", "ring"}, "from-env").token, "") << "explicitly empty";
}

TEST(CtlArguments, UsageErrors) {
  EXPECT_FALSE(parse_ctl_arguments({}, "").is_ok());
  EXPECT_FALSE(parse_ctl_arguments({"--admin"}, "").is_ok());
  EXPECT_FALSE(parse_ctl_arguments({"--admin", "nope", "ring"}, "").is_ok());
  EXPECT_FALSE(parse_ctl_arguments({"--frobnicate", "ring"}, "").is_ok());
  EXPECT_NE(plan_error({"backends", "add", "a", "127.0.0.1:1", "--weight", "0"}).find("--weight"),
            std::string::npos);
  EXPECT_NE(plan_error({"backends", "add", "a", "127.0.0.1:1", "--weight", "x"}).find("--weight"),
            std::string::npos);
  // The server's own limit, not the parser's.
  EXPECT_NE(plan_error({"backends", "add", "a", "127.0.0.1:1", "--weight", "10001"})
                .find("from 1 to 10000"),
            std::string::npos);
  EXPECT_TRUE(parse_ctl_arguments({"backends", "set", "a", "--weight", "10000"}, "").is_ok());
  EXPECT_NE(plan_error({"frob"}).find("unknown command"), std::string::npos);
  EXPECT_NE(plan_error({"ring", "extra"}).find("usage"), std::string::npos);
  EXPECT_NE(plan_error({"lookup"}).find("lookup KEY"), std::string::npos);
  EXPECT_NE(plan_error({"backends"}).find("add, remove, set, drain or undrain"), std::string::npos);
  EXPECT_NE(plan_error({"ring", "set"}).find("FIELD=VALUE"), std::string::npos);
  EXPECT_NE(plan_error({"ring", "set", "replicas"}).find("FIELD=VALUE"), std::string::npos);
  EXPECT_NE(plan_error({"ring", "set", "replicas=two"}).find("whole number"), std::string::npos);
  EXPECT_NE(plan_error({"ring", "set", "balance_factor=1.5x"}).find("number"), std::string::npos);
  // A field or change option named twice: which value was meant is unknown.
  EXPECT_NE(plan_error({"ring", "set", "vnodes=100", "vnodes=200"}).find("vnodes is given twice"),
            std::string::npos);
  for (const char* option : {"--weight", "--zone", "--state"}) {
    auto twice = parse_ctl_arguments({"backends", "set", "r", option, "down", option, "down"}, "");
    ASSERT_FALSE(twice.is_ok()) << option;
  }
  EXPECT_NE(parse_ctl_arguments({"backends", "set", "r", "--weight", "2", "--weight", "3"}, "")
                .error()
                .find("--weight is given twice"),
            std::string::npos);
  EXPECT_NE(plan_error({"backends", "add", "a"}).find("NAME ADDRESS"), std::string::npos);
  EXPECT_NE(plan_error({"backends", "add", "a", "nowhere"}).find("HOST:PORT"), std::string::npos);
  EXPECT_NE(plan_error({"backends", "set", "a"}).find("--weight"), std::string::npos);
  EXPECT_NE(plan_error({"peers", "add", "p4"}).find("peers add ID ADDRESS"), std::string::npos);
  EXPECT_NE(plan_error({"ring", "--weight", "2"}).find("backends add"), std::string::npos);
  EXPECT_NE(plan_error({"lookup", "k", "--consistent"}).find("ring"), std::string::npos);
  EXPECT_NE(plan_error({"cluster", "members"}).find("cluster status"), std::string::npos);
  EXPECT_TRUE(parse_ok({"--help"}).help);
  EXPECT_NE(plan_error({"backends", "remove", ""}).find("an operand is empty"), std::string::npos);
  EXPECT_NE(plan_error({"peers", "add", "", "127.0.0.1:1"}).find("an operand is empty"),
            std::string::npos);
  EXPECT_NE(plan_error({"backends", "add", "r", "unix:/" + std::string(107, 'p')})
                .find("longer than 107 bytes"),
            std::string::npos);
  EXPECT_NE(plan_error({"backends", "drain", "r", "--state", "down"}).find("backends set"),
            std::string::npos);
  EXPECT_FALSE(parse_ctl_arguments({"backends", "set", "r", "--state", "asleep"}, "").is_ok());
  // A token goes into a header line.
  EXPECT_FALSE(parse_ctl_arguments({"--token", "a\r\nX-Injected: yes", "ring"}, "").is_ok());
  EXPECT_FALSE(parse_ctl_arguments({"ring"}, "token\n").is_ok());
  EXPECT_FALSE(parse_ctl_arguments({"--token", " t", "ring"}, "").is_ok());
}

TEST(CtlArguments, ReadRequests) {
  CtlCall c = plan_ok({"ring"});
  EXPECT_EQ(c.request.method, "GET");
  EXPECT_EQ(c.request.target, "/ring");
  EXPECT_EQ(c.view, CtlView::kRing);
  EXPECT_EQ(plan_ok({"ring", "--consistent"}).request.target, "/ring?consistent=1");
  EXPECT_EQ(plan_ok({"cluster", "status"}).request.target, "/cluster");
  EXPECT_EQ(plan_ok({"cluster"}).request.target, "/cluster");
  EXPECT_EQ(plan_ok({"health"}).request.target, "/healthz");
  EXPECT_EQ(plan_ok({"ready"}).request.target, "/readyz");
  EXPECT_EQ(plan_ok({"metrics"}).view, CtlView::kMetrics);
}

TEST(CtlArguments, LookupEncodesTheKey) {
  EXPECT_EQ(plan_ok({"lookup", "user:{42} a&b=c+d/é"}).request.target,
            "/ring/lookup?key=user%3A%7B42%7D%20a%26b%3Dc%2Bd%2F%C3%A9");
  EXPECT_EQ(plan_ok({"lookup", "--", "--json"}).request.target, "/ring/lookup?key=--json");
  EXPECT_EQ(plan_ok({"lookup", ""}).request.target, "/ring/lookup?key=");
  EXPECT_EQ(plan_ok({"lookup", "-"}).request.target, "/ring/lookup?key=-");
}

TEST(CtlArguments, BackendChanges) {
  CtlCall add =
      plan_ok({"backends", "add", "redis-4", "127.0.0.1:7004", "--weight", "3", "--zone", "b"});
  EXPECT_EQ(add.request.method, "POST");
  EXPECT_EQ(add.request.target, "/backends");
  EXPECT_EQ(nlohmann::json::parse(add.request.body),
            (nlohmann::json{
                {"name", "redis-4"}, {"address", "127.0.0.1:7004"}, {"weight", 3}, {"zone", "b"}}));
  EXPECT_EQ(nlohmann::json::parse(plan_ok({"backends", "add", "r", "h:1"}).request.body),
            (nlohmann::json{{"name", "r"}, {"address", "h:1"}}));
  EXPECT_EQ(
      nlohmann::json::parse(plan_ok({"backends", "add", "r", "unix:/run/redis.sock"}).request.body),
      (nlohmann::json{{"name", "r"}, {"address", "unix:/run/redis.sock"}}));
  EXPECT_NE(plan_error({"backends", "add", "r", "unix:redis.sock"}).find("HOST:PORT or unix:/PATH"),
            std::string::npos);

  CtlCall remove = plan_ok({"backends", "remove", "127.0.0.1:7001"});
  EXPECT_EQ(remove.request.method, "DELETE");
  EXPECT_EQ(remove.request.target, "/backends/127.0.0.1%3A7001");

  CtlCall set = plan_ok({"backends", "set", "r1", "--zone=c"});
  EXPECT_EQ(set.request.method, "PATCH");
  EXPECT_EQ(set.request.target, "/backends/r1");
  EXPECT_EQ(nlohmann::json::parse(set.request.body), (nlohmann::json{{"zone", "c"}}));

  EXPECT_EQ(
      nlohmann::json::parse(plan_ok({"backends", "set", "r1", "--state", "down"}).request.body),
      (nlohmann::json{{"state", "down"}}));

  CtlCall drain = plan_ok({"backends", "drain", "r1"});
  EXPECT_EQ(drain.request.method, "POST");
  EXPECT_EQ(drain.request.target, "/backends/r1/drain");
  EXPECT_EQ(drain.request.body, "");

  CtlCall undrain = plan_ok({"backends", "undrain", "r1"});
  EXPECT_EQ(undrain.request.method, "POST");
  EXPECT_EQ(undrain.request.target, "/backends/r1/undrain");
}

TEST(CtlArguments, RingChanges) {
  CtlCall set =
      plan_ok({"ring", "set", "replicas=2", "vnodes=200", "hash_tag=", "balance_factor=1.25",
               "algorithm=maglev", "maglev_table_size=0"});
  EXPECT_EQ(set.request.method, "PATCH");
  EXPECT_EQ(set.request.target, "/ring");
  EXPECT_EQ(nlohmann::json::parse(set.request.body), (nlohmann::json{{"replicas", 2},
                                                                     {"vnodes", 200},
                                                                     {"hash_tag", ""},
                                                                     {"balance_factor", 1.25},
                                                                     {"algorithm", "maglev"},
                                                                     {"maglev_table_size", 0}}));
  // Any whole number is sent; the server says which it takes.
  EXPECT_EQ(nlohmann::json::parse(plan_ok({"ring", "set", "replicas=4294967295"}).request.body),
            (nlohmann::json{{"replicas", 4294967295u}}));
  EXPECT_NE(plan_error({"ring", "set", "replicas=4294967296"}).find("below 2^32"),
            std::string::npos);
}

TEST(CtlArguments, BalanceFactorIsADecimalNumberAsTyped) {
  for (const auto& [text, value] : std::vector<std::pair<std::string, double>>{{"1.25", 1.25},
                                                                               {"2", 2.0},
                                                                               {"0.5", 0.5},
                                                                               {"1e1", 10.0},
                                                                               {"1.5E+0", 1.5},
                                                                               {"-1", -1.0}}) {
    EXPECT_EQ(
        nlohmann::json::parse(plan_ok({"ring", "set", "balance_factor=" + text}).request.body),
        (nlohmann::json{{"balance_factor", value}}))
        << text;
  }
  // What strtod alone would take: hexadecimal, infinities, NaN, spaces, a bare point, and
  // numbers that round to 0 or overflow. Each would reach the server as another number.
  for (const char* text :
       {"0x10", "inf", "nan", " 1.5", "1.5 ", "+1.5", ".5", "1.", "1e", "1e-400", "1e400", ""}) {
    EXPECT_NE(plan_error({"ring", "set", std::string("balance_factor=") + text})
                  .find("balance_factor must be a decimal number"),
              std::string::npos)
        << text;
  }
}

TEST(CtlArguments, PeerChanges) {
  CtlCall add = plan_ok({"peers", "add", "p4", "10.0.0.4:7401"});
  EXPECT_EQ(add.request.method, "POST");
  EXPECT_EQ(add.request.target, "/cluster/peers");
  EXPECT_EQ(nlohmann::json::parse(add.request.body),
            (nlohmann::json{{"id", "p4"}, {"address", "10.0.0.4:7401"}}));
  CtlCall promote = plan_ok({"peers", "promote", "p4"});
  EXPECT_EQ(promote.request.method, "POST");
  EXPECT_EQ(promote.request.target, "/cluster/peers");
  EXPECT_EQ(nlohmann::json::parse(promote.request.body),
            (nlohmann::json{{"id", "p4"}, {"promote", true}}));
  EXPECT_NE(plan_error({"peers", "promote"}).find("peers promote ID"), std::string::npos);
  CtlCall remove = plan_ok({"peers", "remove", "p4"});
  EXPECT_EQ(remove.request.method, "DELETE");
  EXPECT_EQ(remove.request.target, "/cluster/peers/p4");
}

}  // namespace
}  // namespace ringleader::app::ctl
