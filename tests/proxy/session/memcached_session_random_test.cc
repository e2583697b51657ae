// MemcachedSession under random input: request streams of every command in the table (and
// lines that are none), with right and wrong field counts, numbers and data block sizes,
// planned one after another the way a client connection does; every fragment then gets a
// random framed reply (hits for keys asked or not, any status line, errors) or fails. The
// session must consume what it reports and every reply it makes for the client must be
// complete lines that a memcached client can frame. Seeds are fixed, so a failure repeats;
// the sanitizer build runs the same cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "memcached/memcached_session.h"
#include "proxy/memcached/command_table.h"
#include "proxy/memcached/reply_scanner.h"
#include "random_session.h"
#include "session_fixture.h"

namespace ringleader::proxy::memcached {
namespace {

class RandomTraffic {
 public:
  explicit RandomTraffic(uint64_t seed) : rng_(seed) {
    for (const auto& spec : all_commands())
      names_.emplace_back(spec.name);
    for (const char* junk : {"nosuch", "", "GET", "VALUE", "END"})
      names_.emplace_back(junk);
  }

  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }

  std::string bytes(size_t max) {
    std::string s(below(max + 1), '\0');
    for (auto& c : s)
      c = static_cast<char>(below(256));
    return s;
  }

  std::string key() {
    if (chance(85)) return "key" + std::to_string(below(40));
    if (chance(50)) return std::string(chance(50) ? 250 : 251, 'k');  // the limit and past it
    std::string k = bytes(12);
    return k.empty() ? "k" : k;
  }

  std::string number() {
    static const char* const kNumbers[] = {
        "0",   "1",          "5",  "-1", "18446744073709551615", "18446744073709551616",
        "abc", "4294967296", "100"};
    return kNumbers[below(std::size(kNumbers))];
  }

  // One request: usually well-formed, sometimes with wrong fields, a data block whose size
  // does not match, or raw bytes.
  std::string request() {
    const std::string name = names_[below(names_.size())];
    std::string line = name;
    const CommandSpec* spec = find_command(name);
    const bool noreply = chance(15);
    std::string data;
    if (spec != nullptr && chance(85)) {
      switch (spec->kind) {
        case CommandKind::kStorage:
        case CommandKind::kCas: {
          data = chance(90) ? std::string(below(20), 'v') : bytes(20);
          const size_t declared = chance(90) ? data.size() : below(40);
          line += " " + key() + " " + std::to_string(below(3)) + " 0 " + std::to_string(declared);
          if (spec->kind == CommandKind::kCas) line += " " + number();
          break;
        }
        case CommandKind::kRetrievalTouch:
          line += " " + number();
          [[fallthrough]];
        case CommandKind::kRetrieval:
          for (size_t i = 0, n = chance(5) ? below(300) : 1 + below(8); i < n; ++i)
            line += " " + key();
          break;
        case CommandKind::kDelete:
          line += " " + key();
          if (chance(20)) line += " " + number();
          break;
        case CommandKind::kArithmetic:
        case CommandKind::kTouch:
          line += " " + key() + " " + number();
          break;
        case CommandKind::kFlushAll:
        case CommandKind::kVerbosity:
          if (chance(70)) line += " " + number();
          break;
        case CommandKind::kStats:
          if (chance(50)) line += chance(50) ? " items" : " settings";
          break;
        case CommandKind::kMeta: {
          static const char* const kFlags[] = {"v",   "q",  "k",  "c",    "b", "T30", "N30", "C5",
                                               "O12", "F3", "MA", "MD",   "I", "t",   "s",   "f",
                                               "R30", "h",  "l",  "Zm9v", "u", "E9"};
          line += " " + (chance(10) ? std::string("Zm9vYmFy") : key());
          if (name == "ms") {
            data = chance(90) ? std::string(below(20), 'v') : bytes(20);
            line += " " + std::to_string(chance(90) ? data.size() : below(40));
          }
          for (size_t i = 0, n = below(5); i < n; ++i)
            line += std::string(" ") + kFlags[below(std::size(kFlags))];
          break;
        }
        case CommandKind::kVersion:
        case CommandKind::kQuit:
        case CommandKind::kUnsupported:
        case CommandKind::kMetaNoop:
          break;
      }
      if (noreply) line += " noreply";
    } else {
      for (size_t i = 0, n = below(6); i < n; ++i)
        line += " " + (chance(50) ? key() : number());
    }
    if (chance(3)) return bytes(64);
    if (chance(3)) line[below(line.size())] = static_cast<char>(below(256));
    std::string out = line + "\r\n";
    if (!data.empty() || (spec != nullptr && (spec->kind == CommandKind::kStorage ||
                                              spec->kind == CommandKind::kCas || name == "ms"))) {
      out += data + "\r\n";
    }
    return out;
  }

