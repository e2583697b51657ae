// The command table against a live redis-server 7.0: the same commands, arities, flags and
// first/last/step, and the same keys as COMMAND GETKEYS. Skipped only when redis-server is
// not installed. The server listens on a unix socket in a fresh temporary directory, so tests
// never collide on a port.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy/redis/command_reply.h"
#include "proxy/redis/command_table.h"
#include "proxy/redis/encoder.h"
#include "proxy/redis/reply_scanner.h"
#include "proxy/redis/reply_value.h"
#include "sha1.h"

extern char** environ;

namespace ringleader::proxy::redis {
namespace {

using Type = ReplyValue::Type;

std::optional<std::string> find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// A redis-server child process on a unix socket, stopped when this goes away.
class LiveRedis {
 public:
  ~LiveRedis() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // Starts the server and connects; an empty string on success, else what failed.
  std::string start(const std::string& server) {
    char dir_template[] = "/tmp/rl-codec-test-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) return "mkdtemp failed";
    dir_ = dir_template;
    const std::string socket_path = dir_ + "/redis.sock";
    std::vector<std::string> argv_text = {server,
                                          "--port",
                                          "0",
                                          "--unixsocket",
                                          socket_path,
                                          "--save",
                                          "",
                                          "--appendonly",
                                          "no",
                                          "--daemonize",
                                          "no",
                                          "--logfile",
                                          dir_ + "/redis.log"};
    std::vector<char*> argv;
    for (std::string& arg : argv_text)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int spawned =
        ::posix_spawn(&pid_, server.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = 0;
      return "posix_spawn failed";
    }
    // The server is ready when its socket accepts a connection: retry until a deadline.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      socket_path.copy(address.sun_path, sizeof address.sun_path - 1);
      if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        return {};
      }
      ::close(fd_);
      fd_ = -1;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return "redis-server exited at startup";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "redis-server did not accept connections within 10 s";
  }

  // Sends one command and returns its complete reply's bytes (empty on failure).
  std::string call(const std::vector<std::string_view>& args) {
    std::string request;
    append_command(request, args);
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return {};
      sent += static_cast<size_t>(n);
    }
    std::string reply;
    ReplyScanner scanner;
    char chunk[65536];
    while (true) {
      switch (scanner.scan(reply)) {
        case ParseStatus::kComplete:
          return reply.substr(0, scanner.length());
        case ParseStatus::kError:
          ADD_FAILURE() << "bad reply from redis-server: " << scanner.error();
          return {};
        case ParseStatus::kNeedMore:
          break;
      }
      pollfd readable{fd_, POLLIN, 0};
      if (::poll(&readable, 1, 10000) != 1) return {};
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      reply.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  std::string dir_;
  pid_t pid_ = 0;
  int fd_ = -1;
};

// A request written as words separated by spaces.
std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w == "\"\"" ? std::string() : w);  // "" is an empty argument
  return words;
}

class LiveRedisCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::optional<std::string> server = find_in_path("redis-server");
    if (!server) GTEST_SKIP() << "redis-server is not installed";
    const std::string failure = redis_.start(*server);
    ASSERT_EQ(failure, "");
  }
  LiveRedis redis_;
};

// The Redis flags the table models; others (allow_busy, skip_monitor, ...) are not compared.
const std::map<std::string_view, CommandFlag>& modeled_flags() {
  static const std::map<std::string_view, CommandFlag> flags = {
      {"readonly", CommandFlag::kRead},     {"write", CommandFlag::kWrite},
      {"denyoom", CommandFlag::kDenyOom},   {"admin", CommandFlag::kAdmin},
      {"pubsub", CommandFlag::kPubSub},     {"noscript", CommandFlag::kNoScript},
      {"blocking", CommandFlag::kBlocking}, {"loading", CommandFlag::kLoading},
      {"stale", CommandFlag::kStale},       {"fast", CommandFlag::kFast},
      {"no_auth", CommandFlag::kNoAuth},    {"movablekeys", CommandFlag::kMovableKeys},
  };
  return flags;
}

