// The command table: lookups, routing decisions and the table's own consistency.
#include "proxy/redis/command_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ringleader::proxy::redis {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::string mixed(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); i += 2) {
    if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
  }
  return out;
}

TEST(CommandTableTest, EveryCommandFoundInAnyCase) {
  ASSERT_GT(all_commands().size(), 200u);
  for (const CommandSpec& spec : all_commands()) {
    EXPECT_EQ(find_command(spec.name), &spec) << spec.name;
    EXPECT_EQ(find_command(upper(spec.name)), &spec) << spec.name;
    EXPECT_EQ(find_command(mixed(spec.name)), &spec) << spec.name;
    for (const CommandSpec& sub : spec.subcommands) {
      EXPECT_EQ(find_subcommand(spec, upper(sub.subcommand_name())), &sub) << sub.name;
      EXPECT_EQ(sub.name.substr(0, spec.name.size() + 1), std::string(spec.name) + "|");
    }
  }
}

TEST(CommandTableTest, UnknownNamesAreNull) {
  EXPECT_EQ(find_command(""), nullptr);
  EXPECT_EQ(find_command("nosuchcommand"), nullptr);
  EXPECT_EQ(find_command("ge"), nullptr);
  EXPECT_EQ(find_command("gett"), nullptr);
  EXPECT_EQ(find_command("get "), nullptr);
  EXPECT_EQ(find_command(std::string(1000, 'g')), nullptr);
  EXPECT_EQ(find_command(std::string("get\0", 4)), nullptr);
  EXPECT_EQ(find_command("object|encoding"), nullptr);  // subcommands are not top-level
  EXPECT_EQ(resolve_command({}), nullptr);
}

// Every single-key command of every data type the issue names is forwarded to its key's owner.
TEST(CommandTableTest, SingleKeyCommandsOfEveryDataType) {
  const std::vector<std::string> names = {
      // strings and bitmaps
      "get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "append", "strlen",
      "incr", "incrby", "incrbyfloat", "decr", "decrby", "getrange", "setrange", "substr", "getbit",
      "setbit", "bitcount", "bitpos", "bitfield", "bitfield_ro",
      // hashes
      "hset", "hsetnx", "hget", "hmset", "hmget", "hdel", "hlen", "hexists", "hkeys", "hvals",
      "hgetall", "hincrby", "hincrbyfloat", "hstrlen", "hscan", "hrandfield",
      // lists
      "lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange", "lindex", "lset",
      "lrem", "ltrim", "linsert", "lpos",
      // sets
      "sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember",
      "sscan",
      // sorted sets
      "zadd", "zrem", "zscore", "zmscore", "zincrby", "zcard", "zcount", "zlexcount", "zrange",
      "zrangebyscore", "zrangebylex", "zrevrange", "zrevrangebyscore", "zrevrangebylex", "zrank",
      "zrevrank", "zpopmin", "zpopmax", "zrandmember", "zremrangebyrank", "zremrangebyscore",
      "zremrangebylex", "zscan",
      // hyperloglog, geo, streams
      "pfadd", "geoadd", "geodist", "geohash", "geopos", "geosearch", "georadius_ro",
      "georadiusbymember_ro", "xadd", "xlen", "xrange", "xrevrange", "xdel", "xtrim", "xack",
      "xpending", "xclaim", "xautoclaim", "xsetid",
      // expiry and keys
      "expire", "pexpire", "expireat", "pexpireat", "expiretime", "pexpiretime", "ttl", "pttl",
      "persist", "type", "dump", "restore"};
  for (const std::string& name : names) {
    const CommandSpec* spec = find_command(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->routing, Routing::kSingleKey) << name;
    EXPECT_EQ(spec->keys.search, KeySearch::kRange) << name;
    EXPECT_EQ(spec->keys.first, 1) << name;
    EXPECT_EQ(spec->keys.last, 1) << name;
    EXPECT_FALSE(spec->has(CommandFlag::kMultiKey)) << name;
  }
  for (const char* sub :
       {"OBJECT ENCODING", "object freq", "Object IdleTime", "OBJECT REFCOUNT", "MEMORY USAGE",
        "XINFO STREAM", "XINFO GROUPS", "XINFO CONSUMERS", "XGROUP CREATE", "XGROUP DESTROY",
        "XGROUP SETID", "XGROUP CREATECONSUMER", "XGROUP DELCONSUMER"}) {
    const std::string text(sub);
    const std::vector<std::string_view> args = {std::string_view(text).substr(0, text.find(' ')),
                                                std::string_view(text).substr(text.find(' ') + 1)};
    const CommandSpec* spec = resolve_command(args);
    ASSERT_NE(spec, nullptr) << sub;
    EXPECT_EQ(spec->routing, Routing::kSingleKey) << sub;
    EXPECT_EQ(spec->keys.first, 2) << sub;
  }
}

