// conditional_write: which writes the primary alone decides, and what the other replicas get.
#include "proxy/redis/conditional_write.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringleader::proxy::redis {
namespace {

// "applied | follow up words", or "" when the command is not a conditional write.
std::string plan(std::vector<std::string_view> args) {
  std::optional<ConditionalWrite> w = conditional_write(args);
  if (!w) return "";
  std::string out(w->applied);
  out += " |";
  for (std::string_view word : w->follow_up) {
    out += ' ';
    out += word;
  }
  return out;
}

TEST(ConditionalWrite, SetWithNxOrXxFollowsUpWithoutTheCondition) {
  EXPECT_EQ(plan({"SET", "lock", "token", "NX", "PX", "30000"}), "+OK | SET lock token PX 30000");
  EXPECT_EQ(plan({"set", "k", "v", "ex", "10", "xx"}), "+OK | SET k v ex 10");
  EXPECT_EQ(plan({"SET", "k", "v", "KEEPTTL", "Xx"}), "+OK | SET k v KEEPTTL");
  // NX applied means the key was absent: no TTL to keep, whatever a stale replica holds.
  EXPECT_EQ(plan({"SET", "k", "v", "NX", "KEEPTTL"}), "+OK | SET k v");
  // A value that spells an option is a value: EX's argument is never read as NX.
  EXPECT_EQ(plan({"SET", "k", "v", "EX", "nx"}), "");
  EXPECT_EQ(plan({"SET", "k", "v", "PXAT", "nx", "NX"}), "+OK | SET k v PXAT nx");
}

TEST(ConditionalWrite, SetnxAndHsetnxFollowUpWithTheirPlainWrite) {
  EXPECT_EQ(plan({"SETNX", "k", "v"}), ":1 | SET k v");
  EXPECT_EQ(plan({"hsetnx", "h", "f", "v"}), ":1 | HSET h f v");
}

TEST(ConditionalWrite, OtherWritesAreNotConditional) {
  EXPECT_EQ(plan({"SET", "k", "v"}), "");
  EXPECT_EQ(plan({"SET", "k", "v", "EX", "10"}), "");
  EXPECT_EQ(plan({"SET", "k", "v", "NX", "GET"}), "");  // the reply does not say it wrote
  // Options it does not know (newer conditions take a value that may spell NX).
  EXPECT_EQ(plan({"SET", "k", "v", "IFEQ", "nx"}), "");
  EXPECT_EQ(plan({"SET", "k", "v", "NX", "FROB"}), "");
  EXPECT_EQ(plan({"INCR", "k"}), "");
  EXPECT_EQ(plan({"HSET", "h", "f", "v"}), "");
  EXPECT_EQ(plan({"SETNX", "k"}), "");  // wrong arity: the backend's error stands
  EXPECT_EQ(plan({}), "");
}

}  // namespace
}  // namespace ringleader::proxy::redis
