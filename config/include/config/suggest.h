// "Did you mean ...?": the closest known word to a misspelt one.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace ringleader::config {

// Optimal-string-alignment distance: the fewest single-character insertions, deletions,
// substitutions and swaps of two adjacent characters that turn `a` into `b`. Case-sensitive.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a plausible typo: distance at
// most 2 and smaller than the length of `word`. Ties go to the earliest candidate. nullopt when
// nothing is close, when `word` is itself a candidate, or when `candidates` is empty.
// The returned view points into `candidates`.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

}  // namespace ringleader::config
