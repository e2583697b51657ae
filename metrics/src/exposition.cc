#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>

namespace ringleader::metrics {

prometheus::MetricFamily& Exposition::start(const std::string& name, const std::string& help,
                                            prometheus::MetricType type) {
  prometheus::MetricFamily& f = families_.emplace_back();
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void Exposition::counter(const std::string& name, const std::string& help) {
  start(name, help, prometheus::MetricType::Counter);
}

void Exposition::gauge(const std::string& name, const std::string& help) {
  start(name, help, prometheus::MetricType::Gauge);
}

void Exposition::histogram(const std::string& name, const std::string& help) {
  start(name, help, prometheus::MetricType::Histogram);
}

namespace {
prometheus::ClientMetric& add_sample(prometheus::MetricFamily& f, const Labels& labels) {
  prometheus::ClientMetric& m = f.metric.emplace_back();
  for (const auto& [k, v] : labels)
    m.label.push_back({k, v});
  return m;
}
}  // namespace

void Exposition::value(double v, const Labels& labels) {
  prometheus::MetricFamily& f = families_.back();
  prometheus::ClientMetric& m = add_sample(f, labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
}

void Exposition::observations(const HistogramSnapshot& h, const Labels& labels) {
  prometheus::ClientMetric& m = add_sample(families_.back(), labels);
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = static_cast<double>(h.sum_ns) / 1e9;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    cumulative += h.buckets[i];
    m.histogram.bucket.push_back({cumulative, kLatencyBounds[i]});
  }
  cumulative += h.buckets[kLatencyBounds.size()];
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
}

std::string Exposition::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families_);
  return out.str();
}

}  // namespace ringleader::metrics
