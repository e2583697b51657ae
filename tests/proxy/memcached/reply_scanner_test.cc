// ReplyScanner: finds the end of every memcached reply however it is split, and rejects
// replies that cannot be framed.
#include "proxy/memcached/reply_scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../scanner_discard.h"
#include "feed.h"

namespace ringleader::proxy::memcached {
namespace {

using testing::scan_bytewise;
using testing::scan_split;
using namespace std::string_literals;

struct ReplyCase {
  std::string name;
  std::string reply;
};

std::vector<ReplyCase> good_replies() {
  return {
      {"stored", "STORED\r\n"},
      {"not_found", "NOT_FOUND\r\n"},
      {"number", "12345\r\n"},
      {"version", "VERSION 1.6.18\r\n"},
      {"error", "ERROR\r\n"},
      {"client_error", "CLIENT_ERROR bad data chunk\r\n"},
      {"miss", "END\r\n"},
      {"hit", "VALUE k 0 3\r\nabc\r\nEND\r\n"},
      {"hit_with_cas", "VALUE k 7 3 42\r\nabc\r\nEND\r\n"},
      {"empty_value", "VALUE k 0 0\r\n\r\nEND\r\n"},
      {"binary_value", "VALUE k 0 9\r\nEND\r\n\0\r\nV\r\nEND\r\n"s},
      {"value_looks_like_item", "VALUE k 0 16\r\nVALUE x 0 99\r\n\r\n\r\nEND\r\n"},
      {"several", "VALUE a 0 1\r\n1\r\nVALUE b 0 2\r\n22\r\nVALUE a 0 1\r\n1\r\nEND\r\n"},
      {"cut_short_by_error", "VALUE a 0 1\r\n1\r\nSERVER_ERROR out of memory\r\n"},
      {"meta_value", "VA 3 f5 t-1\r\nabc\r\n"},
      {"meta_empty_value", "VA 0\r\n\r\n"},
      {"meta_value_looks_like_a_reply", "VA 11\r\nEND\r\nHD\r\nMN\r\n"},
      {"meta_header", "HD c5 O12 kfoo\r\n"},
      {"meta_miss", "EN\r\n"},
      {"meta_noop", "MN\r\n"},
      {"meta_not_stored", "NS\r\n"},
      {"meta_exists", "EX c7\r\n"},
      {"meta_not_found", "NF\r\n"},
      {"meta_debug", "ME k exp=-1 la=3 cas=2 fetch=no cls=1 size=63\r\n"},
      {"server_error", "SERVER_ERROR out of memory storing object\r\n"},
      {"touched", "TOUCHED\r\n"},
      {"deleted", "DELETED\r\n"},
      {"exists", "EXISTS\r\n"},
      {"not_stored", "NOT_STORED\r\n"},
      {"ok", "OK\r\n"},
  };
}

class ReplyScannerGoodTest : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(ReplyScannerGoodTest, LengthAtEverySplit) {
  const std::string& reply = GetParam().reply;
  for (size_t split = 0; split <= reply.size(); ++split) {
    auto r = scan_split(reply, split);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << "split " << split << ": " << r.error;
    EXPECT_EQ(r.length, reply.size());
  }
  auto r = scan_bytewise(reply);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.length, reply.size());
}

TEST_P(ReplyScannerGoodTest, StopsAtTheEndWhenMoreFollows) {
  const std::string& reply = GetParam().reply;
  auto r = scan_split(reply + "STORED\r\nVALUE z 0 1\r\n", 0);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.length, reply.size());
}

// Discarding a reply as it streams in: one byte at a time, dropping whatever is settled after
// every call, the scanner still ends the reply exactly where it ends.
TEST_P(ReplyScannerGoodTest, DroppingSettledBytesKeepsTheFraming) {
  const auto run =
      proxy::testing::scan_discarding<ReplyScanner>(GetParam().reply + "STORED\r\n", 1);
  ASSERT_TRUE(run.complete);
  EXPECT_EQ(run.length, GetParam().reply.size());
}

// What the scanner knows of a reply's length before it has all of it is a lower bound, read
// as it is kept or as it is discarded: a reply that fits the limit is never refused early.
TEST_P(ReplyScannerGoodTest, KnownLengthNeverExceedsTheReply) {
  EXPECT_LE(proxy::testing::most_known_length<ReplyScanner>(GetParam().reply + "STORED\r\n"),
            GetParam().reply.size());
}

INSTANTIATE_TEST_SUITE_P(Replies, ReplyScannerGoodTest, ::testing::ValuesIn(good_replies()),
                         [](const auto& param_info) { return param_info.param.name; });

