#include "ring/params.h"

namespace ringleader::ring {

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; uint64_t{d} * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

std::string maglev_table_size_problem(uint32_t n) {
  if (n == 0 || (n >= kMinMaglevTableSize && n <= kMaxMaglevTableSize && is_prime(n))) return {};
  std::string why = "expected 0 (size chosen automatically) or a prime in [" +
                    std::to_string(kMinMaglevTableSize) + ", " +
                    std::to_string(kMaxMaglevTableSize) + "], got " + std::to_string(n);
  if (n >= kMinMaglevTableSize && n <= kMaxMaglevTableSize) why += ", which is not prime";
  return why;
}

bool is_valid_balance_factor(double f) {
  return f == 0 || (f >= 1.0 && f <= kMaxBalanceFactor);
}

}  // namespace ringleader::ring
