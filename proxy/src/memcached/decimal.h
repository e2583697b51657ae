// Length fields of the memcached text protocol, shared by the request parser and the reply
// scanner.
#pragma once

#include <cstddef>
#include <cstdint>
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

// The value of `digits` (decimal digits only, any number of leading zeros, at most 19 past
// them, so it cannot overflow); false otherwise.
inline bool parse_digits(std::string_view digits, uint64_t* out) {
  if (digits.empty()) return false;
  while (digits.size() > 1 && digits[0] == '0')
    digits.remove_prefix(1);
  if (digits.size() > 19) return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Unsigned decimal (digits after an optional '+', as number_part() finds it in the word).
inline bool parse_length(std::string_view s, size_t* out) {
  uint64_t v = 0;
  if (!parse_digits(without_plus(number_part(s)), &v)) return false;
  *out = static_cast<size_t>(v);
  return true;
}

// A request's data block length, as memcached reads it (strtol, kept in a 32-bit int): an
// optional sign and digits within a long's range, of which the low 32 bits are taken as a
// signed number ("-0" is 0, 4294967297 is 1, -4294967295 is 1). False when that is negative
// or past INT32_MAX - 2, which memcached refuses without skipping any data.
inline bool parse_data_length(std::string_view word, size_t* out) {
  std::string_view s = number_part(word);
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  uint64_t magnitude = 0;
  if (!parse_digits(s, &magnitude)) return false;
  if (magnitude > (negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX})) return false;
  const uint64_t as_long = negative ? uint64_t{0} - magnitude : magnitude;
  const int32_t length = static_cast<int32_t>(static_cast<uint32_t>(as_long));
  if (length < 0 || length > INT32_MAX - 2) return false;
  *out = static_cast<size_t>(length);
  return true;
}

}  // namespace ringleader::proxy::memcached
