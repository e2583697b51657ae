// RedisSession under random input: request streams built from every command name in the
// table (and names that are not), with random argument counts and bytes, planned one after
// another the way a client connection does; every fragment then gets a random RESP2 reply (of
// any type, whatever the command expects: a backend that misbehaves) or fails. Whatever comes
// in, the session must consume what it reports, and every reply it makes for the client must
// be exactly one well-formed RESP2 value. Seeds are fixed, so a failure repeats; the
// sanitizer build runs the same cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "proxy/redis/reply_scanner.h"
#include "random_session.h"
#include "redis/redis_protocol.h"
#include "redis/redis_session.h"
#include "session_fixture.h"

namespace ringleader::proxy::redis {
namespace {

// Arguments that steer commands into their subcommands, options and number parsing.
const std::vector<std::string> kWords = {"k1",
                                         "k2",
                                         "k3",
                                         "{t}a",
                                         "{t}b",
                                         "{}",
                                         "",
                                         "0",
                                         "1",
                                         "2",
                                         "3",
                                         "-1",
                                         "10",
                                         "100",
                                         "9223372036854775807",
                                         "9223372036854775808",
                                         "-9223372036854775809",
                                         "1.5",
                                         "nan",
                                         "abc",
                                         "MATCH",
                                         "COUNT",
                                         "TYPE",
                                         "string",
                                         "*",
                                         "SETNAME",
                                         "GETNAME",
                                         "ID",
                                         "LIST",
                                         "INFO",
                                         "GETKEYS",
                                         "DOCS",
                                         "LOAD",
                                         "FLUSH",
                                         "DELETE",
                                         "EXISTS",
                                         "ALL",
                                         "KEYSPACE",
                                         "STATS",
                                         "server",
                                         "everything",
                                         "default",
                                         "NX",
                                         "XX",
                                         "EX",
                                         "PX",
                                         "KEEPTTL",
                                         "GET",
                                         "WITHSCORES",
                                         "LIMIT",
                                         "STORE",
                                         "BY",
                                         "LEFT",
                                         "RIGHT",
                                         "IDLETIME",
                                         "FREQ",
                                         "ENCODING",
                                         "ASYNC",
                                         "SYNC",
                                         "return 1",
                                         "$",
                                         ">",
                                         "-",
                                         "+",
                                         "STREAMS",
                                         "GROUPS",
                                         "CONSUMERS"};

class RandomRequests {
 public:
  explicit RandomRequests(uint64_t seed) : rng_(seed) {
    RedisProtocol protocol;
    for (size_t i = 1; i < protocol.command_count(); ++i)
      names_.emplace_back(protocol.command_name(i));
    for (const char* junk : {"NOSUCHCOMMAND", "", "AUTH", "SELECT", "HELLO", "QUIT"})
      names_.emplace_back(junk);
    names_.emplace_back("g\0et", 4);
  }

  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }

  std::string bytes(size_t max) {
    std::string s(below(max + 1), '\0');
    for (auto& c : s)
      c = static_cast<char>(below(256));
    return s;
  }

  std::string argument() {
    if (chance(70)) return kWords[below(kWords.size())];
    if (chance(50)) return "key" + std::to_string(below(50));
    return bytes(40);
  }

