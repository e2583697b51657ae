// RecentClients: distinct lanes per period, the previous period kept for one more, nothing
// after a silent period, the cap; and against a model of the lanes sent per period under
// random traffic.
#include "core/recent_clients.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace ringleader::proxy {
namespace {

constexpr uint64_t kPeriod = RecentClients::kPeriodNs;
constexpr uint64_t kStart = 10 * kPeriod;

TEST(RecentClientsTest, CountsDistinctClientsOfThisPeriodAndTheOneBefore) {
  RecentClients clients;
  EXPECT_EQ(clients.count(kStart), 0u);
  clients.note(7, kStart);
  clients.note(7, kStart + 1);  // the same client again
  clients.note(8, kStart + 2);
  clients.note(0, kStart + 3);  // lane 0 is a client like any other
  EXPECT_EQ(clients.count(kStart + 3), 3u);
  // The next period: one client so far, the previous period's three still count.
  clients.note(9, kStart + kPeriod);
  EXPECT_EQ(clients.count(kStart + kPeriod), 3u);
  // One more period on, without requests: the period that saw one client is the previous.
  EXPECT_EQ(clients.count(kStart + 2 * kPeriod), 1u);
  // Two periods without a request: none.
  EXPECT_EQ(clients.count(kStart + 3 * kPeriod), 0u);
  clients.note(9, kStart + 4 * kPeriod);
  EXPECT_EQ(clients.count(kStart + 4 * kPeriod), 1u) << "a silent period before counts none";
}

TEST(RecentClientsTest, CountsUpToTheCap) {
  RecentClients clients;
  for (uint32_t lane = 0; lane < 3 * RecentClients::kMax; ++lane)
    clients.note(lane * 977, kStart);
  EXPECT_EQ(clients.count(kStart), RecentClients::kMax);
}

TEST(RecentClientsTest, MatchesAModelUnderRandomTraffic) {
  std::mt19937 rng(11);
  RecentClients clients;
  std::map<uint64_t, std::set<uint32_t>> by_period;  // period start → lanes
  uint64_t now = kStart, period_start = kStart;
  bool started = false;
  for (int step = 0; step < 20000; ++step) {
    now += rng() % (kPeriod / 20);
    if (rng() % 500 == 0) now += kPeriod + rng() % (2 * kPeriod);  // a quiet spell now and then
    const uint32_t lane = rng() % (rng() % 2 == 0 ? 8 : 100);
    if (!started || now - period_start >= kPeriod) {
      period_start = now;  // periods begin at the first request after the last one ended
      started = true;
    }
    by_period[period_start].insert(lane);
    clients.note(lane, now);
    const size_t current = std::min(by_period[period_start].size(), RecentClients::kMax);
    size_t previous = 0;
    if (auto it = by_period.find(period_start); it != by_period.begin()) {
      auto before = std::prev(it);
      if (period_start - before->first < 2 * kPeriod)
        previous = std::min(before->second.size(), RecentClients::kMax);
    }
    ASSERT_EQ(clients.count(now), std::max(current, previous)) << "step " << step;
  }
}

}  // namespace
}  // namespace ringleader::proxy
