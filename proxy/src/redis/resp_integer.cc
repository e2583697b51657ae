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
  const size_t limit = std::min(input.size(), text_begin + kMaxIntegerText + 1);
  for (size_t i = text_begin; i < limit; ++i) {
    const char c = input[i];
    if (c != '\r') {
      // Reject a byte that can never belong to an integer at once, rather than waiting.
      const bool digit = c >= '0' && c <= '9';
      if (!digit && !(c == '-' && i == text_begin)) return {NumberLine::Status::kError};
      continue;
    }
    if (i + 1 >= input.size()) return {NumberLine::Status::kNeedMore};
    if (input[i + 1] != '\n') return {NumberLine::Status::kError};
    std::optional<int64_t> value = parse_resp_integer(input.substr(text_begin, i - text_begin));
    if (!value) return {NumberLine::Status::kError};
    return {NumberLine::Status::kComplete, *value, i + 2};
  }
  // No '\r' yet: an error once the longest integer (plus its '\r') would have fitted.
  if (limit == text_begin + kMaxIntegerText + 1) return {NumberLine::Status::kError};
  return {NumberLine::Status::kNeedMore};
}

}  // namespace ringleader::proxy::redis
