// printable, printable_ascii and escaped: untrusted bytes made fit for logs, replies and
// terminals.
#include "common/printable.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringleader {
namespace {

// True when `s` is valid UTF-8 holding no C0 control, DEL or C1 control.
bool clean_text(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    const size_t length = utf8_sequence_length(s, i);
    if (length == 0 || utf8_c1_control(s, i, length)) return false;
    i += length;
  }
  return true;
}

std::string unescaped(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
    } else if (s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16)));
      i += 3;
    } else {
      const char e = s[++i];
      out.push_back(e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e);
    }
  }
  return out;
}

std::string random_bytes(std::mt19937& rng, size_t max_length) {
  // Mostly bytes that make or break UTF-8 sequences, so that every kind of sequence occurs.
  static constexpr unsigned char kBytes[] = {'a',  ' ',  '\\', '\n', 0x1b, 0x7f, 0x80,
                                             0x9b, 0xa0, 0xbf, 0xc0, 0xc2, 0xc3, 0xe0,
                                             0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  std::string s(rng() % (max_length + 1), '\0');
  for (char& c : s) {
    c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : kBytes[rng() % sizeof(kBytes)]);
  }
  return s;
}

TEST(Utf8SequenceLength, TakesOnlyWellFormedSequences) {
  EXPECT_EQ(utf8_sequence_length("\xc3\xa9", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x9f\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xf4\x8f\xbf\xbf", 0), 4u);  // U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xc0\xaf", 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xe0\x80\xaf", 0), 0u);      // overlong
  EXPECT_EQ(utf8_sequence_length("\xf0\x80\x80\xaf", 0), 0u);  // overlong
  EXPECT_EQ(utf8_sequence_length("\xed\xa0\x80", 0), 0u);      // surrogate U+D800
  EXPECT_EQ(utf8_sequence_length("\xf4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xe2\x82", 0), 0u);          // cut short
  EXPECT_EQ(utf8_sequence_length("\xe2\x28\xac", 0), 0u);      // not a continuation byte
  EXPECT_EQ(utf8_sequence_length("\xa9", 0), 0u);              // a lone continuation byte
  EXPECT_EQ(utf8_sequence_length("\xff", 0), 0u);
}

TEST(Printable, ControlBytesBecomeQuestionMarksAndLongTextIsCut) {
  EXPECT_EQ(printable("a\r\nb\x1b[0m\x7f", 64), "a??b?[0m?");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
  EXPECT_EQ(printable("abc", 3), "abc");
  EXPECT_EQ(printable("abc", 0), "...");
  EXPECT_EQ(printable("caf\xc3\xa9 \xf0\x9f\x98\x80", 64), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

// A log line or an error reply stays valid UTF-8 and obeys no terminal: C1 controls and bytes
// outside a well-formed sequence are '?' (one per byte), and a cut keeps whole characters.
TEST(Printable, KeepsToValidUtf8WithoutControls) {
  EXPECT_EQ(printable("x\xc2\x9b"
                      "31m",
                      64),
            "x?31m");  // C1 CSI, one character
  EXPECT_EQ(printable("\xff\xfe", 64), "??");
  EXPECT_EQ(printable("\xed\xa0\x80", 64), "???");
  EXPECT_EQ(printable("\xc0\xaf", 64), "??");
  EXPECT_EQ(printable("ab\xe2\x82", 64), "ab??");
  EXPECT_EQ(printable("ab\xc3\xa9", 3), "ab...");
  EXPECT_EQ(printable("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(printable("\xf0\x9f\x98\x80x", 4), "\xf0\x9f\x98\x80...");
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const std::string s = random_bytes(rng, 12);
    const size_t max = rng() % 14;
    const std::string out = printable(s, max);
    ASSERT_TRUE(clean_text(out)) << escaped(s);
    // The random bytes hold no '.', so a cut is what ends in "...".
    const bool cut = out.size() >= 3 && out.compare(out.size() - 3, 3, "...") == 0;
    ASSERT_EQ(cut, s.size() > max) << escaped(s);
    ASSERT_LE(out.size() - (cut ? 3 : 0), max) << escaped(s);
  }
}

// What a peer of unknown kind sent may not be text: nothing from 0x80 up reaches the log.
TEST(Printable, AsciiOnlyForBytesThatMayNotBeText) {
  EXPECT_EQ(printable_ascii("caf\xc3\xa9\xff\n", 64), "caf????");
  EXPECT_EQ(printable_ascii("abcdef", 3), "abc...");
}

TEST(Escaped, IsReversibleAndKeepsToOneColumn) {
  EXPECT_EQ(escaped("a\tb\nc\rd\\e\x01\x7f"), "a\\tb\\nc\\rd\\\\e\\x01\\x7f");
  EXPECT_EQ(escaped("\xc2\x9b"
                    "x \xc3\xa9"),
            "\\xc2\\x9b"
            "x \xc3\xa9");
  EXPECT_EQ(escaped(""), "");
}

// Bytes that are not UTF-8 are escaped too, so the output is text a terminal or a log shipper
// takes, and still gives the key back.
TEST(Escaped, EscapesBytesOutsideWellFormedUtf8) {
  EXPECT_EQ(escaped("\xc2"), "\\xc2");  // a lone lead byte at the end
  EXPECT_EQ(escaped("\xff"
                    "a"),
            "\\xffa");
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(escaped("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  std::mt19937 rng(11);
  for (int round = 0; round < 20000; ++round) {
    const std::string s = random_bytes(rng, 12);
    const std::string out = escaped(s);
    ASSERT_TRUE(clean_text(out)) << out;
    ASSERT_EQ(unescaped(out), s) << out;
  }
}

}  // namespace
}  // namespace ringleader
