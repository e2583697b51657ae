// RequestParser on well-formed requests: the same result at every split point and byte by
// byte, pipelined requests consumed one at a time.
#include "proxy/memcached/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "feed.h"

namespace ringleader::proxy::memcached {
namespace {

using testing::parse_bytewise;
using testing::parse_split;
using namespace std::string_literals;

struct GoodCase {
  std::string name;
  std::string input;
  std::vector<std::string> tokens;
  std::string data;
  bool has_data;
};

std::vector<GoodCase> good_requests() {
  return {
      {"get", "get foo\r\n", {"get", "foo"}, "", false},
      {"get_many", "get a b c\r\n", {"get", "a", "b", "c"}, "", false},
      {"bare_newline", "get foo\n", {"get", "foo"}, "", false},
      {"extra_spaces", "get  a   b \r\n", {"get", "a", "b"}, "", false},
      {"empty_line", "\r\n", {}, "", false},
      {"set", "set k 5 0 3\r\nabc\r\n", {"set", "k", "5", "0", "3"}, "abc", true},
      {"set_noreply",
       "set k 0 0 2 noreply\r\nxy\r\n",
       {"set", "k", "0", "0", "2", "noreply"},
       "xy",
       true},
      {"empty_value", "set k 0 0 0\r\n\r\n", {"set", "k", "0", "0", "0"}, "", true},
      {"binary_value",
       "set k 0 0 6\r\n\r\n\0 \n\r\r\n"s,
       {"set", "k", "0", "0", "6"},
       "\r\n\0 \n\r"s,
       true},
      {"plus_signed_length",
       "set k +5 +0 +3\r\nabc\r\n",
       {"set", "k", "+5", "+0", "+3"},
       "abc",
       true},
      {"meta_plus_signed_length", "ms k +2 T0\r\nhi\r\n", {"ms", "k", "+2", "T0"}, "hi", true},
      // Lengths as memcached reads them: strtol's low 32 bits.
      {"minus_zero_length", "set k 0 0 -0\r\n\r\n", {"set", "k", "0", "0", "-0"}, "", true},
      {"length_wrapped",
       "set k 0 0 4294967297\r\nv\r\n",
       {"set", "k", "0", "0", "4294967297"},
       "v",
       true},
      {"negative_length_wrapped",
       "set k 0 0 -4294967295\r\nv\r\n",
       {"set", "k", "0", "0", "-4294967295"},
       "v",
       true},
      // No length word: no data block, for memcached either (the session answers ERROR).
      {"length_missing", "set k 0 0\r\n", {"set", "k", "0", "0"}, "", false},
      {"cas_length_missing", "cas k\r\n", {"cas", "k"}, "", false},
      {"cas", "cas k 0 0 1 99\r\nv\r\n", {"cas", "k", "0", "0", "1", "99"}, "v", true},
      {"append", "append k 0 0 1\r\nv\r\n", {"append", "k", "0", "0", "1"}, "v", true},
      {"prepend", "prepend k 0 0 1\r\nv\r\n", {"prepend", "k", "0", "0", "1"}, "v", true},
      {"add", "add k 0 0 1\r\nv\r\n", {"add", "k", "0", "0", "1"}, "v", true},
      {"replace", "replace k 0 0 1\r\nv\r\n", {"replace", "k", "0", "0", "1"}, "v", true},
      {"gat", "gat 100 a b\r\n", {"gat", "100", "a", "b"}, "", false},
      {"incr", "incr n 5 noreply\r\n", {"incr", "n", "5", "noreply"}, "", false},
      {"version", "version\r\n", {"version"}, "", false},
  };
}

class RequestParserGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(RequestParserGoodTest, SameResultAtEverySplit) {
  const GoodCase& c = GetParam();
  for (size_t split = 0; split <= c.input.size(); ++split) {
    auto r = parse_split(c.input, split);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << "split " << split << ": " << r.error;
    EXPECT_EQ(r.tokens, c.tokens) << "split " << split;
    EXPECT_EQ(r.data, c.data) << "split " << split;
    EXPECT_EQ(r.has_data, c.has_data);
    EXPECT_EQ(r.consumed, c.input.size());
  }
}

TEST_P(RequestParserGoodTest, SameResultByteByByte) {
  const GoodCase& c = GetParam();
  auto r = parse_bytewise(c.input);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.tokens, c.tokens);
  EXPECT_EQ(r.data, c.data);
  EXPECT_EQ(r.consumed, c.input.size());
}

TEST_P(RequestParserGoodTest, AnyPrefixNeedsMore) {
  const GoodCase& c = GetParam();
  for (size_t n = 0; n < c.input.size(); ++n) {
    RequestParser parser;
    EXPECT_EQ(parser.parse(std::string_view(c.input).substr(0, n)), ParseStatus::kNeedMore)
        << "prefix " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Requests, RequestParserGoodTest, ::testing::ValuesIn(good_requests()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(RequestParserTest, PipelinedRequestsAreConsumedOneAtATime) {
  const std::string input = "set a 0 0 1\r\n1\r\nget a b\r\ndelete a noreply\r\nset b 0 0 2\r\nxy";
  RequestParser parser;
  std::string_view rest = input;
  std::vector<std::string> commands;
  for (;;) {
    ParseStatus st = parser.parse(rest);
    if (st != ParseStatus::kComplete) {
      EXPECT_EQ(st, ParseStatus::kNeedMore);
      break;
    }
    commands.emplace_back(parser.tokens()[0]);
    rest.remove_prefix(parser.consumed());
    parser.reset();
  }
  EXPECT_EQ(commands, (std::vector<std::string>{"set", "get", "delete"}));
  EXPECT_EQ(rest, "set b 0 0 2\r\nxy");
}

// The binary protocol's magic byte is refused only where a binary client starts: first on the
// connection. Later it begins an unknown command, as with memcached.
// What a quiet client's parser gives back (release_memory) changes nothing it parses: between
// requests it starts afresh, and inside a request it keeps what it has found.
TEST(RequestParserTest, MemoryReleasedBetweenRequestsLeavesTheNextOneAsItWas) {
  std::string get = "get";
  for (int i = 0; i < 1000; ++i)
    get += " key" + std::to_string(i);
  get += "\r\n";
  RequestParser parser;
  ASSERT_EQ(parser.parse(get), ParseStatus::kComplete);
  ASSERT_EQ(parser.tokens().size(), 1001u);
  parser.reset();
  parser.release_memory();
  const std::string next = "set k 0 0 2\r\nab\r\n";
  ASSERT_EQ(parser.parse(next), ParseStatus::kComplete);
  ASSERT_EQ(parser.tokens().size(), 5u);
  EXPECT_EQ(parser.tokens()[1], "k");
  EXPECT_EQ(parser.data(), "ab");
}

TEST(RequestParserTest, MemoryReleaseInsideARequestKeepsWhatWasFound) {
  const std::string input = "set key 0 0 5\r\nvalue\r\n";
  for (size_t cut = 1; cut < input.size(); ++cut) {
    RequestParser parser;
    ASSERT_EQ(parser.parse(std::string_view(input).substr(0, cut)), ParseStatus::kNeedMore);
    parser.release_memory();
    ASSERT_EQ(parser.parse(input), ParseStatus::kComplete) << cut;
    ASSERT_EQ(parser.tokens().size(), 5u) << cut;
    EXPECT_EQ(parser.tokens()[1], "key") << cut;
    EXPECT_EQ(parser.data(), "value") << cut;
  }
}

TEST(RequestParserTest, AByte0x80AfterTheFirstCommandIsAnUnknownCommand) {
  RequestParser parser;
  ASSERT_EQ(parser.parse("get a\r\n"), ParseStatus::kComplete);
  parser.reset();
  const std::string later = "\x80junk\r\n";
  ASSERT_EQ(parser.parse(later), ParseStatus::kComplete);
  EXPECT_EQ(parser.tokens()[0], "\x80junk");
  EXPECT_EQ(parser.consumed(), later.size());
}

TEST(RequestParserTest, DataBlockMayHoldAnythingOfItsAnnouncedLength) {
  std::string value;
  for (int c = 0; c < 256; ++c)
    value.push_back(static_cast<char>(c));
  const std::string input = "set k 0 0 256\r\n" + value + "\r\n";
  auto r = parse_split(input, 20);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.data, value);
}

TEST(RequestParserTest, RequestOfExactlyTheLimitIsAccepted) {
  const std::string input = "set k 0 0 10\r\n0123456789\r\n";
  ParseLimits limits;
  limits.max_request_bytes = input.size();
  auto whole = parse_split(input, 0, limits);
  EXPECT_EQ(whole.status, ParseStatus::kComplete);
  EXPECT_TRUE(whole.has_data);
  EXPECT_EQ(whole.discard, 0u);
  limits.max_request_bytes = input.size() - 1;
  auto over = parse_split(input, 0, limits);
  EXPECT_EQ(over.status, ParseStatus::kComplete);
  EXPECT_FALSE(over.has_data);
  EXPECT_EQ(over.discard, 12u);
}

TEST(RequestParserTest, RetrievalLinesMayBeLongerThanMemcachedsBuffer) {
  // Lines of 8,192 keys (about 32 KiB), at every split: memcached itself reads get and gets
  // lines of any length, and the proxy cuts gat, gats and bget into lines a backend reads.
  for (std::string command : {"get", "gets", "gat 0", "gats 0", "bget", "  get"}) {
    std::string line = command;
    for (int i = 0; i < 8192; ++i)
      line += " k" + std::to_string(i % 10);
    const std::string input = line + "\r\n";
    for (size_t split = 0; split <= input.size(); split += 997) {
      auto r = parse_split(input, split);
      ASSERT_EQ(r.status, ParseStatus::kComplete) << command << " split " << split << r.error;
      EXPECT_EQ(r.consumed, input.size());
    }
  }
}

TEST(RequestParserTest, OtherLinesOfUpTo16KiBAreRead) {
  std::string line = "set k 0 0 1 ";
  line.resize(kMaxCommandLineBytes, 'y');  // the word memcached ignores, 16 KiB in all
  const std::string input = line + "\r\nx\r\n";
  for (size_t split = 0; split <= input.size(); split += 31) {
    auto r = parse_split(input, split);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << "split " << split << r.error;
    EXPECT_EQ(r.data, "x");
  }
  // Cut right after the '\r': 16 KiB of text and a '\r' wait for the '\n'.
  auto at_cr = parse_split(input, line.size() + 1);
  EXPECT_EQ(at_cr.status, ParseStatus::kComplete) << at_cr.error;
  auto bare = parse_split(line + "\nx\r\n", line.size());  // a bare '\n' terminator too
  EXPECT_EQ(bare.status, ParseStatus::kComplete) << bare.error;
}

TEST(HasDataBlockTest, OnlyStorageCommandsCarryData) {
  size_t token = 0;
  for (const char* name : {"set", "add", "replace", "append", "prepend", "cas"}) {
    EXPECT_TRUE(has_data_block(name, &token)) << name;
    EXPECT_EQ(token, 4u);
  }
  for (const char* name : {"get", "gets", "delete", "incr", "touch", "SET", "flush_all", ""}) {
    EXPECT_FALSE(has_data_block(name, &token)) << name;
  }
}

}  // namespace
}  // namespace ringleader::proxy::memcached
