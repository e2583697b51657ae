#include "proxy/memcached/ms_flags.h"

#include <array>
#include <cstdint>
#include <string>

#include "base64.h"

namespace ringleader::proxy::memcached {
namespace {

// Longest opaque token memcached takes, 'O' included.
constexpr size_t kMaxOpaqueToken = 32;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The digits of a number as strtol / strtoull read it: leading white space and one sign
// skipped, at least one digit, and nothing after the digits but white space. Sets *negative
// and *magnitude (saturated past 2^64 - 1, reported by *overflow).
bool read_decimal(std::string_view s, bool* negative, uint64_t* magnitude, bool* overflow) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i]))
    ++i;
  *negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) *negative = s[i++] == '-';
  const size_t digits = i;
  uint64_t v = 0;
  *overflow = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) *overflow = true;
    v = *overflow ? UINT64_MAX : v * 10 + d;
  }
  if (i == digits) return false;
  if (i < s.size() && !is_space(s[i])) return false;
  *magnitude = v;
  return true;
}

// memcached's safe_strtol on a 64-bit long (T, N, R).
bool signed_ok(std::string_view s) {
  bool negative = false, overflow = false;
  uint64_t v = 0;
  if (!read_decimal(s, &negative, &v, &overflow) || overflow) return false;
  return negative ? v <= uint64_t{1} << 63 : v < uint64_t{1} << 63;
}

// memcached's safe_strtoul / safe_strtoull on 64 bits (F, C, J, D): a minus sign is refused
// unless the number is zero (strtoull would wrap it), and flags past 32 bits are truncated,
// not refused.
bool unsigned_ok(std::string_view s) {
  bool negative = false, overflow = false;
  uint64_t v = 0;
  if (!read_decimal(s, &negative, &v, &overflow) || overflow) return false;
  return !negative || v == 0;
}

}  // namespace

std::string_view ms_flags_error(std::span<const std::string_view> t) {
  constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format";
  std::string_view error;  // the last faulty flag's error
  std::array<bool, 128> seen{};
  char mode = 0;
  bool opaque_too_long = false;
  for (size_t i = 3; i < t.size(); ++i) {
    const std::string_view flag = t[i];
    const auto first = static_cast<unsigned char>(flag[0]);
    if (first >= 127 || seen[first]) return "CLIENT_ERROR duplicate flag";
    seen[first] = true;
    const std::string_view rest = flag.substr(1);
    switch (flag[0]) {
      case 'b': {
        std::string decoded;
        if (!decode_base64(t[1], &decoded)) error = "CLIENT_ERROR error decoding key";
        break;
      }
      case 'N':
      case 'T':
      case 'R':
        if (!signed_ok(rest)) error = kBadToken;
        break;
      case 'C':
        if (!unsigned_ok(rest)) error = kBadToken;
        break;
      case 'F':
        if (!unsigned_ok(rest)) error = "CLIENT_ERROR bad command line format";
        break;
      case 'J':
        if (!unsigned_ok(rest)) error = "CLIENT_ERROR invalid numeric initial value";
        break;
      case 'D':
        if (!unsigned_ok(rest)) error = "CLIENT_ERROR invalid numeric delta value";
        break;
      case 'M':
        if (flag.size() != 2) {
          error = "CLIENT_ERROR incorrect length for M token";
        } else {
          mode = flag[1];
        }
        break;
      case 'O':
        opaque_too_long = opaque_too_long || flag.size() > kMaxOpaqueToken;
        break;
      case 'I':
      case 'L':
      case 'P':
      case 'c':
      case 'f':
      case 'h':
      case 'k':
      case 'l':
      case 'q':
      case 's':
      case 't':
      case 'u':
      case 'v':
        break;
      default:
        return "CLIENT_ERROR invalid flag";
    }
  }
  if (!error.empty()) return error;
  // ms's modes, upper case only: add, append, prepend, replace, set.
  if (mode != 0 && std::string_view("EAPRS").find(mode) == std::string_view::npos) {
    return "CLIENT_ERROR invalid mode for ms M token";
  }
  if (opaque_too_long) return "CLIENT_ERROR opaque token too long";
  return {};
}

}  // namespace ringleader::proxy::memcached
