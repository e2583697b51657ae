// FairQueue: values leave one per lane in turn, each lane's in the order pushed; a lane that
// joins late waits for one value of each lane ahead of it, not for all of them; lanes that
// run dry leave the rotation and rejoin at its end.
#include "core/fair_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ringleader::proxy {
namespace {

TEST(FairQueueTest, LanesTakeTurnsAndKeepTheirOwnOrder) {
  FairQueue<std::string> q;
  for (int i = 0; i < 3; ++i)
    q.push(7, "a" + std::to_string(i));
  for (int i = 0; i < 2; ++i)
    q.push(3, "b" + std::to_string(i));
  q.push(9, "c0");
  EXPECT_EQ(q.size(), 6u);
  EXPECT_EQ(q.lanes(), 3u);
  std::vector<std::string> order;
  while (!q.empty())
    order.push_back(q.pop());
  EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "c0", "a1", "b1", "a2"}));
  EXPECT_EQ(q.lanes(), 0u);
}

TEST(FairQueueTest, ALateLaneWaitsForOneValueOfEachLaneAhead) {
  // 1,000 lanes with 500 values each, then one more lane with one value: it leaves after
  // 1,000 others, where a single FIFO would have put it after 500,000.
  FairQueue<int> q;
  for (uint32_t lane = 0; lane < 1000; ++lane)
    for (int i = 0; i < 500; ++i)
      q.push(lane, static_cast<int>(lane));
  q.push(5000, -1);
  size_t before = 0;
  while (q.pop() != -1)
    ++before;
  EXPECT_EQ(before, 1000u);
  EXPECT_EQ(q.size(), 1000u * 499u);
}

TEST(FairQueueTest, ALaneThatRanDryRejoinsAtTheEndOfTheRotation) {
  FairQueue<int> q;
  q.push(1, 10);
  q.push(2, 20);
  q.push(2, 21);
  EXPECT_EQ(q.pop(), 10);  // lane 1 is dry and leaves the rotation
  q.push(1, 11);           // and rejoins behind lane 2
  EXPECT_EQ(q.pop(), 20);
  EXPECT_EQ(q.pop(), 11);
  EXPECT_EQ(q.pop(), 21);
  EXPECT_TRUE(q.empty());
}

TEST(FairQueueTest, RandomPushesAndPopsKeepEveryLanesOrderAndLoseNothing) {
  std::mt19937 rng(12345);
  FairQueue<std::pair<uint32_t, int>> q;
  std::map<uint32_t, int> next_pushed, next_popped;
  size_t held = 0;
  for (int step = 0; step < 200000; ++step) {
    if (held == 0 || rng() % 3 != 0) {
      const uint32_t lane = rng() % 37;
      q.push(lane, {lane, next_pushed[lane]++});
      ++held;
    } else {
      auto [lane, seq] = q.pop();
      ASSERT_EQ(seq, next_popped[lane]++) << "lane " << lane;
      --held;
    }
    ASSERT_EQ(q.size(), held);
  }
  while (!q.empty()) {
    auto [lane, seq] = q.pop();
    ASSERT_EQ(seq, next_popped[lane]++);
  }
  EXPECT_EQ(next_popped, next_pushed);
}

TEST(FairQueueTest, EveryWaitingLaneIsServedWithinOneRotation) {
  // Between two consecutive values of one lane, no other lane is served twice.
  std::mt19937 rng(7);
  FairQueue<uint32_t> q;
  for (int i = 0; i < 3000; ++i) {
    const uint32_t lane = rng() % 20;
    q.push(lane, lane);
  }
  std::vector<uint32_t> order;
  while (!q.empty())
    order.push_back(q.pop());
  std::map<uint32_t, size_t> previous;
  for (size_t i = 0; i < order.size(); ++i) {
    auto it = previous.find(order[i]);
    if (it != previous.end()) {
      std::map<uint32_t, int> seen;
      for (size_t j = it->second + 1; j < i; ++j)
        ASSERT_LE(++seen[order[j]], 1) << "lane " << order[j] << " served twice in a turn";
    }
    previous[order[i]] = i;
  }
}

TEST(FairQueueTest, ATurnIsAQuantumOfValuesOrWhatTheLaneHasLeft) {
  FairQueue<std::string> q(3);
  for (int i = 0; i < 7; ++i)
    q.push(1, "a" + std::to_string(i));
  q.push(2, "b0");
  q.push(3, "c0");
  q.push(3, "c1");
  std::vector<std::string> order;
  while (!q.empty())
    order.push_back(q.pop());
  EXPECT_EQ(order,
            (std::vector<std::string>{"a0", "a1", "a2", "b0", "c0", "c1", "a3", "a4", "a5", "a6"}));
}

TEST(FairQueueTest, ALateLaneWaitsForOneQuantumOfEachLaneAhead) {
  FairQueue<int> q(16);
  for (uint32_t lane = 0; lane < 1000; ++lane)
    for (int i = 0; i < 500; ++i)
      q.push(lane, static_cast<int>(lane));
  for (int i = 0; i < 5; ++i)
    q.pop();  // lane 0 is in the middle of its turn
  q.push(5000, -1);
  size_t before = 0;
  while (q.pop() != -1)
    ++before;
  EXPECT_EQ(before, 11u + 999u * 16u);
}

}  // namespace
}  // namespace ringleader::proxy