TEST_F(LiveRedisCommandTest, EveryRedisCommandIsInTheTable) {
  const std::string raw = redis_.call({"COMMAND"});
  const auto all = parse_reply(raw);
  ASSERT_TRUE(all) << all.error();
  ASSERT_GT(all->elements.size(), 200u);
  for (const ReplyValue& entry : all->elements) {
    ASSERT_GE(entry.elements.size(), 6u);
    EXPECT_NE(find_command(entry.elements[0].text), nullptr)
        << "redis-server knows '" << entry.elements[0].text << "', the table does not";
  }
}

TEST_F(LiveRedisCommandTest, ArityFlagsAndKeyRangeMatchRedis) {
  std::vector<const CommandSpec*> specs;
  for (const CommandSpec& spec : all_commands()) {
    specs.push_back(&spec);
    for (const CommandSpec& sub : spec.subcommands)
      specs.push_back(&sub);
  }
  std::vector<std::string_view> request = {"COMMAND", "INFO"};
  for (const CommandSpec* spec : specs)
    request.push_back(spec->name);
  const std::string raw = redis_.call(request);
  const auto info = parse_reply(raw);
  ASSERT_TRUE(info) << info.error();
  ASSERT_EQ(info->elements.size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const CommandSpec& spec = *specs[i];
    const ReplyValue& entry = info->elements[i];
    // Answered by the proxy itself and newer than Debian 12's redis-server (7.0): CLIENT
    // SETINFO came with 7.2 (arity 4, as its command document says).
    if (spec.name == "client|setinfo" && entry.type == Type::kNullBulk) continue;
    ASSERT_EQ(entry.type, Type::kArray) << spec.name << " is unknown to redis-server";
    ASSERT_GE(entry.elements.size(), 6u) << spec.name;
    EXPECT_EQ(entry.elements[0].text, spec.name);
    EXPECT_EQ(entry.elements[1].integer, spec.arity) << spec.name << " arity";
    EXPECT_EQ(entry.elements[3].integer, spec.keys.first) << spec.name << " first key";
    EXPECT_EQ(entry.elements[4].integer, spec.keys.last) << spec.name << " last key";
    EXPECT_EQ(entry.elements[5].integer, spec.keys.step) << spec.name << " step";
    std::set<std::string_view> redis_flags;
    for (const ReplyValue& flag : entry.elements[2].elements) {
      if (modeled_flags().count(flag.text)) redis_flags.insert(flag.text);
    }
    std::set<std::string_view> table_flags;
    for (const auto& [name, flag] : modeled_flags()) {
      if (spec.has(flag)) table_flags.insert(name);
    }
    EXPECT_EQ(table_flags, redis_flags) << spec.name << " flags";
  }
}

