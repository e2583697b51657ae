// Bad configs: each test checks the key path, the line and a distinctive part of the message.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "config/config.h"
#include "error_matchers.h"

namespace ringleader::config {
namespace {

using testing::HasError;
using testing::HasOnlyError;
using testing::load_with_backend;

TEST(ConfigErrors, IntegerOutOfRangeNamesFileLineColumnKeyAndBounds) {
  const LoadResult result = load_with_backend(R"([ring]
vnodes = -5
)");
  ASSERT_TRUE(HasOnlyError(result, "ring.vnodes", 2, "expected an integer between 1 and 10000"));
  EXPECT_EQ(result.errors[0].column, 10u);
  EXPECT_EQ(result.errors[0].to_string(),
            "test.toml:2:10: ring.vnodes: expected an integer between 1 and 10000, got -5");
}

TEST(ConfigErrors, WrongTypeSaysWhatWasExpectedAndFound) {
  const LoadResult result = load_with_backend(R"([proxy]
listen = "127.0.0.1:6380"
workers = "four"
)");
  EXPECT_TRUE(HasOnlyError(result, "proxy.workers", 3, "expected an integer, got a string"));
}

TEST(ConfigErrors, StringExpectedGotInteger) {
  const LoadResult result = load_with_backend(R"([backend]
password = 1234
)");
  EXPECT_TRUE(HasOnlyError(result, "backend.password", 2, "expected a string, got an integer"));
}

TEST(ConfigErrors, BooleanExpected) {
  const LoadResult result = load_with_backend(R"([membership]
join = "yes"
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.join", 2,
                           "expected a boolean (true or false), got a string"));
}

TEST(ConfigErrors, UnknownKeySuggestsClosestKnownKey) {
  const LoadResult result = load_with_backend(R"(
[proxy]
listn = "127.0.0.1:6380"
)");
  ASSERT_TRUE(HasOnlyError(result, "proxy.listn", 3, "unknown key; did you mean \"listen\"?"));
  EXPECT_EQ(result.errors[0].column, 1u);
}

TEST(ConfigErrors, UnknownKeyFarFromEverythingHasNoSuggestion) {
  const LoadResult result = load_with_backend(R"([ring]
colour = "blue"
)");
  ASSERT_TRUE(HasOnlyError(result, "ring.colour", 2, "unknown key"));
  EXPECT_EQ(result.errors[0].message, "unknown key");
}

TEST(ConfigErrors, UnknownTableSuggestsClosestTable) {
  const LoadResult result = load_with_backend(R"([proxy]
workers = 2

[replicaton]
write = "all"
)");
  EXPECT_TRUE(
      HasOnlyError(result, "replicaton", 4, "unknown table; did you mean \"replication\"?"));
}

TEST(ConfigErrors, UnknownKeyInsideBackendEntry) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"
wieght = 2
)",
                                        "test.toml");
  EXPECT_TRUE(
      HasOnlyError(result, "backends[0].wieght", 4, "unknown key; did you mean \"weight\"?"));
}

TEST(ConfigErrors, EnumValueListsChoicesAndSuggests) {
  const LoadResult result = load_with_backend(R"([proxy]
protocol = "memcache"
)");
  EXPECT_TRUE(HasOnlyError(result, "proxy.protocol", 2,
                           "expected one of \"redis\", \"memcached\", got \"memcache\"; did you "
                           "mean \"memcached\"?"));
}

TEST(ConfigErrors, MemcachedRefusesPasswords) {
  const LoadResult client = load_with_backend(R"([proxy]
protocol = "memcached"
requirepass = "secret"
)");
  EXPECT_TRUE(HasOnlyError(client, "proxy.requirepass", 3,
                           "not supported with protocol \"memcached\" (its text protocol has no "
                           "authentication); remove it"));
  const LoadResult backend = load_with_backend(R"([proxy]
protocol = "memcached"
[backend]
password = "secret"
)");
  EXPECT_TRUE(HasOnlyError(backend, "backend.password", 4,
                           "not supported with protocol \"memcached\" (its text protocol has no "
                           "authentication); remove it"));
  const LoadResult user = load_with_backend(R"([proxy]
protocol = "memcached"
[backend]
username = "proxy"
db = 2
)");
  ASSERT_EQ(user.errors.size(), 2u) << testing::describe_errors(user);
  EXPECT_TRUE(HasError(user, "backend.username", 4,
                       "not supported with protocol \"memcached\" (its text protocol has no "
                       "authentication); remove it"));
  EXPECT_TRUE(HasError(user, "backend.db", 5,
                       "not supported with protocol \"memcached\" (memcached has no numbered "
                       "databases); remove it"));
  // The same keys are fine for Redis.
  EXPECT_TRUE(load_with_backend(R"([proxy]
requirepass = "secret"
[backend]
username = "proxy"
password = "secret"
db = 2
)")
                  .ok());
}

TEST(ConfigErrors, BackendUserNameNeedsAPassword) {
  const LoadResult result = load_with_backend("[backend]\nusername = \"proxy\"\n");
  EXPECT_TRUE(HasOnlyError(result, "backend.username", 2,
                           "needs backend.password: backends authenticate with AUTH username "
                           "password"));
}

TEST(ConfigErrors, BackendDatabaseIsARedisDatabaseIndex) {
  const LoadResult negative = load_with_backend("[backend]\ndb = -1\n");
  EXPECT_TRUE(HasOnlyError(negative, "backend.db", 2, "between 0 and 2147483646, got -1"));
  const LoadResult text = load_with_backend("[backend]\ndb = \"1\"\n");
  EXPECT_TRUE(HasOnlyError(text, "backend.db", 2, "expected an integer, got a string"));
}

