// parse_reply: a tree of views over one complete reply.
#include "proxy/redis/reply_value.h"

#include <gtest/gtest.h>

#include <string>

namespace ringleader::proxy::redis {
namespace {

using Type = ReplyValue::Type;

TEST(ReplyValueTest, EveryScalarType) {
  auto simple = parse_reply("+OK\r\n");
  ASSERT_TRUE(simple) << simple.error();
  EXPECT_EQ(simple->type, Type::kSimple);
  EXPECT_EQ(simple->text, "OK");

  auto error = parse_reply("-WRONGTYPE Operation against a key\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, Type::kError);
  EXPECT_EQ(error->text, "WRONGTYPE Operation against a key");

  auto integer = parse_reply(":-42\r\n");
  ASSERT_TRUE(integer);
  EXPECT_EQ(integer->type, Type::kInteger);
  EXPECT_EQ(integer->integer, -42);

  const std::string bulk_reply = "$4\r\na\r\nb\r\n";  // outlives the views into it
  auto bulk = parse_reply(bulk_reply);
  ASSERT_TRUE(bulk);
  EXPECT_EQ(bulk->type, Type::kBulk);
  EXPECT_EQ(bulk->text, "a\r\nb");

  auto null_bulk = parse_reply("$-1\r\n");
  ASSERT_TRUE(null_bulk);
  EXPECT_EQ(null_bulk->type, Type::kNullBulk);

  auto null_array = parse_reply("*-1\r\n");
  ASSERT_TRUE(null_array);
  EXPECT_EQ(null_array->type, Type::kNullArray);

  auto empty = parse_reply("*0\r\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->type, Type::kArray);
  EXPECT_TRUE(empty->elements.empty());
}

TEST(ReplyValueTest, NestedArraysKeepOrder) {
  const std::string reply = "*3\r\n$1\r\na\r\n*2\r\n:1\r\n*1\r\n$-1\r\n+end\r\n";
  auto value = parse_reply(reply);
  ASSERT_TRUE(value) << value.error();
  ASSERT_EQ(value->type, Type::kArray);
  ASSERT_EQ(value->elements.size(), 3u);
  EXPECT_EQ(value->elements[0].text, "a");
  const ReplyValue& inner = value->elements[1];
  ASSERT_EQ(inner.elements.size(), 2u);
  EXPECT_EQ(inner.elements[0].integer, 1);
  ASSERT_EQ(inner.elements[1].elements.size(), 1u);
  EXPECT_EQ(inner.elements[1].elements[0].type, Type::kNullBulk);
  EXPECT_EQ(value->elements[2].text, "end");
  // Views, not copies.
  EXPECT_EQ(value->elements[0].text.data(), reply.data() + 8);
}

TEST(ReplyValueTest, DeepNestingWithoutRecursion) {
  std::string reply;
  for (int i = 0; i < 1024; ++i)
    reply += "*1\r\n";
  reply += ":7\r\n";
  auto value = parse_reply(reply, {.max_depth = 1024});
  ASSERT_TRUE(value) << value.error();
  const ReplyValue* v = &*value;
  for (int i = 0; i < 1024; ++i) {
    ASSERT_EQ(v->elements.size(), 1u);
    v = &v->elements[0];
  }
  EXPECT_EQ(v->integer, 7);
}

// A backend's reply nested a million deep (4 MB) was built into a tree whose destruction
// recursed a million deep and overflowed the stack. The depth is refused before anything is
// built: 32 by default, as deep as the caller says otherwise.
TEST(ReplyValueTest, DepthAndValuesPastTheLimitsAreRefusedBeforeBuilding) {
  std::string deep;
  for (int i = 0; i < 1000000; ++i)
    deep += "*1\r\n";
  deep += ":1\r\n";
  EXPECT_FALSE(parse_reply(deep));
  EXPECT_FALSE(parse_reply("*1\r\n*1\r\n:1\r\n", {.max_depth = 1}));
  EXPECT_TRUE(parse_reply("*1\r\n*1\r\n:1\r\n", {.max_depth = 2}));
  EXPECT_TRUE(parse_reply("*1\r\n*0\r\n", {.max_depth = 1}));  // an empty array nests nothing
  EXPECT_FALSE(parse_reply("*1\r\n:1\r\n", {.max_depth = 0}));
  EXPECT_TRUE(parse_reply(":1\r\n", {.max_depth = 0, .max_values = 1}));
  // Values: the array and its elements, nested ones included.
  EXPECT_TRUE(parse_reply("*2\r\n$1\r\na\r\n$-1\r\n", {.max_values = 3}));
  EXPECT_FALSE(parse_reply("*3\r\n$1\r\na\r\n$-1\r\n:1\r\n", {.max_values = 3}));
  EXPECT_FALSE(parse_reply("*1\r\n*2\r\n:1\r\n:2\r\n", {.max_values = 3}));
  std::string wide = "*10000000\r\n";
  for (int i = 0; i < 10000000; ++i)
    wide += ":1\r\n";
  EXPECT_FALSE(parse_reply(wide, {.max_values = 4}));
}

TEST(ReplyValueTest, WideArray) {
  std::string reply = "*10000\r\n";
  for (int i = 0; i < 10000; ++i)
    reply += ":" + std::to_string(i) + "\r\n";
  auto value = parse_reply(reply);
  ASSERT_TRUE(value);
  ASSERT_EQ(value->elements.size(), 10000u);
  EXPECT_EQ(value->elements[9999].integer, 9999);
}

TEST(ReplyValueTest, RejectsMalformedPartialAndTrailing) {
  EXPECT_FALSE(parse_reply(""));
  EXPECT_FALSE(parse_reply("+OK"));
  EXPECT_FALSE(parse_reply("*2\r\n:1\r\n"));
  EXPECT_FALSE(parse_reply("$3\r\nab\r\n"));
  EXPECT_FALSE(parse_reply(":1x\r\n"));
  EXPECT_FALSE(parse_reply("!\r\n"));
  const auto trailing = parse_reply("+OK\r\n+OK\r\n");
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.error().find("after the end"), std::string::npos);
  // A count larger than what follows must not make parse_reply reserve or read beyond it.
  EXPECT_FALSE(parse_reply("*1000000000\r\n:1\r\n"));
}

}  // namespace
}  // namespace ringleader::proxy::redis
