// key_positions: every key-spec form, arity checks and refused options.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "proxy/redis/command_table.h"

namespace ringleader::proxy::redis {
namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

// The key positions of `line` (space-separated), or the error text.
struct Found {
  bool ok = false;
  std::vector<uint32_t> positions;
  std::string error;
};

Found find_keys(const std::string& line) {
  const std::vector<std::string> owned = words(line);
  const std::vector<std::string_view> args(owned.begin(), owned.end());
  const CommandSpec* spec = resolve_command(args);
  if (spec == nullptr) return {false, {}, "unknown command"};
  const Result<KeyPositions> keys = key_positions(*spec, args);
  if (!keys) return {false, {}, keys.error()};
  return {true, std::vector<uint32_t>(keys->begin(), keys->end()), {}};
}

using Positions = std::vector<uint32_t>;

struct KeyCase {
  const char* line;
  Positions expected;
};

class KeyPositionsTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(KeyPositionsTest, FindsTheKeys) {
  const Found found = find_keys(GetParam().line);
  ASSERT_TRUE(found.ok) << GetParam().line << ": " << found.error;
  EXPECT_EQ(found.positions, GetParam().expected) << GetParam().line;
}

INSTANTIATE_TEST_SUITE_P(
    Forms, KeyPositionsTest,
    ::testing::Values(
        // fixed single key
        KeyCase{"GET k", {1}}, KeyCase{"set k v EX 10", {1}}, KeyCase{"XADD s * f v", {1}},
        KeyCase{"HSET h f v f2 v2", {1}}, KeyCase{"OBJECT ENCODING k", {2}},
        KeyCase{"XINFO STREAM s FULL", {2}}, KeyCase{"XGROUP CREATE s g $ MKSTREAM", {2}},
        KeyCase{"MEMORY USAGE k SAMPLES 5", {2}},
        // ranges
        KeyCase{"MGET a b c", {1, 2, 3}}, KeyCase{"DEL a", {1}},
        KeyCase{"MSET k1 v1 k2 v2", {1, 3}}, KeyCase{"MSETNX a 1 b 2 c 3", {1, 3, 5}},
        KeyCase{"SINTERSTORE dst a b", {1, 2, 3}}, KeyCase{"RENAME a b", {1, 2}},
        KeyCase{"LMOVE a b LEFT RIGHT", {1, 2}}, KeyCase{"SMOVE a b m", {1, 2}},
        KeyCase{"BITOP AND dst a b", {2, 3, 4}}, KeyCase{"PFCOUNT a b", {1, 2}},
        KeyCase{"GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km", {1, 2}},
        KeyCase{"ZRANGESTORE dst src 0 -1", {1, 2}}, KeyCase{"COPY a b REPLACE", {1, 2}},
        KeyCase{"LCS a b LEN", {1, 2}},
        // numkeys
        KeyCase{"EVAL script 2 k1 k2 arg", {3, 4}}, KeyCase{"EVAL script 0", {}},
        KeyCase{"EVALSHA sha 1 k a b", {3}}, KeyCase{"FCALL fn 2 a b x", {3, 4}},
        KeyCase{"ZUNIONSTORE dst 2 a b WEIGHTS 1 2", {1, 3, 4}},
        KeyCase{"ZINTERSTORE dst 1 a", {1, 3}}, KeyCase{"ZDIFFSTORE dst 2 a b", {1, 3, 4}},
        KeyCase{"ZUNION 2 a b WITHSCORES", {2, 3}}, KeyCase{"SINTERCARD 2 a b LIMIT 1", {2, 3}},
        KeyCase{"LMPOP 2 a b LEFT COUNT 2", {2, 3}}, KeyCase{"ZMPOP 1 z MIN", {2}},
        // streams
        KeyCase{"XREAD COUNT 2 STREAMS a b 0 0", {4, 5}}, KeyCase{"XREAD STREAMS s $", {2}},
        KeyCase{"XREADGROUP GROUP g c COUNT 1 NOACK STREAMS s1 s2 > >", {8, 9}},
        // sort
        KeyCase{"SORT k", {1}}, KeyCase{"SORT k LIMIT 0 10 ALPHA DESC STORE dst", {1, 8}},
        KeyCase{"SORT k BY nosort GET #", {1}}, KeyCase{"SORT_RO k ALPHA", {1}},
        // patterns name no key that is known before SORT runs, as Redis reports it
        KeyCase{"SORT k BY weight_*", {1}}, KeyCase{"SORT k GET obj_*->field STORE d", {1, 5}},
        // georadius
        KeyCase{"GEORADIUS k 0 0 1 km STORE dst", {1, 7}},
        KeyCase{"GEORADIUS k 0 0 1 km WITHDIST COUNT 3", {1}},
        KeyCase{"GEORADIUSBYMEMBER k m 1 km STOREDIST dst", {1, 6}},
        KeyCase{"GEORADIUSBYMEMBER k store 1 km", {1}},
        // no keys
        KeyCase{"PING", {}}, KeyCase{"DBSIZE", {}}, KeyCase{"SCAN 0 MATCH * COUNT 10", {}}));

struct ErrorCase {
  const char* line;
  const char* error;
};

class KeyPositionsErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(KeyPositionsErrorTest, Refuses) {
  const Found found = find_keys(GetParam().line);
  ASSERT_FALSE(found.ok) << GetParam().line;
  EXPECT_NE(found.error.find(GetParam().error), std::string::npos)
      << GetParam().line << ": " << found.error;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, KeyPositionsErrorTest,
    ::testing::Values(
        ErrorCase{"GET", "wrong number of arguments for 'get' command"},
        ErrorCase{"GET a b", "wrong number of arguments for 'get' command"},
        ErrorCase{"SET k", "wrong number of arguments for 'set' command"},
        ErrorCase{"MSET k1 v1 k2", "wrong number of arguments for 'mset' command"},
        ErrorCase{"MGET", "wrong number of arguments for 'mget' command"},
        ErrorCase{"OBJECT ENCODING", "wrong number of arguments for 'object|encoding' command"},
        ErrorCase{"EVAL s", "wrong number of arguments for 'eval' command"},
        ErrorCase{"EVAL s -1", "Number of keys can't be negative"},
        ErrorCase{"EVAL s 3 a b", "Number of keys can't be greater than number of args"},
        ErrorCase{"EVAL s x", "value is not an integer or out of range"},
        ErrorCase{"EVAL s 99999999999999999999", "value is not an integer or out of range"},
        ErrorCase{"ZUNIONSTORE d 0 a", "at least 1 input key is needed for 'zunionstore'"},
        ErrorCase{"ZUNIONSTORE d 3 a", "syntax error"},
        ErrorCase{"SINTERCARD 0 a", "numkeys should be greater than 0"},
        ErrorCase{"SINTERCARD 3 a", "Number of keys can't be greater than number of args"},
        ErrorCase{"LMPOP x a LEFT", "numkeys should be greater than 0"},
        ErrorCase{"LMPOP 2 a LEFT", "syntax error"},  // no direction left after the keys
        ErrorCase{"ZMPOP 2 a MIN", "syntax error"},
        ErrorCase{"FCALL f x", "Bad number of keys provided"},
        ErrorCase{"XREAD COUNT 1 STREAMS a b 0", "Unbalanced XREAD list of streams"},
        ErrorCase{"XREAD COUNT 1 STREAMS", "syntax error"},
        ErrorCase{"SORT_RO k STORE d", "syntax error"},
        ErrorCase{"SORT_RO k LIMIT abc 1 STORE d", "value is not an integer or out of range"},
        ErrorCase{"SORT k LIMIT 0 1x BY", "value is not an integer or out of range"},
        ErrorCase{"XREAD COUNT 1 a b", "syntax error"},
        ErrorCase{"XREAD BLOCK 0 STREAMS a 0", "'xread' with BLOCK is not supported"},
        ErrorCase{"XREADGROUP GROUP g c BLOCK 10 STREAMS a >", "'xreadgroup' with BLOCK"},
        ErrorCase{"SORT k LIMIT 0", "syntax error"}));

TEST(KeyPositionsManyTest, ManyKeysSpillPastTheInlineStorage) {
  std::string line = "DEL";
  for (int i = 0; i < 1000; ++i)
    line += " k" + std::to_string(i);
  const Found found = find_keys(line);
  ASSERT_TRUE(found.ok);
  ASSERT_EQ(found.positions.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i)
    EXPECT_EQ(found.positions[i], i + 1);

  KeyPositions positions;
  for (uint32_t i = 0; i < 20; ++i) {
    positions.push_back(i * 3);
    ASSERT_EQ(positions.size(), i + 1);
    for (uint32_t j = 0; j <= i; ++j)
      ASSERT_EQ(positions[j], j * 3);
  }
}

TEST(SortPatternsTest, ThePatternsThatNameKeys) {
  auto patterns = [](const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;)
      words.push_back(w);
    const std::vector<std::string_view> args(words.begin(), words.end());
    const CommandSpec* spec = resolve_command(args);
    EXPECT_NE(spec, nullptr) << line;
    return spec == nullptr ? std::vector<uint32_t>{} : sort_patterns(*spec, args);
  };
  EXPECT_EQ(patterns("SORT k BY w_* LIMIT 0 5 GET # GET o_*->f GET plain STORE d"),
            (std::vector<uint32_t>{3, 10}));
  EXPECT_EQ(patterns("SORT_RO k by {t}w_* get *"), (std::vector<uint32_t>{3, 5}));
  EXPECT_EQ(patterns("SORT k BY nosort"), std::vector<uint32_t>{});
  EXPECT_EQ(patterns("SORT k LIMIT * * ALPHA"), std::vector<uint32_t>{});  // not patterns
  EXPECT_EQ(patterns("SORT k BY"), std::vector<uint32_t>{});               // malformed
  EXPECT_EQ(patterns("GET w_*"), std::vector<uint32_t>{});
}

TEST(KeyPositionsManyTest, CheckArity) {
  const CommandSpec& get = *find_command("get");
  const std::vector<std::string_view> two = {"get", "k"};
  EXPECT_TRUE(check_arity(get, two).is_ok());
  const CommandSpec& ping = *find_command("ping");
  EXPECT_TRUE(check_arity(ping, std::vector<std::string_view>{"ping"}).is_ok());
  EXPECT_TRUE(check_arity(ping, std::vector<std::string_view>{"ping", "x"}).is_ok());
  EXPECT_FALSE(check_arity(get, std::vector<std::string_view>{"get"}).is_ok());
}

}  // namespace
}  // namespace ringleader::proxy::redis
