// ReplyScanner: finds the end of every RESP2 reply however it is split, and rejects garbage.
#include "proxy/redis/reply_scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "../scanner_discard.h"
#include "test_util.h"

namespace ringleader::proxy::redis {
namespace {

using testing::scan_bytewise;
using testing::scan_split;

struct ReplyCase {
  std::string name;
  std::string reply;
};

std::string nested(size_t depth) {
  std::string reply;
  for (size_t i = 0; i < depth; ++i)
    reply += "*1\r\n";
  return reply + ":1\r\n";
}

std::vector<ReplyCase> good_replies() {
  using namespace std::string_literals;
  return {
      {"simple", "+OK\r\n"},
      {"empty_simple", "+\r\n"},
      {"error", "-ERR unknown command 'foo'\r\n"},
      {"integer", ":12345\r\n"},
      {"negative_integer", ":-9223372036854775808\r\n"},
      {"bulk", "$5\r\nhello\r\n"},
      {"binary_bulk", "$6\r\n\r\n\0*$\n\r\n"s},
      {"empty_bulk", "$0\r\n\r\n"},
      {"null_bulk", "$-1\r\n"},
      {"empty_array", "*0\r\n"},
      {"null_array", "*-1\r\n"},
      {"flat_array", "*3\r\n$1\r\na\r\n:2\r\n+three\r\n"},
      {"array_with_nulls", "*3\r\n$-1\r\n*-1\r\n$0\r\n\r\n"},
      {"nested", "*2\r\n*2\r\n:1\r\n*0\r\n*1\r\n*1\r\n-ERR x\r\n"},
      {"scan_reply", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
      {"deep", nested(200)},
      {"deep_then_wide", "*2\r\n*1\r\n*3\r\n:1\r\n$-1\r\n*0\r\n+last\r\n"},
  };
}

class ReplyScannerGoodTest : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(ReplyScannerGoodTest, LengthAtEverySplit) {
  const std::string& reply = GetParam().reply;
  for (size_t split = 0; split < reply.size(); ++split) {
    const auto result = scan_split(reply, split);
    ASSERT_EQ(result.status, ParseStatus::kComplete) << "split " << split << ": " << result.error;
    EXPECT_EQ(result.length, reply.size());
  }
  const auto bytewise = scan_bytewise(reply);
  ASSERT_EQ(bytewise.status, ParseStatus::kComplete) << bytewise.error;
  EXPECT_EQ(bytewise.length, reply.size());
}

TEST_P(ReplyScannerGoodTest, LengthExcludesTheNextReply) {
  const std::string& reply = GetParam().reply;
  const std::string two = reply + "+NEXT\r\n";
  for (size_t split = 0; split < two.size(); ++split) {
    const auto result = scan_split(two, split);
    ASSERT_EQ(result.status, ParseStatus::kComplete) << "split " << split;
    EXPECT_EQ(result.length, reply.size());
  }
}

TEST_P(ReplyScannerGoodTest, EveryProperPrefixNeedsMore) {
  const std::string& reply = GetParam().reply;
  for (size_t n = 0; n < reply.size(); ++n) {
    ReplyScanner scanner;
    EXPECT_EQ(scanner.scan(std::string_view(reply).substr(0, n)), ParseStatus::kNeedMore) << n;
  }
}

// Discarding a reply as it streams in: one byte at a time, dropping whatever is settled after
// every call, the scanner still ends the reply exactly where it ends.
TEST_P(ReplyScannerGoodTest, DroppingSettledBytesKeepsTheFraming) {
  const auto run = proxy::testing::scan_discarding<ReplyScanner>(GetParam().reply + "+NEXT\r\n", 1);
  ASSERT_TRUE(run.complete);
  EXPECT_EQ(run.length, GetParam().reply.size());
}

// What the scanner knows of a reply's length before it has all of it is a lower bound, read
// as it is kept or as it is discarded: a reply that fits the limit is never refused early.
TEST_P(ReplyScannerGoodTest, KnownLengthNeverExceedsTheReply) {
  EXPECT_LE(proxy::testing::most_known_length<ReplyScanner>(GetParam().reply + "+NEXT\r\n"),
            GetParam().reply.size());
}

INSTANTIATE_TEST_SUITE_P(Replies, ReplyScannerGoodTest, ::testing::ValuesIn(good_replies()),
                         [](const auto& p) { return p.param.name; });

struct BadReply {
  std::string name;
  std::string reply;
  std::string error;
};

class ReplyScannerBadTest : public ::testing::TestWithParam<BadReply> {};

TEST_P(ReplyScannerBadTest, ErrorAtEverySplit) {
  const BadReply& c = GetParam();
  const auto whole = scan_split(c.reply, 0);
  ASSERT_EQ(whole.status, ParseStatus::kError);
  EXPECT_NE(whole.error.find(c.error), std::string::npos) << whole.error;
  for (size_t split = 1; split < c.reply.size(); ++split) {
    const auto result = scan_split(c.reply, split);
    ASSERT_EQ(result.status, ParseStatus::kError) << "split " << split;
    EXPECT_EQ(result.error, whole.error);
  }
  EXPECT_EQ(scan_bytewise(c.reply).error, whole.error);
}

INSTANTIATE_TEST_SUITE_P(
    Replies, ReplyScannerBadTest,
    ::testing::Values(
        BadReply{"type_byte", "?what\r\n", "invalid reply type byte 0x3f"},
        BadReply{"type_byte_in_array", "*2\r\n:1\r\nhello\r\n", "invalid reply type byte 0x68"},
        BadReply{"integer_text", ":12a\r\n", "invalid integer reply"},
        BadReply{"integer_overflow", ":9223372036854775808\r\n", "invalid integer reply"},
        BadReply{"integer_too_long", ":1234567890123456789012345\r\n", "invalid integer reply"},
        BadReply{"bulk_length_negative", "$-2\r\n", "invalid bulk length"},
        BadReply{"bulk_length_text", "$x\r\n", "invalid bulk length"},
        BadReply{"bulk_longer", "$3\r\nfoobar\r\n", "not followed by CRLF"},
        BadReply{"array_length_negative", "*-3\r\n", "invalid multibulk length"},
        BadReply{"cr_without_lf", "+OK\rX\r\n", "CR without LF"},
        BadReply{"number_cr_without_lf", ":1\rX", "invalid integer reply"},
        BadReply{"too_many_elements",
                 "*4611686018427387904\r\n*2\r\n",  // 2^62, then one more
                 "more than 2^62 elements"}),
    [](const auto& p) { return p.param.name; });

// Lua scripts and modules can return arrays nested thousands deep (Redis relays them); the
// scanner frames them in constant memory, however deep and however split.
TEST(ReplyScannerTest, AnyNestingDepth) {
  for (size_t depth : {1100, 100000}) {
    const std::string reply = nested(depth);
    ReplyScanner scanner;
    ASSERT_EQ(scanner.scan(reply), ParseStatus::kComplete) << scanner.error();
    EXPECT_EQ(scanner.length(), reply.size());
    const auto split = scan_split(reply, reply.size() / 2 + 1);
    EXPECT_EQ(split.status, ParseStatus::kComplete) << split.error;
    EXPECT_EQ(split.length, reply.size());
    if (depth > 10000) continue;  // one byte at a time copies the input each time
    const auto bytewise = scan_bytewise(reply + "+NEXT\r\n");
    EXPECT_EQ(bytewise.status, ParseStatus::kComplete) << bytewise.error;
    EXPECT_EQ(bytewise.length, reply.size());
  }
  // Exactly 2^62 values pending is allowed (the reply is incomplete, not wrong).
  ReplyScanner at_limit;
  EXPECT_EQ(at_limit.scan("*4611686018427387904\r\n:1\r\n"), ParseStatus::kNeedMore);
}

TEST(ReplyScannerTest, BigBulkInPiecesThroughAGrowingBuffer) {
  const std::string reply =
      "$" + std::to_string(10u << 20) + "\r\n" + std::string(10u << 20, 'b') + "\r\n";
  ReplyScanner scanner;
  std::string buffer;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t offset = 0; offset < reply.size() && status == ParseStatus::kNeedMore;) {
    const size_t piece = std::min<size_t>(16 << 10, reply.size() - offset);
    buffer.append(reply, offset, piece);
    offset += piece;
    status = scanner.scan(buffer);
  }
  ASSERT_EQ(status, ParseStatus::kComplete);
  EXPECT_EQ(scanner.length(), reply.size());
}

TEST(ReplyScannerTest, MillionElementArrayInPieces) {
  std::string reply = "*1000000\r\n";
  for (int i = 0; i < 1000000; ++i)
    reply += (i % 2 == 0) ? ":1\r\n" : "$1\r\nx\r\n";
  ReplyScanner scanner;
  std::string buffer;
  ParseStatus status = ParseStatus::kNeedMore;
  size_t calls = 0;
  for (size_t offset = 0; offset < reply.size() && status == ParseStatus::kNeedMore;) {
    const size_t piece = std::min<size_t>(16 << 10, reply.size() - offset);
    buffer.append(reply, offset, piece);
    offset += piece;
    status = scanner.scan(buffer);
    ++calls;
  }
  ASSERT_EQ(status, ParseStatus::kComplete);
  EXPECT_EQ(scanner.length(), reply.size());
  EXPECT_GT(calls, 100u);
}

// What a caller discarding a reply must hold at once: one read's worth, not the reply.
TEST(ReplyScannerTest, DiscardingABigReplyHoldsOnlyWhatIsNotSettled) {
  std::string array = "*100000\r\n";
  for (int i = 0; i < 100000; ++i)
    array += (i % 2 == 0) ? ":1\r\n" : "$3\r\nxyz\r\n";
  const std::string bulk =
      "$" + std::to_string(10u << 20) + "\r\n" + std::string(10u << 20, 'b') + "\r\n";
  const std::string error = "-ERR " + std::string(1u << 20, 'e') + "\r\n";
  for (const std::string& reply : {array, bulk, error}) {
    const auto run = proxy::testing::scan_discarding<ReplyScanner>(reply, 16 << 10);
    ASSERT_TRUE(run.complete) << reply.substr(0, 20);
    EXPECT_EQ(run.length, reply.size());
    EXPECT_LE(run.most_held, (16u << 10) + 32) << reply.substr(0, 20);
  }
}

// A bulk's header declares how long the reply will be, before its body arrives: at the top
// level and inside an array, where what came before counts too.
TEST(ReplyScannerTest, KnownLengthCountsTheDeclaredBulk) {
  ReplyScanner top;
  ASSERT_EQ(top.scan("$1000000\r\nab"), ParseStatus::kNeedMore);
  EXPECT_EQ(top.known_length(), 10u + 1000000 + 2);
  ReplyScanner inner;
  ASSERT_EQ(inner.scan("*2\r\n$3\r\nfoo\r\n$500\r\n"), ParseStatus::kNeedMore);
  EXPECT_EQ(inner.known_length(), 4u + 9 + 6 + 500 + 2);
  ReplyScanner line;  // nothing declared: what was scanned
  ASSERT_EQ(line.scan("-ERR some"), ParseStatus::kNeedMore);
  EXPECT_EQ(line.known_length(), 9u);
}

TEST(ReplyScannerTest, LongErrorLineOneByteAtATime) {
  const std::string reply = "-ERR " + std::string(50000, 'e') + "\r\n";
  ReplyScanner scanner;
  std::string buffer;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t i = 0; i < reply.size() && status == ParseStatus::kNeedMore; ++i) {
    buffer.push_back(reply[i]);
    status = scanner.scan(buffer);
  }
  ASSERT_EQ(status, ParseStatus::kComplete);
  EXPECT_EQ(scanner.length(), reply.size());
}

TEST(ReplyScannerTest, ResetForTheNextReply) {
  const std::string stream = "+OK\r\n:5\r\n";
  ReplyScanner scanner;
  ASSERT_EQ(scanner.scan(stream), ParseStatus::kComplete);
  EXPECT_EQ(scanner.length(), 5u);
  EXPECT_EQ(scanner.scan(stream), ParseStatus::kComplete);  // idempotent until reset
  scanner.reset();
  ASSERT_EQ(scanner.scan(std::string_view(stream).substr(5)), ParseStatus::kComplete);
  EXPECT_EQ(scanner.length(), 4u);
}

TEST(ReplyScannerTest, RandomBytesNeverCrash) {
  std::mt19937 rng(99);
  const std::string alphabet = "*$:+-\r\n0123456789-1ab";
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const size_t length = rng() % 60;
    std::string input;
    for (size_t i = 0; i < length; ++i) {
      input.push_back(rng() % 5 == 0 ? static_cast<char>(rng() % 256)
                                     : alphabet[rng() % alphabet.size()]);
    }
    std::vector<char> exact(input.begin(), input.end());
    ReplyScanner scanner;
    const ParseStatus status = scanner.scan(std::string_view(exact.data(), exact.size()));
    if (status == ParseStatus::kComplete) {
      ASSERT_LE(scanner.length(), input.size());
      ASSERT_GT(scanner.length(), 0u);
    }
    (void)scan_split(input, input.empty() ? 0 : rng() % input.size());
  }
}

}  // namespace
}  // namespace ringleader::proxy::redis