TEST(ConfigErrors, EnumValueOfWrongType) {
  const LoadResult result = load_with_backend(R"([replication]
write = 2
)");
  EXPECT_TRUE(HasOnlyError(result, "replication.write", 2,
                           "expected a string (one of \"one\", \"quorum\", \"all\"), got an "
                           "integer"));
}

TEST(ConfigErrors, ReadPolicyAndLogLevelChoices) {
  const LoadResult result = load_with_backend(R"([replication]
read = "closest"
[log]
level = "verbose"
)");
  ASSERT_EQ(result.errors.size(), 2u) << testing::describe_errors(result);
  EXPECT_TRUE(HasError(result, "replication.read", 2,
                       "expected one of \"primary\", \"any\", \"nearest\", got \"closest\""));
  EXPECT_TRUE(HasError(result, "log.level", 4, "got \"verbose\""));
}

TEST(ConfigErrors, TomlSyntaxErrorIsOneErrorWithPosition) {
  const LoadResult result = load_string(R"([proxy]
listen = "127.0.0.1:6380"
workers =
)",
                                        "test.toml");
  ASSERT_TRUE(HasOnlyError(result, "", 3, "invalid TOML"));
  EXPECT_GT(result.errors[0].column, 0u);
  EXPECT_EQ(result.errors[0].file, "test.toml");
}

TEST(ConfigErrors, TomlIntegerBeyondInt64IsASyntaxError) {
  const LoadResult result = load_with_backend(R"([proxy]
max_request_bytes = 99999999999999999999
)");
  EXPECT_TRUE(HasOnlyError(result, "", 2, "invalid TOML"));
}

TEST(ConfigErrors, ValueBeyondTheFieldTypeIsARangeErrorNotTruncated) {
  const LoadResult result = load_with_backend(R"([proxy]
max_clients = 4294967297
)");
  EXPECT_TRUE(HasOnlyError(result, "proxy.max_clients", 2,
                           "expected an integer between 1 and 4294967295, got 4294967297"));
  EXPECT_EQ(result.config.proxy.max_clients, ProxyConfig{}.max_clients);
}

TEST(ConfigErrors, NegativeValueForUnsignedField) {
  const LoadResult result = load_with_backend(R"([backend]
failure_limit = -1
)");
  EXPECT_TRUE(HasOnlyError(result, "backend.failure_limit", 2, "got -1"));
}

TEST(ConfigErrors, LowerBoundOnlyRangeSaysAtLeast) {
  const LoadResult result = load_with_backend(R"([proxy]
max_request_bytes = 100
)");
  EXPECT_TRUE(
      HasOnlyError(result, "proxy.max_request_bytes", 2, "expected an integer >= 1024, got 100"));
  const LoadResult reply = load_with_backend(R"([backend]
max_reply_bytes = 1023
)");
  EXPECT_TRUE(
      HasOnlyError(reply, "backend.max_reply_bytes", 2, "expected an integer >= 1024, got 1023"));
}

TEST(ConfigErrors, WorkersAndConnectionsUpperBounds) {
  const LoadResult result = load_with_backend(R"([proxy]
workers = 257
[backend]
connections = 65
)");
  ASSERT_EQ(result.errors.size(), 2u) << testing::describe_errors(result);
  EXPECT_TRUE(HasError(result, "proxy.workers", 2, "between 0 and 256, got 257"));
  EXPECT_TRUE(HasError(result, "backend.connections", 4, "between 1 and 64, got 65"));
}

TEST(ConfigErrors, KeepaliveIdleTimeIsBoundedByTheKernelsLimit) {
  const LoadResult result =
      load_with_backend("[proxy]\ntcp_keepalive_s = 32768\n[backend]\ntcp_keepalive_s = 32768\n");
  ASSERT_EQ(result.errors.size(), 2u) << testing::describe_errors(result);
  EXPECT_TRUE(HasError(result, "proxy.tcp_keepalive_s", 2, "between 0 and 32767, got 32768"));
  EXPECT_TRUE(HasError(result, "backend.tcp_keepalive_s", 4, "between 0 and 32767, got 32768"));
}

TEST(ConfigErrors, ListenWithoutPort) {
  const LoadResult result = load_with_backend(R"([proxy]
listen = "127.0.0.1"
)");
  EXPECT_TRUE(HasOnlyError(result, "proxy.listen", 2,
                           "expected an IP address and port such as \"127.0.0.1:6379\""));
}

TEST(ConfigErrors, ListenersTakeIpAddressesOrLocalhost) {
  // `serve` resolves no name to listen on: `check` refuses what it would refuse.
  EXPECT_TRUE(HasOnlyError(load_with_backend("[admin]\nlisten = \"nosuch.invalid:9180\"\n"),
                           "admin.listen", 2, "of host names only localhost"));
  EXPECT_TRUE(HasOnlyError(load_with_backend("[proxy]\nlisten = \"proxy.example:6379\"\n"),
                           "proxy.listen", 2, "of host names only localhost"));
  EXPECT_TRUE(load_with_backend("[proxy]\nlisten = \"localhost:6379\"\n[admin]\nlisten = "
                                "\"[::1]:9180\"\n")
                  .ok());
}

