#include "metrics/exposition.h"

#include <gtest/gtest.h>

namespace ringleader::metrics {
namespace {

TEST(ExpositionTest, WritesTheTextFormat) {
  Exposition e;
  e.counter("ringleader_requests_total", "Requests");
  e.value(3, {{"command", "get"}, {"outcome", "ok"}});
  e.gauge("ringleader_ring_epoch", "Epoch");
  e.value(7);
  e.histogram("ringleader_request_duration_seconds", "Latency");
  LatencyHistogram h;
  h.record_ns(1000);
  h.record_ns(3000000);
  e.observations(h.snapshot(), {{"class", "read"}});
  std::string text = e.text();
  EXPECT_NE(text.find("# TYPE ringleader_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("ringleader_requests_total{command=\"get\",outcome=\"ok\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ringleader_ring_epoch 7"), std::string::npos) << text;
  EXPECT_NE(text.find("ringleader_request_duration_seconds_bucket{class=\"read\",le=\"5e-05\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ringleader_request_duration_seconds_bucket{class=\"read\",le=\"+Inf\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ringleader_request_duration_seconds_count{class=\"read\"} 2"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace ringleader::metrics
