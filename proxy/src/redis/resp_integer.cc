#include "resp_integer.h"

#include <algorithm>
#include <limits>

namespace ringleader::proxy::redis {

std::optional<int64_t> parse_resp_integer(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 19) return std::nullopt;
  if (text.front() == '0' && (text.size() > 1 || negative)) return std::nullopt;
  // Accumulate the magnitude in uint64_t: 19 digits never overflow it.
  uint64_t magnitude = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
  }
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > kMaxPositive + 1) return std::nullopt;
    // -(kMaxPositive + 1) is representable; compute it without signed overflow.
    return magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                         : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > kMaxPositive) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

NumberLine read_number_line(std::string_view input, size_t start) {
  const size_t text_begin = start + 1;
  // Fast path: one or two digits, or -1 (a nil reply), and the whole "\r\n" present, as in
  // nearly every count and length of requests and replies. Anything else takes the general
  // path below.
  if (text_begin + 2 < input.size()) {
    if (input[text_begin] == '-' && input[text_begin + 1] == '1' && text_begin + 3 < input.size() &&
        input[text_begin + 2] == '\r' && input[text_begin + 3] == '\n') {
      return {NumberLine::Status::kComplete, -1, text_begin + 4};
    }
    const unsigned d0 = static_cast<unsigned char>(input[text_begin]) - '0';
    if (d0 <= 9) {
      if (input[text_begin + 1] == '\r' && input[text_begin + 2] == '\n') {
        return {NumberLine::Status::kComplete, d0, text_begin + 3};
      }
      if (d0 != 0 && text_begin + 3 < input.size() && input[text_begin + 2] == '\r' &&
          input[text_begin + 3] == '\n') {
        const unsigned d1 = static_cast<unsigned char>(input[text_begin + 1]) - '0';
        if (d1 <= 9) return {NumberLine::Status::kComplete, d0 * 10 + d1, text_begin + 4};
      }
    }
  }
  // General path, one pass: digits accumulate as they are checked; the '\r' decides.
  const size_t limit = std::min(input.size(), text_begin + kMaxIntegerText + 1);
  size_t i = text_begin;
  const bool negative = i < limit && input[i] == '-';
  if (negative) ++i;
  const size_t digits_begin = i;
  uint64_t magnitude = 0;  // exact while at most 19 digits are read
  for (; i < limit; ++i) {
    const char c = input[i];
    if (c >= '0' && c <= '9') {
      if (i - digits_begin < 19) magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
      continue;
    }
    // Reject a byte that can never belong to an integer at once, rather than waiting.
    if (c != '\r') return {NumberLine::Status::kError};
    if (i + 1 >= input.size()) return {NumberLine::Status::kNeedMore};
    if (input[i + 1] != '\n') return {NumberLine::Status::kError};
    const size_t digits = i - digits_begin;
    if (digits == 0 || digits > 19) return {NumberLine::Status::kError};
    if (input[digits_begin] == '0' && (digits > 1 || negative)) return {NumberLine::Status::kError};
    constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    int64_t value;
    if (negative) {
      if (magnitude > kMaxPositive + 1) return {NumberLine::Status::kError};
      value = magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                            : -static_cast<int64_t>(magnitude);
    } else {
      if (magnitude > kMaxPositive) return {NumberLine::Status::kError};
      value = static_cast<int64_t>(magnitude);
    }
    return {NumberLine::Status::kComplete, value, i + 2};
  }
  // No '\r' yet: an error once the longest integer (plus its '\r') would have fitted.
  if (limit == text_begin + kMaxIntegerText + 1) return {NumberLine::Status::kError};
  return {NumberLine::Status::kNeedMore};
}

}  // namespace ringleader::proxy::redis