TEST_F(LiveRedisCommandTest, KeyPositionsMatchCommandGetkeys) {
  const std::vector<std::string> lines = {"GET k",
                                          "SET k v EX 10",
                                          "XADD s * f v",
                                          "HSET h f v f2 v2",
                                          "OBJECT ENCODING k",
                                          "XINFO STREAM s FULL",
                                          "XGROUP CREATE s g $ MKSTREAM",
                                          "MEMORY USAGE k SAMPLES 5",
                                          "MGET a b c",
                                          "DEL a",
                                          "MSET k1 v1 k2 v2",
                                          "MSETNX a 1 b 2 c 3",
                                          "SINTERSTORE dst a b",
                                          "RENAME a b",
                                          "LMOVE a b LEFT RIGHT",
                                          "SMOVE a b m",
                                          "BITOP AND dst a b",
                                          "PFCOUNT a b",
                                          "PFMERGE d a b",
                                          "GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km",
                                          "ZRANGESTORE dst src 0 -1",
                                          "COPY a b REPLACE",
                                          "LCS a b LEN",
                                          "EVAL script 2 k1 k2 arg",
                                          "EVALSHA sha 1 k a b",
                                          "FCALL fn 2 a b x",
                                          "FCALL_RO fn 1 a",
                                          "ZUNIONSTORE dst 2 a b WEIGHTS 1 2",
                                          "ZINTERSTORE dst 1 a",
                                          "ZDIFFSTORE dst 2 a b",
                                          "ZUNION 2 a b WITHSCORES",
                                          "ZINTER 2 a b",
                                          "ZDIFF 1 a",
                                          "ZINTERCARD 2 a b",
                                          "SINTERCARD 2 a b LIMIT 1",
                                          "LMPOP 2 a b LEFT COUNT 2",
                                          "ZMPOP 1 z MIN",
                                          "XREAD COUNT 2 STREAMS a b 0 0",
                                          "XREAD STREAMS s $",
                                          "XREADGROUP GROUP g c COUNT 1 NOACK STREAMS s1 s2 > >",
                                          "SORT k",
                                          "SORT k LIMIT 0 10 ALPHA DESC STORE dst",
                                          "SORT k BY nosort GET #",
                                          "SORT k BY w_* GET o_*->f GET # STORE d",
                                          "SORT_RO k BY w_*",
                                          "SORT_RO k ALPHA",
                                          "GEORADIUS k 0 0 1 km STORE dst",
                                          "GEORADIUS k 0 0 1 km WITHDIST COUNT 3",
                                          "GEORADIUSBYMEMBER k m 1 km STOREDIST dst",
                                          "GEORADIUSBYMEMBER k store 1 km",
                                          "GEORADIUS k 0 0 1 km STORE a STOREDIST b",
                                          "EXISTS a b a",
                                          "TOUCH a",
                                          "UNLINK a b",
                                          "SDIFF a b",
                                          "SUNION a",
                                          "RPOPLPUSH a b",
                                          "RENAMENX a b",
                                          "SUNIONSTORE d a",
                                          "EVAL s 0",
                                          "FCALL f 0"};
  for (const std::string& line : lines) {
    const std::vector<std::string> words = words_of(line);
    const std::vector<std::string_view> args(words.begin(), words.end());

    std::vector<std::string_view> request = {"COMMAND", "GETKEYS"};
    request.insert(request.end(), args.begin(), args.end());
    const std::string raw = redis_.call(request);
    const auto redis_keys = parse_reply(raw);
    ASSERT_TRUE(redis_keys) << line;
    ASSERT_EQ(redis_keys->type, Type::kArray) << line << ": " << raw;
    std::vector<std::string_view> expected;
    for (const ReplyValue& key : redis_keys->elements)
      expected.push_back(key.text);

    const CommandSpec* spec = resolve_command(args);
    ASSERT_NE(spec, nullptr) << line;
    const auto positions = key_positions(*spec, args);
    ASSERT_TRUE(positions) << line << ": " << positions.error();
    std::vector<std::string_view> ours;
    for (uint32_t index : *positions)
      ours.push_back(args[index]);
    EXPECT_EQ(ours, expected) << line;
  }
}

// COMMAND GETKEYS answers as redis-server does, byte for byte, where the keys cannot be
// found too, and for MSET with a value missing (Redis lists every other argument).
TEST_F(LiveRedisCommandTest, CommandGetkeysAnswersAsRedisDoes) {
  for (const std::string line :
       {"EVAL s -1", "EVAL s 5 a", "EVALSHA s x", "FCALL f -1", "ZUNIONSTORE d 5 a",
        "ZUNIONSTORE d x a", "LMPOP 0 a LEFT", "SINTERCARD 3 a", "XREAD STREAMS a",
        "SPUBLISH ch msg", "SSUBSCRIBE a b", "PUBLISH ch msg", "PING x", "TIME x", "GET a b",
        "NOSUCH a", "GET a", "EVAL s 1 k", "MSET a 1 b", "MSETNX a 1 b 2 c", "MSET a",
        // Forms that routing refuses or that would fail to run:
        // listed as Redis lists them.
        "XREAD BLOCK 0 STREAMS a 0", "XREADGROUP GROUP g c BLOCK 0 STREAMS a b 0 0",
        "XREAD COUNT 1 STREAMS a b 0", "XREAD COUNT x STREAMS a 0", "XREAD COUNT STREAMS a 0",
        "XREAD STREAMS", "MIGRATE h p k 0 5", "MIGRATE h p \"\" 0 5 KEYS a b",
        "MIGRATE h p \"\" 0 5 KEYS", "MIGRATE h p k 0 5 KEYS a b",
        "MIGRATE h p \"\" 0 5 COPY AUTH KEYS KEYS a", "MIGRATE h p \"\" 0 5 AUTH2 u KEYS KEYS b",
        "SORT l LIMIT 0", "SORT l STORE d LIMIT 0", "SORT l STORE", "SORT_RO l STORE d",
        "SORT l GET"}) {
    const std::vector<std::string> words = words_of(line);
    std::vector<std::string_view> request = {"COMMAND", "GETKEYS"};
    request.insert(request.end(), words.begin(), words.end());
    std::string ours;
    append_command_reply(ours, request);
    EXPECT_EQ(ours, redis_.call(request)) << line;
  }
}

