// Bounded-load placement (balance_factor): no primary owns more than factor × its fair share.
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

TEST(BoundedLoadTest, PeakNeverExceedsTheFactor) {
  for (uint32_t vnodes : {10u, 40u, 160u}) {
    RingParams p;
    p.vnodes = vnodes;
    p.balance_factor = 1.25;
    auto ring = must_build(make_backends(100), p);
    auto shares = ring->primary_shares();
    EXPECT_NEAR(std::accumulate(shares.begin(), shares.end(), 0.0), 1.0, 1e-9);
    EXPECT_LE(peak_to_average(shares), 1.25 + 1e-9) << "vnodes " << vnodes;
  }
}

TEST(BoundedLoadTest, LowersMeasuredPeakOnKeys) {
  auto keys = make_keys(1000000);
  RingParams plain;
  plain.vnodes = 40;
  RingParams bounded = plain;
  bounded.balance_factor = 1.25;
  double before = peak_to_average(count_primaries(*must_build(make_backends(100), plain), keys));
  double after = peak_to_average(count_primaries(*must_build(make_backends(100), bounded), keys));
  RecordProperty("peak_plain_40", std::to_string(before));
  RecordProperty("peak_bounded_40", std::to_string(after));
  EXPECT_LT(after, before);
  // Keys sample the circle: 10,000 per backend leaves about 1% noise on top of the cap.
  EXPECT_LE(after, 1.25 * 1.04);
}

TEST(BoundedLoadTest, HonoursWeights) {
  auto backends = make_backends(20);
  for (int i = 0; i < 20; ++i)
    backends[i].weight = 1 + i % 2;
  RingParams p;
  p.vnodes = 20;
  p.balance_factor = 1.1;
  auto ring = must_build(backends, p);
  auto shares = ring->primary_shares();
  const double total = 30;
  for (int i = 0; i < 20; ++i) {
    EXPECT_LE(shares[i], 1.1 * backends[i].weight / total + 1e-9) << backends[i].name;
  }
}

TEST(BoundedLoadTest, DrainingAndDownOwnNothing) {
  auto backends = make_backends(10);
  backends[1].state = BackendState::kDraining;
  backends[2].state = BackendState::kDown;
  RingParams p;
  p.balance_factor = 1.05;
  auto ring = must_build(backends, p);
  auto shares = ring->primary_shares();
  EXPECT_EQ(shares[1], 0.0);
  EXPECT_EQ(shares[2], 0.0);
  EXPECT_LE(peak_to_average(std::vector<double>{shares[0], shares[3], shares[4], shares[5],
                                                shares[6], shares[7], shares[8], shares[9]}),
            1.05 + 1e-9);
}

}  // namespace
}  // namespace ringleader::ring
