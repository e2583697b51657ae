#include "metrics/latency_histogram.h"

#include <gtest/gtest.h>

#include <thread>

namespace ringleader::metrics {
namespace {

TEST(LatencyHistogramTest, BucketsAreUpperBoundsInclusive) {
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_of(50000), 0u);  // exactly 50 µs
  EXPECT_EQ(LatencyHistogram::bucket_of(50001), 1u);
  EXPECT_EQ(LatencyHistogram::bucket_of(1000000), 4u);                           // 1 ms
  EXPECT_EQ(LatencyHistogram::bucket_of(6000000000ull), kLatencyBounds.size());  // +Inf
}

TEST(LatencyHistogramTest, EveryBoundIsTheLastValueOfItsBucket) {
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    const auto bound = static_cast<uint64_t>(kLatencyBounds[i] * 1e9 + 0.5);
    EXPECT_EQ(LatencyHistogram::bucket_of(bound - 1), i) << kLatencyBounds[i];
    EXPECT_EQ(LatencyHistogram::bucket_of(bound), i) << kLatencyBounds[i];
    EXPECT_EQ(LatencyHistogram::bucket_of(bound + 1), i + 1) << kLatencyBounds[i];
  }
}

TEST(LatencyHistogramTest, SnapshotsCountAndSum) {
  LatencyHistogram h;
  h.record_ns(10000);
  h.record_ns(2000000);
  h.record_ns(7000000000ull);
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.sum_ns, 10000u + 2000000u + 7000000000ull);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[LatencyHistogram::bucket_of(2000000)], 1u);
  EXPECT_EQ(s.buckets[kLatencyBounds.size()], 1u);
  HistogramSnapshot total = s;
  total += s;
  EXPECT_EQ(total.count, 6u);
}

TEST(LatencyHistogramTest, ReaderSeesAWritersProgressWithoutTearing) {
  LatencyHistogram h;
  constexpr uint64_t kSamples = 200000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kSamples; ++i)
      h.record_ns(1000);
  });
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    uint64_t now = h.snapshot().count;
    EXPECT_GE(now, last);  // a single writer's counter never goes back
    last = now;
  }
  writer.join();
  EXPECT_EQ(h.snapshot().count, kSamples);
  EXPECT_EQ(h.snapshot().sum_ns, kSamples * 1000);
}

// The exposition requires a histogram's _count to equal its +Inf bucket in every scrape: a
// snapshot taken while the writer records in several buckets keeps them equal.
TEST(LatencyHistogramTest, ACountIsItsBucketsTotalInEverySnapshot) {
  LatencyHistogram h;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < 300000; ++i)
      h.record_ns((i % 7) * 400000);  // 0 .. 2.4 ms: six buckets
    done = true;
  });
  int snapshots = 0;
  while (!done || snapshots == 0) {
    const HistogramSnapshot s = h.snapshot();
    uint64_t total = 0;
    for (uint64_t b : s.buckets)
      total += b;
    ASSERT_EQ(s.count, total) << "snapshot " << snapshots;
    ++snapshots;
  }
  writer.join();
  EXPECT_EQ(h.snapshot().count, 300000u);
}

}  // namespace
}  // namespace ringleader::metrics