TEST(ConfigErrors, UnixSocketAddressesMustBeAbsolutePathsThatFit) {
  EXPECT_TRUE(HasOnlyError(load_with_backend("[proxy]\nlisten = \"unix:ringleader.sock\"\n"),
                           "proxy.listen", 2, "or a Unix socket such as"));
  EXPECT_TRUE(HasOnlyError(
      load_string("[[backends]]\nname = \"a\"\naddress = \"unix:/" + std::string(107, 'x') + "\"\n",
                  "test.toml"),
      "backends[0].address", 3, "(an absolute path of at most 107 bytes)"));
  // Membership and admin listeners stay TCP: other instances and operators dial them.
  EXPECT_TRUE(HasOnlyError(load_with_backend("[admin]\nlisten = \"unix:/tmp/admin.sock\"\n"),
                           "admin.listen", 2, "expected an IP address and port"));
  EXPECT_TRUE(load_string(R"([proxy]
listen = "unix:/run/ringleader/ringleader.sock"
unix_socket_mode = "0666"
[[backends]]
name = "a"
address = "unix:/run/redis/redis.sock"
[[backends]]
name = "b"
address = "127.0.0.1:6379"
)",
                          "test.toml")
                  .ok());
}

TEST(ConfigErrors, UnixSocketModeIsOctalPermissionBits) {
  for (const char* bad : {"\"0999\"", "\"1777\"", "\"\"", "\"rw-rw----\"", "\"07777\""}) {
    EXPECT_TRUE(
        HasOnlyError(load_with_backend(std::string("[proxy]\nunix_socket_mode = ") + bad + "\n"),
                     "proxy.unix_socket_mode", 2, "permission bits in octal"))
        << bad;
  }
  // A bare 660 would be decimal: a string is asked for, so it cannot be misread.
  EXPECT_TRUE(HasOnlyError(load_with_backend("[proxy]\nunix_socket_mode = 660\n"),
                           "proxy.unix_socket_mode", 2, "expected a string"));
  LoadResult ok = load_with_backend("[proxy]\nunix_socket_mode = \"640\"\n");
  ASSERT_TRUE(ok.ok()) << testing::describe_errors(ok);
  EXPECT_EQ(ok.config.proxy.unix_socket_mode, 0640u);
}

TEST(ConfigErrors, LocalhostIsTheSameAddressAs127001) {
  EXPECT_TRUE(HasOnlyError(load_string(R"([proxy]
listen = "127.0.0.1:7000"
[admin]
listen = "localhost:7000"
[[backends]]
name = "a"
address = "127.0.0.1:6379"
)",
                                       "test.toml"),
                           "admin.listen", 4, "expected an address not used by proxy.listen"));
  // Another spelling of one server; a connection to a wildcard address reaches loopback.
  for (const char* spelling : {"localhost:6379", "0.0.0.0:6379"}) {
    const LoadResult result =
        load_string(std::string("[[backends]]\nname = \"a\"\naddress = \"127.0.0.1:6379\"\n"
                                "[[backends]]\nname = \"b\"\naddress = \"") +
                        spelling + "\"\n",
                    "test.toml");
    EXPECT_TRUE(HasOnlyError(result, "backends[1].address", 6, "duplicate backend address"))
        << spelling << testing::describe_errors(result);
  }
}

TEST(ConfigErrors, ABackendAtTheProxysOwnAddressWouldLoop) {
  EXPECT_TRUE(HasOnlyError(load_string(R"([proxy]
listen = "0.0.0.0:7000"
[[backends]]
name = "a"
address = "127.0.0.1:6379"
[[backends]]
name = "self"
address = "127.0.0.1:7000"
)",
                                       "test.toml"),
                           "backends[1].address", 8, "requests for its keys would loop"));
  EXPECT_TRUE(HasOnlyError(load_string(R"([proxy]
listen = "unix:/run/ringleader.sock"
[[backends]]
name = "self"
address = "unix:/run/ringleader.sock"
)",
                                       "test.toml"),
                           "backends[0].address", 5, "requests for its keys would loop"));
  // However the path is spelled.
  EXPECT_TRUE(HasOnlyError(load_string(R"([proxy]
listen = "unix:/run/ringleader.sock"
[[backends]]
name = "self"
address = "unix:/run//x/../ringleader.sock"
)",
                                       "test.toml"),
                           "backends[0].address", 5, "requests for its keys would loop"));
  // Another socket is a backend like any other: UnixSocketAddressesMustBeAbsolutePathsThatFit
  // loads a Unix listener with a Unix backend.
}

TEST(ConfigErrors, BackendWeightOutOfRangeInSecondEntry) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"

[[backends]]
name = "b"
address = "127.0.0.1:7002"
weight = 0
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends[1].weight", 8, "between 1 and 10000, got 0"));
}

TEST(ConfigErrors, BackendMissingAddressPointsAtItsTable) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"

[[backends]]
name = "b"
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends[1].address", 5, "required key is missing"));
}

TEST(ConfigErrors, DuplicateBackendNameAndAddress) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"
[[backends]]
name = "a"
address = "127.0.0.1:7001"
)",
                                        "test.toml");
  ASSERT_EQ(result.errors.size(), 2u) << testing::describe_errors(result);
  EXPECT_TRUE(HasError(result, "backends[1].name", 5,
                       "duplicate backend name \"a\"; already used by backends[0].name"));
  EXPECT_TRUE(HasError(result, "backends[1].address", 6,
                       "duplicate backend address \"127.0.0.1:7001\"; already used by "
                       "backends[0].address"));
}

