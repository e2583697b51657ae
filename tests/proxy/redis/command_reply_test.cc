// COMMAND replies: what redis-cli and redis-py read, built from the table.
#include "proxy/redis/command_reply.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "proxy/redis/command_table.h"
#include "proxy/redis/reply_scanner.h"
#include "proxy/redis/reply_value.h"

namespace ringleader::proxy::redis {
namespace {

using Type = ReplyValue::Type;

// The reply to `args`, checked to be exactly one complete reply.
std::string reply_to(const std::vector<std::string_view>& args) {
  std::string out;
  append_command_reply(out, args);
  ReplyScanner scanner;
  EXPECT_EQ(scanner.scan(out), ParseStatus::kComplete) << out;
  EXPECT_EQ(scanner.length(), out.size()) << out;
  return out;
}

TEST(CommandReplyTest, CommandListsEveryServedCommandWithSixFields) {
  const std::string out = reply_to({"COMMAND"});
  const auto value = parse_reply(out);
  ASSERT_TRUE(value) << value.error();
  ASSERT_EQ(value->type, Type::kArray);
  std::set<std::string_view> names;
  for (const ReplyValue& entry : value->elements) {
    ASSERT_EQ(entry.elements.size(), 6u);
    EXPECT_EQ(entry.elements[0].type, Type::kBulk);
    EXPECT_EQ(entry.elements[1].type, Type::kInteger);
    EXPECT_EQ(entry.elements[2].type, Type::kArray);
    for (const ReplyValue& flag : entry.elements[2].elements)
      EXPECT_EQ(flag.type, Type::kSimple);
    names.insert(entry.elements[0].text);
  }
  EXPECT_TRUE(names.count("get"));
  EXPECT_TRUE(names.count("mget"));
  EXPECT_TRUE(names.count("client"));  // CLIENT SETNAME/GETNAME are served
  EXPECT_TRUE(names.count("object"));  // OBJECT ENCODING ... are served
  EXPECT_FALSE(names.count("blpop"));
  EXPECT_FALSE(names.count("config"));

  const std::string count_reply = reply_to({"command", "count"});
  const auto count = parse_reply(count_reply);
  ASSERT_TRUE(count);
  EXPECT_EQ(count->integer, static_cast<int64_t>(value->elements.size()));
}

TEST(CommandReplyTest, InfoDescribesNamedCommands) {
  const std::string out =
      reply_to({"COMMAND", "INFO", "get", "MSET", "object|encoding", "blpop", "nosuch"});
  const auto value = parse_reply(out);  // views into `out`
  ASSERT_TRUE(value) << value.error();
  ASSERT_EQ(value->elements.size(), 5u);
  const ReplyValue& get = value->elements[0];
  ASSERT_EQ(get.elements.size(), 6u);
  EXPECT_EQ(get.elements[0].text, "get");
  EXPECT_EQ(get.elements[1].integer, 2);
  ASSERT_EQ(get.elements[2].elements.size(), 2u);
  EXPECT_EQ(get.elements[2].elements[0].text, "readonly");
  EXPECT_EQ(get.elements[2].elements[1].text, "fast");
  EXPECT_EQ(get.elements[3].integer, 1);
  EXPECT_EQ(get.elements[4].integer, 1);
  EXPECT_EQ(get.elements[5].integer, 1);
  const ReplyValue& mset = value->elements[1];
  EXPECT_EQ(mset.elements[1].integer, -3);
  EXPECT_EQ(mset.elements[4].integer, -1);
  EXPECT_EQ(mset.elements[5].integer, 2);
  EXPECT_EQ(value->elements[2].elements[0].text, "object|encoding");
  EXPECT_EQ(value->elements[2].elements[3].integer, 2);
  EXPECT_EQ(value->elements[3].type, Type::kNullBulk);  // refused: not described
  EXPECT_EQ(value->elements[4].type, Type::kNullBulk);
}

TEST(CommandReplyTest, ListNamesServedCommandsAndSubcommands) {
  const std::string out = reply_to({"COMMAND", "LIST"});
  const auto value = parse_reply(out);
  ASSERT_TRUE(value);
  std::set<std::string_view> names;
  for (const ReplyValue& name : value->elements)
    names.insert(name.text);
  EXPECT_TRUE(names.count("get"));
  EXPECT_TRUE(names.count("client|setname"));
  EXPECT_TRUE(names.count("script|load"));
  EXPECT_FALSE(names.count("client|kill"));
  EXPECT_FALSE(names.count("subscribe"));
}

TEST(CommandReplyTest, GetKeysUsesTheTable) {
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"}),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  // As Redis: every other argument, though MSET itself refuses a missing value.
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "MSET", "a", "1", "b"}),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  const std::vector<std::string_view> mset = {"MSET", "a", "1", "b"};
  EXPECT_FALSE(key_positions(*resolve_command(mset), mset));
  EXPECT_EQ(reply_to({"command", "getkeys", "eval", "s", "1", "k", "x"}), "*1\r\n$1\r\nk\r\n");
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "EVAL", "s", "0"}), "*0\r\n");
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "ping", "x"}),
            "-ERR The command has no key arguments\r\n");
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "nope", "x"}), "-ERR Invalid command specified\r\n");
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "get", "a", "b"}),
            "-ERR Invalid number of arguments specified for command\r\n");
  EXPECT_EQ(reply_to({"COMMAND", "GETKEYS", "get"}),
            "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
}

TEST(CommandReplyTest, ErrorsForEverythingElse) {
  EXPECT_EQ(reply_to({"COMMAND", "FOO"}),
            "-ERR unknown subcommand 'FOO'. ringleader answers COMMAND, COMMAND COUNT, COMMAND "
            "GETKEYS, COMMAND INFO and COMMAND LIST\r\n");
  EXPECT_EQ(reply_to({"COMMAND", "DOCS", "get"})
                .rfind("-ERR 'command docs' is not supported by "
                       "ringleader",
                       0),
            0u);
  EXPECT_EQ(reply_to({"COMMAND", "COUNT", "x"}),
            "-ERR wrong number of arguments for 'command|count' command\r\n");
  // A filter that Redis serves is not served here; anything else is Redis's syntax error.
  EXPECT_EQ(reply_to({"COMMAND", "LIST", "FILTERBY", "PATTERN", "x*"}),
            "-ERR COMMAND LIST FILTERBY is not supported by ringleader\r\n");
  for (const auto& wrong : std::vector<std::vector<std::string_view>>{
           {"COMMAND", "LIST", "FILTERBY", "x"},
           {"COMMAND", "LIST", "FOO"},
           {"COMMAND", "LIST", "FILTERBY"},
           {"COMMAND", "LIST", "FILTERBY", "COLOUR", "x"},
           {"COMMAND", "LIST", "FILTERBY", "PATTERN", "x", "y"}}) {
    EXPECT_EQ(reply_to(wrong), "-ERR syntax error\r\n") << wrong[2];
  }
  // A subcommand name with CR/LF cannot break the reply's framing.
  const std::string framed = reply_to({"COMMAND", "x\r\n+OK"});
  EXPECT_EQ(framed.find("\r\n"), framed.size() - 2) << framed;
}

TEST(CommandReplyTest, InfoWithoutNamesListsEverything) {
  EXPECT_EQ(reply_to({"COMMAND", "INFO"}), reply_to({"COMMAND"}));
}

}  // namespace
}  // namespace ringleader::proxy::redis
