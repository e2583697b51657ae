// Properties of the weighted virtual-node ring: minimal movement, balance, weights, states.
#include <gtest/gtest.h>

#include <numeric>

#include "ring_test_util.h"

namespace ringleader::ring {
namespace {

using testing::count_primaries;
using testing::make_backends;
using testing::make_keys;
using testing::must_build;
using testing::peak_to_average;

TEST(VnodeRingTest, RemovalMovesExactlyTheRemovedBackendsKeys) {
  const int n = 50;
  auto before = must_build(make_backends(n), RingParams{});
  auto keys = make_keys(200000);
  for (int removed : {0, 17, 49}) {
    auto backends = make_backends(n);
    backends.erase(backends.begin() + removed);
    auto after = must_build(backends, RingParams{});
    const std::string removed_name = "b" + std::to_string(removed);
    size_t moved = 0;
    for (const auto& k : keys) {
      const std::string& old_owner = before->backend(before->primary_for_key(k)).name;
      const std::string& new_owner = after->backend(after->primary_for_key(k)).name;
      if (old_owner == removed_name) {
        ++moved;
        EXPECT_NE(new_owner, removed_name);
      } else {
        ASSERT_EQ(old_owner, new_owner) << "key " << k << " moved but its owner stayed";
      }
    }
    // Exactly: the moved share equals the removed backend's share of the circle.
    auto d = diff(*before, *after);
    ASSERT_TRUE(d.is_ok());
    EXPECT_NEAR(d->primary_moved, before->primary_shares()[removed], 1e-12);
    EXPECT_GT(moved, 0u);
  }
}

TEST(VnodeRingTest, AddingABackendMovesNearTheOptimum) {
  const int n = 100;
  auto before = must_build(make_backends(n), RingParams{});
  const double optimum = 1.0 / (n + 1);
  auto keys = make_keys(200000);
  double sum = 0, worst = 0;
  for (int t = 0; t < 20; ++t) {
    auto backends = make_backends(n);
    const std::string added = "new" + std::to_string(t);
    backends.push_back({added, "127.0.0.1:9000", 1, "", BackendState::kActive});
    auto after = must_build(backends, RingParams{});
    auto d = diff(*before, *after);
    ASSERT_TRUE(d.is_ok());
    double ratio = d->primary_moved / optimum;
    sum += ratio;
    worst = std::max(worst, ratio);
    EXPECT_LE(ratio, 1.3) << "adding " << added;
    // Every key that moved, moved to the new backend.
    for (const auto& k : keys) {
      const std::string& o = before->backend(before->primary_for_key(k)).name;
      const std::string& m = after->backend(after->primary_for_key(k)).name;
      if (o != m) {
        ASSERT_EQ(m, added);
      }
    }
  }
  double mean = sum / 20;
  RecordProperty("add_moved_mean_over_optimum", std::to_string(mean));
  RecordProperty("add_moved_worst_over_optimum", std::to_string(worst));
  EXPECT_LE(mean, 1.1);
}

double measured_peak(int vnodes, const std::vector<std::string>& keys) {
  RingParams p;
  p.vnodes = vnodes;
  auto ring = must_build(make_backends(100), p);
  return peak_to_average(count_primaries(*ring, keys));
}

TEST(VnodeRingTest, PeakToAverageLoadOverOneMillionKeys) {
  auto keys = make_keys(1000000);
  double at160 = measured_peak(160, keys);
  double at1000 = measured_peak(1000, keys);
  RecordProperty("peak_avg_160", std::to_string(at160));
  RecordProperty("peak_avg_1000", std::to_string(at1000));
  EXPECT_LE(at160, 1.30);
  EXPECT_LE(at1000, 1.15);
  EXPECT_LT(at1000, at160);
}

TEST(VnodeRingTest, WeightsAreProportionalAt1000Vnodes) {
  auto backends = make_backends(100);
  for (int i = 0; i < 100; ++i)
    backends[i].weight = 1 + i % 4;
  RingParams p;
  p.vnodes = 1000;
  auto ring = must_build(backends, p);
  auto shares = ring->primary_shares();
  const double total_weight = 25.0 * (1 + 2 + 3 + 4);
  for (uint32_t w = 1; w <= 4; ++w) {
    double share = 0;
    for (int i = 0; i < 100; ++i) {
      if (backends[i].weight == w) share += shares[i];
    }
    double expected = 25.0 * w / total_weight;
    EXPECT_NEAR(share / expected, 1.0, 0.05) << "weight " << w;
  }
  // Per backend the spread is wider (about 1/sqrt(weight × vnodes)); bound it loosely.
  for (int i = 0; i < 100; ++i) {
    double expected = backends[i].weight / total_weight;
    EXPECT_NEAR(shares[i] / expected, 1.0, 0.15) << backends[i].name;
  }
}

TEST(VnodeRingTest, SharesCoverTheWholeCircle) {
  auto ring = must_build(make_backends(37), RingParams{});
  auto shares = ring->primary_shares();
  EXPECT_NEAR(std::accumulate(shares.begin(), shares.end(), 0.0), 1.0, 1e-12);
}

TEST(VnodeRingTest, DrainingBackendLosesPrimariesOnly) {
  auto backends = make_backends(10);
  auto before = must_build(backends, RingParams{});
  backends[3].state = BackendState::kDraining;
  auto after = must_build(backends, RingParams{});
  for (const auto& k : make_keys(50000)) {
    BackendIndex o = before->primary_for_key(k);
    BackendIndex m = after->primary_for_key(k);
    EXPECT_NE(m, 3u);
    if (o != 3u) {
      ASSERT_EQ(o, m);
    }
  }
  EXPECT_EQ(after->primary_shares()[3], 0.0);
}

TEST(VnodeRingTest, DownBackendIsSkippedEverywhere) {
  auto backends = make_backends(5);
  backends[2].state = BackendState::kDown;
  RingParams p;
  p.replicas = 3;
  auto ring = must_build(backends, p);
  for (const auto& k : make_keys(20000)) {
    auto set = ring->replicas_for_key(k);
    ASSERT_EQ(set.size(), 3u);
    EXPECT_FALSE(set.contains(2));
  }
}

TEST(VnodeRingTest, AllDownHasNoOwner) {
  auto backends = make_backends(3);
  for (auto& b : backends)
    b.state = BackendState::kDown;
  auto ring = must_build(backends, RingParams{});
  EXPECT_EQ(ring->primary_for_key("k"), kNoBackend);
  EXPECT_TRUE(ring->replicas_for_key("k").empty());
}

TEST(VnodeRingTest, OnlyDrainingBackendsStillServe) {
  auto backends = make_backends(3);
  for (auto& b : backends)
    b.state = BackendState::kDraining;
  auto ring = must_build(backends, RingParams{});
  EXPECT_NE(ring->primary_for_key("k"), kNoBackend);
}

}  // namespace
}  // namespace ringleader::ring
