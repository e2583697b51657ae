// notices(): a valid config says which of its settings do not do all they seem to.
#include <gtest/gtest.h>

#include "config/config.h"
#include "error_matchers.h"

namespace ringleader::config {
namespace {

using testing::describe_errors;
using testing::load_with_backend;

Config loaded(std::string_view text) {
  LoadResult result = load_with_backend(text);
  EXPECT_TRUE(result.ok()) << describe_errors(result);
  return result.config;
}

bool mentions(const std::vector<std::string>& notices, std::string_view text) {
  for (const std::string& n : notices) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(ConfigNotices, NoneWhenEverythingConfiguredIsInForce) {
  EXPECT_TRUE(notices(loaded("[ring]\nreplicas = 1\n")).empty());
  Config c = loaded("[proxy]\nzone = \"a\"\n[replication]\nwrite = \"all\"\nread = \"nearest\"\n");
  c.ring.replicas = 2;
  c.backends.push_back(c.backends[0]);
  c.backends[1].name = "second";
  EXPECT_TRUE(notices(c).empty()) << notices(c)[0];
}

TEST(ConfigNotices, UnixSocketModeWithATcpListenerIsSaidUnused) {
  EXPECT_TRUE(mentions(notices(loaded("[proxy]\nunix_socket_mode = \"0600\"\n")),
                       "proxy.unix_socket_mode applies to a unix: proxy.listen only"));
  EXPECT_TRUE(notices(loaded("[proxy]\nlisten = \"unix:/tmp/rl.sock\"\nunix_socket_mode = "
                             "\"0600\"\n"))
                  .empty());
}

TEST(ConfigNotices, NearestReadsWithoutAZoneReadThePrimary) {
  Config c = loaded("[replication]\nread = \"nearest\"\n");
  c.ring.replicas = 2;
  c.backends.push_back(c.backends[0]);
  c.backends[1].name = "second";
  const auto n = notices(c);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(mentions(n, "without proxy.zone")) << n[0];
}

TEST(ConfigNotices, MoreReplicasThanBackendsIsSaid) {
  Config c = loaded("");
  c.ring.replicas = 3;
  const auto n = notices(c);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(mentions(n, "ring.replicas = 3 but only 1 backends that are not down")) << n[0];
  // Backends that are down hold no copies.
  Config some_down = loaded("");
  some_down.backends.push_back(some_down.backends[0]);
  some_down.backends[1].name = "second";
  some_down.backends[1].state = ring::BackendState::kDown;
  some_down.ring.replicas = 2;
  const auto d = notices(some_down);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(mentions(d, "ring.replicas = 2 but only 1 backends that are not down")) << d[0];
}

TEST(ConfigNotices, EveryBackendDownIsSaid) {
  Config c = loaded("");
  c.backends[0].state = ring::BackendState::kDown;
  const auto n = notices(c);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(mentions(n, "every backend has state = \"down\"")) << n[0];
}

TEST(ConfigNotices, RaftSettingsInStaticModeAreSaidUnused) {
  const auto n = notices(loaded("[membership]\nnode_id = \"p1\"\ndata_dir = \"/var/lib/x\"\n"));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(mentions(n, "apply to mode = \"raft\" only")) << n[0];
}

TEST(ConfigErrors, ZonesAreHeldToTheMembershipsRule) {
  const std::string long_zone(256, 'z');
  EXPECT_FALSE(load_with_backend("[proxy]\nzone = \"" + long_zone + "\"\n").ok());
  EXPECT_FALSE(load_with_backend("[proxy]\nzone = \"a\\u0001b\"\n").ok());
  EXPECT_TRUE(load_with_backend("[proxy]\nzone = \"" + std::string(255, 'z') + "\"\n").ok());
}

TEST(ConfigNotices, SettingsOfAnotherAlgorithmAreSaidUnused) {
  const auto table = notices(loaded("[ring]\nmaglev_table_size = 65537\n"));
  ASSERT_EQ(table.size(), 1u);
  EXPECT_TRUE(mentions(table, "maglev_table_size applies to algorithm = \"maglev\" only"))
      << table[0];
  const auto vnodes = notices(loaded("[ring]\nalgorithm = \"maglev\"\nvnodes = 100\n"));
  ASSERT_EQ(vnodes.size(), 1u);
  EXPECT_TRUE(mentions(vnodes, "ring.vnodes applies to algorithm = \"vnode\" only")) << vnodes[0];
}

TEST(ConfigNotices, MissFailoverNeedsReplicas) {
  const auto n = notices(loaded("[replication]\nmiss_failover = true\n"));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(mentions(n, "miss_failover")) << n[0];
}

TEST(ConfigNotices, WriteAcknowledgementsNeedReplicas) {
  const auto n = notices(loaded("[replication]\nwrite = \"quorum\"\n"));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(mentions(n, "ring.replicas = 1")) << n[0];
}

}  // namespace
}  // namespace ringleader::config