// One server however it is spelled: with replicas, both copies of a key would land on it.
TEST(ConfigErrors, DuplicateBackendAddressIgnoresCaseAndIpv6Spelling) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"
[[backends]]
name = "b"
address = "LOCALHOST:7001"
[[backends]]
name = "c"
address = "[::1]:7001"
[[backends]]
name = "d"
address = "[0:0:0:0:0:0:0:1]:7001"
[[backends]]
name = "e"
address = "[::ffff:127.0.0.1]:7001"
)",
                                        "test.toml");
  ASSERT_EQ(result.errors.size(), 3u) << testing::describe_errors(result);
  EXPECT_TRUE(HasError(result, "backends[4].address", 15,
                       "duplicate backend address \"127.0.0.1:7001\"; already used by "
                       "backends[0].address"));
  EXPECT_TRUE(HasError(result, "backends[1].address", 6,
                       "duplicate backend address \"127.0.0.1:7001\"; already used by "
                       "backends[0].address"));
  EXPECT_TRUE(HasError(result, "backends[3].address", 12,
                       "duplicate backend address \"[::1]:7001\"; already used by "
                       "backends[2].address"));
}

// With replicas, a key's copies would land on one server twice.
TEST(ConfigErrors, TwoSpellingsOfOneUnixSocketAreOneBackend) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "unix:/run/redis/redis.sock"
[[backends]]
name = "b"
address = "unix:/run/redis/./redis.sock"
[[backends]]
name = "c"
address = "unix:/run//redis/redis.sock"
[[backends]]
name = "d"
address = "unix:/run/redis-2/redis.sock"
)",
                                        "test.toml");
  ASSERT_EQ(result.errors.size(), 2u) << testing::describe_errors(result);
  EXPECT_TRUE(HasError(result, "backends[1].address", 6, "already used by backends[0].address"));
  EXPECT_TRUE(HasError(result, "backends[2].address", 9, "already used by backends[0].address"));
}

TEST(ConfigErrors, BackendNameWithForbiddenCharacters) {
  const LoadResult result = load_string(R"([[backends]]
name = "my backend"
address = "127.0.0.1:7001"
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends[0].name", 2,
                           "expected a name of 1 to 128 characters from A-Z a-z 0-9 . _ : -, got "
                           "\"my backend\""));
}

TEST(ConfigErrors, BackendNameTooLong) {
  const std::string text =
      "[[backends]]\nname = \"" + std::string(129, 'x') + "\"\naddress = \"127.0.0.1:7001\"\n";
  EXPECT_TRUE(HasOnlyError(load_string(text, "test.toml"), "backends[0].name", 2,
                           "expected a name of 1 to 128 characters"));
}

TEST(ConfigErrors, BackendState) {
  const LoadResult result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"
state = "up"
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends[0].state", 4,
                           "expected one of \"active\", \"draining\", \"down\", got \"up\""));
}

TEST(ConfigErrors, BackendsWrittenAsSingleTable) {
  const LoadResult result = load_string(R"([backends]
name = "a"
address = "127.0.0.1:7001"
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends", 1,
                           "expected an array of tables ([[backends]]), got a table"));
}

TEST(ConfigErrors, BackendsArrayElementNotATable) {
  const LoadResult result = load_string(R"(backends = [
  { name = "a", address = "127.0.0.1:7001" },
  "127.0.0.1:7002",
]
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends[1]", 3, "expected a table, got a string"));
}

TEST(ConfigErrors, SectionThatIsNotATable) {
  const LoadResult result = load_with_backend(R"(proxy = 5
)");
  EXPECT_TRUE(HasOnlyError(result, "proxy", 1, "expected a table, got an integer"));
}

TEST(ConfigErrors, StaticModeNeedsABackend) {
  const LoadResult result = load_string(R"([proxy]
listen = "127.0.0.1:6380"
)",
                                        "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends", 0, "at least one [[backends]] entry is required"));
}

TEST(ConfigErrors, EveryBackendDownIsRefused) {
  const std::string two_down = R"([[backends]]
name = "a"
address = "127.0.0.1:7001"
state = "down"

[[backends]]
name = "b"
address = "127.0.0.1:7002"
state = "STATE"
)";
  std::string all_down = two_down;
  all_down.replace(all_down.find("STATE"), 5, "down");
  EXPECT_TRUE(HasOnlyError(load_string(all_down, "test.toml"), "backends", 1,
                           "every [[backends]] entry has state \"down\""));
  for (const char* up : {"active", "draining"}) {
    std::string one_up = two_down;
    one_up.replace(one_up.find("STATE"), 5, up);
    const LoadResult result = load_string(one_up, "test.toml");
    EXPECT_TRUE(result.ok()) << up;
  }
}

TEST(ConfigErrors, KetamaWithExplicitXxh3Hash) {
  const LoadResult result = load_with_backend(R"([ring]
algorithm = "ketama"
hash = "xxh3"
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.hash", 3,
                           "expected \"fnv1a_64\" or \"md5\" with algorithm \"ketama\""));
}

TEST(ConfigErrors, KetamaWithDefaultHashPointsAtAlgorithm) {
  const LoadResult result = load_with_backend(R"([ring]
algorithm = "ketama"
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.algorithm", 2,
                           "algorithm \"ketama\" needs ring.hash = \"fnv1a_64\" or \"md5\""));
}

TEST(ConfigErrors, KetamaRejectsBalanceFactorAndOtherVnodeCounts) {
  const LoadResult result = load_with_backend(R"([ring]
algorithm = "ketama"
hash = "md5"
balance_factor = 1.25
vnodes = 100
)");
  ASSERT_EQ(result.errors.size(), 2u) << testing::describe_errors(result);
  EXPECT_TRUE(
      HasError(result, "ring.balance_factor", 4, "not supported with algorithm \"ketama\""));
  EXPECT_TRUE(HasError(result, "ring.vnodes", 5, "expected 160 or no value"));
}

