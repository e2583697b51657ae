// The example configs shipped in conf/: each loads without errors and says what its name says.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "config/config.h"
#include "error_matchers.h"

namespace ringleader::config {
namespace {

namespace fs = std::filesystem;
using testing::describe_errors;

const fs::path kConfDir = RINGLEADER_CONF_DIR;

Config load_conf(const std::string& name) {
  const LoadResult result = load_file((kConfDir / name).string());
  EXPECT_TRUE(result.ok()) << describe_errors(result);
  return result.config;
}

TEST(ConfFiles, EveryFileLoadsWithoutErrors) {
  std::set<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(kConfDir)) {
    if (entry.path().extension() != ".toml") continue;
    names.insert(entry.path().filename().string());
    const LoadResult result = load_file(entry.path().string());
    EXPECT_TRUE(result.ok()) << entry.path() << ":\n" << describe_errors(result);
  }
  for (const char* expected : {"redis.toml", "memcached.toml", "twemproxy-compat.toml",
                               "cluster-node1.toml", "cluster-node2.toml", "cluster-node3.toml"}) {
    EXPECT_TRUE(names.count(expected)) << expected << " is missing from " << kConfDir;
  }
}

TEST(ConfFiles, RedisIsAStaticInstanceWithThreeBackends) {
  const Config c = load_conf("redis.toml");
  EXPECT_EQ(c.proxy.protocol, Protocol::kRedis);
  EXPECT_EQ(c.membership.mode, MembershipMode::kStatic);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9180");
  ASSERT_EQ(c.backends.size(), 3u);
  EXPECT_EQ(c.backends[0].address, "127.0.0.1:7001");
  EXPECT_EQ(c.backends[1].address, "127.0.0.1:7002");
  EXPECT_EQ(c.backends[2].address, "127.0.0.1:7003");
}

TEST(ConfFiles, MemcachedIsAPoolOfThree) {
  const Config c = load_conf("memcached.toml");
  EXPECT_EQ(c.proxy.protocol, Protocol::kMemcached);
  EXPECT_EQ(c.backends.size(), 3u);
}

TEST(ConfFiles, TwemproxyCompatUsesKetamaAndTwemproxyStyleNames) {
  const Config c = load_conf("twemproxy-compat.toml");
  EXPECT_EQ(c.ring.algorithm, ring::Algorithm::kKetama);
  EXPECT_EQ(c.ring.hash, ring::HashKind::kFnv1a64);
  ASSERT_FALSE(c.backends.empty());
  for (const ring::Backend& backend : c.backends) {
    EXPECT_EQ(backend.name, backend.address);
  }
}

TEST(ConfFiles, ClusterNodesShareSeedAndPeersButNotPorts) {
  const Config nodes[] = {load_conf("cluster-node1.toml"), load_conf("cluster-node2.toml"),
                          load_conf("cluster-node3.toml")};
  std::set<std::string> listeners;
  std::set<std::string> ids;
  for (const Config& c : nodes) {
    EXPECT_EQ(c.membership.mode, MembershipMode::kRaft);
    EXPECT_EQ(c.membership.peers, nodes[0].membership.peers);
    EXPECT_EQ(c.membership.peers.size(), 3u);
    EXPECT_EQ(c.backends, nodes[0].backends);
    EXPECT_EQ(c.backends.size(), 4u);
    EXPECT_EQ(c.ring, nodes[0].ring);
    ids.insert(c.membership.node_id);
    const PeerConfig self{c.membership.node_id, c.membership.listen};
    EXPECT_NE(std::find(c.membership.peers.begin(), c.membership.peers.end(), self),
              c.membership.peers.end())
        << c.source;
    listeners.insert(c.proxy.listen);
    listeners.insert(c.admin.listen);
    listeners.insert(c.membership.listen);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(listeners.size(), 9u);
  EXPECT_NE(nodes[0].membership.data_dir, nodes[1].membership.data_dir);
  EXPECT_NE(nodes[1].membership.data_dir, nodes[2].membership.data_dir);
}

}  // namespace
}  // namespace ringleader::config
