// Ring::build validation, hash tags, and snapshot basics.
#include <gtest/gtest.h>

#include "ring_test_util.h"

namespace ringleader::ring {
namespace {

using testing::make_backends;
using testing::must_build;

TEST(RingBuildTest, CarriesEpochParamsAndBackends) {
  auto ring = must_build(make_backends(3), RingParams{}, 42);
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->epoch(), 42u);
  EXPECT_EQ(ring->backends().size(), 3u);
  EXPECT_EQ(ring->find("b1"), BackendIndex{1});
  EXPECT_FALSE(ring->find("nope").has_value());
  EXPECT_EQ(ring->placement().size(), 3u * 160u);
}

TEST(RingBuildTest, RejectsBadInput) {
  struct Case {
    std::vector<Backend> backends;
    RingParams params;
    const char* expect;
  };
  auto dup = make_backends(2);
  dup[1].name = "b0";
  auto zero_weight = make_backends(2);
  zero_weight[0].weight = 0;
  RingParams vnodes0;
  vnodes0.vnodes = 0;
  RingParams replicas9;
  replicas9.replicas = kMaxReplicas + 1;
  RingParams tag;
  tag.hash_tag = "{";
  RingParams factor;
  factor.balance_factor = 0.5;
  RingParams ketama_xxh3;
  ketama_xxh3.algorithm = Algorithm::kKetama;
  RingParams maglev_not_prime;
  maglev_not_prime.algorithm = Algorithm::kMaglev;
  maglev_not_prime.maglev_table_size = 65536;
  RingParams maglev_huge;
  maglev_huge.algorithm = Algorithm::kMaglev;
  maglev_huge.maglev_table_size = 4294967291u;  // a prime
  auto heavy = make_backends(2);
  heavy[0].weight = heavy[1].weight = kMaxWeight;
  RingParams many_vnodes;
  many_vnodes.vnodes = 210;  // 2 x 10000 x 210 points: over kMaxVnodePoints
  std::vector<Case> cases = {
      {heavy, many_vnodes, "too many ring points"},
      {{}, RingParams{}, "at least one backend"},
      {dup, RingParams{}, "duplicate backend name"},
      {zero_weight, RingParams{}, "weight must be"},
      {make_backends(2), vnodes0, "vnodes must be"},
      {make_backends(2), replicas9, "replicas must be"},
      {make_backends(2), tag, "hash_tag"},
      {make_backends(2), factor, "balance_factor"},
      {make_backends(2), ketama_xxh3, "fnv1a_64 or md5"},
      {make_backends(2), maglev_not_prime, "prime"},
      {make_backends(2), maglev_huge, "<= 16777216"},
  };
  for (const auto& c : cases) {
    auto r = Ring::build(c.backends, c.params, 0);
    ASSERT_FALSE(r.is_ok()) << c.expect;
    EXPECT_NE(r.error().find(c.expect), std::string::npos) << r.error();
  }
}

TEST(RingBuildTest, HashTagSelectsTheHashedPart) {
  auto ring = must_build(make_backends(3), RingParams{});
  EXPECT_EQ(ring->hash_input("user:{42}:name"), "42");
  EXPECT_EQ(ring->hash_input("{a}{b}"), "a");
  EXPECT_EQ(ring->hash_input("no-tag"), "no-tag");
  EXPECT_EQ(ring->hash_input("empty{}tag"), "empty{}tag");
  EXPECT_EQ(ring->hash_input("open{only"), "open{only");
  EXPECT_EQ(ring->hash_input("}x{y}"), "y");
  EXPECT_EQ(ring->primary_for_key("user:{42}:name"), ring->primary_for_key("cart:{42}"));

  RingParams no_tags;
  no_tags.hash_tag = "";
  auto plain = must_build(make_backends(3), no_tags);
  EXPECT_EQ(plain->hash_input("user:{42}:name"), "user:{42}:name");

  RingParams colon;
  colon.hash_tag = "::";
  auto colon_ring = must_build(make_backends(3), colon);
  EXPECT_EQ(colon_ring->hash_input("a:tag:b"), "tag");
  EXPECT_EQ(colon_ring->hash_input("a::b:c"), "a::b:c");  // the first tag is empty: whole key
  EXPECT_EQ(colon_ring->hash_input("a:b"), "a:b");
}

TEST(RingBuildTest, SameInputSameRing) {
  auto a = must_build(make_backends(20), RingParams{});
  auto b = must_build(make_backends(20), RingParams{});
  for (const auto& key : testing::make_keys(10000)) {
    ASSERT_EQ(a->primary_for_key(key), b->primary_for_key(key));
  }
}

TEST(RingBuildTest, KetamaPointsFollowTwemproxyFormula) {
  RingParams p;
  p.algorithm = Algorithm::kKetama;
  p.hash = HashKind::kFnv1a64;
  EXPECT_EQ(must_build(make_backends(4), p)->placement().size(), 4u * 160u);
  auto weighted = make_backends(2);
  weighted[0].weight = 1;
  weighted[1].weight = 3;
  // 1/4 × 160/4 × 2 = 20 hashes (80 points); 3/4 × 160/4 × 2 = 60 hashes (240 points).
  EXPECT_EQ(must_build(weighted, p)->placement().size(), 80u + 240u);
}

// A backend that is down (or ejected) is left out of ketama's point counts, as twemproxy leaves
// an ejected server out when it rebuilds its continuum: every key is where a ring of the other
// backends alone puts it.
TEST(RingBuildTest, KetamaWithABackendDownIsTheRingOfTheOthers) {
  RingParams p;
  p.algorithm = Algorithm::kKetama;
  p.hash = HashKind::kMd5;
  auto all = make_backends(5);
  for (size_t i = 0; i < all.size(); ++i)
    all[i].weight = static_cast<uint32_t>(1 + i % 3);
  for (size_t down = 0; down < all.size(); ++down) {
    auto with_down = all;
    with_down[down].state = BackendState::kDown;
    auto others = all;
    others.erase(others.begin() + static_cast<ptrdiff_t>(down));
    auto a = must_build(with_down, p);
    auto b = must_build(others, p);
    for (const auto& key : testing::make_keys(5000)) {
      const BackendIndex pa = a->primary_for_key(key);
      const BackendIndex pb = b->primary_for_key(key);
      ASSERT_NE(pa, kNoBackend) << key;
      ASSERT_EQ(a->backend(pa).name, b->backend(pb).name)
          << key << " with backend " << down << " down";
    }
  }
}

// Next to a heavy backend a light one can round to no points; once the heavy one is down, the
// light one owns every key (before, no key had a primary).
TEST(RingBuildTest, KetamaGivesEveryKeyToTheOnlyActiveBackend) {
  RingParams p;
  p.algorithm = Algorithm::kKetama;
  p.hash = HashKind::kFnv1a64;
  auto backends = make_backends(2);
  backends[0].weight = 200;
  backends[1].weight = 1;
  // 200/201 x 160/4 x 2 = 79.6: 79 hashes (316 points); 1/201 x 160/4 x 2 = 0.4: none.
  EXPECT_EQ(must_build(backends, p)->placement().size(), 316u);
  backends[0].state = BackendState::kDown;
  auto ring = must_build(backends, p);
  for (const auto& key : testing::make_keys(1000))
    ASSERT_EQ(ring->primary_for_key(key), 1u) << key;
}

}  // namespace
}  // namespace ringleader::ring
