// Maglev table: balance, weights, limited disruption.
#include <gtest/gtest.h>

#include "ring_test_util.h"

namespace ringleader::ring {
namespace {

using testing::count_primaries;
using testing::make_backends;
using testing::make_keys;
using testing::must_build;
using testing::peak_to_average;

RingParams maglev() {
  RingParams p;
  p.algorithm = Algorithm::kMaglev;
  return p;
}

TEST(MaglevTest, TableSizeIsAPrime) {
  EXPECT_EQ(must_build(make_backends(10), maglev())->placement().size(), 65537u);
  EXPECT_EQ(must_build(make_backends(1000), maglev())->placement().size(), 100003u);
  RingParams p = maglev();
  p.maglev_table_size = 1031;
  EXPECT_EQ(must_build(make_backends(10), p)->placement().size(), 1031u);
}

TEST(MaglevTest, PlacementDoesNotDependOnTheOrderBackendsAreListedIn) {
  std::vector<Backend> listed = make_backends(12);
  listed[3].weight = 3;
  listed[7].state = BackendState::kDraining;
  std::vector<Backend> reversed(listed.rbegin(), listed.rend());
  RingParams p = maglev();
  p.replicas = 3;
  auto a = must_build(listed, p);
  auto b = must_build(reversed, p);
  for (const std::string& key : make_keys(20000)) {
    const ReplicaSet ra = a->replicas(a->hash(key));
    const ReplicaSet rb = b->replicas(b->hash(key));
    ASSERT_EQ(ra.size(), rb.size()) << key;
    for (size_t i = 0; i < ra.size(); ++i)
      ASSERT_EQ(a->backend(ra[i]).name, b->backend(rb[i]).name) << key << " replica " << i;
  }
}

TEST(MaglevTest, NearPerfectBalance) {
  auto ring = must_build(make_backends(100), maglev());
  // Each backend holds floor or ceil of M/N slots.
  EXPECT_LE(peak_to_average(ring->primary_shares()), 1.0 + 100.0 / 65537 + 1e-9);
  EXPECT_LE(peak_to_average(count_primaries(*ring, make_keys(1000000))), 1.05);
}

TEST(MaglevTest, WeightsAreProportional) {
  auto backends = make_backends(4);
  for (int i = 0; i < 4; ++i)
    backends[i].weight = i + 1;
  auto ring = must_build(backends, maglev());
  auto shares = ring->primary_shares();
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(shares[i] / ((i + 1) / 10.0), 1.0, 0.01) << i;
}

TEST(MaglevTest, RemovalDisruptionIsSmall) {
  const int n = 50;
  auto before = must_build(make_backends(n), maglev());
  auto backends = make_backends(n);
  backends.erase(backends.begin() + 7);
  auto after = must_build(backends, maglev());
  auto d = diff(*before, *after);
  ASSERT_TRUE(d.is_ok());
  // Optimum is 1/n; Maglev trades a little extra movement for its balance.
  EXPECT_GE(d->primary_moved, 1.0 / n - 1e-3);
  EXPECT_LE(d->primary_moved, 1.5 / n);
}

TEST(MaglevTest, DrainingGetsNoSlots) {
  auto backends = make_backends(5);
  backends[4].state = BackendState::kDraining;
  auto ring = must_build(backends, maglev());
  EXPECT_EQ(ring->primary_shares()[4], 0.0);
}

}  // namespace
}  // namespace ringleader::ring
