// Length fields of the memcached text protocol, shared by the request parser and the reply
// scanner.
#pragma once

#include <cstddef>
#include <string_view>

namespace ringleader::proxy::memcached {

// memcached reads its numbers with strtol / strtoull, which take one leading '+': "+5" is 5.
inline std::string_view without_plus(std::string_view s) {
  return !s.empty() && s[0] == '+' ? s.substr(1) : s;
}

// Unsigned decimal (digits after an optional '+', no spaces) of at most 19 digits past any
// leading zeros, so it cannot overflow.
inline bool parse_length(std::string_view s, size_t* out) {
  s = without_plus(s);
  if (s.empty()) return false;
  while (s.size() > 1 && s[0] == '0')
    s.remove_prefix(1);
  if (s.size() > 19) return false;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace ringleader::proxy::memcached
