// Good configs: every default when a key is absent, and every key parsed when present.
#include <gtest/gtest.h>

#include "config/config.h"
#include "error_matchers.h"

namespace ringleader::config {
namespace {

using testing::describe_errors;
using testing::load_with_backend;

TEST(ConfigValues, DefaultsWhenOnlyABackendIsGiven) {
  const LoadResult result = load_with_backend("");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  const Config& c = result.config;
  EXPECT_EQ(c.source, "test.toml");

  EXPECT_EQ(c.proxy.listen, "127.0.0.1:6380");
  EXPECT_EQ(c.proxy.unix_socket_mode, 0660u);
  EXPECT_EQ(c.proxy.protocol, Protocol::kRedis);
  EXPECT_EQ(c.proxy.workers, 0u);
  EXPECT_EQ(c.proxy.max_clients, 10000u);
  EXPECT_EQ(c.proxy.client_idle_timeout_ms, 0u);
  EXPECT_EQ(c.proxy.tcp_keepalive_s, 300u);
  EXPECT_EQ(c.proxy.max_request_bytes, 64ull << 20);
  EXPECT_EQ(c.proxy.max_client_output_bytes, 256ull << 20);
  EXPECT_EQ(c.proxy.requirepass, "");
  EXPECT_TRUE(c.proxy.io_uring);
  EXPECT_EQ(c.proxy.zone, "");

  EXPECT_EQ(c.backend.connections, 1u);
  EXPECT_EQ(c.backend.connect_timeout_ms, 1000u);
  EXPECT_EQ(c.backend.timeout_ms, 1000u);
  EXPECT_EQ(c.backend.failure_limit, 3u);
  EXPECT_EQ(c.backend.retry_timeout_ms, 5000u);
  EXPECT_FALSE(c.backend.preconnect);
  EXPECT_EQ(c.backend.tcp_keepalive_s, 300u);
  EXPECT_EQ(c.backend.username, "");
  EXPECT_EQ(c.backend.password, "");
  EXPECT_EQ(c.backend.db, 0u);
  EXPECT_EQ(c.backend.max_reply_bytes, 512ull << 20);

  EXPECT_EQ(c.ring.algorithm, ring::Algorithm::kVnode);
  EXPECT_EQ(c.ring.hash, ring::HashKind::kXxh3);
  EXPECT_EQ(c.ring.vnodes, 160u);
  EXPECT_EQ(c.ring.replicas, 1u);
  EXPECT_EQ(c.ring.hash_tag, "{}");
  EXPECT_EQ(c.ring.balance_factor, 0.0);
  EXPECT_EQ(c.ring.maglev_table_size, 0u);
  EXPECT_EQ(c.ring, ring::RingParams{});

  EXPECT_EQ(c.replication.write, WriteAck::kOne);
  EXPECT_EQ(c.replication.read, ReadPolicy::kPrimary);
  EXPECT_FALSE(c.replication.miss_failover);

  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].name, "a");
  EXPECT_EQ(c.backends[0].address, "127.0.0.1:7001");
  EXPECT_EQ(c.backends[0].weight, 1u);
  EXPECT_EQ(c.backends[0].zone, "");
  EXPECT_EQ(c.backends[0].state, ring::BackendState::kActive);

  EXPECT_EQ(c.membership.mode, MembershipMode::kStatic);
  EXPECT_EQ(c.membership.node_id, "");
  EXPECT_EQ(c.membership.listen, "");
  EXPECT_TRUE(c.membership.peers.empty());
  EXPECT_EQ(c.membership.data_dir, "");
  EXPECT_EQ(c.membership.election_timeout_ms, 1000u);
  EXPECT_EQ(c.membership.heartbeat_ms, 100u);
  EXPECT_EQ(c.membership.secret, "");
  EXPECT_FALSE(c.membership.join);

  EXPECT_EQ(c.admin.listen, "127.0.0.1:9180");
  EXPECT_EQ(c.admin.token, "");
  EXPECT_EQ(c.log.level, "info");
}

// Passwords apply to Redis only (validation refuses them with memcached).
TEST(ConfigValues, RedisPasswords) {
  const LoadResult result = load_string(R"(
[proxy]
requirepass = "s3cret"
[backend]
username = "proxy"
password = "backend-pass"
db = 3
[[backends]]
name = "r1"
address = "127.0.0.1:6379"
)",
                                        "redis.toml");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  EXPECT_EQ(result.config.proxy.requirepass, "s3cret");
  EXPECT_EQ(result.config.backend.username, "proxy");
  EXPECT_EQ(result.config.backend.password, "backend-pass");
  EXPECT_EQ(result.config.backend.db, 3u);
}

