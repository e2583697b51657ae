// RESP integer lines: read_number_line agrees with parse_resp_integer on every text, and
// needs more input exactly while the line could still complete.
#include "resp_integer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringleader::proxy::redis {
namespace {

const std::vector<std::string> kTexts = {"0",
                                         "7",
                                         "42",
                                         "-1",
                                         "-0",
                                         "00",
                                         "01",
                                         "-01",
                                         "",
                                         "-",
                                         "+1",
                                         "1-",
                                         "--1",
                                         "1 ",
                                         " 1",
                                         "a",
                                         "1a",
                                         "9223372036854775807",
                                         "9223372036854775808",
                                         "-9223372036854775808",
                                         "-9223372036854775809",
                                         "18446744073709551616",
                                         "99999999999999999999",
                                         "12345678901234567890",
                                         "1234567890123456789"};

// read_number_line on `<type>text\r\n` followed by `after` says what parse_resp_integer
// says of `text`, and ends where the line does.
void expect_line_agrees(char type, const std::string& text, const std::string& after = "") {
  const std::string line = type + text + "\r\n";
  NumberLine got = read_number_line(line + after, 0);
  std::optional<int64_t> want = parse_resp_integer(text);
  if (!want) {
    EXPECT_EQ(got.status, NumberLine::Status::kError) << text;
    return;
  }
  EXPECT_EQ(got.status, NumberLine::Status::kComplete) << text;
  if (got.status != NumberLine::Status::kComplete) return;
  EXPECT_EQ(got.value, *want) << text;
  EXPECT_EQ(got.next, line.size()) << text;
}

TEST(RespInteger, LineAgreesWithTextParserOnEveryText) {
  for (const std::string& text : kTexts)
    expect_line_agrees(':', text);
}

TEST(RespInteger, EveryShortTextAgreesWithTextParserWhateverFollows) {
  // Every text of one or two characters, so both the one- and two-digit fast paths and
  // their near misses are compared, with nothing or more input after the line.
  const std::string alphabet = "0123456789-a ";
  std::vector<std::string> texts;
  for (char a : alphabet) {
    texts.emplace_back(1, a);
    for (char b : alphabet)
      texts.push_back(std::string{a, b});
  }
  for (const std::string& text : texts) {
    expect_line_agrees('$', text);
    expect_line_agrees('$', text, "$3\r\nfoo\r\n");
  }
}

TEST(RespInteger, EveryPrefixOfAValidLineNeedsMore) {
  for (const std::string& text :
       {std::string("0"), std::string("42"), std::string("-9223372036854775808"),
        std::string("1234567890123456789")}) {
    const std::string line = "$" + text + "\r\n";
    for (size_t cut = 1; cut < line.size(); ++cut) {
      EXPECT_EQ(read_number_line(std::string_view(line).substr(0, cut), 0).status,
                NumberLine::Status::kNeedMore)
          << text << " cut at " << cut;
    }
  }
}

TEST(RespInteger, MalformedLinesFailWithoutWaitingForMore) {
  EXPECT_EQ(read_number_line("*1\rX", 0).status, NumberLine::Status::kError);
  EXPECT_EQ(read_number_line("*12\rX", 0).status, NumberLine::Status::kError);
  EXPECT_EQ(read_number_line("*12\n\r", 0).status, NumberLine::Status::kError);
  EXPECT_EQ(read_number_line("*1x", 0).status, NumberLine::Status::kError);
  EXPECT_EQ(read_number_line("*-", 0).status, NumberLine::Status::kNeedMore);
  EXPECT_EQ(read_number_line("*1-", 0).status, NumberLine::Status::kError);
  // No '\r' where the longest integer would have ended.
  EXPECT_EQ(read_number_line("*" + std::string(21, '1'), 0).status, NumberLine::Status::kError);
  EXPECT_EQ(read_number_line("*" + std::string(20, '1'), 0).status, NumberLine::Status::kNeedMore);
}

TEST(RespInteger, ReadsALineInsideLargerInput) {
  const std::string input = "xx$13\r\nrest";
  NumberLine got = read_number_line(input, 2);
  ASSERT_EQ(got.status, NumberLine::Status::kComplete);
  EXPECT_EQ(got.value, 13);
  EXPECT_EQ(got.next, 7u);
}

}  // namespace
}  // namespace ringleader::proxy::redis
