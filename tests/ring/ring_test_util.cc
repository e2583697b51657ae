#include "ring_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace ringleader::ring::testing {

std::vector<Backend> make_backends(int n) {
  std::vector<Backend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({"b" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i), 1, "",
                   BackendState::kActive});
  }
  return out;
}

RingSnapshot must_build(std::vector<Backend> backends, RingParams params, uint64_t epoch) {
  auto ring = Ring::build(std::move(backends), std::move(params), epoch);
  EXPECT_TRUE(ring.is_ok()) << ring.error();
  return ring.is_ok() ? ring.value() : nullptr;
}

std::vector<std::string> make_keys(int count, int first) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (int i = first; i < first + count; ++i)
    keys.push_back("key:" + std::to_string(i));
  return keys;
}

std::vector<uint64_t> count_primaries(const Ring& ring, const std::vector<std::string>& keys) {
  std::vector<uint64_t> counts(ring.backends().size(), 0);
  for (const auto& k : keys)
    ++counts[ring.primary_for_key(k)];
  return counts;
}

double peak_to_average(const std::vector<double>& values) {
  double sum = std::accumulate(values.begin(), values.end(), 0.0);
  double peak = *std::max_element(values.begin(), values.end());
  return peak / (sum / values.size());
}

double peak_to_average(const std::vector<uint64_t>& values) {
  return peak_to_average(std::vector<double>(values.begin(), values.end()));
}

}  // namespace ringleader::ring::testing
