// LatencyHistogram: a fixed-bucket latency histogram with one writer and any readers.
//
// The owning thread records with relaxed load+store (no read-modify-write, no contention);
// readers take a snapshot that may be a few samples behind but never tears a counter.
// Buckets are the same for every histogram, so snapshots of many writers add up.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace ringleader::metrics {

// Upper bounds in seconds: 50 µs .. 5 s, then +Inf.
inline constexpr std::array<double, 16> kLatencyBounds = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};

struct HistogramSnapshot {
  std::array<uint64_t, kLatencyBounds.size() + 1> buckets{};  // per bucket, last = +Inf
  uint64_t count = 0;  // the buckets' total, so a scrape's _count is its +Inf bucket
  uint64_t sum_ns = 0;

  HistogramSnapshot& operator+=(const HistogramSnapshot& other);
};

class LatencyHistogram {
 public:
  // Writer thread only.
  void record_ns(uint64_t ns) {
    size_t b = bucket_of(ns);
    bump(buckets_[b], 1);
    bump(sum_ns_, ns);
  }

  // Any thread.
  HistogramSnapshot snapshot() const;

  static size_t bucket_of(uint64_t ns);

 private:
  static void bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace ringleader::metrics
