// RecentList against a map of member → join time as the model: after any sequence of joins,
// rejoins and leaves, the size matches and joined_since(t) holds exactly when the latest join
// time among the members is t or later, so unlinking from the head, the middle and the tail
// keeps the youngest member at hand; count_joined_since(t, cap) is the model's count of join
// times t or later, up to cap.
#include "core/recent_list.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>

namespace ringleader::proxy {
namespace {

TEST(RecentListTest, TheYoungestMemberDecides) {
  RecentList list;
  RecentList::Node a, b, c;
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.joined_since(0));
  list.join(a, 10);
  list.join(b, 20);
  list.join(c, 30);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_TRUE(list.joined_since(30));
  EXPECT_FALSE(list.joined_since(31));
  list.leave(c);  // the youngest leaves: the next youngest decides
  EXPECT_FALSE(c.linked());
  EXPECT_TRUE(list.joined_since(20));
  EXPECT_FALSE(list.joined_since(21));
  list.join(a, 40);  // a rejoins: it is the youngest now, and counted once
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(a.since_ns(), 40u);
  EXPECT_TRUE(list.joined_since(40));
  list.leave(a);
  list.leave(a);  // leaving twice is nothing
  EXPECT_EQ(list.size(), 1u);
  EXPECT_TRUE(list.joined_since(20));
  list.leave(b);
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.joined_since(0));
}

TEST(RecentListTest, CountsTheMembersThatJoinedSinceUpToACap) {
  RecentList list;
  RecentList::Node a, b, c;
  EXPECT_EQ(list.count_joined_since(0, 10), 0u);
  list.join(a, 10);
  list.join(b, 20);
  list.join(c, 30);
  EXPECT_EQ(list.count_joined_since(0, 10), 3u);
  EXPECT_EQ(list.count_joined_since(20, 10), 2u);
  EXPECT_EQ(list.count_joined_since(31, 10), 0u);
  EXPECT_EQ(list.count_joined_since(0, 2), 2u);  // the cap bounds the walk
  list.join(a, 40);                              // a rejoins: young again
  EXPECT_EQ(list.count_joined_since(25, 10), 2u);
  list.leave(a);
  list.leave(b);
  list.leave(c);
}

TEST(RecentListTest, MatchesAModelUnderRandomJoinsAndLeaves) {
  std::mt19937 rng(7);
  RecentList list;
  std::array<RecentList::Node, 16> nodes;
  std::map<size_t, uint64_t> model;  // member index → join time
  uint64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const size_t i = rng() % nodes.size();
    now += rng() % 3;  // times repeat now and then
    if (rng() % 2 == 0) {
      list.join(nodes[i], now);
      model[i] = now;
    } else {
      list.leave(nodes[i]);
      model.erase(i);
    }
    ASSERT_EQ(list.size(), model.size()) << "step " << step;
    uint64_t youngest = 0;
    for (const auto& [member, since] : model)
      youngest = std::max(youngest, since);
    if (model.empty()) {
      ASSERT_FALSE(list.joined_since(0)) << "step " << step;
    } else {
      ASSERT_TRUE(list.joined_since(youngest)) << "step " << step;
      ASSERT_FALSE(list.joined_since(youngest + 1)) << "step " << step;
    }
    const uint64_t since = now > 4 ? now - rng() % 5 : 0;
    const size_t cap = rng() % 8;
    size_t recent = 0;
    for (const auto& [member, joined] : model)
      recent += joined >= since ? 1 : 0;
    ASSERT_EQ(list.count_joined_since(since, cap), std::min(recent, cap)) << "step " << step;
    for (size_t n = 0; n < nodes.size(); ++n)
      ASSERT_EQ(nodes[n].linked(), model.count(n) == 1) << "node " << n << ", step " << step;
  }
  for (auto& node : nodes)
    list.leave(node);
  EXPECT_TRUE(list.empty());
}

}  // namespace
}  // namespace ringleader::proxy