TEST(ConfigErrors, MaglevRejectsBalanceFactor) {
  const LoadResult result = load_with_backend(R"([ring]
algorithm = "maglev"
balance_factor = 1.25
)");
  EXPECT_TRUE(
      HasOnlyError(result, "ring.balance_factor", 3, "not supported with algorithm \"maglev\""));
}

TEST(ConfigErrors, InvalidHashNameDoesNotAlsoTriggerTheKetamaRule) {
  const LoadResult result = load_with_backend(R"([ring]
algorithm = "ketama"
hash = "fnv1a64"
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.hash", 3, "did you mean \"fnv1a_64\"?"));
}

TEST(ConfigErrors, BalanceFactorBetweenZeroAndOne) {
  const LoadResult result = load_with_backend(R"([ring]
balance_factor = 0.5
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.balance_factor", 2,
                           "expected 0 (off) or a number in [1.0, 1e+06], got 0.5"));
}

// The same bound in static and raft mode, reported at the key (raft mode seeds the membership
// from [ring], whose state machine refuses a factor above 1e6).
TEST(ConfigErrors, BalanceFactorAboveItsBound) {
  for (const char* factor : {"1e7", "1e300"}) {
    const LoadResult result =
        load_with_backend(std::string("[ring]\nbalance_factor = ") + factor + "\n");
    EXPECT_TRUE(HasOnlyError(result, "ring.balance_factor", 2, "a number in [1.0, 1e+06], got"))
        << factor;
  }
  EXPECT_TRUE(load_with_backend("[ring]\nbalance_factor = 1e6\n").ok());
}

TEST(ConfigErrors, BalanceFactorNotANumber) {
  const LoadResult result = load_with_backend(R"([ring]
balance_factor = nan
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.balance_factor", 2, "expected a finite number"));
}

TEST(ConfigErrors, HashTagMustBeTwoPrintableCharacters) {
  const LoadResult result = load_with_backend(R"([ring]
hash_tag = "{"
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.hash_tag", 2,
                           "expected two printable ASCII characters such as \"{}\" or \"$$\", "
                           "or \"\" to disable hash tags, got \"{\""));
  EXPECT_TRUE(HasOnlyError(load_with_backend("[ring]\nhash_tag = \"{}}\"\n"), "ring.hash_tag", 2,
                           "got \"{}}\""));
  // Keys are bytes: "é" is two bytes, and neither is a character of the key's text.
  EXPECT_TRUE(HasOnlyError(load_with_backend("[ring]\nhash_tag = \"é\"\n"), "ring.hash_tag", 2,
                           "printable ASCII"));
  EXPECT_TRUE(HasOnlyError(load_with_backend("[ring]\nhash_tag = \"\\t}\"\n"), "ring.hash_tag", 2,
                           "printable ASCII"));
  EXPECT_TRUE(load_with_backend("[ring]\nhash_tag = \"<>\"\n").ok());
  EXPECT_TRUE(load_with_backend("[ring]\nhash_tag = \" |\"\n").ok());  // a space is ASCII too
  // The same character twice, as twemproxy documents ("$$"): the text between two of them.
  const LoadResult same = load_with_backend("[ring]\nhash_tag = \"$$\"\n");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same.config.ring.hash_tag, "$$");
}

TEST(ConfigErrors, MaglevTableSizeMustBeALargeEnoughPrime) {
  EXPECT_TRUE(HasOnlyError(load_with_backend("[ring]\nmaglev_table_size = 1032\n"),
                           "ring.maglev_table_size", 2, "got 1032, which is not prime"));
  EXPECT_TRUE(HasOnlyError(
      load_with_backend("[ring]\nmaglev_table_size = 1021\n"), "ring.maglev_table_size", 2,
      "expected 0 (size chosen automatically) or a prime in [1031, 16777216], got 1021"));
  // A prime, but building a table that size would take minutes and gigabytes.
  EXPECT_TRUE(HasOnlyError(load_with_backend("[ring]\nmaglev_table_size = 4294967291\n"),
                           "ring.maglev_table_size", 2,
                           "expected an integer between 0 and 16777216, got 4294967291"));
}

TEST(ConfigErrors, ReplicasBeyondNumberOfBackends) {
  const LoadResult result = load_with_backend(R"([ring]
replicas = 2
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.replicas", 2,
                           "expected at most 1 (the number of [[backends]]), got 2"));
}

TEST(ConfigErrors, ReplicasBeyondMaximum) {
  const LoadResult result = load_with_backend(R"([ring]
replicas = 9
)");
  EXPECT_TRUE(HasOnlyError(result, "ring.replicas", 2, "between 1 and 8, got 9"));
}

TEST(ConfigErrors, RaftModeRequiresItsKeysAtTheModeLine) {
  const LoadResult result = load_with_backend(R"([membership]
mode = "raft"
)");
  ASSERT_EQ(result.errors.size(), 4u) << testing::describe_errors(result);
  for (const char* key :
       {"membership.node_id", "membership.listen", "membership.peers", "membership.data_dir"}) {
    EXPECT_TRUE(HasError(result, key, 2, "required when membership.mode is \"raft\""));
  }
}

constexpr std::string_view kRaftHead = R"([membership]
mode = "raft"
node_id = "n1"
listen = "127.0.0.1:7401"
data_dir = "/var/lib/ringleader"
)";

