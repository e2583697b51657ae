// decode_base64: what meta commands' 'b' keys decode to, and what is refused.
#include "memcached/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace ringleader::proxy::memcached {
namespace {

TEST(Base64, DecodesEveryPaddingLength) {
  std::string out;
  ASSERT_TRUE(decode_base64("", &out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(decode_base64("Zg==", &out));
  EXPECT_EQ(out, "f");
  ASSERT_TRUE(decode_base64("Zm8=", &out));
  EXPECT_EQ(out, "fo");
  ASSERT_TRUE(decode_base64("Zm9v", &out));
  EXPECT_EQ(out, "foo");
  ASSERT_TRUE(decode_base64("Zm9vYmFy", &out));
  EXPECT_EQ(out, "foobar");
  ASSERT_TRUE(decode_base64("AP8r/w==", &out));
  EXPECT_EQ(out, std::string("\x00\xff\x2b\xff", 4));
}

TEST(Base64, RefusesWhatIsNotPaddedBase64) {
  std::string out;
  for (const char* bad : {"Zm9", "Zm9vY", "Zm*v", "=Zm9", "Z=9v", "Zg=a", "Zm9v Zm9v", "===="}) {
    EXPECT_FALSE(decode_base64(bad, &out)) << bad;
  }
}

}  // namespace
}  // namespace ringleader::proxy::memcached
