// Replica sets: distinct members, zone spread, primary first, states honoured.
#include <gtest/gtest.h>

#include <set>

#include "ring_test_util.h"

namespace ringleader::ring {
namespace {

using testing::make_backends;
using testing::make_keys;
using testing::must_build;

std::vector<Backend> zoned(int n, int zones) {
  auto backends = make_backends(n);
  for (int i = 0; i < n; ++i)
    backends[i].zone = "z" + std::to_string(i % zones);
  return backends;
}

class ReplicaAlgorithmTest : public ::testing::TestWithParam<Algorithm> {
 protected:
  RingParams params(uint32_t replicas) const {
    RingParams p;
    p.algorithm = GetParam();
    p.replicas = replicas;
    return p;
  }
};

TEST_P(ReplicaAlgorithmTest, DistinctAndPrimaryFirst) {
  auto ring = must_build(make_backends(12), params(3));
  for (const auto& k : make_keys(20000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 3u);
    EXPECT_EQ(set[0], ring->primary_for_key(k));
    std::set<BackendIndex> distinct(set.begin(), set.end());
    EXPECT_EQ(distinct.size(), 3u);
  }
}

TEST_P(ReplicaAlgorithmTest, OneReplicaIsThePrimaryAlone) {
  auto ring = must_build(zoned(12, 3), params(1));
  for (const auto& k : make_keys(5000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 1u);
    EXPECT_EQ(set[0], ring->primary_for_key(k));
  }
  auto down = zoned(3, 3);
  for (auto& b : down)
    b.state = BackendState::kDown;
  EXPECT_TRUE(must_build(down, params(1))->replicas_for_key("k").empty());
}

TEST_P(ReplicaAlgorithmTest, SpreadsOverDistinctZones) {
  auto ring = must_build(zoned(30, 3), params(3));
  for (const auto& k : make_keys(20000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 3u);
    std::set<std::string> zones;
    for (BackendIndex b : set)
      zones.insert(ring->backend(b).zone);
    ASSERT_EQ(zones.size(), 3u) << "key " << k;
  }
}

TEST_P(ReplicaAlgorithmTest, FewerZonesThanReplicasStillUsesEveryZone) {
  auto ring = must_build(zoned(10, 2), params(3));
  for (const auto& k : make_keys(20000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 3u);
    std::set<std::string> zones;
    std::set<BackendIndex> distinct(set.begin(), set.end());
    for (BackendIndex b : set)
      zones.insert(ring->backend(b).zone);
    EXPECT_EQ(zones.size(), 2u);
    EXPECT_EQ(distinct.size(), 3u);
  }
}

TEST_P(ReplicaAlgorithmTest, ReplicasCappedByLiveBackends) {
  auto backends = make_backends(3);
  backends[1].state = BackendState::kDown;
  auto ring = must_build(backends, params(3));
  for (const auto& k : make_keys(1000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 2u);
    EXPECT_FALSE(set.contains(1));
  }
}

TEST_P(ReplicaAlgorithmTest, DrainingIsNeverPrimaryButCanFillASet) {
  auto backends = make_backends(3);
  backends[0].state = BackendState::kDraining;
  auto ring = must_build(backends, params(3));
  for (const auto& k : make_keys(2000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 3u);
    EXPECT_NE(set[0], 0u);
    EXPECT_EQ(set[2], 0u) << "a draining backend comes after every active one";
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, ReplicaAlgorithmTest,
                         ::testing::Values(Algorithm::kVnode, Algorithm::kMaglev),
                         [](const ::testing::TestParamInfo<Algorithm>& tp) {
                           return std::string(to_string(tp.param));
                         });

TEST(ReplicaTest, BoundedLoadKeepsReplicaRules) {
  RingParams p;
  p.replicas = 3;
  p.balance_factor = 1.1;
  auto ring = must_build(zoned(30, 3), p);
  for (const auto& k : make_keys(20000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 3u);
    EXPECT_EQ(set[0], ring->primary_for_key(k));
    std::set<std::string> zones;
    for (BackendIndex b : set)
      zones.insert(ring->backend(b).zone);
    EXPECT_EQ(zones.size(), 3u);
  }
}

}  // namespace
}  // namespace ringleader::ring
