// RequestParser on malformed and hostile input: a clear error, the same at every split, and
// never a crash or a read out of bounds (run under ASan).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proxy/redis/request_parser.h"
#include "test_util.h"

namespace ringleader::proxy::redis {
namespace {

using testing::multibulk;
using testing::parse_bytewise;
using testing::parse_split;
using testing::parse_whole;

struct BadCase {
  std::string name;
  std::string input;
  std::string error;  // expected substring of error()
  ParseLimits limits = {};
};

ParseLimits with_max_args(size_t n) {
  ParseLimits limits;
  limits.max_args = n;
  return limits;
}
ParseLimits with_max_request(size_t n) {
  ParseLimits limits;
  limits.max_request_bytes = n;
  return limits;
}
ParseLimits with_max_inline(size_t n) {
  ParseLimits limits;
  limits.max_inline_bytes = n;
  return limits;
}

std::vector<BadCase> bad_cases() {
  return {
      {"bad_type_byte", "*1\r\n:4\r\nPING\r\n", "expected '$', got ':'"},
      {"bad_type_byte_binary", std::string("*1\r\n\x01") + "4\r\n", "expected '$', got '\\x01'"},
      {"count_not_a_number", "*x\r\n", "invalid multibulk length"},
      {"count_plus_sign", "*+1\r\n", "invalid multibulk length"},
      {"count_overflow_long", "*99999999999999999999\r\n", "invalid multibulk length"},
      {"count_overflow_int64", "*9223372036854775808\r\n", "invalid multibulk length"},
      {"count_lf_only", "*1\n$4\nPING\n", "invalid multibulk length"},
      {"count_cr_without_lf", "*1\r$4\r\n", "invalid multibulk length"},
      {"count_empty", "*\r\n", "invalid multibulk length"},
      {"bulk_null", "*1\r\n$-1\r\n", "invalid bulk length"},
      {"bulk_negative", "*1\r\n$-5\r\n", "invalid bulk length"},
      {"bulk_not_a_number", "*1\r\n$4x\r\nPING\r\n", "invalid bulk length"},
      {"bulk_leading_zero", "*1\r\n$04\r\nPING\r\n", "invalid bulk length"},
      {"bulk_overflow", "*1\r\n$99999999999999999999999\r\n", "invalid bulk length"},
      {"bulk_longer_than_declared", "*1\r\n$4\r\nPINGPONG\r\n", "not followed by CRLF"},
      {"bulk_shorter_than_declared", "*2\r\n$5\r\nPING\r\n$1\r\nx\r\n", "not followed by CRLF"},
      {"bulk_missing_crlf", "*1\r\n$4\r\nPING\n\n", "not followed by CRLF"},
      {"too_many_args", "*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n", "more than max_args (2)",
       with_max_args(2)},
      {"too_many_inline_args", "DEL a b\r\n", "more than max_args (2)", with_max_args(2)},
      {"announced_bulk_over_limit", "*2\r\n$3\r\nSET\r\n$100\r\n",
       "request exceeds max_request_bytes (64)", with_max_request(64)},
      {"huge_bulk_over_default_limit", "*2\r\n$3\r\nSET\r\n$9223372036854775807\r\n",
       "request exceeds max_request_bytes"},
      {"many_bulks_over_limit", "*9\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
       "request exceeds max_request_bytes (20)", with_max_request(20)},
      {"inline_over_request_limit", "ECHO aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
       "request exceeds max_request_bytes (16)", with_max_request(16)},
      {"inline_without_newline", std::string(40, 'a'), "too big inline request",
       with_max_inline(32)},
      {"inline_too_long", std::string(33, 'a') + "\r\n", "too big inline request",
       with_max_inline(32)},
      {"unbalanced_double_quote", "SET \"abc\r\n", "unbalanced quotes"},
      {"unbalanced_single_quote", "SET 'abc\r\n", "unbalanced quotes"},
      {"text_after_closing_quote", "SET \"abc\"def\r\n", "unbalanced quotes"},
      {"inline_nul", std::string("SET a\0b v\r\n", 11), "NUL byte in inline request"},
      {"inline_nul_in_quotes", std::string("ECHO \"a\0b\"\r\n", 12), "NUL byte in inline request"},
      // The empty requests before it are not part of the request: 23 bytes of its own.
      {"over_limit_after_empty_requests", "*0\r\n*0\r\n*1\r\n$12\r\nabcdefghijkl\r\n",
       "request exceeds max_request_bytes (16)", with_max_request(16)},
  };
}

class RequestParserBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RequestParserBadTest, SameErrorAtEverySplit) {
  const BadCase& c = GetParam();
  const auto whole = parse_whole(c.input, c.limits);
  ASSERT_EQ(whole.status, ParseStatus::kError);
  EXPECT_NE(whole.error.find(c.error), std::string::npos) << whole.error;
  EXPECT_EQ(whole.error.rfind("Protocol error: ", 0), 0u) << whole.error;
  for (size_t split = 1; split < c.input.size(); ++split) {
    const auto part = parse_split(c.input, split, c.limits);
    ASSERT_EQ(part.status, ParseStatus::kError) << "split at " << split;
    EXPECT_EQ(part.error, whole.error) << "split at " << split;
  }
  const auto bytewise = parse_bytewise(c.input, c.limits);
  ASSERT_EQ(bytewise.status, ParseStatus::kError);
  EXPECT_EQ(bytewise.error, whole.error);
}

INSTANTIATE_TEST_SUITE_P(Requests, RequestParserBadTest, ::testing::ValuesIn(bad_cases()),
                         [](const auto& p) { return p.param.name; });

TEST(RequestParserMalformedTest, ErrorIsSticky) {
  RequestParser parser;
  const std::string input = "*x\r\n*1\r\n$4\r\nPING\r\n";
  ASSERT_EQ(parser.parse(input), ParseStatus::kError);
  EXPECT_EQ(parser.parse(input), ParseStatus::kError);
  EXPECT_TRUE(parser.args().empty());
  parser.reset();
  EXPECT_EQ(parser.parse(std::string_view(input).substr(4)), ParseStatus::kComplete);
}

TEST(RequestParserMalformedTest, OverflowIsRejectedBeforeTheLineEnds) {
  // No CRLF yet, but the count is already longer than any int64: no need to wait.
  EXPECT_EQ(parse_whole("*123456789012345678901").status, ParseStatus::kError);
  EXPECT_EQ(parse_whole("*1\r\n$12a").status, ParseStatus::kError);
  EXPECT_EQ(parse_whole("*12").status, ParseStatus::kNeedMore);
}

TEST(RequestParserMalformedTest, HugeCountDoesNotAllocateUpFront) {
  // 1M announced arguments is within the default limit; nothing follows, so nothing is held.
  EXPECT_EQ(parse_whole("*1048576\r\n").status, ParseStatus::kNeedMore);
  EXPECT_EQ(parse_whole("*1048577\r\n").status, ParseStatus::kError);
}

// Checks a parse outcome's invariants on arbitrary input: no crash (ASan watches the reads),
// consumed() within the input, every arg within the input or the parser's own storage.
void check_invariants(std::string_view input, const ParseLimits& limits) {
  RequestParser parser(limits);
  const ParseStatus status = parser.parse(input);
  if (status == ParseStatus::kComplete) {
    ASSERT_LE(parser.consumed(), input.size());
    ASSERT_FALSE(parser.args().empty());
    size_t total = 0;
    for (std::string_view arg : parser.args())
      total += arg.size();
    ASSERT_LE(total, parser.consumed());
  } else if (status == ParseStatus::kError) {
    ASSERT_FALSE(parser.error().empty());
  }
}

TEST(RequestParserMalformedTest, RandomBytesNeverCrash) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "*$\r\n0123456789-+: abc\"'\\x\t\0";
  ParseLimits limits;
  limits.max_request_bytes = 4096;
  limits.max_args = 64;
  limits.max_inline_bytes = 256;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const size_t length = rng() % 80;
    std::string input;
    for (size_t i = 0; i < length; ++i) {
      input.push_back(rng() % 4 == 0 ? static_cast<char>(rng() % 256)
                                     : alphabet[rng() % alphabet.size()]);
    }
    if (rng() % 2 == 0) input.insert(0, "*");
    // Exact-size heap copy, so a read one past the end is an ASan error.
    std::vector<char> exact(input.begin(), input.end());
    check_invariants(std::string_view(exact.data(), exact.size()), limits);
    const size_t split = input.empty() ? 0 : rng() % input.size();
    (void)parse_split(input, split, limits);
  }
}

TEST(RequestParserMalformedTest, MutatedValidRequestsNeverCrash) {
  std::mt19937 rng(7);
  const std::string valid = multibulk({"SET", "key", "value"}) + "GET \"k\\x41\" 'x'\r\n" +
                            multibulk({"MGET", "a", "b", "c"});
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string input = valid;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      const size_t at = rng() % input.size();
      switch (rng() % 3) {
        case 0:
          input[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          input.erase(at, 1 + rng() % 3);
          break;
        default:
          input.insert(at, 1, "*$\r\n9-"[rng() % 6]);
          break;
      }
      if (input.empty()) input = "*";
    }
    std::vector<char> exact(input.begin(), input.end());
    check_invariants(std::string_view(exact.data(), exact.size()), {});
    (void)parse_bytewise(input.substr(0, 40));
  }
}

}  // namespace
}  // namespace ringleader::proxy::redis
