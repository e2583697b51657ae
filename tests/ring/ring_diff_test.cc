// diff(): exact key-space movement, checked against sampled keys.
#include <gtest/gtest.h>

#include <set>

#include "ring_test_util.h"

namespace ringleader::ring {
namespace {

using testing::make_backends;
using testing::make_keys;
using testing::must_build;

TEST(RingDiffTest, IdenticalRingsMoveNothing) {
  RingParams p;
  p.replicas = 2;
  auto a = must_build(make_backends(8), p);
  auto b = must_build(make_backends(8), p, 7);
  auto d = diff(*a, *b);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->primary_moved, 0.0);
  EXPECT_EQ(d->replicas_changed, 0.0);
}

TEST(RingDiffTest, AgreesWithSampledKeys) {
  for (Algorithm algorithm : {Algorithm::kVnode, Algorithm::kMaglev}) {
    RingParams p;
    p.algorithm = algorithm;
    p.replicas = 3;
    auto backends = make_backends(20);
    auto a = must_build(backends, p);
    backends[5].weight = 3;
    backends.push_back({"extra", "127.0.0.1:9999", 1, "", BackendState::kActive});
    auto b = must_build(backends, p);
    auto d = diff(*a, *b);
    ASSERT_TRUE(d.is_ok());
    auto keys = make_keys(200000);
    double moved = 0, changed = 0;
    for (const auto& k : keys) {
      auto ra = a->replicas_for_key(k);
      auto rb = b->replicas_for_key(k);
      if (a->backend(ra[0]).name != b->backend(rb[0]).name) ++moved;
      std::set<std::string> sa, sb;
      for (auto x : ra)
        sa.insert(a->backend(x).name);
      for (auto x : rb)
        sb.insert(b->backend(x).name);
      if (sa != sb) ++changed;
    }
    EXPECT_NEAR(moved / keys.size(), d->primary_moved, 0.005) << to_string(algorithm);
    EXPECT_NEAR(changed / keys.size(), d->replicas_changed, 0.005) << to_string(algorithm);
    EXPECT_GT(d->replicas_changed, d->primary_moved);
  }
}

TEST(RingDiffTest, RefusesRingsThatHashDifferently) {
  RingParams fnv;
  fnv.algorithm = Algorithm::kKetama;
  fnv.hash = HashKind::kFnv1a64;
  auto a = must_build(make_backends(3), RingParams{});
  auto b = must_build(make_backends(3), fnv);
  EXPECT_FALSE(diff(*a, *b).is_ok());
}

}  // namespace
}  // namespace ringleader::ring
