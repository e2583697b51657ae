// RequestParser on well-formed input: every request must come out the same however its bytes
// are split across reads.
#include "proxy/redis/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace ringleader::proxy::redis {
namespace {

using testing::multibulk;
using testing::parse_all;
using testing::parse_bytewise;
using testing::parse_split;
using testing::parse_whole;
using Args = std::vector<std::string>;

struct GoodCase {
  std::string name;
  std::string input;
  Args args;
  size_t consumed;  // 0: the whole input
};

std::vector<GoodCase> good_cases() {
  using namespace std::string_literals;
  std::vector<GoodCase> cases = {
      {"get", "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", {"GET", "key"}, 0},
      {"set", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", {"SET", "k", "value"}, 0},
      {"empty_bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", {"ECHO", ""}, 0},
      {"binary_bulk", "*2\r\n$4\r\nECHO\r\n$6\r\n\r\n\0*$\n\r\n"s, {"ECHO", "\r\n\0*$\n"s}, 0},
      {"ping_only", "*1\r\n$4\r\nPING\r\n", {"PING"}, 0},
      {"skips_empty_multibulk", "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", {"PING"}, 0},
      // Redis reads any count <= 0 as an empty request.
      {"skips_negative_multibulk",
       "*-5\r\n*-9223372036854775808\r\n*1\r\n$4\r\nPING\r\n",
       {"PING"},
       0},
      {"inline_crlf", "SET k v\r\n", {"SET", "k", "v"}, 0},
      {"inline_lf", "GET k\n", {"GET", "k"}, 0},
      {"inline_extra_blanks", "  GET \t k  \r\n", {"GET", "k"}, 0},
      {"inline_skips_blank_lines", "\r\n\n   \r\nPING\r\n", {"PING"}, 0},
      {"inline_double_quotes", "SET \"a b\" \"x\\ny\\x41\\\"\"\r\n", {"SET", "a b", "x\nyA\""}, 0},
      {"inline_single_quotes", "SET 'a b' 'it\\'s'\r\n", {"SET", "a b", "it's"}, 0},
      {"inline_empty_quoted", "ECHO \"\"\r\n", {"ECHO", ""}, 0},
      {"inline_quote_mid_word", "ECHO foo\"bar baz\"\r\n", {"ECHO", "foobar baz"}, 0},
      {"inline_escape_kept", "ECHO \"\\q\\\\\"\r\n", {"ECHO", "q\\"}, 0},
      {"pipelined_first", "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", {"PING"}, 14},
      {"inline_then_more", "PING\r\nGET k\r\n", {"PING"}, 6},
  };
  // A request with many arguments (more than any inline storage) and a large bulk.
  Args many{"MGET"};
  for (int i = 0; i < 40; ++i)
    many.push_back("key:" + std::to_string(i));
  cases.push_back({"many_args", multibulk(many), many, 0});
  Args big{"SET", "k", std::string(3000, 'x')};
  cases.push_back({"big_bulk", multibulk(big), big, 0});
  return cases;
}

class RequestParserGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(RequestParserGoodTest, SameArgsAtEverySplit) {
  const GoodCase& c = GetParam();
  const size_t consumed = c.consumed == 0 ? c.input.size() : c.consumed;
  const auto whole = parse_whole(c.input);
  ASSERT_EQ(whole.status, ParseStatus::kComplete) << whole.error;
  EXPECT_EQ(whole.args, c.args);
  EXPECT_EQ(whole.consumed, consumed);
  for (size_t split = 1; split < c.input.size(); ++split) {
    const auto part = parse_split(c.input, split);
    ASSERT_EQ(part.status, ParseStatus::kComplete) << "split at " << split << ": " << part.error;
    EXPECT_EQ(part.args, c.args) << "split at " << split;
    EXPECT_EQ(part.consumed, consumed) << "split at " << split;
  }
  const auto bytewise = parse_bytewise(c.input);
  ASSERT_EQ(bytewise.status, ParseStatus::kComplete) << bytewise.error;
  EXPECT_EQ(bytewise.args, c.args);
  EXPECT_EQ(bytewise.consumed, consumed);
}

TEST_P(RequestParserGoodTest, EveryProperPrefixNeedsMore) {
  const GoodCase& c = GetParam();
  const size_t consumed = c.consumed == 0 ? c.input.size() : c.consumed;
  for (size_t n = 0; n < consumed; ++n) {
    EXPECT_EQ(parse_whole(c.input.substr(0, n)).status, ParseStatus::kNeedMore) << "prefix " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Requests, RequestParserGoodTest, ::testing::ValuesIn(good_cases()),
                         [](const auto& p) { return p.param.name; });

TEST(RequestParserTest, MultibulkArgsAreViewsIntoTheInput) {
  const std::string input = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
  RequestParser parser;
  ASSERT_EQ(parser.parse(input), ParseStatus::kComplete);
  for (std::string_view arg : parser.args()) {
    EXPECT_GE(arg.data(), input.data());
    EXPECT_LE(arg.data() + arg.size(), input.data() + input.size());
  }
  EXPECT_EQ(parser.args()[2].data(), input.data() + input.find("value"));
}

TEST(RequestParserTest, PlainInlineWordsAreViewsIntoTheInput) {
  const std::string input = "SET key \"quoted\"\r\n";
  RequestParser parser;
  ASSERT_EQ(parser.parse(input), ParseStatus::kComplete);
  ASSERT_EQ(parser.args().size(), 3u);
  EXPECT_EQ(parser.args()[1].data(), input.data() + 4);
  EXPECT_EQ(parser.args()[2], "quoted");
}

// What a quiet client's parser gives back (release_memory) changes nothing it parses: between
// requests it starts afresh, and inside a request it keeps what it has found.
TEST(RequestParserTest, MemoryReleasedBetweenRequestsLeavesTheNextOneAsItWas) {
  Args big{"MSET"};
  for (int i = 0; i < 1000; ++i) {
    big.push_back("key" + std::to_string(i));
    big.push_back("value" + std::to_string(i));
  }
  const std::string first = multibulk(big);
  RequestParser parser;
  ASSERT_EQ(parser.parse(first), ParseStatus::kComplete);
  ASSERT_EQ(parser.args().size(), big.size());
  parser.reset();
  parser.release_memory();
  const std::string next = "SET k \"a b\"\r\n";
  ASSERT_EQ(parser.parse(next), ParseStatus::kComplete);
  EXPECT_EQ(Args(parser.args().begin(), parser.args().end()), (Args{"SET", "k", "a b"}));
}

TEST(RequestParserTest, MemoryReleaseInsideARequestKeepsWhatWasFound) {
  const std::string input = multibulk({"SET", "key", "value"});
  for (size_t cut = 1; cut < input.size(); ++cut) {
    RequestParser parser;
    ASSERT_EQ(parser.parse(std::string_view(input).substr(0, cut)), ParseStatus::kNeedMore);
    parser.release_memory();
    ASSERT_EQ(parser.parse(input), ParseStatus::kComplete) << cut;
    EXPECT_EQ(Args(parser.args().begin(), parser.args().end()), (Args{"SET", "key", "value"}))
        << cut;
  }
}

TEST(RequestParserTest, PipelinedRequestsBackToBack) {
  std::string input;
  std::vector<Args> expected;
  for (int i = 0; i < 50; ++i) {
    Args args = i % 3 == 0 ? Args{"GET", "k" + std::to_string(i)}
                           : Args{"SET", "k" + std::to_string(i), std::string(i, 'v')};
    if (i % 7 == 0) {
      input += "*0\r\n";  // empty requests in between are skipped
    }
    if (i % 5 == 0) {
      input += args[0] + " " + args[1] + "\r\n";
      args.resize(2);
    } else {
      input += multibulk(args);
    }
    expected.push_back(args);
  }
  const auto results = parse_all(input);
  ASSERT_EQ(results.size(), expected.size() + 1);
  size_t total = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(results[i].status, ParseStatus::kComplete) << i;
    EXPECT_EQ(results[i].args, expected[i]) << i;
    total += results[i].consumed;
  }
  EXPECT_EQ(results.back().status, ParseStatus::kNeedMore);
  EXPECT_EQ(total, input.size());
}

TEST(RequestParserTest, SkippedEmptyRequestsAreReported) {
  const std::string request = multibulk({"GET", "k"});
  for (const std::string prefix : {"", "*0\r\n", "*-1\r\n*0\r\n", "\r\n  \n", "*0\r\n\n"}) {
    const std::string input = prefix + request;
    for (size_t split = 0; split < input.size(); ++split) {
      const auto result = parse_split(input, split);
      ASSERT_EQ(result.status, ParseStatus::kComplete);
      EXPECT_EQ(result.skipped, prefix.size()) << "split " << split;
      EXPECT_EQ(result.consumed, input.size());
    }
  }
  const auto inline_result = parse_whole("\n\nPING\r\n");
  EXPECT_EQ(inline_result.skipped, 2u);
  EXPECT_EQ(inline_result.args, Args{"PING"});
}

// Before an unfinished request (or before nothing) the skipped bytes are reported too, so the
// caller can drop them rather than hold them until a request follows.
TEST(RequestParserTest, SkippedEmptyRequestsAreReportedWhileMoreIsNeeded) {
  for (const std::string prefix : {"*0\r\n", "*-1\r\n*0\r\n", "\r\n  \n", "*0\r\n\n"}) {
    for (const std::string partial : {"", "*2\r\n$3\r\nGE", "PIN"}) {
      RequestParser parser;
      const std::string input = prefix + partial;
      ASSERT_EQ(parser.parse(input), ParseStatus::kNeedMore) << input;
      EXPECT_EQ(parser.skipped(), prefix.size()) << input;
    }
  }
}

// max_request_bytes counts one request: the empty requests skipped before it are not part of it.
TEST(RequestParserTest, SkippedBytesDoNotCountTowardTheLimit) {
  ParseLimits limits;
  const std::string request = multibulk({"SET", "k", "v"});
  limits.max_request_bytes = request.size();
  const std::string empties(3 * request.size(), '\n');
  for (size_t split = 0; split <= empties.size() + request.size(); split += 7) {
    const auto result = parse_split(empties + request, split, limits);
    EXPECT_EQ(result.status, ParseStatus::kComplete) << "split " << split;
  }
  const auto whole = parse_whole(empties + multibulk({"SET", "k", "vv"}), limits);
  EXPECT_EQ(whole.status, ParseStatus::kError);
  const auto inline_whole = parse_whole(empties + "SET k vv\r\n", limits);
  EXPECT_EQ(inline_whole.status, ParseStatus::kComplete);  // 10 bytes: within the limit
  EXPECT_EQ(
      parse_whole(empties + "SET k " + std::string(request.size(), 'v') + "\r\n", limits).status,
      ParseStatus::kError);
}

TEST(RequestParserTest, ResetAllowsTheNextRequestAndKeepsWorking) {
  RequestParser parser;
  std::string input = "*1\r\n$4\r\nPING\r\nECHO hi\r\n";
  ASSERT_EQ(parser.parse(input), ParseStatus::kComplete);
  const size_t first = parser.consumed();
  parser.reset();
  ASSERT_EQ(parser.parse(std::string_view(input).substr(first)), ParseStatus::kComplete);
  ASSERT_EQ(parser.args().size(), 2u);
  EXPECT_EQ(parser.args()[1], "hi");
}

TEST(RequestParserTest, BigBulkFedInPiecesThroughAGrowingBuffer) {
  const std::string value(10u << 20, 'z');
  const std::string input = multibulk({"SET", "big", value});
  RequestParser parser;
  std::string buffer;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t offset = 0; offset < input.size() && status == ParseStatus::kNeedMore;) {
    const size_t piece = std::min<size_t>(16 << 10, input.size() - offset);
    buffer.append(input, offset, piece);  // may reallocate: the parser keeps offsets only
    offset += piece;
    status = parser.parse(buffer);
  }
  ASSERT_EQ(status, ParseStatus::kComplete);
  EXPECT_EQ(parser.consumed(), input.size());
  EXPECT_EQ(parser.args()[2].size(), value.size());
}

TEST(RequestParserTest, LongInlineLineOneByteAtATimeIsLinear) {
  // A quadratic rescan would take ~10^9 steps here; the resumable scan takes ~10^5.
  std::string input = "ECHO " + std::string(60000, 'a') + "\r\n";
  RequestParser parser;
  std::string buffer;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t i = 0; i < input.size() && status == ParseStatus::kNeedMore; ++i) {
    buffer.push_back(input[i]);
    status = parser.parse(buffer);
  }
  ASSERT_EQ(status, ParseStatus::kComplete);
  EXPECT_EQ(parser.args()[1].size(), 60000u);
}

