// printable, printable_ascii and escaped: untrusted bytes made fit for logs, replies and
// terminals.
#include "common/printable.h"

#include <gtest/gtest.h>

#include <string>

namespace ringleader {
namespace {

TEST(Printable, ControlBytesBecomeQuestionMarksAndLongTextIsCut) {
  EXPECT_EQ(printable("a\r\nb\x1b[0m\x7f", 64), "a??b?[0m?");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
  EXPECT_EQ(printable("caf\xc3\xa9", 64), "caf\xc3\xa9");  // UTF-8 passes
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
  EXPECT_EQ(escaped("\xc2"), "\xc2");  // a lone lead byte at the end is left as it is
  EXPECT_EQ(escaped(""), "");
}

}  // namespace
}  // namespace ringleader