// The admin and Raft listeners, this instance's or another peer's, answer no backend
// protocol: a backend there only times out.
TEST(ConfigErrors, ABackendAtAnotherOfTheInstancesListenersIsRefused) {
  const std::string raft = std::string(kRaftHead) +
                           "peers = [\"n1@127.0.0.1:7401\", \"n2@127.0.0.1:7402\"]\n"
                           "[admin]\nlisten = \"127.0.0.1:9100\"\n";
  const std::pair<const char*, const char*> kAt[] = {
      {"127.0.0.1:9100", "the address of admin.listen"},
      {"localhost:7401", "the address of membership.listen"},
      {"127.0.0.1:7402", "the address of peer n2's membership listener"}};
  for (const auto& [address, what] : kAt) {
    const LoadResult result = load_string(
        raft + "[[backends]]\nname = \"a\"\naddress = \"" + address + "\"\n", "test.toml");
    EXPECT_TRUE(HasOnlyError(result, "backends[0].address", 11, what))
        << address << testing::describe_errors(result);
  }
  // A peer's membership listener at this instance's admin port.
  const LoadResult peer = load_string(std::string(kRaftHead) +
                                          "peers = [\"n1@127.0.0.1:7401\", "
                                          "\"n2@127.0.0.1:9100\"]\n"
                                          "[admin]\nlisten = \"127.0.0.1:9100\"\n"
                                          "[[backends]]\nname = \"a\"\naddress = "
                                          "\"127.0.0.1:6379\"\n",
                                      "test.toml");
  EXPECT_TRUE(HasOnlyError(peer, "membership.peers", 6,
                           "expected peer n2 at an address other than this instance's "
                           "admin.listen"))
      << testing::describe_errors(peer);
}

// A wildcard listener is reached through loopback; another host's server at the same port
// is not this instance (Redis on 10.0.0.5:6379 behind a proxy on 0.0.0.0:6379 is the common
// case, and was refused).
TEST(ConfigErrors, AWildcardListenerIsNotAnotherHostAtTheSamePort) {
  // How Linux routes the rest, listener then address.
  EXPECT_TRUE(address_reaches_listener("[::]:7000", "127.0.0.1:7000"));  // dual-stack
  EXPECT_TRUE(address_reaches_listener("[::]:7000", "[::]:7000"));
  EXPECT_TRUE(address_reaches_listener("127.0.0.1:7000", "0.0.0.0:7000"));
  EXPECT_FALSE(address_reaches_listener("127.0.0.2:7000", "0.0.0.0:7000"));
  EXPECT_FALSE(address_reaches_listener("[::1]:7000", "0.0.0.0:7000"));
  EXPECT_FALSE(address_reaches_listener("127.0.0.1:7000", "[::]:7000"));
  EXPECT_TRUE(address_reaches_listener("[::1]:7000", "localhost:7000"));  // may resolve so
  EXPECT_FALSE(address_reaches_listener("[::1]:7000", "[::ffff:127.0.0.1]:7000"));
  EXPECT_FALSE(address_reaches_listener("0.0.0.0:7000", "127.0.0.1:7001"));
  const std::string raft =
      std::string(kRaftHead.substr(0, kRaftHead.find("listen = "))) +
      "listen = \"0.0.0.0:7401\"\ndata_dir = \"/var/lib/ringleader\"\nsecret = \"s\"\n"
      "peers = [\"n1@127.0.0.1:7401\", \"n2@10.0.0.2:6379\"]\n"
      "[proxy]\nlisten = \"0.0.0.0:6379\"\n"
      "[admin]\nlisten = \"127.0.0.1:9100\"\n";
  // (An IPv4 wildcard listener takes no IPv6 connection: [::1] and [::] reach another socket.)
  for (const char* address :
       {"10.0.0.5:6379", "10.0.0.5:7401", "[2001:db8::5]:6379", "[::1]:7401", "[::]:6379"}) {
    const LoadResult result = load_string(
        raft + "[[backends]]\nname = \"a\"\naddress = \"" + address + "\"\n", "test.toml");
    EXPECT_TRUE(result.ok()) << address << testing::describe_errors(result);
  }
  for (const char* address : {"127.0.0.1:6379", "localhost:6379", "127.0.0.2:7401",
                              "[::ffff:127.0.0.1]:7401", "0.0.0.0:6379"}) {
    const LoadResult result = load_string(
        raft + "[[backends]]\nname = \"a\"\naddress = \"" + address + "\"\n", "test.toml");
    EXPECT_FALSE(result.ok()) << address;
  }
}

TEST(ConfigErrors, RaftPeersMustIncludeThisNode) {
  const LoadResult result = load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n2@127.0.0.1:7402",
  "n3@127.0.0.1:7403",
]
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.peers", 6,
                           "expected an entry for this node (node_id \"n1\"), got ids \"n2\", "
                           "\"n3\""));
}

TEST(ConfigErrors, RaftListenMustHaveThePortOfThisNodesPeerEntry) {
  const LoadResult result = load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n1@127.0.0.1:7409",
  "n2@127.0.0.1:7402",
]
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.listen", 4,
                           "expected port 7409, as in this node's entry in membership.peers "
                           "(n1@127.0.0.1:7409), got \"127.0.0.1:7401\""));
  // Another host with the same port is fine: a wildcard listener, an address behind NAT.
  std::string wildcard(kRaftHead);
  wildcard.replace(wildcard.find("127.0.0.1:7401"), 14, "0.0.0.0:7401");
  EXPECT_TRUE(load_with_backend(wildcard + R"(secret = "s"
peers = ["n1@10.0.0.1:7401"]
)")
                  .ok());
}