TEST(CommandTableTest, MultiKeyRoutingAndMerge) {
  struct Expected {
    const char* name;
    Routing routing;
    Merge merge;
  };
  const Expected cases[] = {
      {"mget", Routing::kSplitKeys, Merge::kArrayInKeyOrder},
      {"del", Routing::kSplitKeys, Merge::kIntegerSum},
      {"unlink", Routing::kSplitKeys, Merge::kIntegerSum},
      {"exists", Routing::kSplitKeys, Merge::kIntegerSum},
      {"touch", Routing::kSplitKeys, Merge::kIntegerSum},
      {"mset", Routing::kSplitKeyValues, Merge::kAllOk},
      {"msetnx", Routing::kKeysTogether, Merge::kNone},
      {"rename", Routing::kKeysTogether, Merge::kNone},
      {"renamenx", Routing::kKeysTogether, Merge::kNone},
      {"smove", Routing::kKeysTogether, Merge::kNone},
      {"sinterstore", Routing::kKeysTogether, Merge::kNone},
      {"sunionstore", Routing::kKeysTogether, Merge::kNone},
      {"sdiffstore", Routing::kKeysTogether, Merge::kNone},
      {"sinter", Routing::kKeysTogether, Merge::kNone},
      {"lmove", Routing::kKeysTogether, Merge::kNone},
      {"rpoplpush", Routing::kKeysTogether, Merge::kNone},
      {"zunionstore", Routing::kKeysTogether, Merge::kNone},
      {"zrangestore", Routing::kKeysTogether, Merge::kNone},
      {"pfmerge", Routing::kKeysTogether, Merge::kNone},
      {"pfcount", Routing::kKeysTogether, Merge::kNone},
      {"bitop", Routing::kKeysTogether, Merge::kNone},
      {"copy", Routing::kKeysTogether, Merge::kNone},
      {"geosearchstore", Routing::kKeysTogether, Merge::kNone},
      {"sort", Routing::kKeysTogether, Merge::kNone},
      {"eval", Routing::kScript, Merge::kNone},
      {"evalsha_ro", Routing::kScript, Merge::kNone},
      {"fcall", Routing::kScript, Merge::kNone},
      {"dbsize", Routing::kFanout, Merge::kIntegerSum},
      {"flushdb", Routing::kFanout, Merge::kAllOk},
      {"flushall", Routing::kFanout, Merge::kAllOk},
      {"scan", Routing::kFanout, Merge::kScanCursor},
      {"info", Routing::kFanout, Merge::kInfo},
      {"keys", Routing::kFanout, Merge::kArrayConcat},
  };
  for (const Expected& e : cases) {
    const CommandSpec* spec = find_command(e.name);
    ASSERT_NE(spec, nullptr) << e.name;
    EXPECT_EQ(spec->routing, e.routing) << e.name;
    EXPECT_EQ(spec->merge, e.merge) << e.name;
  }
}

TEST(CommandTableTest, ProxyLocalCommands) {
  for (const char* name : {"ping", "echo", "quit", "select", "auth", "hello", "command"}) {
    const CommandSpec* spec = find_command(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->routing, Routing::kProxyLocal) << name;
    EXPECT_TRUE(spec->has(CommandFlag::kNoKey)) << name;
  }
  const std::vector<std::string_view> setname = {"CLIENT", "SETNAME", "app"};
  ASSERT_NE(resolve_command(setname), nullptr);
  EXPECT_EQ(resolve_command(setname)->name, "client|setname");
  EXPECT_EQ(resolve_command(setname)->routing, Routing::kProxyLocal);
  const std::vector<std::string_view> getname = {"client", "getname"};
  EXPECT_EQ(resolve_command(getname)->routing, Routing::kProxyLocal);
}

