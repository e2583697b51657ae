// Small text helpers shared by the protocol sessions: case folding, strict decimal parsing
// (error-safe printing is common/printable.h's).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/printable.h"

namespace ringleader::proxy {

inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A one-line reply's text: without its line end, nor RESP's status or error marker ('+', '-').
inline std::string_view reply_line(std::string_view reply) {
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r'))
    reply.remove_suffix(1);
  if (!reply.empty() && (reply[0] == '-' || reply[0] == '+')) reply.remove_prefix(1);
  return reply;
}

// Decimal digits only, no sign, no overflow; leading zeros allowed, as strtoull takes them.
inline bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

inline bool parse_i64(std::string_view s, int64_t* out) {
  bool negative = !s.empty() && s[0] == '-';
  uint64_t magnitude = 0;
  if (!parse_u64(negative ? s.substr(1) : s, &magnitude)) return false;
  if (negative) {
    if (magnitude > uint64_t{INT64_MAX} + 1) return false;
    *out = magnitude == uint64_t{INT64_MAX} + 1 ? INT64_MIN : -static_cast<int64_t>(magnitude);
  } else {
    if (magnitude > uint64_t{INT64_MAX}) return false;
    *out = static_cast<int64_t>(magnitude);
  }
  return true;
}

}  // namespace ringleader::proxy
