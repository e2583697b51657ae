// ASCII case folding for command names and keywords. Internal to the codec.
#pragma once

#include <cstddef>
#include <string_view>

namespace ringleader::proxy::redis {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// True when `any_case` equals `lower` (which is lowercase) ignoring ASCII case.
inline bool equals_lowercase(std::string_view any_case, std::string_view lower) {
  if (lower.size() != any_case.size()) return false;
  for (size_t i = 0; i < lower.size(); ++i) {
    if (ascii_lower(any_case[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace ringleader::proxy::redis
