// Helpers shared by the ring tests: backend lists, keys, measured loads.
#pragma once

#include <string>
#include <vector>

#include "ring/ring.h"

namespace ringleader::ring::testing {

// n active backends "b0".."b{n-1}" at 127.0.0.1:(7000 + i), weight 1, no zone.
std::vector<Backend> make_backends(int n);

// Builds or fails the test.
RingSnapshot must_build(std::vector<Backend> backends, RingParams params, uint64_t epoch = 0);

// "key:<i>" for i in [first, first + count).
std::vector<std::string> make_keys(int count, int first = 0);

// Keys per backend (by index) counting each key at its primary.
std::vector<uint64_t> count_primaries(const Ring& ring, const std::vector<std::string>& keys);

// max / mean of the values at the given indexes (all indexes when empty).
double peak_to_average(const std::vector<double>& values);
double peak_to_average(const std::vector<uint64_t>& values);

}  // namespace ringleader::ring::testing
