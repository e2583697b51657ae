// Building Prometheus metric families from ringleader's own statistics and writing them in
// the text exposition format (prometheus-cpp's serializer).
#pragma once

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "metrics/latency_histogram.h"

namespace ringleader::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Families in the order they are added; a family's samples in the order they are added.
class Exposition {
 public:
  // Starts a family; name follows Prometheus conventions (ringleader_ prefix, base units,
  // _total for counters).
  void counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help);
  void histogram(const std::string& name, const std::string& help);

  // Adds a sample to the family started last.
  void value(double v, const Labels& labels = {});
  void observations(const HistogramSnapshot& h, const Labels& labels = {});

  std::string text() const;

 private:
  prometheus::MetricFamily& start(const std::string& name, const std::string& help,
                                  prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace ringleader::metrics
