#include "membership/transport/warning_limit.h"

#include <gtest/gtest.h>

#include <string>

namespace ringleader::membership::transport {
namespace {

TEST(WarningLimit, EachKeyOncePerInterval) {
  WarningLimit limit;
  EXPECT_TRUE(limit.due("p1", 1000));
  EXPECT_FALSE(limit.due("p1", 1000 + WarningLimit::kIntervalMs - 1));
  EXPECT_TRUE(limit.due("p2", 1001));
  EXPECT_TRUE(limit.due("p1", 1000 + WarningLimit::kIntervalMs));
}

// New keys cannot flood: past kMaxPerInterval lines in an interval, nothing more is due until
// the next interval, whatever the key.
TEST(WarningLimit, AtMostSoManyLinesPerIntervalOverAllKeys) {
  WarningLimit limit;
  size_t due = 0;
  for (int i = 0; i < 100; ++i)
    due += limit.due("made-up-" + std::to_string(i), 5000 + static_cast<uint64_t>(i));
  EXPECT_EQ(due, WarningLimit::kMaxPerInterval);
  EXPECT_TRUE(limit.due("made-up-100", 5000 + WarningLimit::kIntervalMs));
}

TEST(WarningLimit, AFirstWarningAtTimeZeroIsDue) {
  WarningLimit limit;
  EXPECT_TRUE(limit.due("p1", 0));
  EXPECT_FALSE(limit.due("p1", 1));
}

}  // namespace
}  // namespace ringleader::membership::transport
