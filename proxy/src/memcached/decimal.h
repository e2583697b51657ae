// Length fields of the memcached text protocol, shared by the request parser and the reply
// scanner.
#pragma once

#include <cstddef>
#include <string_view>

namespace ringleader::proxy::memcached {

// Strict unsigned decimal (no sign, no spaces) of at most 19 digits, so it cannot overflow.
inline bool parse_length(std::string_view s, size_t* out) {
  if (s.empty() || s.size() > 19) return false;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace ringleader::proxy::memcached