// `serve` would refuse these only after bootstrapping the group into data_dir, which then
// names founders that the corrected file does not: refused here, before anything is written.
TEST(ConfigErrors, RaftPeersAndListenNeedNumericHosts) {
  const LoadResult peers = load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n1@127.0.0.1:7401",
  "n2@peer2.example.com:7402",
]
)");
  EXPECT_TRUE(HasOnlyError(peers, "membership.peers", 6,
                           "the host of a peer must be a numeric IP or localhost (instances "
                           "reach each other by number, never through a resolver), got "
                           "\"n2@peer2.example.com:7402\""));
  std::string named(kRaftHead);
  named.replace(named.find("127.0.0.1:7401"), 14, "node1.example.com:7401");
  const LoadResult listen = load_with_backend(named + R"(peers = ["n1@127.0.0.1:7401"]
)");
  EXPECT_TRUE(HasOnlyError(listen, "membership.listen", 4, "with a numeric IP or localhost"));
  // In static mode [membership] is unused, names and all (a notice says so).
  std::string unused(named);
  unused.replace(unused.find("\"raft\""), 6, "\"static\"");
  EXPECT_TRUE(load_with_backend(unused + R"(peers = ["n1@node1.example.com:7401"]
)")
                  .ok());
  // Numbers of both families, a link-local scope, and localhost are fine.
  EXPECT_TRUE(load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n1@localhost:7401",
  "n2@[::1]:7402",
  "n3@[fe80::1%eth0]:7403",
  "n4@10.1.2.3:7404",
]
)")
                  .ok());
}

TEST(ConfigErrors, RaftOffLoopbackNeedsASecret) {
  std::string wildcard(kRaftHead);
  wildcard.replace(wildcard.find("127.0.0.1:7401"), 14, "0.0.0.0:7401");
  const LoadResult result = load_with_backend(wildcard + R"(peers = ["n1@10.0.0.1:7401"]
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.listen", 4, "set membership.secret"));
}

// A token guards the admin API; without a secret the Raft transport, which takes forwarded
// changes with no token, would be a way around it.
TEST(ConfigErrors, ATokenInRaftModeNeedsASecret) {
  const std::string raft = std::string(kRaftHead) + "peers = [\"n1@127.0.0.1:7401\"]\n";
  const LoadResult without = load_with_backend(raft + "[admin]\ntoken = \"t\"\n");
  EXPECT_EQ(without.errors.size(), 1u) << testing::describe_errors(without);
  EXPECT_TRUE(HasError(without, "membership.secret", 0, "set membership.secret on every instance"))
      << testing::describe_errors(without);
  EXPECT_TRUE(load_with_backend(raft + "secret = \"s\"\n[admin]\ntoken = \"t\"\n").ok());
  EXPECT_TRUE(load_with_backend(raft).ok()) << "no token: loopback without a secret is allowed";
  EXPECT_TRUE(load_with_backend("[admin]\ntoken = \"t\"\n").ok()) << "static mode";
}

TEST(ConfigErrors, AdminOffLoopbackNeedsAToken) {
  const LoadResult result = load_with_backend(R"([admin]
listen = "0.0.0.0:9180"
)");
  EXPECT_TRUE(HasOnlyError(result, "admin.listen", 2, "set admin.token"));
  for (const char* listen : {"127.0.0.2:9180", "[::1]:9180", "localhost:9180"}) {
    EXPECT_TRUE(load_with_backend(std::string("[admin]\nlisten = \"") + listen + "\"\n").ok())
        << listen;
  }
  EXPECT_TRUE(load_with_backend(R"([admin]
listen = "10.1.2.3:9180"
token = "t"
)")
                  .ok());
}

// HTTP trims a header value's white space and carries no control characters: such a token
// could never match. The error does not show the token.
TEST(ConfigErrors, AnAdminTokenNoHeaderCanCarryIsRefused) {
  for (const char* token : {"s3cret ", " s3cret", "s3cret\\t", "s3\\ncret", "s3\\u007fcret"}) {
    const LoadResult result =
        load_with_backend(std::string("[admin]\ntoken = \"") + token + "\"\n");
    ASSERT_TRUE(HasOnlyError(result, "admin.token", 2, "no Authorization header can carry it"))
        << token;
    EXPECT_EQ(result.errors[0].message.find("s3"), std::string::npos) << token;
  }
  EXPECT_TRUE(load_with_backend("[admin]\ntoken = \"s3 cret-+/=\"\n").ok());
}

// The ring's bound on points is an error at the key to change, with its line: ring.vnodes
// when the file sets it, else the heaviest backend's weight.
TEST(ConfigErrors, TooManyRingPointsNamesTheKeyToChange) {
  LoadResult result = load_string(R"([ring]
vnodes = 1000
[[backends]]
name = "a"
address = "127.0.0.1:7001"
weight = 10000
)",
                                  "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "ring.vnodes", 2, "too many ring points"));
  result = load_string(R"([[backends]]
name = "a"
address = "127.0.0.1:7001"
weight = 9000
[[backends]]
name = "b"
address = "127.0.0.1:7002"
weight = 10000
[[backends]]
name = "c"
address = "127.0.0.1:7003"
weight = 10000
)",
                       "test.toml");
  EXPECT_TRUE(HasOnlyError(result, "backends[1].weight", 8, "too many ring points"));
}

TEST(ConfigErrors, MalformedPeer) {
  const LoadResult result = load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n1@127.0.0.1:7401",
  "n2-127.0.0.1:7402",
]
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.peers[1]", 8,
                           "expected \"id@host:port\" with an id of 1 to 64 characters from "
                           "A-Z a-z 0-9 . _ -, got \"n2-127.0.0.1:7402\""));
}