TEST(RequestParserTest, ManyArgumentsOneByteAtATime) {
  Args args{"DEL"};
  for (int i = 0; i < 2000; ++i)
    args.push_back(std::to_string(i));
  const std::string input = multibulk(args);
  RequestParser parser;
  std::string buffer;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t i = 0; i < input.size() && status == ParseStatus::kNeedMore; ++i) {
    buffer.push_back(input[i]);
    status = parser.parse(buffer);
  }
  ASSERT_EQ(status, ParseStatus::kComplete);
  ASSERT_EQ(parser.args().size(), args.size());
  EXPECT_EQ(parser.args()[1999], "1998");
}

TEST(RequestParserTest, LimitsAreInclusive) {
  ParseLimits limits;
  const std::string request = multibulk({"SET", "k", "v"});
  limits.max_request_bytes = request.size();
  limits.max_args = 3;
  EXPECT_EQ(parse_whole(request, limits).status, ParseStatus::kComplete);
  limits.max_inline_bytes = 7;
  EXPECT_EQ(parse_whole("SET k v\r\n", limits).status, ParseStatus::kComplete);
  EXPECT_EQ(parse_whole("SET k v\n", limits).status, ParseStatus::kComplete);
}

}  // namespace
}  // namespace ringleader::proxy::redis