// A script's name is what SCRIPT LOAD answers: the SHA-1 of its body, for bodies of every
// length across the padding's one- and two-block cases.
TEST_F(LiveRedisCommandTest, Sha1NamesScriptsAsRedisDoes) {
  for (size_t n = 0; n < 200; ++n) {
    const std::string body = "return '" + std::string(n, 'x') + "'";
    EXPECT_EQ(redis_.call({"SCRIPT", "LOAD", body}), "$40\r\n" + sha1_hex(body) + "\r\n") << n;
  }
}

// Requests whose key arguments are malformed: key_positions() refuses each with the error
// redis-server itself answers (the proxy sends it as "-ERR <message>").
TEST_F(LiveRedisCommandTest, KeyArgumentErrorsMatchRedis) {
  // FCALL checks its numkeys once the function is found.
  const std::string loaded = redis_.call(
      {"FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() end)"});
  ASSERT_EQ(loaded, "$3\r\nlib\r\n");
  const std::vector<std::string> lines = {"LMPOP 0 a LEFT",
                                          "LMPOP -1 a LEFT",
                                          "LMPOP x a LEFT",
                                          "LMPOP 5 a LEFT",
                                          "LMPOP 2 a LEFT",
                                          "ZMPOP 0 a MIN",
                                          "ZMPOP 2 a MIN",
                                          "SINTERCARD 0 a",
                                          "SINTERCARD x a",
                                          "SINTERCARD 3 a",
                                          "ZUNIONSTORE d -1 a",
                                          "ZUNIONSTORE d 0 a",
                                          "ZUNIONSTORE d 3 a",
                                          "ZUNIONSTORE d x a",
                                          "ZDIFF -1 a",
                                          "ZDIFF 3 a",
                                          "ZINTERCARD 0 a",
                                          "ZINTERCARD 3 a",
                                          "EVAL s -1",
                                          "EVAL s 3 a",
                                          "EVAL s x",
                                          "FCALL f 3 a",
                                          "FCALL f -1",
                                          "FCALL f x",
                                          "FCALL_RO f 2 a",
                                          "XREAD STREAMS a b 0",
                                          "XREAD COUNT 1 STREAMS",
                                          "XREADGROUP GROUP g c STREAMS a b 0",
                                          "XREAD COUNT STREAMS s 0",
                                          "XREAD BLOCK STREAMS s 0",
                                          "XREAD BLOCK -1 STREAMS s 0",
                                          "XREAD COUNT 99999999999999999999 STREAMS s 0",
                                          "XREAD GROUP g c STREAMS s 0",
                                          "XREAD NOACK STREAMS s 0",
                                          "XREADGROUP COUNT 1 STREAMS s >",
                                          "XREAD COUNT 1 BLOCK",
                                          "XREAD COUNT 1 FOO STREAMS s 0",
                                          "SORT_RO k STORE x",
                                          "SORT_RO k LIMIT abc 1 STORE x",
                                          "SORT k LIMIT 0 1x BY",
                                          "SORT k STORE",
                                          "SORT k BY",
                                          "SORT k LIMIT 0",
                                          "GET",
                                          "MSET a 1 b"};
  for (const std::string& line : lines) {
    const std::vector<std::string> words = words_of(line);
    const std::vector<std::string_view> args(words.begin(), words.end());
    const std::string redis_error = redis_.call(args);
    ASSERT_TRUE(redis_error.starts_with("-ERR ")) << line << ": " << redis_error;

    const CommandSpec* spec = resolve_command(args);
    ASSERT_NE(spec, nullptr) << line;
    const auto positions = key_positions(*spec, args);
    ASSERT_FALSE(positions) << line << " passes, redis-server says " << redis_error;
    EXPECT_EQ("-ERR " + positions.error() + "\r\n", redis_error) << line;
  }
}

}  // namespace
}  // namespace ringleader::proxy::redis