  // A reply a backend could send (framed: the scanner accepts exactly all of it), for any
  // request: hits for `keys` or for keys never asked, status lines, numbers, errors.
  std::string reply(const std::vector<std::string>& keys) {
    switch (below(8)) {
      case 0:
      case 1: {
        std::string out;
        for (size_t i = 0, n = below(4); i < n; ++i) {
          const std::string k = !keys.empty() && chance(80) ? keys[below(keys.size())]
                                                            : "key" + std::to_string(below(40));
          const std::string value = bytes(10);
          out += "VALUE " + k + " " + std::to_string(below(3)) + " " +
                 std::to_string(value.size()) +
                 (chance(50) ? " " + std::to_string(below(99)) : "") + "\r\n" + value + "\r\n";
        }
        return out + (chance(90) ? "END\r\n" : "SERVER_ERROR out of memory\r\n");
      }
      case 2: {
        static const char* const kStatus[] = {"STORED",  "NOT_STORED", "EXISTS", "NOT_FOUND",
                                              "DELETED", "TOUCHED",    "OK"};
        return std::string(kStatus[below(std::size(kStatus))]) + "\r\n";
      }
      case 3:
        return std::to_string(rng_()) + "\r\n";
      case 4:
        return "ERROR\r\n";
      case 5:
        return "CLIENT_ERROR bad data chunk\r\n";
      case 6:
        if (chance(50)) return "SERVER_ERROR object too large for cache\r\n";
        {
          static const char* const kMeta[] = {"HD\r\n",
                                              "EN\r\n",
                                              "NF\r\n",
                                              "NS\r\n",
                                              "EX\r\n",
                                              "HD c5 O12\r\n",
                                              "VA 3 f0\r\nabc\r\n",
                                              "VA 0\r\n\r\n",
                                              "ME k exp=-1 la=3\r\n"};
          return kMeta[below(std::size(kMeta))];
        }
      default:
        return "END\r\n";
    }
  }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> names_;
};

// The keys in a fragment's payload when it is a retrieval ("get k1 k2\r\n"), else none.
std::vector<std::string> keys_of(const std::string& payload) {
  std::vector<std::string> words;
  size_t end = payload.find("\r\n");
  std::string_view line(payload.data(), end == std::string::npos ? payload.size() : end);
  while (!line.empty()) {
    size_t space = line.find(' ');
    words.emplace_back(line.substr(0, space));
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  const bool touch = !words.empty() && (words[0] == "gat" || words[0] == "gats");
  const bool get = !words.empty() && (words[0] == "get" || words[0] == "gets");
  const size_t first = touch ? 2 : 1;  // gat and gats take an exptime first
  if (!(get || touch) || words.size() <= first) return {};
  return {words.begin() + static_cast<std::ptrdiff_t>(first), words.end()};
}

// True when `bytes` is a run of complete memcached replies (or nothing, for noreply).
bool framed_replies(const std::string& bytes) {
  std::string_view rest(bytes);
  while (!rest.empty()) {
    ReplyScanner scanner;
    if (scanner.scan(rest) != ParseStatus::kComplete) return false;
    rest.remove_prefix(scanner.length());
  }
  return true;
}

// A proxy's own multi-line answer (stats) frames line by line, ending in END.
bool stats_reply(const std::string& bytes) {
  return bytes.starts_with("STAT ") && bytes.ends_with("END\r\n");
}

class MemcachedSessionRandomTest : public testing::SessionFixture<MemcachedSession>,
                                   public ::testing::WithParamInterface<uint32_t> {
 protected:
  void SetUp() override { build(config::Protocol::kMemcached, "mc", 11211, GetParam()); }

  // Every planned request of `stream`, its fragments answered by `gen`; every client reply
  // must be complete lines a memcached client can frame.
  void feed(const std::string& stream, RandomTraffic& gen) {
    session_ = std::make_unique<MemcachedSession>(env_);
    auto answer = [&](PendingRequest& req) {
      testing::answer_fragments(
          req, run_, [&] { return gen.chance(10); },
          [&](const Fragment& f) {
            std::string r = gen.reply(keys_of(f.payload));
            EXPECT_TRUE(framed_replies(r)) << r;
            return r;
          });
    };
    auto check = [](std::string_view request, const PendingRequest& req) {
      EXPECT_TRUE(framed_replies(req.reply) || stats_reply(req.reply))
          << "request: " << ::testing::PrintToString(std::string(request))
          << "\nreply: " << ::testing::PrintToString(req.reply);
    };
    // An error line, or nothing for a noreply request that cannot be framed.
    auto check_fatal = [](const std::string& reply) {
      EXPECT_TRUE(reply.empty() || reply.ends_with("\r\n")) << reply;
    };
    testing::feed_stream(*session_, ring_, stream, held_, run_, answer, check, check_fatal);
  }

  testing::RandomRun run_;
};

TEST_P(MemcachedSessionRandomTest, EveryReplyIsCompleteLinesWhateverTheInputAndTheBackendsSay) {
  RandomTraffic gen(0x3e3c0000 + GetParam());
  testing::run_streams(1500, gen, held_, [&](const std::string& bytes) { feed(bytes, gen); });
  EXPECT_GT(run_.planned, 8000u);
  EXPECT_GT(run_.split, 500u);   // splits were merged ...
  EXPECT_GT(run_.failed, 300u);  // ... and failures reported
}

INSTANTIATE_TEST_SUITE_P(Replicas, MemcachedSessionRandomTest, ::testing::Values(1u, 2u),
                         [](const auto& p) { return "R" + std::to_string(p.param); });

}  // namespace
}  // namespace ringleader::proxy::memcached
