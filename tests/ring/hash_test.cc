#include "ring/hash.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ringleader::ring {
namespace {

std::string hex(const std::array<uint8_t, 16>& d) {
  std::string out;
  char buf[3];
  for (uint8_t b : d) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

TEST(Md5Test, Rfc1321TestSuite) {
  EXPECT_EQ(hex(md5_digest("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(md5_digest("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(hex(md5_digest("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(md5_digest("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex(md5_digest("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(hex(md5_digest("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  std::string digits;
  for (int i = 0; i < 8; ++i)
    digits += "1234567890";
  EXPECT_EQ(hex(md5_digest(digits)), "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5Test, PaddingBoundaries) {
  // Lengths around the 56-byte padding limit and the 64-byte block.
  EXPECT_EQ(hex(md5_digest(std::string(55, 'x'))), "04364420e25c512fd958a70738aa8f72");
  EXPECT_EQ(hex(md5_digest(std::string(56, 'x'))), "668a72d5ba17f08e62dabcafad6db14b");
  EXPECT_EQ(hex(md5_digest(std::string(64, 'x'))), "c1bb4f81d892b2d57947682aeb252456");
  EXPECT_EQ(hex(md5_digest(std::string(119, 'x'))), "ab347a5f68c8a443cfcddc633f12c24f");
  EXPECT_EQ(hex(md5_digest(std::string(120, 'x'))), "fb98667f98096de92620b64f46e1c5b5");
}

TEST(Md5Test, KeyHashIsFirstFourBytesLittleEndian) {
  // md5("foo") = acbd18db...: bytes ac bd 18 db read little-endian.
  EXPECT_EQ(hash_md5("foo"), 0xdb18bdacu);
}

TEST(Fnv1a64Test, MatchesTwemproxyTruncatedVariant) {
  EXPECT_EQ(hash_fnv1a_64(""), 0x84222325u);
  EXPECT_EQ(hash_fnv1a_64("foo"), 0xfed9d577u);
  EXPECT_EQ(hash_fnv1a_64("key:1"), 0x962f5ac9u);
}

TEST(Fnv1a64Test, HighBytesAreSignExtended) {
  // Bytes >= 0x80 are widened as signed char in twemproxy; zero-extension would differ.
  EXPECT_EQ(hash_fnv1a_64("\xe9t\xe9"), 0xb5281ffbu);
  EXPECT_EQ(hash_fnv1a_64("\xff"), 0x79fe466eu);
}

TEST(Xxh3Test, KnownValue) {
  EXPECT_EQ(hash_xxh3(""), 0x2D06800538D394C2ull);
  EXPECT_NE(hash_xxh3("a"), hash_xxh3("b"));
}

TEST(HashListTest, NamesRoundTripAndWidths) {
  for (HashKind k : {HashKind::kXxh3, HashKind::kFnv1a64, HashKind::kMd5}) {
    auto parsed = parse_hash_kind(to_string(k));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_FALSE(parse_hash_kind("crc32").has_value());
  EXPECT_EQ(hash_bits(HashKind::kXxh3), 64u);
  EXPECT_EQ(hash_bits(HashKind::kFnv1a64), 32u);
  EXPECT_EQ(hash_key(HashKind::kMd5, "foo"), hash_md5("foo"));
  EXPECT_EQ(hash_key(HashKind::kFnv1a64, "foo"), hash_fnv1a_64("foo"));
  EXPECT_EQ(hash_key(HashKind::kXxh3, "foo"), hash_xxh3("foo"));
}

}  // namespace
}  // namespace ringleader::ring
