// RingQueue against std::deque as the model: the same operations, in an order that wraps the
// ring and grows it while wrapped, leave the same elements in the same order; an empty queue
// owns no storage until its first push and after release_if_empty(); popped values keep no
// memory.
#include "core/ring_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>

namespace ringleader::proxy {
namespace {

template <typename T>
void expect_same(const RingQueue<T>& q, const std::deque<T>& model) {
  ASSERT_EQ(q.size(), model.size());
  ASSERT_EQ(q.empty(), model.empty());
  for (size_t i = 0; i < model.size(); ++i)
    ASSERT_EQ(q[i], model[i]) << "element " << i;
  if (!model.empty()) {
    ASSERT_EQ(q.front(), model.front());
  }
}

TEST(RingQueueTest, EmptyQueueOwnsNoStorageUntilTheFirstPush) {
  RingQueue<std::string> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.capacity(), 0u);
  q.push_back("a");
  EXPECT_EQ(q.capacity(), RingQueue<std::string>::kMinCapacity);
  EXPECT_EQ(q.front(), "a");
}

TEST(RingQueueTest, GrowsWhileWrappedAndKeepsOrder) {
  RingQueue<int> q;
  std::deque<int> model;
  // Advance the head so that the next growth happens with the elements wrapped around.
  for (int i = 0; i < 5; ++i) {
    q.push_back(i);
    model.push_back(i);
  }
  for (int i = 0; i < 4; ++i) {
    q.pop_front();
    model.pop_front();
  }
  for (int i = 5; i < 40; ++i) {
    q.push_back(i);
    model.push_back(i);
    expect_same(q, model);
  }
  EXPECT_EQ(q.capacity(), 64u);
  while (!model.empty()) {
    ASSERT_EQ(q.front(), model.front());
    q.pop_front();
    model.pop_front();
  }
  EXPECT_TRUE(q.empty());
}

TEST(RingQueueTest, RandomOperationsMatchADeque) {
  std::mt19937 rng(7);
  RingQueue<std::string> q;
  std::deque<std::string> model;
  int next = 0;
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 6) {
      std::string v = std::to_string(next++);
      q.push_back(v);
      model.push_back(v);
    } else if (op < 9) {
      if (model.empty()) continue;
      ASSERT_EQ(q.front(), model.front());
      q.pop_front();
      model.pop_front();
    } else if (step % 7 == 0) {
      q.clear();
      model.clear();
      q.release_if_empty();
      EXPECT_EQ(q.capacity(), 0u);
    }
    expect_same(q, model);
  }
}

TEST(RingQueueTest, PoppedValuesKeepNoMemory) {
  RingQueue<std::string> q;
  q.push_back(std::string(100000, 'x'));
  q.push_back("next");
  std::string& slot = q.front();
  q.pop_front();
  // The slot the big value lived in is now an empty string, not a moved-from one that kept
  // its buffer.
  EXPECT_TRUE(slot.empty());
  EXPECT_LT(slot.capacity(), 100u);
  EXPECT_EQ(q.front(), "next");
}

TEST(RingQueueTest, ReleaseKeepsAQueueThatStillHoldsElements) {
  RingQueue<int> q;
  q.push_back(1);
  q.release_if_empty();
  EXPECT_EQ(q.capacity(), RingQueue<int>::kMinCapacity);
  EXPECT_EQ(q.front(), 1);
  q.pop_front();
  q.release_if_empty();
  EXPECT_EQ(q.capacity(), 0u);
  q.push_back(2);  // usable again after a release
  EXPECT_EQ(q.front(), 2);
}

TEST(RingQueueTest, FrontIsWritable) {
  RingQueue<std::string> q;
  q.push_back("ab");
  q.front() += "cd";
  EXPECT_EQ(q.front(), "abcd");
}

}  // namespace
}  // namespace ringleader::proxy