// Every key but the passwords (see RedisPasswords).
TEST(ConfigValues, EveryKeyOfAStaticConfig) {
  const LoadResult result = load_string(R"(
[proxy]
listen = "0.0.0.0:7000"
protocol = "memcached"
workers = 4
max_clients = 500
client_idle_timeout_ms = 30000
tcp_keepalive_s = 60
max_request_bytes = 1048576
max_client_output_bytes = 0
io_uring = false
zone = "eu-1a"

[backend]
connections = 2
connect_timeout_ms = 250
timeout_ms = 400
failure_limit = 0
retry_timeout_ms = 10000
preconnect = true
tcp_keepalive_s = 0
max_reply_bytes = 2097152

[ring]
algorithm = "vnode"
hash = "md5"
vnodes = 200
replicas = 2
hash_tag = "[]"
balance_factor = 1.25
maglev_table_size = 65537

[replication]
write = "quorum"
read = "nearest"
miss_failover = true

[[backends]]
name = "cache-1"
address = "10.0.0.1:11211"
weight = 3
zone = "eu-1a"
state = "draining"

[[backends]]
name = "cache-2"
address = "[::1]:11212"
state = "down"

[[backends]]
name = "cache-3"
address = "cache-3.internal:11211"

[admin]
listen = ""
token = "admin-token"

[log]
level = "debug"
)",
                                        "full.toml");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  const Config& c = result.config;

  EXPECT_EQ(c.proxy.listen, "0.0.0.0:7000");
  EXPECT_EQ(c.proxy.protocol, Protocol::kMemcached);
  EXPECT_EQ(c.proxy.workers, 4u);
  EXPECT_EQ(c.proxy.max_clients, 500u);
  EXPECT_EQ(c.proxy.client_idle_timeout_ms, 30000u);
  EXPECT_EQ(c.proxy.tcp_keepalive_s, 60u);
  EXPECT_EQ(c.proxy.max_request_bytes, 1048576u);
  EXPECT_EQ(c.proxy.max_client_output_bytes, 0u);
  EXPECT_FALSE(c.proxy.io_uring);
  EXPECT_EQ(c.proxy.zone, "eu-1a");

  EXPECT_EQ(c.backend.connections, 2u);
  EXPECT_EQ(c.backend.connect_timeout_ms, 250u);
  EXPECT_EQ(c.backend.timeout_ms, 400u);
  EXPECT_EQ(c.backend.failure_limit, 0u);
  EXPECT_EQ(c.backend.retry_timeout_ms, 10000u);
  EXPECT_TRUE(c.backend.preconnect);
  EXPECT_EQ(c.backend.tcp_keepalive_s, 0u);
  EXPECT_EQ(c.backend.max_reply_bytes, 2097152u);

  EXPECT_EQ(c.ring.algorithm, ring::Algorithm::kVnode);
  EXPECT_EQ(c.ring.hash, ring::HashKind::kMd5);
  EXPECT_EQ(c.ring.vnodes, 200u);
  EXPECT_EQ(c.ring.replicas, 2u);
  EXPECT_EQ(c.ring.hash_tag, "[]");
  EXPECT_EQ(c.ring.balance_factor, 1.25);
  EXPECT_EQ(c.ring.maglev_table_size, 65537u);

  EXPECT_EQ(c.replication.write, WriteAck::kQuorum);
  EXPECT_EQ(c.replication.read, ReadPolicy::kNearest);
  EXPECT_TRUE(c.replication.miss_failover);

  ASSERT_EQ(c.backends.size(), 3u);
  EXPECT_EQ(c.backends[0], (ring::Backend{"cache-1", "10.0.0.1:11211", 3, "eu-1a",
                                          ring::BackendState::kDraining}));
  EXPECT_EQ(c.backends[1],
            (ring::Backend{"cache-2", "[::1]:11212", 1, "", ring::BackendState::kDown}));
  EXPECT_EQ(c.backends[2], (ring::Backend{"cache-3", "cache-3.internal:11211", 1, "",
                                          ring::BackendState::kActive}));

  EXPECT_EQ(c.admin.listen, "");
  EXPECT_EQ(c.admin.token, "admin-token");
  EXPECT_EQ(c.log.level, "debug");
}

