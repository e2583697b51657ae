#include "admin/url_codec.h"

#include <gtest/gtest.h>

namespace ringleader::proxy::admin {
namespace {

TEST(UrlCodec, DecodesPercentEscapes) {
  EXPECT_EQ(url_decode("a%20b%2Fc%3a", PlusMeans::kPlus), "a b/c:");
  EXPECT_EQ(url_decode("a+b", PlusMeans::kPlus), "a+b");
  EXPECT_EQ(url_decode("a+b", PlusMeans::kSpace), "a b");
  EXPECT_EQ(url_decode("%00%ff", PlusMeans::kPlus), std::string("\0\xff", 2));
  EXPECT_EQ(url_decode("", PlusMeans::kPlus), "");
}

TEST(UrlCodec, RejectsBadEscapes) {
  EXPECT_FALSE(url_decode("%", PlusMeans::kPlus));
  EXPECT_FALSE(url_decode("a%2", PlusMeans::kPlus));
  EXPECT_FALSE(url_decode("%zz", PlusMeans::kPlus));
  EXPECT_FALSE(url_decode("%g0", PlusMeans::kPlus));
}

TEST(UrlCodec, ParsesQueryStrings) {
  auto params = parse_query("key=user%3A42+x&&flag&consistent=1&key=second");
  ASSERT_TRUE(params);
  ASSERT_EQ(params->size(), 4u);
  ASSERT_NE(find_param(*params, "key"), nullptr);
  EXPECT_EQ(*find_param(*params, "key"), "user:42 x");  // the first one wins
  EXPECT_EQ(*find_param(*params, "flag"), "");
  EXPECT_EQ(*find_param(*params, "consistent"), "1");
  EXPECT_EQ(find_param(*params, "nope"), nullptr);
  EXPECT_TRUE(parse_query("")->empty());
  EXPECT_FALSE(parse_query("key=%zz"));
  EXPECT_EQ(*find_param(*parse_query("k=a=b"), "k"), "a=b");
}

}  // namespace
}  // namespace ringleader::proxy::admin
