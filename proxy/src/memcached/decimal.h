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

// The part of a space-separated word that memcached reads as a number: strtol / strtoull skip
// C white space before it, and memcached takes the number when C white space follows it, the
// rest of the word unread ("\v5", "5\t" and "5\tx" are 5 to it). Empty when the word is
// nothing but white space. What is left is then read strictly (digits, one sign).
inline std::string_view number_part(std::string_view word) {
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t begin = 0;
  while (begin < word.size() && is_space(word[begin]))
    ++begin;
  size_t end = begin;
  while (end < word.size() && !is_space(word[end]))
    ++end;
  return word.substr(begin, end - begin);
}

// Unsigned decimal (digits after an optional '+', as number_part() finds it in the word) of at
// most 19 digits past any leading zeros, so it cannot overflow.
inline bool parse_length(std::string_view s, size_t* out) {
  s = without_plus(number_part(s));
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
