#include "metrics/latency_histogram.h"

namespace ringleader::metrics {
namespace {

constexpr std::array<uint64_t, kLatencyBounds.size()> bounds_ns() {
  std::array<uint64_t, kLatencyBounds.size()> out{};
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    out[i] = static_cast<uint64_t>(kLatencyBounds[i] * 1e9 + 0.5);
  }
  return out;
}
constexpr auto kBoundsNs = bounds_ns();

}  // namespace

size_t LatencyHistogram::bucket_of(uint64_t ns) {
  // Prometheus buckets are "less than or equal to the bound".
  size_t b = 0;
  while (b < kBoundsNs.size() && ns > kBoundsNs[b])
    ++b;
  return b;
}

HistogramSnapshot LatencyHistogram::snapshot() const {
  HistogramSnapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

HistogramSnapshot& HistogramSnapshot::operator+=(const HistogramSnapshot& other) {
  for (size_t i = 0; i < buckets.size(); ++i)
    buckets[i] += other.buckets[i];
  count += other.count;
  sum_ns += other.sum_ns;
  return *this;
}

}  // namespace ringleader::metrics
