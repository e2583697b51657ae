// Edit distance and closest-word suggestion for unknown keys and misspelt enum values.
#include "config/suggest.h"

#include <algorithm>
#include <vector>

namespace ringleader::config {

namespace {

// A suggestion further than this is more likely a different word than a typo.
constexpr size_t kMaxSuggestionDistance = 2;

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rolling rows of the classic dynamic-programming table: d[i][j] is the distance
  // between the first i characters of a and the first j characters of b.
  const size_t n = b.size();
  std::vector<size_t> before_prev(n + 1), prev(n + 1), cur(n + 1);
  for (size_t j = 0; j <= n; ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= n; ++j) {
      const size_t substitution = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], before_prev[j - 2] + 1);
      }
    }
    std::swap(before_prev, prev);
    std::swap(prev, cur);
  }
  return prev[n];
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates) {
  std::optional<std::string_view> best;
  size_t best_distance = kMaxSuggestionDistance + 1;
  for (std::string_view candidate : candidates) {
    const size_t distance = edit_distance(word, candidate);
    if (distance == 0) return std::nullopt;
    if (distance < best_distance && distance < word.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace ringleader::config