TEST(ConfigValues, EveryKeyOfARaftConfig) {
  const LoadResult result = load_string(R"(
[membership]
mode = "raft"
node_id = "n2"
listen = "127.0.0.1:7402"
peers = ["n1@127.0.0.1:7401", "n2@127.0.0.1:7402", "n3@[::1]:7403"]
data_dir = "/var/lib/ringleader/n2"
election_timeout_ms = 1500
heartbeat_ms = 150
secret = "cluster-secret"
join = true

[replication]
write = "all"
read = "any"
)",
                                        "raft.toml");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  const MembershipConfig& m = result.config.membership;
  EXPECT_EQ(m.mode, MembershipMode::kRaft);
  EXPECT_EQ(m.node_id, "n2");
  EXPECT_EQ(m.listen, "127.0.0.1:7402");
  EXPECT_EQ(m.peers,
            (std::vector<PeerConfig>{
                {"n1", "127.0.0.1:7401"}, {"n2", "127.0.0.1:7402"}, {"n3", "[::1]:7403"}}));
  EXPECT_EQ(m.data_dir, "/var/lib/ringleader/n2");
  EXPECT_EQ(m.election_timeout_ms, 1500u);
  EXPECT_EQ(m.heartbeat_ms, 150u);
  EXPECT_EQ(m.secret, "cluster-secret");
  EXPECT_TRUE(m.join);
  EXPECT_EQ(result.config.replication.write, WriteAck::kAll);
  EXPECT_EQ(result.config.replication.read, ReadPolicy::kAny);
  // Raft mode takes its backends from the replicated state; none are needed in the file.
  EXPECT_TRUE(result.config.backends.empty());
}

TEST(ConfigValues, KetamaWithTwemproxyHashes) {
  for (const char* hash : {"fnv1a_64", "md5"}) {
    const LoadResult result = load_with_backend(std::string("[ring]\nalgorithm = \"ketama\"\n") +
                                                "hash = \"" + hash + "\"\nvnodes = 160\n");
    ASSERT_TRUE(result.ok()) << describe_errors(result);
    EXPECT_EQ(result.config.ring.algorithm, ring::Algorithm::kKetama);
  }
}

TEST(ConfigValues, IntegerBalanceFactorAndEmptyHashTag) {
  const LoadResult result = load_with_backend(R"([ring]
balance_factor = 2
hash_tag = ""
)");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  EXPECT_EQ(result.config.ring.balance_factor, 2.0);
  EXPECT_EQ(result.config.ring.hash_tag, "");
}

TEST(ConfigValues, DottedKeysAndInlineTablesAreEquivalentToTables) {
  const LoadResult result = load_string(R"(
ring.replicas = 2
proxy = { workers = 3 }
backends = [
  { name = "a", address = "127.0.0.1:7001" },
  { name = "b", address = "127.0.0.1:7002", weight = 2 },
]
)",
                                        "inline.toml");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  EXPECT_EQ(result.config.ring.replicas, 2u);
  EXPECT_EQ(result.config.proxy.workers, 3u);
  ASSERT_EQ(result.config.backends.size(), 2u);
  EXPECT_EQ(result.config.backends[1].weight, 2u);
}

TEST(ConfigValues, BoundaryValuesAreAccepted) {
  const LoadResult result = load_with_backend(R"([proxy]
workers = 256
max_clients = 4294967295
max_request_bytes = 1024
[backend]
connections = 64
[ring]
vnodes = 10000
maglev_table_size = 1031
)");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  EXPECT_EQ(result.config.proxy.workers, 256u);
  EXPECT_EQ(result.config.proxy.max_clients, 4294967295u);
  EXPECT_EQ(result.config.proxy.max_request_bytes, 1024u);
  EXPECT_EQ(result.config.backend.connections, 64u);
  EXPECT_EQ(result.config.ring.vnodes, 10000u);
  EXPECT_EQ(result.config.ring.maglev_table_size, 1031u);
}

TEST(ConfigValues, ErrorToStringWithoutKeyOrPosition) {
  EXPECT_EQ((ConfigError{"f.toml", 3, 7, "", "invalid TOML: x"}).to_string(),
            "f.toml:3:7: invalid TOML: x");
  EXPECT_EQ((ConfigError{"f.toml", 0, 0, "backends", "at least one"}).to_string(),
            "f.toml: backends: at least one");
}

}  // namespace
}  // namespace ringleader::config
