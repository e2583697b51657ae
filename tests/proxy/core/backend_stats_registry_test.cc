// BackendStatsRegistry: statistics by backend name, kept while the backend is in the ring or a
// pool holds them, forgotten after.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/counters.h"

namespace ringleader::proxy {
namespace {

TEST(BackendStatsRegistry, OneEntryPerNameWhileItIsUsed) {
  BackendStatsRegistry registry(2);
  auto a = registry.get("a");
  EXPECT_EQ(registry.get("a"), a);
  EXPECT_EQ(a->slots.size(), 2u);
  a->consecutive_failures = 3;
  EXPECT_TRUE(registry.failing("a"));
  EXPECT_FALSE(registry.failing("b"));
}

// Names that come and go (a pod's name per deploy) do not add up: an entry goes once its
// backend left the ring and no pool holds it.
TEST(BackendStatsRegistry, ForgetsBackendsThatLeftOnceNothingHoldsThem) {
  BackendStatsRegistry registry(1);
  std::set<std::string> ring = {"kept"};
  const auto in_ring = [&ring](const std::string& name) { return ring.count(name) > 0; };
  registry.get("kept");
  for (int i = 0; i < 1000; ++i) {
    registry.get("pod-" + std::to_string(i));
    registry.forget_absent(in_ring);
  }
  EXPECT_EQ(registry.size(), 1u);

  // A pool still answering a removed backend's requests keeps its entry, and what it counts.
  auto held = registry.get("leaving");
  held->consecutive_failures = 2;
  registry.forget_absent(in_ring);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(registry.get("leaving"), held);
  EXPECT_TRUE(registry.failing("leaving"));
  held.reset();
  registry.forget_absent(in_ring);
  EXPECT_EQ(registry.size(), 1u);
  // Back again: a new entry, counting from zero.
  EXPECT_FALSE(registry.failing("leaving"));
  EXPECT_EQ(registry.get("leaving")->consecutive_failures.load(), 0u);

  // A backend in the ring keeps its entry whether or not a pool holds it.
  registry.forget_absent(in_ring);
  EXPECT_TRUE(registry.all().count("kept"));
}

}  // namespace
}  // namespace ringleader::proxy