  std::string name() {
    std::string n = names_[below(names_.size())];
    for (auto& c : n) {  // command names are case-insensitive
      if (chance(30) && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return n;
  }

  // One request: usually a well-formed multibulk, sometimes an inline line, a cut or garbled
  // one, or raw bytes.
  std::string request() {
    std::vector<std::string> args{name()};
    const size_t n = chance(5) ? below(200) : below(8);
    for (size_t i = 0; i < n; ++i)
      args.push_back(argument());
    const uint64_t form = below(100);
    if (form < 80) {
      std::string out = "*" + std::to_string(args.size()) + "\r\n";
      for (const auto& a : args)
        out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
      return out;
    }
    if (form < 92) {
      std::string out;
      for (const auto& a : args)
        out += (out.empty() ? "" : " ") + a;
      return out + "\r\n";
    }
    if (form < 97) {  // a multibulk with one byte changed
      std::string out = "*" + std::to_string(args.size()) + "\r\n";
      for (const auto& a : args)
        out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
      out[below(out.size())] = static_cast<char>(below(256));
      return out;
    }
    return bytes(64);
  }

  // Any RESP2 value, nested at most `depth` deep.
  std::string reply(int depth = 3) {
    switch (below(depth > 0 ? 11 : 9)) {
      case 0:
        return "+OK\r\n";
      case 1:
        return "-ERR something went wrong\r\n";
      case 2:
        return ":" + std::to_string(static_cast<int64_t>(rng_()) >> below(64)) + "\r\n";
      case 3:
        return ":" + std::to_string(below(5)) + "\r\n";
      case 4:
        return "$-1\r\n";
      case 5:
        return "*-1\r\n";
      case 6: {
        std::string body = chance(50) ? std::to_string(below(1000)) : bytes(30);
        return "$" + std::to_string(body.size()) + "\r\n" + body + "\r\n";
      }
      case 7: {  // what INFO keyspace looks like, sometimes garbled
        std::string body = "# Keyspace\r\ndb0:keys=" + std::to_string(below(100)) +
                           ",expires=" + std::to_string(below(10)) + ",avg_ttl=0\r\n";
        if (chance(50)) body[below(body.size())] = static_cast<char>(below(256));
        return "$" + std::to_string(body.size()) + "\r\n" + body + "\r\n";
      }
      case 8:
        return "+" + std::to_string(below(100)) + "\r\n";
      case 9: {  // SCAN's shape: a cursor and a page of keys
        std::string cursor = chance(80) ? std::to_string(below(1000)) : "x";
        std::string out = "*2\r\n$" + std::to_string(cursor.size()) + "\r\n" + cursor + "\r\n";
        return out + reply_array(depth - 1);
      }
      default:
        return reply_array(depth - 1);
    }
  }

  // What a working backend answers to `args` (a fragment's command), for the commands a
  // session splits or fans out; any value for the rest. Splits are only merged for real when
  // every part answers in shape.
  std::string plausible_reply(const std::vector<std::string>& args) {
    std::string name = args.empty() ? "" : args[0];
    for (auto& c : name)
      c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    const size_t keys = args.empty() ? 0 : args.size() - 1;
    if (name == "MGET") {
      std::string out = "*" + std::to_string(keys) + "\r\n";
      for (size_t i = 0; i < keys; ++i)
        out += chance(30) ? "$-1\r\n" : "$2\r\nv" + std::to_string(i % 10) + "\r\n";
      return out;
    }
    if (name == "DEL" || name == "UNLINK" || name == "EXISTS" || name == "TOUCH" ||
        name == "DBSIZE") {
      return ":" + std::to_string(below(keys + 2)) + "\r\n";
    }
    if (name == "MSET" || name == "FLUSHDB" || name == "FLUSHALL" || name == "SELECT") {
      return "+OK\r\n";
    }
    if (name == "SCAN") {
      const std::string cursor = std::to_string(chance(30) ? 0 : below(1000));
      return "*2\r\n$" + std::to_string(cursor.size()) + "\r\n" + cursor + "\r\n*2\r\n" +
             "$2\r\nk1\r\n$2\r\nk2\r\n";
    }
    if (name == "KEYS") return "*2\r\n$2\r\nk1\r\n$2\r\nk2\r\n";
    return reply();
  }

  std::string reply_array(int depth) {
    const size_t n = below(6);
    std::string out = "*" + std::to_string(n) + "\r\n";
    for (size_t i = 0; i < n; ++i)
      out += reply(depth);
    return out;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> names_;
};

// The arguments of a fragment's payload (always a multibulk: sessions re-encode inline
// commands).
std::vector<std::string> payload_args(std::string_view payload) {
  std::vector<std::string> args;
  auto number = [&payload]() {
    const size_t end = payload.find("\r\n");
    const long n = std::stol(std::string(payload.substr(1, end - 1)));
    payload.remove_prefix(end + 2);
    return static_cast<size_t>(n);
  };
  if (payload.empty() || payload[0] != '*') return args;
  for (size_t i = 0, n = number(); i < n; ++i) {
    const size_t length = number();
    args.emplace_back(payload.substr(0, length));
    payload.remove_prefix(length + 2);
  }
  return args;
}

// True when `bytes` is exactly one complete RESP2 value.
bool one_value(const std::string& bytes) {
  ReplyScanner scanner;
  return scanner.scan(bytes) == ParseStatus::kComplete && scanner.length() == bytes.size();
}

class RedisSessionRandomTest : public testing::SessionFixture<RedisSession>,
                               public ::testing::WithParamInterface<uint32_t> {
 protected:
  void SetUp() override { build(config::Protocol::kRedis, "b", 7000, GetParam()); }

  // Every planned request of `stream`, its fragments answered by `gen`; every client reply
  // must be one RESP2 value.
  void feed(const std::string& stream, RandomRequests& gen) {
    session_ = std::make_unique<RedisSession>(env_);
    auto answer = [&](PendingRequest& req) {
      testing::answer_fragments(
          req, run_, [&] { return gen.chance(10); },
          [&](const Fragment& f) {
            std::string r =
                gen.chance(75) ? gen.plausible_reply(payload_args(f.payload)) : gen.reply();
            EXPECT_TRUE(one_value(r)) << r;
            return r;
          });
    };
    auto check = [](std::string_view request, const PendingRequest& req) {
      EXPECT_TRUE(one_value(req.reply))
          << "request: "
          << ::testing::PrintToString(
                 std::string(request.substr(0, std::min<size_t>(request.size(), 300))))
          << "\nreply: " << ::testing::PrintToString(req.reply);
    };
    auto check_fatal = [](const std::string& reply) {
      EXPECT_TRUE(one_value(reply)) << reply;
      EXPECT_EQ(reply[0], '-');
    };
    testing::feed_stream(*session_, ring_, stream, held_, run_, answer, check, check_fatal);
  }

  testing::RandomRun run_;
};

TEST_P(RedisSessionRandomTest, EveryReplyIsOneRespValueWhateverTheInputAndTheBackendsSay) {
  RandomRequests gen(0x5eed0000 + GetParam());
  testing::run_streams(1500, gen, held_, [&](const std::string& bytes) { feed(bytes, gen); });
  // The streams are mostly well-formed: most requests must have been planned, not refused
  // as protocol errors.
  EXPECT_GT(run_.planned, 10000u);
  EXPECT_GT(run_.split, 200u);   // splits were merged ...
  EXPECT_GT(run_.failed, 200u);  // ... and failures reported
}

INSTANTIATE_TEST_SUITE_P(Replicas, RedisSessionRandomTest, ::testing::Values(1u, 2u),
                         [](const auto& p) { return "R" + std::to_string(p.param); });

}  // namespace
}  // namespace ringleader::proxy::redis
