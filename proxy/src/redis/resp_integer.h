// Integer text as RESP writes it, parsed with overflow checks. Internal to the codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringleader::proxy::redis {

// Parses `text` as a whole: an optional '-' then decimal digits, no leading zero (except "0"
// itself), no "-0", no '+', no spaces, within int64_t. nullopt otherwise (never overflows).
std::optional<int64_t> parse_resp_integer(std::string_view text);

// The longest integer text accepted on a RESP length/integer line: "-9223372036854775808".
inline constexpr size_t kMaxIntegerText = 20;

struct NumberLine {
  enum class Status : uint8_t { kComplete, kNeedMore, kError };
  Status status;
  int64_t value = 0;  // kComplete: the integer
  size_t next = 0;    // kComplete: offset just after the line's "\r\n"
};

// Reads the line `<type byte><integer>\r\n` whose type byte is at input[start]
// (precondition: start < input.size()). Looks at no more than kMaxIntegerText + 3 bytes, so
// re-reading a partial line on every call stays constant work.
// kNeedMore: the input ends before the line does. kError: not an integer, or no "\r\n" where
// the longest integer would have ended, or a '\r' not followed by '\n'.
NumberLine read_number_line(std::string_view input, size_t start);

}  // namespace ringleader::proxy::redis