TEST(CommandTableTest, UnsupportedCommandsSayWhy) {
  struct Expected {
    std::vector<std::string_view> args;
    const char* reason;
  };
  const Expected cases[] = {
      {{"BLPOP", "k", "0"}, "blocking"},
      {{"brpoplpush", "a", "b", "0"}, "blocking"},
      {{"bzpopmin", "z", "0"}, "blocking"},
      {{"wait", "1", "0"}, "replication"},
      {{"SUBSCRIBE", "ch"}, "pub/sub"},
      {{"publish", "ch", "m"}, "pub/sub"},
      {{"MULTI"}, "transactions"},
      {{"exec"}, "transactions"},
      {{"watch", "k"}, "transactions"},
      {{"cluster", "info"}, "cluster"},
      {{"replicaof", "no", "one"}, "replication"},
      {{"config", "get", "save"}, "administers one server"},
      {{"shutdown"}, "administers one server"},
      {{"monitor"}, "administers one server"},
      {{"move", "k", "1"}, "database 0"},
      {{"swapdb", "0", "1"}, "database 0"},
      {{"randomkey"}, "spread over several backends"},
      {{"client", "kill", "x"}, "CLIENT SETNAME, GETNAME, ID, INFO and SETINFO"},
      {{"OBJECT", "help"}, "ENCODING, FREQ"},
      {{"script", "kill"}, "LOAD, FLUSH and EXISTS"},
  };
  for (const Expected& e : cases) {
    const CommandSpec* spec = resolve_command(e.args);
    ASSERT_NE(spec, nullptr) << e.args[0];
    EXPECT_EQ(spec->routing, Routing::kUnsupported) << e.args[0];
    const std::string message = unsupported_message(*spec, e.args);
    EXPECT_NE(message.find(e.reason), std::string::npos) << message;
    EXPECT_NE(message.find("not supported by ringleader"), std::string::npos) << message;
  }
  const std::vector<std::string_view> kill = {"CLIENT", "KILL", "x"};
  EXPECT_EQ(unsupported_message(*resolve_command(kill), kill).rfind("'client kill' is", 0), 0u);
  const std::vector<std::string_view> blpop = {"blpop", "k", "0"};
  EXPECT_EQ(unsupported_message(*resolve_command(blpop), blpop).rfind("'blpop' is", 0), 0u);
}

TEST(CommandTableTest, FanoutScriptAndFunctionLoading) {
  const std::vector<std::string_view> load = {"SCRIPT", "LOAD", "return 1"};
  EXPECT_EQ(resolve_command(load)->routing, Routing::kFanout);
  EXPECT_EQ(resolve_command(load)->merge, Merge::kAllEqual);
  const std::vector<std::string_view> flush = {"script", "flush"};
  EXPECT_EQ(resolve_command(flush)->merge, Merge::kAllOk);
  const std::vector<std::string_view> exists = {"script", "EXISTS", "a", "b"};
  EXPECT_EQ(resolve_command(exists)->merge, Merge::kArrayAnd);
  const std::vector<std::string_view> fload = {"FUNCTION", "LOAD", "#!lua name=x\n"};
  EXPECT_EQ(resolve_command(fload)->routing, Routing::kFanout);
}

// Invariants of the table itself, so an edit cannot leave it inconsistent.
TEST(CommandTableTest, EntriesAreConsistent) {
  std::set<std::string_view> names;
  auto check = [&](const CommandSpec& spec) {
    EXPECT_TRUE(names.insert(spec.name).second) << "duplicate " << spec.name;
    EXPECT_NE(spec.arity, 0) << spec.name;
    EXPECT_EQ(spec.routing == Routing::kUnsupported, !spec.unsupported_reason.empty()) << spec.name;
    const bool splits = spec.routing == Routing::kSplitKeys ||
                        spec.routing == Routing::kSplitKeyValues ||
                        spec.routing == Routing::kFanout;
    EXPECT_EQ(splits, spec.merge != Merge::kNone) << spec.name;
    switch (spec.routing) {
      case Routing::kSingleKey:
        EXPECT_EQ(spec.keys.search, KeySearch::kRange) << spec.name;
        EXPECT_EQ(spec.keys.first, spec.keys.last) << spec.name;
        EXPECT_GT(spec.keys.first, 0) << spec.name;
        break;
      case Routing::kSplitKeys:
      case Routing::kSplitKeyValues:
      case Routing::kKeysTogether:
      case Routing::kScript:
        EXPECT_NE(spec.keys.search, KeySearch::kNone) << spec.name;
        EXPECT_TRUE(spec.has(CommandFlag::kMultiKey)) << spec.name;
        break;
      case Routing::kProxyLocal:
      case Routing::kFanout:
        EXPECT_EQ(spec.keys.search, KeySearch::kNone) << spec.name;
        EXPECT_TRUE(spec.has(CommandFlag::kNoKey)) << spec.name;
        break;
      case Routing::kUnsupported:
        break;
    }
    EXPECT_FALSE(spec.has(CommandFlag::kRead) && spec.has(CommandFlag::kWrite)) << spec.name;
  };
  for (const CommandSpec& spec : all_commands()) {
    check(spec);
    for (const CommandSpec& sub : spec.subcommands)
      check(sub);
  }
  EXPECT_EQ(find_command("mset")->routing, Routing::kSplitKeyValues);
  EXPECT_EQ(find_command("mset")->keys.step, 2);
}

}  // namespace
}  // namespace ringleader::proxy::redis
