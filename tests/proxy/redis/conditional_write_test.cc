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

// The follow-up derived_write plans, completed from the primary's `reply`; "" when the
// command is not derived, "-" when the reply leaves nothing to copy.
std::string derive(std::vector<std::string_view> args, std::string_view reply) {
  std::optional<DerivedWrite> w = derived_write(args);
  if (!w) return "";
  std::string payload;
  const uint32_t at = encode_derived(*w, payload);
  if (!complete_derived(w->kind, payload, at, reply)) return "-";
  return payload;
}

TEST(DerivedWrite, SpopFollowsUpWithSremOfWhatThePrimaryPopped) {
  EXPECT_EQ(derive({"SPOP", "s"}, "$1\r\na\r\n"), "*3\r\n$4\r\nSREM\r\n$1\r\ns\r\n$1\r\na\r\n");
  EXPECT_EQ(derive({"spop", "s", "2"}, "*2\r\n$1\r\na\r\n$2\r\nbc\r\n"),
            "*4\r\n$4\r\nSREM\r\n$1\r\ns\r\n$1\r\na\r\n$2\r\nbc\r\n");
  // Nothing popped, or an error: nothing to copy.
  EXPECT_EQ(derive({"SPOP", "s"}, "$-1\r\n"), "-");
  EXPECT_EQ(derive({"SPOP", "s", "3"}, "*0\r\n"), "-");
  EXPECT_EQ(derive({"SPOP", "s"}, "-WRONGTYPE Operation against a key\r\n"), "-");
  EXPECT_EQ(derive({"SPOP", "s", "1", "extra"}, "$1\r\na\r\n"), "");  // the backend says why
}

TEST(DerivedWrite, XaddRunsOnEachReplica) {
  // Copying the primary's generated IDs would lose entries on a replica that gets two
  // clients' follow-ups in another order (a stream refuses an ID below its last).
  EXPECT_EQ(derive({"XADD", "s", "*", "f", "v"}, "$15\r\n1700000000000-0\r\n"), "");
}

}  // namespace
}  // namespace ringleader::proxy::redis
