// RequestParser on malformed and hostile input: the reply line to send, the same at every
// split, and never a crash or a read out of bounds (run under ASan).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "feed.h"
#include "proxy/memcached/request_parser.h"

namespace ringleader::proxy::memcached {
namespace {

using testing::parse_bytewise;
using testing::parse_split;

struct BadCase {
  std::string name;
  std::string input;
  std::string error;  // the whole reply line
  ParseLimits limits = {};
};

ParseLimits max_request(size_t n) {
  ParseLimits limits;
  limits.max_request_bytes = n;
  return limits;
}

ParseLimits max_tokens(size_t n) {
  ParseLimits limits;
  limits.max_tokens = n;
  return limits;
}

const std::string kLineTooLong =
    "CLIENT_ERROR ringleader: command line longer than 16384 bytes (only get, gets, gat, gats and "
    "bget lines may be)\r\n";

std::vector<BadCase> bad_requests() {
  return {
      {"length_not_a_number", "set k 0 0 abc\r\n", "CLIENT_ERROR bad command line format\r\n"},
      {"negative_length", "set k 0 0 -1\r\n", "CLIENT_ERROR bad command line format\r\n"},
      {"length_sign_only", "set k 0 0 +\r\n", "CLIENT_ERROR bad command line format\r\n"},
      {"length_two_signs", "set k 0 0 +-1\r\n", "CLIENT_ERROR bad command line format\r\n"},
      {"length_wraps_negative", "set k 0 0 4294967295\r\n",
       "CLIENT_ERROR bad command line format\r\n"},
      {"length_past_a_long", "set k 0 0 -9223372036854775809\r\n",
       "CLIENT_ERROR bad command line format\r\n"},
      {"length_overflow", "set k 0 0 99999999999999999999\r\n",
       "CLIENT_ERROR bad command line format\r\n"},
      {"length_over_int32", "set k 0 0 2147483646\r\n", "CLIENT_ERROR bad command line format\r\n"},
      {"data_too_long", "set k 0 0 3\r\nabcde\r\n", "CLIENT_ERROR bad data chunk\r\n"},
      {"data_bare_newline", "set k 0 0 3\r\nabc\n\n", "CLIENT_ERROR bad data chunk\r\n"},
      {"line_over_limit", std::string(100, 'g'),
       "CLIENT_ERROR ringleader: command line longer than proxy.max_request_bytes\r\n",
       max_request(64)},
      // A binary GET of "a" (header, then the key): nothing in it ends a text line.
      {"binary_protocol",
       std::string("\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01", 12) + std::string(12, '\0') +
           "a",
       "CLIENT_ERROR ringleader speaks memcached's text protocol only, not the binary one\r\n"},
      // memcached never answers a line it cannot read whole into its 16 KiB buffer.
      {"set_line_over_16_KiB", "set k 0 0 1 " + std::string(16400, 'y') + "\r\nx\r\n",
       std::string(kLineTooLong)},
      {"junk_over_16_KiB_without_newline", std::string(16385, 'x'), std::string(kLineTooLong)},
      {"get_after_more_than_100_spaces", std::string(101, ' ') + "get " + std::string(16400, 'k'),
       std::string(kLineTooLong)},
      {"a_key_glued_to_get", "get" + std::string(16400, 'k'), std::string(kLineTooLong)},
      {"too_many_words", "get a b c d e\r\n",
       "CLIENT_ERROR ringleader: too many words on one command line (limit 4)\r\n", max_tokens(4)},
  };
}

class RequestParserBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RequestParserBadTest, SameErrorAtEverySplit) {
  const BadCase& c = GetParam();
  for (size_t split = 0; split <= c.input.size(); ++split) {
    auto r = parse_split(c.input, split, c.limits);
    ASSERT_EQ(r.status, ParseStatus::kError) << "split " << split;
    EXPECT_EQ(r.error, c.error) << "split " << split;
  }
  auto r = parse_bytewise(c.input, c.limits);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error, c.error);
}

INSTANTIATE_TEST_SUITE_P(Requests, RequestParserBadTest, ::testing::ValuesIn(bad_requests()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(RequestParserLimitsTest, OversizedDataBlockIsTheLineAloneWithABlockToDiscard) {
  struct Case {
    std::string input;
    size_t limit, discard;
  };
  for (const Case& c :
       std::vector<Case>{{"set k 0 0 100\r\n", 64, 102},
                         {"set k 0 0 50\r\n", 60, 52},
                         {"cas k 0 0 2000000000 1\r\n", size_t{4} << 30, 2000000002}}) {
    for (size_t split = 0; split <= c.input.size(); ++split) {
      auto r = testing::parse_split(c.input, split, max_request(c.limit));
      ASSERT_EQ(r.status, ParseStatus::kComplete) << c.input << " split " << split;
      EXPECT_FALSE(r.has_data);
      EXPECT_EQ(r.consumed, c.input.size());
      EXPECT_EQ(r.discard, c.discard);
    }
  }
}

TEST(RequestParserHostileTest, RandomBytesNeverCrashOrOverread) {
  // Mutations of valid pipelines: every outcome is allowed except a crash, an out-of-bounds
  // read (ASan), or consuming more than was shown.
  const std::string seeds[] = {"set k 0 0 3\r\nabc\r\nget k x\r\n",
                               "cas k 1 2 1 7 noreply\r\nv\r\n", "gat 10 a b c\r\nincr n 5\r\n"};
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    std::string input = seeds[round % 3];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % input.size();
      switch (rng() % 3) {
        case 0:
          input[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          input.erase(at, 1);
          break;
        default:
          input.insert(at, 1, " \r\n0123456789"[rng() % 13]);
          break;
      }
      if (input.empty()) input = "x";
    }
    RequestParser parser(max_request(256));
    std::string_view rest = input;
    for (int guard = 0; guard < 64 && !rest.empty(); ++guard) {
      // An exactly sized heap copy, so that a read past the input is caught by ASan.
      auto copy = testing::fresh(rest);
      ParseStatus st = parser.parse(std::string_view(copy.get(), rest.size()));
      if (st != ParseStatus::kComplete) break;
      ASSERT_GT(parser.consumed(), 0u);
      ASSERT_LE(parser.consumed(), rest.size());
      rest.remove_prefix(parser.consumed());
      parser.reset();
    }
  }
}

}  // namespace
}  // namespace ringleader::proxy::memcached