// What a caller discarding a reply must hold at once: one read's worth (and at most one line),
// not the reply.
TEST(ReplyScannerTest, DiscardingABigReplyHoldsOnlyWhatIsNotSettled) {
  std::string items;
  for (int i = 0; i < 20000; ++i)
    items += "VALUE key" + std::to_string(i) + " 0 10\r\n0123456789\r\n";
  items += "END\r\n";
  const std::string big = "VALUE k 0 " + std::to_string(10u << 20) + "\r\n" +
                          std::string(10u << 20, 'b') + "\r\nEND\r\n";
  for (const std::string& reply : {items, big}) {
    const auto run = proxy::testing::scan_discarding<ReplyScanner>(reply, 16 << 10);
    ASSERT_TRUE(run.complete) << reply.substr(0, 20);
    EXPECT_EQ(run.length, reply.size());
    EXPECT_LE(run.most_held, (16u << 10) + 64) << reply.substr(0, 20);
  }
}

// A VALUE or VA line declares how long its data block is, before the block arrives.
TEST(ReplyScannerTest, KnownLengthCountsTheDeclaredDataBlock) {
  ReplyScanner value;
  ASSERT_EQ(value.scan("VALUE a 0 1\r\n1\r\nVALUE k 0 1000000\r\nab"), ParseStatus::kNeedMore);
  EXPECT_EQ(value.known_length(), 16u + 19 + 1000000 + 2);
  ReplyScanner meta;
  ASSERT_EQ(meta.scan("VA 70000 t5\r\n"), ParseStatus::kNeedMore);
  EXPECT_EQ(meta.known_length(), 13u + 70000 + 2);
  ReplyScanner line;  // nothing declared: what was scanned
  ASSERT_EQ(line.scan("SERVER_ERR"), ParseStatus::kNeedMore);
  EXPECT_EQ(line.known_length(), 10u);
}

TEST(ReplyScannerTest, ResetScansTheNextReply) {
  const std::string stream = "VALUE a 0 1\r\n1\r\nEND\r\nDELETED\r\n";
  ReplyScanner scanner;
  ASSERT_EQ(scanner.scan(stream), ParseStatus::kComplete);
  size_t first = scanner.length();
  scanner.reset();
  ASSERT_EQ(scanner.scan(std::string_view(stream).substr(first)), ParseStatus::kComplete);
  EXPECT_EQ(first + scanner.length(), stream.size());
}

struct BadReply {
  std::string name;
  std::string reply;
  std::string error;  // expected substring
};

TEST(ReplyScannerTest, UnframableRepliesAreErrorsAtEverySplit) {
  const BadReply cases[] = {
      {"bare_newline", "STORED\n", "not ended by \\r\\n"},
      {"empty_line", "\n", "not ended by \\r\\n"},
      {"value_without_length", "VALUE k 0\r\n", "malformed VALUE"},
      {"length_not_a_number", "VALUE k 0 x\r\n", "malformed VALUE"},
      {"data_not_terminated", "VALUE k 0 1\r\nab\r\n", "not followed by"},
      {"huge_item", "VALUE k 0 99999999999\r\n", "larger than 1 GiB"},
      {"meta_value_without_length", "VA x f1\r\n", "malformed VA"},
      {"meta_value_not_terminated", "VA 1\r\nab\r\n", "not followed by"},
      {"huge_meta_value", "VA 99999999999\r\n", "larger than 1 GiB"},
      {"endless_line", std::string(ReplyScanner::kMaxLineBytes + 2, 'x'), "longer than 8 KiB"},
      // Lines no memcached sends: passed to the client as an answer before, and the stream
      // left out of step.
      {"garbage", "\x00\x01garbage\r\n"s, "unexpected reply line"},
      {"garbage_in_a_run", "VALUE a 0 1\r\n1\r\nbogus\r\n", "unexpected reply line"},
      {"code_as_a_prefix", "STOREDX\r\n", "unexpected reply line"},
      {"lowercase_code", "stored\r\n", "unexpected reply line"},
      {"signed_number", "-1\r\n", "unexpected reply line"},
      {"redis_reply", "+OK\r\n", "unexpected reply line"},
  };
  for (const BadReply& c : cases) {
    for (size_t split = 0; split <= c.reply.size(); split += 1 + split / 64) {
      auto r = scan_split(c.reply, split);
      ASSERT_EQ(r.status, ParseStatus::kError) << c.name << " split " << split;
      EXPECT_NE(r.error.find(c.error), std::string::npos) << c.name << ": " << r.error;
    }
  }
}

TEST(ReplyScannerTest, IncompleteRepliesNeedMore) {
  for (std::string prefix : {"", "STORED", "STORED\r", "VALUE k 0 3\r\nab",
                             "VALUE k 0 3\r\nabc\r\n", "VALUE k 0 3\r\nabc\r\nEN"}) {
    ReplyScanner scanner;
    EXPECT_EQ(scanner.scan(prefix), ParseStatus::kNeedMore) << prefix;
  }
}

}  // namespace
}  // namespace ringleader::proxy::memcached