TEST(ConfigErrors, DuplicatePeerId) {
  const LoadResult result = load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n1@127.0.0.1:7401",
  "n1@127.0.0.1:7402",
]
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.peers[1]", 8,
                           "duplicate peer id \"n1\"; already used by membership.peers[0]"));
}

TEST(ConfigErrors, DuplicatePeerAddressHoweverSpelled) {
  const LoadResult result = load_with_backend(std::string(kRaftHead) + R"(peers = [
  "n1@127.0.0.1:7401",
  "n2@localhost:7401",
]
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.peers[1]", 8,
                           "duplicate peer address \"localhost:7401\"; already used by "
                           "membership.peers[0]"));
}

TEST(ConfigErrors, PeersMustBeAnArrayOfStrings) {
  const LoadResult result =
      load_with_backend(std::string(kRaftHead) + "peers = \"n1@127.0.0.1:7401\"\n");
  EXPECT_TRUE(HasOnlyError(result, "membership.peers", 6,
                           "expected an array of strings \"id@host:port\", got a string"));
  const LoadResult numbers = load_with_backend(std::string(kRaftHead) + "peers = [1]\n");
  EXPECT_TRUE(HasOnlyError(numbers, "membership.peers[0]", 6,
                           "expected a string \"id@host:port\", got an integer"));
}

TEST(ConfigErrors, ElectionTimeoutBelowTwiceTheHeartbeat) {
  const LoadResult result = load_with_backend(R"([membership]
heartbeat_ms = 100
election_timeout_ms = 150
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.election_timeout_ms", 3,
                           "expected at least 2 x membership.heartbeat_ms = 200, got 150"));
}

TEST(ConfigErrors, HeartbeatTooLongForTheDefaultElectionTimeout) {
  const LoadResult result = load_with_backend(R"([membership]
heartbeat_ms = 600
)");
  EXPECT_TRUE(HasOnlyError(result, "membership.heartbeat_ms", 2,
                           "expected at most half of membership.election_timeout_ms (1000 by "
                           "default) = 500, got 600"));
}

TEST(ConfigErrors, AdminListenerCollidesWithProxyListener) {
  const LoadResult result = load_with_backend(R"([proxy]
listen = "0.0.0.0:9000"
[admin]
listen = "127.0.0.1:9000"
)");
  EXPECT_TRUE(HasOnlyError(result, "admin.listen", 4,
                           "expected an address not used by proxy.listen (0.0.0.0:9000)"));
}

TEST(ConfigErrors, InvalidNodeId) {
  const LoadResult result = load_with_backend(R"([membership]
node_id = "node one"
)");
  EXPECT_TRUE(
      HasOnlyError(result, "membership.node_id", 2, "expected an id of 1 to 64 characters"));
}

TEST(ConfigErrors, EveryErrorIsReportedInFileOrder) {
  const LoadResult result = load_string(R"([proxy]
workers = -1
listn = "x"

[ring]
vnodes = 0
hash = "sha1"

[[backends]]
name = "a"
address = "nowhere"
)",
                                        "test.toml");
  ASSERT_EQ(result.errors.size(), 5u) << testing::describe_errors(result);
  EXPECT_EQ(result.errors[0].key, "proxy.workers");
  EXPECT_EQ(result.errors[1].key, "proxy.listn");
  EXPECT_EQ(result.errors[2].key, "ring.vnodes");
  EXPECT_EQ(result.errors[3].key, "ring.hash");
  EXPECT_EQ(result.errors[4].key, "backends[0].address");
  for (size_t i = 1; i < result.errors.size(); ++i) {
    EXPECT_LT(result.errors[i - 1].line, result.errors[i].line);
  }
  EXPECT_FALSE(result.ok());
}

TEST(ConfigErrors, MissingFileNamesTheFileAndTheSystemError) {
  const std::string path = "/nonexistent-ringleader-dir/missing.toml";
  const LoadResult result = load_file(path);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].file, path);
  EXPECT_EQ(result.errors[0].line, 0u);
  EXPECT_EQ(result.errors[0].to_string(), path + ": cannot read file: No such file or directory");
}

TEST(ConfigErrors, DirectoryInsteadOfFile) {
  const LoadResult result = load_file("/");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("cannot read file"), std::string::npos)
      << result.errors[0].message;
}

// toml++ parses a dotted key or a table header one part per call: tens of thousands of parts
// are an error about the key, not a crash (a SIGHUP with such a file took a proxy down).
TEST(ConfigErrors, KeysTensOfThousandsOfPartsDeepAreAnErrorNotACrash) {
  std::string parts;
  for (int i = 0; i < 50000; ++i)
    parts += i == 0 ? "a" : ".a";
  EXPECT_TRUE(HasOnlyError(load_with_backend(parts + " = 1\n"), "a", 1, "unknown table"));
  EXPECT_TRUE(HasOnlyError(load_with_backend("[" + parts + "]\nx = 1\n"), "a", 1, "unknown table"));
  EXPECT_TRUE(HasOnlyError(load_with_backend("[proxy]\n" + parts + " = 1\n"), "proxy.a", 2,
                           "unknown table"));
}

TEST(ConfigErrors, AFileOverOneMebibyteIsNotRead) {
  const std::string path = ::testing::TempDir() + "/ringleader-huge.toml";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string comment = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 1025; ++i)
      std::fwrite(comment.data(), 1, comment.size(), f);
    std::fclose(f);
  }
  const LoadResult result = load_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].to_string(),
            path + ": cannot read file: larger than 1 MiB; a configuration is far smaller");
}

}  // namespace
}  // namespace ringleader::config
