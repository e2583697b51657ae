// RedisSession: how requests become fragments and how fragment replies become the client's
// reply. A fixed ring of three backends; replies are filled in by hand.
#include "redis/redis_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <thread>
#include <vector>

#include "common/version.h"
#include "core/counters.h"
#include "core/uv_util.h"
#include "proxy/redis/reply_value.h"
#include "redis/redis_protocol.h"
#include "redis/script_registry.h"
#include "redis/sha1.h"
#include "session_fixture.h"

namespace ringleader::proxy::redis {
namespace {

// A RESP bulk string holding `text`.
std::string bulk(const std::string& text) {
  return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

class RedisSessionTest : public testing::SessionFixture<RedisSession> {
 protected:
  void SetUp() override { build(config::Protocol::kRedis, "b", 7000); }

  // Two keys with different owners.
  std::pair<std::string, std::string> keys_apart() {
    for (int i = 1; i < 100; ++i) {
      std::string a = "k0", b = "k" + std::to_string(i);
      if (owner(a) != owner(b)) return {a, b};
    }
    ADD_FAILURE() << "no two keys on different backends";
    return {};
  }
};

TEST_F(RedisSessionTest, SingleKeyForwardsTheRequestBytesToTheOwner) {
  const std::string get = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
  PendingRequest* req = plan(get);
  ASSERT_FALSE(req->complete);
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(ring_->backend(req->fragments[0].backend).name, owner("foo"));
  EXPECT_EQ(req->fragments[0].payload, get);
  EXPECT_EQ(req->ring->epoch(), 5u);
  reply(req, 0, "$3\r\nbar\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "$3\r\nbar\r\n");
}

TEST_F(RedisSessionTest, SkippedEmptyRequestsAreNotForwarded) {
  const std::string get = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
  PendingRequest* req = plan("\r\n*0\r\n" + get);
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, get);
}

TEST_F(RedisSessionTest, InlineCommandsAreReencoded) {
  PendingRequest* req = plan("get foo\r\n");
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, "*2\r\n$3\r\nget\r\n$3\r\nfoo\r\n");
}

TEST_F(RedisSessionTest, MgetSplitsPerOwnerAndReassemblesInKeyOrder) {
  auto [a, b] = keys_apart();
  std::string input = "*4\r\n$4\r\nMGET\r\n$" + std::to_string(a.size()) + "\r\n" + a + "\r\n$" +
                      std::to_string(b.size()) + "\r\n" + b + "\r\n$" + std::to_string(a.size()) +
                      "\r\n" + a + "\r\n";
  PendingRequest* req = plan(input);
  ASSERT_EQ(req->fragments.size(), 2u);
  std::map<std::string, size_t> by_backend;
  for (size_t i = 0; i < 2; ++i)
    by_backend[ring_->backend(req->fragments[i].backend).name] = i;
  size_t fa = by_backend.at(owner(a)), fb = by_backend.at(owner(b));
  // Fragment for a's owner asks for a twice (duplicates kept), b's for b once.
  EXPECT_NE(req->fragments[fa].payload.find(a), std::string::npos);
  reply(req, fa, "*2\r\n$2\r\nva\r\n$3\r\nva2\r\n");
  reply(req, fb, "*1\r\n$-1\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "*3\r\n$2\r\nva\r\n$-1\r\n$3\r\nva2\r\n");
}

TEST_F(RedisSessionTest, MsetIsOkOnlyIfEveryPartIs) {
  auto [a, b] = keys_apart();
  std::string input = "*5\r\n$4\r\nMSET\r\n$" + std::to_string(a.size()) + "\r\n" + a +
                      "\r\n$1\r\n1\r\n$" + std::to_string(b.size()) + "\r\n" + b +
                      "\r\n$1\r\n2\r\n";
  PendingRequest* ok = plan(input);
  ASSERT_EQ(ok->fragments.size(), 2u);
  reply(ok, 0, "+OK\r\n");
  reply(ok, 1, "+OK\r\n");
  session_->complete(*ok);
  EXPECT_EQ(ok->reply, "+OK\r\n");

  PendingRequest* bad = plan(input);
  reply(bad, 0, "+OK\r\n");
  reply(bad, 1, "-OOM command not allowed\r\n");
  session_->complete(*bad);
  // Done on one backend: the backend's error (its code kept) says so.
  EXPECT_EQ(bad->reply, "-OOM command not allowed (ringleader: done on 1 of 2 backends: " +
                            ring_->backend(bad->fragments[0].backend).name + "; not on: " +
                            ring_->backend(bad->fragments[1].backend).name + ")\r\n");
}

TEST_F(RedisSessionTest, DelSumsTheCounts) {
  auto [a, b] = keys_apart();
  std::string input = "*3\r\n$3\r\nDEL\r\n$" + std::to_string(a.size()) + "\r\n" + a + "\r\n$" +
                      std::to_string(b.size()) + "\r\n" + b + "\r\n";
  PendingRequest* req = plan(input);
  ASSERT_EQ(req->fragments.size(), 2u);
  reply(req, 0, ":1\r\n");
  reply(req, 1, ":1\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, ":2\r\n");

  // A part that failed leaves no count to give: the error says where keys were deleted.
  PendingRequest* part = plan(input);
  reply(part, 0, ":1\r\n");
  fail(part, 1, "backend b1 (127.0.0.1:7001): timed out");
  session_->complete(*part);
  EXPECT_EQ(part->reply,
            "-ERR ringleader: backend b1 (127.0.0.1:7001): timed out (done on 1 of 2 backends: " +
                ring_->backend(part->fragments[0].backend).name +
                "; not on: " + ring_->backend(part->fragments[1].backend).name + ")\r\n");
}

TEST_F(RedisSessionTest, SortPatternsMustKeepTheKeysHashTag) {
  // The hash tag lies whole before the '*': every key the pattern names lives with the list.
  for (const char* request :
       {"SORT {u}l BY {u}w_* GET {u}o_*->f GET # STORE {u}d\r\n", "SORT_RO {u}l BY w{u}_*\r\n",
        "SORT {u}l BY nosort GET #\r\n", "SORT l BY w_\r\n"}) {
    PendingRequest* req = plan(request);
    EXPECT_FALSE(req->complete) << request << req->reply;
    EXPECT_EQ(req->fragments.size(), 1u) << request;
  }
  // The element decides where the key lives: no tag, an empty one, one that the '*' is
  // inside or before, another key's tag.
  for (const char* request :
       {"SORT l BY w_*\r\n", "SORT {u}l GET o_*->f\r\n", "SORT {u}l BY {}w_*\r\n",
        "SORT {u}l BY {u*}w\r\n", "SORT {u}l BY *{u}\r\n", "SORT {u}l GET # GET {v}o_*\r\n"}) {
    PendingRequest* req = plan(request);
    ASSERT_TRUE(req->complete) << request;
    EXPECT_EQ(req->reply.rfind("-CROSSSLOT", 0), 0u) << request << req->reply;
    EXPECT_NE(req->reply.find("hash tag"), std::string::npos) << req->reply;
  }
}

// The advice names the ring's own tag characters, and says so when hash tags are off (keys
// that look tagged to a Redis Cluster user are then hashed whole).
TEST_F(RedisSessionTest, CrossslotAdviceUsesTheRingsHashTag) {
  const std::pair<const char*, const char*> cases[] = {
      {"{}", "such as {user1}"}, {"[]", "such as [user1]"}, {"", "hash tags are off"}};
  for (const auto& [tag, advice] : cases) {
    config_.ring.hash_tag = tag;
    ring_ = ring::Ring::build(config_.backends, config_.ring, 6).value();
    std::string a = "{u}a", b;
    for (int i = 0; i < 100 && b.empty(); ++i) {
      std::string candidate = "{v" + std::to_string(i) + "}a";
      if (owner(candidate) != owner(a)) b = candidate;
    }
    ASSERT_FALSE(b.empty()) << tag;
    PendingRequest* rename = plan("RENAME " + a + " " + b + "\r\n");
    ASSERT_TRUE(rename->complete);
    EXPECT_EQ(rename->reply.rfind("-CROSSSLOT", 0), 0u) << rename->reply;
    EXPECT_NE(rename->reply.find(advice), std::string::npos) << tag << ": " << rename->reply;
    if (std::string(tag) != "{}") {
      EXPECT_EQ(rename->reply.find("{user1}"), std::string::npos) << rename->reply;
    }
    PendingRequest* sort = plan("SORT [u]l BY w_*\r\n");
    ASSERT_TRUE(sort->complete);
    EXPECT_NE(sort->reply.find(std::string(tag) == "[]" ? "such as [user1]list with [user1]weight_*"
                                                        : advice),
              std::string::npos)
        << tag << ": " << sort->reply;
  }
}

TEST_F(RedisSessionTest, CountsThatOverflowAreAnErrorNotAWrappedSum) {
  auto [a, b] = keys_apart();
  std::string input = "*3\r\n$6\r\nEXISTS\r\n$" + std::to_string(a.size()) + "\r\n" + a + "\r\n$" +
                      std::to_string(b.size()) + "\r\n" + b + "\r\n";
  PendingRequest* req = plan(input);
  ASSERT_EQ(req->fragments.size(), 2u);
  reply(req, 0, ":9223372036854775807\r\n");
  reply(req, 1, ":1\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "-ERR ringleader: the backends' counts overflow a 64-bit integer\r\n");
}

TEST_F(RedisSessionTest, KeysThatMustLiveTogether) {
  auto [a, b] = keys_apart();
  PendingRequest* apart = plan("RENAME " + a + " " + b + "\r\n");
  ASSERT_TRUE(apart->complete);
  EXPECT_NE(apart->reply.find("-CROSSSLOT"), std::string::npos) << apart->reply;
  EXPECT_NE(apart->reply.find("hash tag"), std::string::npos);

  PendingRequest* together = plan("RENAME {u}:a {u}:b\r\n");
  ASSERT_FALSE(together->complete);
  ASSERT_EQ(together->fragments.size(), 1u);

  PendingRequest* no_keys = plan("EVAL \"return 1\" 0\r\n");
  ASSERT_TRUE(no_keys->complete);
  EXPECT_NE(no_keys->reply.find("without keys"), std::string::npos) << no_keys->reply;

  // COPY into another database would leave the copy where no client of the proxy reaches.
  PendingRequest* other_db = plan("COPY {u}:a {u}:b DB 1 REPLACE\r\n");
  ASSERT_TRUE(other_db->complete);
  EXPECT_NE(other_db->reply.find("database 0 only"), std::string::npos) << other_db->reply;
  EXPECT_FALSE(plan("COPY {u}:a {u}:b REPLACE DB 0\r\n")->complete);
  // A database that is not a number, or a negative one, gets Redis's words.
  for (const char* db : {"x", "00", "+1", "\" 1\""}) {
    EXPECT_EQ(plan("COPY {u}:a {u}:b DB " + std::string(db) + "\r\n")->reply,
              "-ERR value is not an integer or out of range\r\n")
        << db;
  }
  EXPECT_EQ(plan("COPY {u}:a {u}:b DB -1\r\n")->reply, "-ERR DB index is out of range\r\n");
  for (const char* db : {"2147483648", "-2147483649", "-9223372036854775808"}) {
    EXPECT_EQ(plan("COPY {u}:a {u}:b DB " + std::string(db) + "\r\n")->reply,
              "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n")
        << db;
  }
  // The last DB given counts, as in Redis; each is read as it comes.
  EXPECT_FALSE(plan("COPY {u}:a {u}:b DB 1 DB 0\r\n")->complete);
  EXPECT_NE(plan("COPY {u}:a {u}:b DB 0 DB 1\r\n")->reply.find("database 0 only"),
            std::string::npos);
  EXPECT_EQ(plan("COPY {u}:a {u}:b DB x DB 0\r\n")->reply,
            "-ERR value is not an integer or out of range\r\n");
}

TEST_F(RedisSessionTest, RefusalsNameTheCommandAndTheReason) {
  PendingRequest* req = plan("BLPOP list 0\r\n");
  ASSERT_TRUE(req->complete);
  EXPECT_NE(req->reply.find("blpop"), std::string::npos) << req->reply;
  EXPECT_EQ(req->reply.rfind("-ERR", 0), 0u);
  // In Redis's words (7.0.15's replies to the same requests).
  EXPECT_EQ(plan("FROB x yy\r\n")->reply,
            "-ERR unknown command 'FROB', with args beginning with: 'x' 'yy' \r\n");
  EXPECT_EQ(plan("FROB\r\n")->reply, "-ERR unknown command 'FROB', with args beginning with: \r\n");
  EXPECT_EQ(
      plan("*3\r\n$4\r\nFROB\r\n$3\r\na\nb\r\n$200\r\n" + std::string(200, 'z') + "\r\n")->reply,
      "-ERR unknown command 'FROB', with args beginning with: 'a b' '" + std::string(122, 'z') +
          "' \r\n");
  PendingRequest* arity = plan("GET\r\n");
  EXPECT_NE(arity->reply.find("wrong number of arguments"), std::string::npos) << arity->reply;
}

// Transactions are not supported, and none runs in part: MULTI opens one as Redis does, every
// command in it is refused as one Redis cannot queue, and EXEC answers EXECABORT (an empty
// one, *0). Afterwards the connection is as before; QUIT and RESET are served as usual.
TEST_F(RedisSessionTest, TransactionsRunNothingAndEndAsRedisEndsThem) {
  EXPECT_EQ(plan("MULTI\r\n")->reply, "+OK\r\n");
  for (const char* line : {"SET a 1\r\n", "GET a\r\n", "PING\r\n", "FROB\r\n", "WATCH a\r\n"}) {
    PendingRequest* req = plan(line);
    EXPECT_TRUE(req->complete) << line;
    EXPECT_TRUE(req->fragments.empty()) << line;
    EXPECT_NE(req->reply.find("not queued: ringleader does not support transactions"),
              std::string::npos)
        << req->reply;
  }
  EXPECT_EQ(plan("MULTI\r\n")->reply, "-ERR MULTI calls can not be nested\r\n");
  EXPECT_EQ(plan("EXEC\r\n")
                ->reply.rfind("-EXECABORT Transaction discarded because of previous errors", 0),
            0u);
  // Over: requests run again, and EXEC is refused as outside any transaction.
  EXPECT_EQ(plan("GET a\r\n")->fragments.size(), 1u);
  EXPECT_EQ(plan("EXEC\r\n")->reply, "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(plan("EXEC x\r\n")->reply,
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
            "command\r\n");
  EXPECT_EQ(plan("DISCARD\r\n")->reply, "-ERR DISCARD without MULTI\r\n");
  plan("MULTI\r\n");
  EXPECT_EQ(plan("EXEC\r\n")->reply, "*0\r\n");  // nothing queued, nothing refused
  // A DISCARD or MULTI with arguments is refused as Redis refuses it: the transaction goes
  // on. An EXEC with arguments ends it, as Redis ends it.
  plan("MULTI\r\n");
  EXPECT_EQ(plan("DISCARD junk\r\n")->reply,
            "-ERR wrong number of arguments for 'discard' command\r\n");
  EXPECT_EQ(plan("MULTI junk\r\n")->reply,
            "-ERR wrong number of arguments for 'multi' command\r\n");
  EXPECT_TRUE(plan("SET a 1\r\n")->fragments.empty());
  EXPECT_EQ(plan("EXEC\r\n")->reply.rfind("-EXECABORT", 0), 0u);
  plan("MULTI\r\n");
  EXPECT_EQ(plan("EXEC x\r\n")->reply,
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
            "command\r\n");
  EXPECT_EQ(plan("GET a\r\n")->fragments.size(), 1u);
  plan("MULTI\r\n");
  plan("SET a 1\r\n");
  EXPECT_EQ(plan("DISCARD\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("GET a\r\n")->fragments.size(), 1u);
  plan("MULTI\r\n");
  EXPECT_EQ(plan("RESET\r\n")->reply, "+RESET\r\n");
  EXPECT_EQ(plan("GET a\r\n")->fragments.size(), 1u);
  plan("MULTI\r\n");
  PendingRequest* quit = plan("QUIT\r\n");
  EXPECT_EQ(quit->reply, "+OK\r\n");
  EXPECT_TRUE(quit->close_after);
}

// CLIENT REPLY: ON is every client's state; OFF and SKIP are refused and close the
// connection (the client would take later replies for others'); other forms get Redis's
// errors, and the connection goes on.
TEST_F(RedisSessionTest, ClientReplyOnlyClosesForOffAndSkip) {
  EXPECT_EQ(plan("CLIENT REPLY on\r\n")->reply, "+OK\r\n");
  for (const char* line : {"CLIENT REPLY OFF\r\n", "CLIENT REPLY skip\r\n"}) {
    PendingRequest* req = plan(line);
    EXPECT_TRUE(req->close_after) << line;
    EXPECT_NE(req->reply.find("the connection is closed"), std::string::npos) << req->reply;
  }
  const std::string arity = "-ERR wrong number of arguments for 'client|reply' command\r\n";
  for (const auto& [line, reply] : std::vector<std::pair<std::string, std::string>>{
           {"CLIENT REPLY\r\n", arity},
           {"CLIENT REPLY ON extra\r\n", arity},
           {"CLIENT REPLY OFF extra\r\n", arity},
           {"CLIENT REPLY FOO\r\n", "-ERR syntax error\r\n"}}) {
    PendingRequest* req = plan(line);
    EXPECT_EQ(req->reply, reply) << line;
    EXPECT_FALSE(req->close_after) << line;
  }
}

TEST_F(RedisSessionTest, ResetClearsTheClientName) {
  EXPECT_EQ(plan("CLIENT SETNAME app\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("RESET\r\n")->reply, "+RESET\r\n");
  EXPECT_EQ(plan("CLIENT GETNAME\r\n")->reply, "$-1\r\n");
  EXPECT_EQ(plan("GET a\r\n")->fragments.size(), 1u);  // no password: still served
}

// Latency statistics by class: a request answered before it was classified (an unknown
// command, a wrong arity) is local, not a read.
TEST_F(RedisSessionTest, RequestsAnsweredBeforeClassifyingAreLocal) {
  const auto cls = [](const PendingRequest* r) {
    return static_cast<LatencyClass>(r->latency_class);
  };
  EXPECT_EQ(cls(plan("FROB x\r\n")), LatencyClass::kLocal);
  EXPECT_EQ(cls(plan("CLIENT FROB\r\n")), LatencyClass::kLocal);
  EXPECT_EQ(cls(plan("PING\r\n")), LatencyClass::kLocal);
  EXPECT_EQ(cls(plan("GET foo\r\n")), LatencyClass::kRead);
  EXPECT_EQ(cls(plan("SET foo bar\r\n")), LatencyClass::kWrite);
  EXPECT_EQ(cls(plan("FROB\r\n")), LatencyClass::kLocal);  // after a read, on a recycled request
}

TEST_F(RedisSessionTest, FailedFragmentBecomesAnErrorNamingTheBackend) {
  PendingRequest* req = plan("GET foo\r\n");
  fail(req, 0, "backend b1 (127.0.0.1:7001): timeout after 1000 ms");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "-ERR ringleader: backend b1 (127.0.0.1:7001): timeout after 1000 ms\r\n");
}

// Backends b0 .. b{n-1}, active, of weight 1.
std::vector<ring::Backend> numbered_backends(int n) {
  std::vector<ring::Backend> backends;
  for (int i = 0; i < n; ++i)
    backends.push_back({"b" + std::to_string(i), "10.0.0.1:" + std::to_string(1000 + i), 1, "",
                        ring::BackendState::kActive});
  return backends;
}

// The backends in SCAN's order, with the positions cursors name them by.
std::vector<ScanOrder::Stop> scan_stops(const ring::Ring& ring) {
  std::vector<ScanOrder::Stop> stops;
  ScanOrder order(ring);
  for (auto stop = order.at_or_after(0); stop; stop = order.after(stop->position))
    stops.push_back(*stop);
  return stops;
}

std::string scan_reply(uint64_t cursor, const std::vector<std::string>& keys) {
  std::string out =
      "*2\r\n" + bulk(std::to_string(cursor)) + "*" + std::to_string(keys.size()) + "\r\n";
  for (const std::string& k : keys)
    out += bulk(k);
  return out;
}

TEST_F(RedisSessionTest, ScanWalksBackendsThroughTheCursor) {
  const std::vector<ScanOrder::Stop> stops = scan_stops(*ring_);
  ASSERT_EQ(stops.size(), 3u);
  EXPECT_LT(stops[0].position, stops[1].position);
  PendingRequest* first = plan("SCAN 0\r\n");
  ASSERT_EQ(first->fragments.size(), 1u);
  const ring::BackendIndex b = stops[0].backend;
  EXPECT_EQ(first->fragments[0].backend, b);
  const std::string name = ring_->backend(b).name;
  // The first backend has more: the next cursor carries its cursor and its position.
  std::string mine = "k0";
  for (int i = 0; owner(mine) != name; ++i)
    mine = "k" + std::to_string(i);
  std::string other = "k0";
  for (int i = 0; owner(other) == name; ++i)
    other = "k" + std::to_string(i);
  reply(first, 0, scan_reply(17, {mine, other}));
  session_->complete(*first);
  const uint64_t next = (uint64_t{17} << RedisSession::kScanPositionBits) | stops[0].position;
  // Only the key whose primary is the scanned backend is reported.
  EXPECT_EQ(first->reply, scan_reply(next, {mine}));

  PendingRequest* again = plan("SCAN " + std::to_string(next) + "\r\n");
  ASSERT_EQ(again->fragments.size(), 1u);
  EXPECT_EQ(again->fragments[0].backend, b);
  EXPECT_NE(again->fragments[0].payload.find("$2\r\n17\r\n"), std::string::npos);
  reply(again, 0, scan_reply(0, {}));
  session_->complete(*again);
  EXPECT_EQ(again->reply, scan_reply(stops[1].position, {}));  // on to the next backend

  PendingRequest* last = plan("SCAN " + std::to_string(stops[2].position) + "\r\n");
  EXPECT_EQ(last->fragments[0].backend, stops[2].backend);
  reply(last, 0, scan_reply(0, {}));
  session_->complete(*last);
  EXPECT_EQ(last->reply, scan_reply(0, {}));  // it was the last
}

// A cursor names its backend by a position that backends added or removed meanwhile leave
// alone. Positions were the ring's indexes: removing a backend before the scanned one in
// the ring shifted them, and the scan skipped a backend whose keys never moved.
TEST_F(RedisSessionTest, ScanCursorsKeepTheirBackendWhileOthersLeave) {
  const std::vector<ring::Backend> backends = numbered_backends(6);
  ring_ = ring::Ring::build(backends, config_.ring, 6).value();
  const std::vector<ScanOrder::Stop> stops = scan_stops(*ring_);
  ASSERT_EQ(stops.size(), 6u);
  // Mid-scan of the fourth backend in SCAN's order; then every other backend leaves, one
  // at a time, and the cursor still continues that backend where it was.
  const std::string scanned = ring_->backend(stops[3].backend).name;
  const std::string following = ring_->backend(stops[4].backend).name;
  const uint64_t cursor = (uint64_t{17} << RedisSession::kScanPositionBits) | stops[3].position;
  for (int gone = 0; gone < 6; ++gone) {
    if (backends[gone].name == scanned) continue;
    std::vector<ring::Backend> rest;
    for (const ring::Backend& bk : backends) {
      if (bk.name != backends[gone].name) rest.push_back(bk);
    }
    ring_ = ring::Ring::build(rest, config_.ring, 7).value();
    PendingRequest* req = plan("SCAN " + std::to_string(cursor) + "\r\n");
    ASSERT_EQ(req->fragments.size(), 1u);
    EXPECT_EQ(ring_->backend(req->fragments[0].backend).name, scanned) << "without b" << gone;
    EXPECT_NE(req->fragments[0].payload.find("$2\r\n17\r\n"), std::string::npos);
  }
  // When the scanned backend itself leaves, the scan goes on with the next, from its start.
  std::vector<ring::Backend> rest;
  for (const ring::Backend& bk : backends) {
    if (bk.name != scanned) rest.push_back(bk);
  }
  ring_ = ring::Ring::build(rest, config_.ring, 8).value();
  PendingRequest* req = plan("SCAN " + std::to_string(cursor) + "\r\n");
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(ring_->backend(req->fragments[0].backend).name, following);
  EXPECT_NE(req->fragments[0].payload.find("$1\r\n0\r\n"), std::string::npos);
}

TEST_F(RedisSessionTest, ScanReadsCursorsAsRedisDoes) {
  const std::vector<ScanOrder::Stop> stops = scan_stops(*ring_);
  // Signs as strtoul reads them: -1 is 2^64-1, past every backend, so the scan is over.
  PendingRequest* wrapped = plan("SCAN -1\r\n");
  EXPECT_TRUE(wrapped->fragments.empty());
  EXPECT_EQ(wrapped->reply, "*2\r\n$1\r\n0\r\n*0\r\n");
  PendingRequest* plus = plan("SCAN +" + std::to_string(stops[1].position) + "\r\n");
  ASSERT_EQ(plus->fragments.size(), 1u);
  EXPECT_EQ(plus->fragments[0].backend, stops[1].backend);
  // -(2^64 - p) wraps to p.
  const std::string wraps = "-" + std::to_string(uint64_t{0} - stops[2].position);
  PendingRequest* far = plan("SCAN " + wraps + "\r\n");
  ASSERT_EQ(far->fragments.size(), 1u);
  EXPECT_EQ(far->fragments[0].backend, stops[2].backend);
  // An empty cursor is 0, and leading zeros are no digits too many.
  PendingRequest* empty = plan("*2\r\n$4\r\nSCAN\r\n$0\r\n\r\n");
  ASSERT_EQ(empty->fragments.size(), 1u);
  EXPECT_EQ(empty->fragments[0].backend, stops[0].backend);
  PendingRequest* zeros =
      plan("SCAN 0000000000000000000000" + std::to_string(stops[1].position) + "\r\n");
  ASSERT_EQ(zeros->fragments.size(), 1u);
  EXPECT_EQ(zeros->fragments[0].backend, stops[1].backend);
  for (const char* bad :
       {"SCAN 18446744073709551616\r\n", "SCAN --1\r\n", "SCAN 5x\r\n", "SCAN -\r\n", "SCAN +\r\n",
        "SCAN 00x\r\n", "*2\r\n$4\r\nSCAN\r\n$2\r\n 5\r\n"}) {
    PendingRequest* req = plan(bad);
    EXPECT_TRUE(req->fragments.empty()) << bad;
    EXPECT_EQ(req->reply, "-ERR invalid cursor\r\n") << bad;
  }
}

TEST_F(RedisSessionTest, ScanCursorsReachEveryBackendOfABigRing) {
  const std::vector<ring::Backend> backends = numbered_backends(1100);
  ring_ = ring::Ring::build(backends, config_.ring, 6).value();
  const std::vector<ScanOrder::Stop> stops = scan_stops(*ring_);
  ASSERT_EQ(stops.size(), 1100u);  // every backend has a position of its own
  const ScanOrder::Stop last = stops.back();
  PendingRequest* req = plan("SCAN " + std::to_string(last.position) + "\r\n");
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].backend, last.backend);
  reply(req, 0, scan_reply(17, {}));
  session_->complete(*req);
  const uint64_t next = (uint64_t{17} << RedisSession::kScanPositionBits) | last.position;
  EXPECT_EQ(req->reply, scan_reply(next, {}));
  PendingRequest* again = plan("SCAN " + std::to_string(next) + "\r\n");
  ASSERT_EQ(again->fragments.size(), 1u);
  EXPECT_EQ(again->fragments[0].backend, last.backend);
  EXPECT_NE(again->fragments[0].payload.find("$2\r\n17\r\n"), std::string::npos);
}

TEST_F(RedisSessionTest, DbsizeFansOutAndSums) {
  PendingRequest* req = plan("DBSIZE\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);
  reply(req, 0, ":1\r\n");
  reply(req, 1, ":2\r\n");
  reply(req, 2, ":3\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, ":6\r\n");
}

// Replies the proxy merges are read no deeper and no wider than the request asks: a broken
// or hostile backend's reply nested a million deep crashed the proxy (its tree's destruction
// overflowed the stack), and a wide one was built into a tree many times its size.
TEST_F(RedisSessionTest, MergedRepliesPastWhatWasAskedAreErrors) {
  // "-ERR ringleader: backend NAME (ADDRESS): what": the error names the backend at fault.
  const auto names_backend = [](const std::string& reply, const std::string& what) {
    return reply.starts_with("-ERR ringleader: backend ") && reply.ends_with("): " + what + "\r\n");
  };
  std::string deep;
  for (int i = 0; i < 1000000; ++i)
    deep += "*1\r\n";
  deep += ":1\r\n";
  PendingRequest* dbsize = plan("DBSIZE\r\n");
  reply(dbsize, 0, ":1\r\n");
  reply(dbsize, 1, deep);
  reply(dbsize, 2, ":3\r\n");
  session_->complete(*dbsize);
  EXPECT_TRUE(names_backend(dbsize->reply, "unexpected reply to a split request")) << dbsize->reply;

  auto [a, b] = keys_apart();
  PendingRequest* mget = plan("MGET " + a + " " + b + "\r\n");
  ASSERT_EQ(mget->fragments.size(), 2u);
  reply(mget, 0, "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");  // one key asked, two answered
  reply(mget, 1, "*1\r\n$1\r\nz\r\n");
  session_->complete(*mget);
  EXPECT_TRUE(names_backend(mget->reply, "unexpected reply to a split request")) << mget->reply;
  PendingRequest* nested = plan("MGET " + a + " " + b + "\r\n");
  reply(nested, 0, "*1\r\n*1\r\n$1\r\nx\r\n");
  reply(nested, 1, "*1\r\n$1\r\nz\r\n");
  session_->complete(*nested);
  EXPECT_TRUE(names_backend(nested->reply, "unexpected reply to a split request")) << nested->reply;

  PendingRequest* exists = plan("SCRIPT EXISTS s1 s2\r\n");
  ASSERT_EQ(exists->fragments.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    reply(exists, i, i == 1 ? "*3\r\n:1\r\n:1\r\n:1\r\n" : "*2\r\n:1\r\n:0\r\n");
  session_->complete(*exists);
  EXPECT_TRUE(names_backend(exists->reply, "unexpected reply to a request sent to every backend"))
      << exists->reply;

  PendingRequest* keys = plan("KEYS *\r\n");
  for (size_t i = 0; i < 3; ++i)
    reply(keys, i, i == 2 ? deep : "*0\r\n");
  session_->complete(*keys);
  EXPECT_TRUE(names_backend(keys->reply, "unexpected KEYS reply")) << keys->reply;
}

// HELLO is the proxy's own answer, never a backend's: it completes without a fragment, so a
// client connecting never waits on a backend, and names the proxy and its version.
TEST_F(RedisSessionTest, HelloIsAnsweredByTheProxyWithoutABackend) {
  PendingRequest* hello = plan("HELLO 2 SETNAME app\r\n");
  EXPECT_TRUE(hello->complete);
  EXPECT_TRUE(hello->fragments.empty());
  const std::string version(ringleader::kVersion);
  std::string expected = "*14\r\n$6\r\nserver\r\n$10\r\nringleader\r\n$7\r\nversion\r\n$" +
                         std::to_string(version.size()) + "\r\n" + version +
                         "\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:";
  EXPECT_EQ(hello->reply.substr(0, expected.size()), expected);
  const std::string tail =
      "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
  ASSERT_GE(hello->reply.size(), tail.size());
  EXPECT_EQ(hello->reply.substr(hello->reply.size() - tail.size()), tail);
  EXPECT_EQ(plan("CLIENT GETNAME\r\n")->reply, "$3\r\napp\r\n");
}

TEST_F(RedisSessionTest, LocalCommands) {
  EXPECT_EQ(plan("PING\r\n")->reply, "+PONG\r\n");
  EXPECT_EQ(plan("ECHO hi\r\n")->reply, "$2\r\nhi\r\n");
  EXPECT_EQ(plan("SELECT 0\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("SELECT 1\r\n")->reply.rfind("-ERR", 0), 0u);
  EXPECT_EQ(plan("HELLO 3\r\n")->reply.rfind("-NOPROTO", 0), 0u);
  // Integers as Redis reads them (redis-server 7.0.15's replies to the same requests).
  for (const char* bad : {"x", "00", "-0", "+1"}) {
    EXPECT_EQ(plan(std::string("SELECT ") + bad + "\r\n")->reply,
              "-ERR value is not an integer or out of range\r\n")
        << bad;
  }
  // Out of Redis's range: its words, as Redis (a database beyond what backends have is the
  // proxy's own refusal, which names the reason: SELECT 1 above).
  EXPECT_EQ(plan("SELECT -1\r\n")->reply, "-ERR DB index is out of range\r\n");
  for (const char* big : {"4294967296", "2147483648", "-2147483649"}) {
    EXPECT_EQ(plan(std::string("SELECT ") + big + "\r\n")->reply,
              "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n")
        << big;
  }
  // Nothing can be watched (WATCH is refused), so UNWATCH has nothing to undo: OK, as Redis.
  EXPECT_EQ(plan("UNWATCH\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("UNWATCH x\r\n")->reply,
            "-ERR wrong number of arguments for 'unwatch' command\r\n");
  for (const char* bad : {"02", "+2", "2x"}) {
    EXPECT_EQ(plan(std::string("HELLO ") + bad + "\r\n")->reply,
              "-ERR Protocol version is not an integer or out of range\r\n")
        << bad;
  }
  EXPECT_EQ(plan("CLIENT SETNAME app\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("CLIENT GETNAME\r\n")->reply, "$3\r\napp\r\n");
  EXPECT_EQ(plan("CLIENT ID\r\n")->reply.rfind(":", 0), 0u);
  EXPECT_EQ(plan("*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\na\tb\r\n")
                ->reply.rfind("-ERR Client names", 0),
            0u);
  EXPECT_EQ(plan("HELLO 2 SETNAME caf\xc3\xa9\r\n")->reply.rfind("-ERR Client names", 0), 0u);
  EXPECT_EQ(plan("CLIENT GETNAME\r\n")->reply, "$3\r\napp\r\n");
  // Without proxy.requirepass the default user takes any password, as in Redis; a bare
  // password is an error there too.
  EXPECT_EQ(plan("AUTH default anything\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("AUTH someone anything\r\n")->reply.rfind("-WRONGPASS", 0), 0u);
  EXPECT_EQ(plan("AUTH anything\r\n")->reply.rfind("-ERR AUTH <password> called", 0), 0u);
  EXPECT_EQ(plan("HELLO 2 AUTH default anything\r\n")->reply.rfind("*14", 0), 0u);
  PendingRequest* quit = plan("QUIT\r\n");
  EXPECT_EQ(quit->reply, "+OK\r\n");
  EXPECT_TRUE(quit->close_after);
}

// CLIENT SETINFO as Redis 7.2 answers it (clients send it on connecting and ignore errors),
// and CLIENT INFO describing the proxy's client connection.
TEST_F(RedisSessionTest, ClientSetinfoAndInfo) {
  struct FakeEndpoint final : ClientEndpoint {
    std::string peer_address() const override { return "127.0.0.1:50312"; }
    std::string local_address() const override { return "127.0.0.1:6380"; }
    int fd() const override { return 17; }
    uint64_t connected_ns() const override { return loop_now_ns() - 3'500'000'000; }
    ClientBuffers buffers() const override {
      return {.input = 17,
              .input_capacity = 16384,
              .input_free = 16300,
              .output = 5,
              .output_chunks = 1,
              .output_waiting = 70005,
              .memory = 90000};
    }
  } endpoint;
  session_->attach(endpoint);
  EXPECT_EQ(plan("CLIENT SETINFO LIB-NAME redis-py(app_v1.0)\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("CLIENT SETINFO lib-ver 5.0.1\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("CLIENT SETINFO lib-color red\r\n")->reply,
            "-ERR Unrecognized option 'lib-color'\r\n");
  EXPECT_EQ(plan("*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$7\r\nLIB-VER\r\n$3\r\n5 0\r\n")->reply,
            "-ERR LIB-VER cannot contain spaces, newlines or special characters.\r\n");
  EXPECT_EQ(plan("CLIENT SETINFO lib-name\r\n")->reply.rfind("-ERR wrong number of arguments", 0),
            0u);
  EXPECT_EQ(plan("CLIENT SETNAME app\r\n")->reply, "+OK\r\n");

  const std::string id = plan("CLIENT ID\r\n")->reply.substr(1);  // ":<id>\r\n"
  const std::string line = "id=" + id.substr(0, id.size() - 2) +
                           " addr=127.0.0.1:50312 laddr=127.0.0.1:6380 fd=17 name=app age=3 idle=0"
                           " flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=17 qbuf-free=16300"
                           " argv-mem=10 multi-mem=0 rbs=16384 rbp=16384 obl=5 oll=1"
                           " omem=70005 tot-mem=90010 events=r cmd=client|info user=default"
                           " redir=-1 resp=2 lib-name=redis-py(app_v1.0) lib-ver=5.0.1\n";
  EXPECT_EQ(plan("CLIENT INFO\r\n")->reply,
            "$" + std::to_string(line.size()) + "\r\n" + line + "\r\n");
  // An empty value clears the attribute, as in Redis; a refused one left it as it was.
  EXPECT_EQ(plan("CLIENT SETINFO lib-name \"\"\r\n")->reply, "+OK\r\n");
  const std::string after = plan("CLIENT INFO\r\n")->reply;
  EXPECT_NE(after.find(" lib-name= lib-ver=5.0.1\n"), std::string::npos) << after;
}

TEST_F(RedisSessionTest, ProtocolErrorIsFatal) {
  PendingRequest* req = plan("*2\r\n$3\r\nGET\r\n$-9\r\n", NextStatus::kFatal);
  EXPECT_EQ(req->reply.rfind("-ERR Protocol error", 0), 0u) << req->reply;
}

TEST_F(RedisSessionTest, NeedMoreUntilTheRequestIsWhole) {
  auto* req = new PendingRequest(nullptr);
  held_.push_back(req);
  size_t consumed = 0;
  EXPECT_EQ(session_->next("*2\r\n$3\r\nGET\r\n$3\r\nfo", ring_, *req, &consumed),
            NextStatus::kNeedMore);
  EXPECT_EQ(session_->next("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", ring_, *req, &consumed),
            NextStatus::kRequest);
  EXPECT_EQ(req->fragments.size(), 1u);
}

TEST_F(RedisSessionTest, EmptyRequestsBeforeAnUnfinishedOneAreDroppedAtOnce) {
  auto* req = new PendingRequest(nullptr);
  held_.push_back(req);
  size_t consumed = 0;
  const std::string input = "\r\n*0\r\n*2\r\n$3\r\nGET\r\n$3\r\nfo";
  ASSERT_EQ(session_->next(input, ring_, *req, &consumed), NextStatus::kDiscarded);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(session_->next(std::string_view(input).substr(6), ring_, *req, &consumed),
            NextStatus::kNeedMore);
  EXPECT_EQ(session_->next("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", ring_, *req, &consumed),
            NextStatus::kRequest);
  EXPECT_EQ(consumed, 22u);
  EXPECT_TRUE(req->reply.empty());
}

// What a browser sends when a web page points it at the port: closed as Redis closes it, with
// nothing answered and nothing after it run.
TEST_F(RedisSessionTest, HttpRequestLinesAndHostHeadersAreFatal) {
  for (const std::string input : {"POST / HTTP/1.1\r\n", "post /x\r\n", "Host: 127.0.0.1:6379\r\n",
                                  "HOST: x\r\n", "*2\r\n$4\r\nPOST\r\n$1\r\n/\r\n"}) {
    PendingRequest* req = plan(input, NextStatus::kFatal);
    EXPECT_EQ(req->reply, "") << input;
    EXPECT_TRUE(req->fragments.empty()) << input;
  }
  // A key named POST is nothing of the kind.
  PendingRequest* get = plan("GET POST\r\n");
  EXPECT_EQ(get->fragments.size(), 1u);
}

TEST_F(RedisSessionTest, InfoSectionsOfTheProxyAloneAskNoBackend) {
  PendingRequest* req = plan("INFO clients replication cpu\r\n");
  ASSERT_TRUE(req->complete);
  EXPECT_TRUE(req->fragments.empty());
  for (const char* line :
       {"# Clients\r\n", "blocked_clients:0\r\n", "role:master\r\n", "used_cpu_user:"})
    EXPECT_NE(req->reply.find(line), std::string::npos) << line << " in " << req->reply;
  EXPECT_EQ(req->reply.find("# Keyspace"), std::string::npos) << req->reply;
}

TEST_F(RedisSessionTest, InfoAsksBackendsForOneSectionOrTheDefaults) {
  PendingRequest* stats = plan("INFO stats\r\n");
  ASSERT_EQ(stats->fragments.size(), 3u);
  EXPECT_EQ(stats->fragments[0].payload, "*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n");
  reply(stats, 0, bulk("# Stats\r\nkeyspace_hits:10\r\nkeyspace_misses:1\r\n"));
  reply(stats, 1, bulk("# Stats\r\nkeyspace_hits:5\r\nkeyspace_misses:2\r\n"));
  reply(stats, 2, bulk("# Stats\r\nkeyspace_hits:1\r\nkeyspace_misses:0\r\n"));
  session_->complete(*stats);
  for (const char* line : {"keyspace_hits:16\r\n", "keyspace_misses:3\r\n", "read_failovers:0\r\n",
                           "total_commands_processed:"})
    EXPECT_NE(stats->reply.find(line), std::string::npos) << line << " in " << stats->reply;
  EXPECT_EQ(stats->reply.find("# Keyspace"), std::string::npos) << stats->reply;
  // Several backend sections: the backends' default INFO holds them all.
  PendingRequest* all = plan("INFO\r\n");
  ASSERT_EQ(all->fragments.size(), 3u);
  EXPECT_EQ(all->fragments[0].payload, "*1\r\n$4\r\nINFO\r\n");
}

TEST_F(RedisSessionTest, InfoSumsMemoryAndReportsTheLowestRedisVersion) {
  PendingRequest* req = plan("INFO\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);
  reply(req, 0,
        bulk("# Server\r\nredis_version:7.2.4\r\n\r\n# Memory\r\nused_memory:1024\r\n"
             "maxmemory:0\r\nmaxmemory_policy:noeviction\r\n"));
  reply(req, 1,
        bulk("# Server\r\nredis_version:7.0.15\r\n\r\n# Memory\r\nused_memory:2048\r\n"
             "maxmemory:1000\r\nmaxmemory_policy:noeviction\r\n"
             "# Keyspace\r\ndb0:keys=4,expires=1,avg_ttl=9\r\n"));
  reply(req, 2, "-LOADING Redis is loading the dataset in memory\r\n");
  session_->complete(*req);
  for (const char* line :
       {"redis_version:7.0.15\r\n", "used_memory:3072\r\n", "used_memory_human:3.00K\r\n",
        "maxmemory:0\r\n",  // one backend without a limit: none overall
        "maxmemory_policy:noeviction\r\n", "db0:keys=4,expires=1,avg_ttl=9\r\n",
        "# ringleader: 1 of 3 backends gave no memory figures",
        "connected_clients:", "role:master\r\n"})
    EXPECT_NE(req->reply.find(line), std::string::npos) << line << " in " << req->reply;
  // Sections appear in Redis's order.
  EXPECT_LT(req->reply.find("# Server"), req->reply.find("# Clients"));
  EXPECT_LT(req->reply.find("# Memory"), req->reply.find("# Stats"));
  EXPECT_LT(req->reply.find("# CPU"), req->reply.find("# Keyspace"));
}

TEST_F(RedisSessionTest, InfoKeyspaceCountsTheBackendsThatAnswered) {
  PendingRequest* req = plan("INFO keyspace\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);
  reply(req, 0, bulk("# Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=1000\r\n"));
  reply(req, 1, bulk("# Keyspace\r\ndb0:keys=7,expires=3,avg_ttl=5000\r\n"));
  fail(req, 2, "backend b2 (127.0.0.1:7002): connection refused");
  session_->complete(*req);
  // The average TTL weighs each backend's by its keys with an expiry: (1000 + 3 * 5000) / 4.
  EXPECT_NE(req->reply.find("db0:keys=12,expires=4,avg_ttl=4000\r\n"), std::string::npos)
      << req->reply;
  EXPECT_NE(req->reply.find("# ringleader: 1 of 3 backends gave no keyspace"), std::string::npos)
      << req->reply;
}

// With backend.db, clients' database 0 is that database of every backend.
TEST_F(RedisSessionTest, BackendDatabaseIsTheClientsDatabaseZero) {
  config_.backend.db = 3;
  PendingRequest* info = plan("INFO keyspace\r\n");
  ASSERT_EQ(info->fragments.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i)
    reply(
        info, i,
        bulk("# "
             "Keyspace\r\ndb0:keys=100,expires=0,avg_ttl=0\r\ndb3:keys=4,expires=1,avg_ttl=0\r\n"));
  session_->complete(*info);
  EXPECT_NE(info->reply.find("db0:keys=12,expires=3,avg_ttl=0\r\n"), std::string::npos)
      << info->reply;
  // COPY ... DB 0 would reach the backends' database 0, not the clients'.
  PendingRequest* copy = plan("COPY {u}:a {u}:b DB 0\r\n");
  ASSERT_TRUE(copy->complete);
  EXPECT_NE(copy->reply.find("database 3 (backend.db)"), std::string::npos) << copy->reply;
  EXPECT_FALSE(plan("COPY {u}:a {u}:b REPLACE\r\n")->complete);
  // FLUSHALL empties that database only.
  PendingRequest* flush = plan("FLUSHALL ASYNC\r\n");
  ASSERT_EQ(flush->fragments.size(), 3u);
  for (const Fragment& f : flush->fragments)
    EXPECT_EQ(f.payload, "*2\r\n$7\r\nFLUSHDB\r\n$5\r\nASYNC\r\n");
  config_.backend.db = 0;
  EXPECT_EQ(plan("FLUSHALL\r\n")->fragments[0].payload, "*1\r\n$8\r\nFLUSHALL\r\n");
}

TEST_F(RedisSessionTest, ChangesReachBackendsThatAreDownReadsSkipThem) {
  std::vector<ring::Backend> backends = ring_->backends();
  backends[1].state = ring::BackendState::kDown;  // ejected, or marked down
  ring_ = ring::Ring::build(backends, config_.ring, 6).value();
  // A FLUSHALL that skipped it would answer OK and let its keys return with it.
  EXPECT_EQ(plan("FLUSHALL\r\n")->fragments.size(), 3u);
  EXPECT_EQ(plan("SCRIPT LOAD \"return 1\"\r\n")->fragments.size(), 3u);
  EXPECT_EQ(plan("FUNCTION FLUSH\r\n")->fragments.size(), 3u);
  EXPECT_EQ(plan("DBSIZE\r\n")->fragments.size(), 2u);
  PendingRequest* info = plan("INFO keyspace\r\n");
  ASSERT_EQ(info->fragments.size(), 2u);
  reply(info, 0, bulk("# Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=0\r\n"));
  reply(info, 1, bulk("# Keyspace\r\ndb0:keys=7,expires=0,avg_ttl=0\r\n"));
  session_->complete(*info);
  EXPECT_NE(info->reply.find("db0:keys=12,"), std::string::npos) << info->reply;
  EXPECT_NE(info->reply.find("# ringleader: 1 of 3 backends gave no keyspace"), std::string::npos)
      << info->reply;
}

// A change sent to every backend that some did and some did not: the error says where it took
// effect and why not elsewhere. When none did, the backends' own error is the answer.
TEST_F(RedisSessionTest, PartlyAppliedFanOutSaysWhereItTookEffect) {
  PendingRequest* load = plan("FUNCTION LOAD \"#!lua name=lib1\\n...\"\r\n");
  ASSERT_EQ(load->fragments.size(), 3u);
  reply(load, 0, "$4\r\nlib1\r\n");
  reply(load, 1, "-ERR Library 'lib1' already exists\r\n");
  reply(load, 2, "$4\r\nlib1\r\n");
  session_->complete(*load);
  auto name = [&](PendingRequest* req, size_t i) {
    return ring_->backend(req->fragments[i].backend).name;
  };
  EXPECT_EQ(load->reply,
            "-ERR Library 'lib1' already exists (ringleader: done on 2 of 3 "
            "backends: " +
                name(load, 0) + ", " + name(load, 2) + "; not on: " + name(load, 1) + ")\r\n");

  PendingRequest* flush = plan("FLUSHALL\r\n");
  reply(flush, 0, "+OK\r\n");
  fail(flush, 1, "backend b1 (127.0.0.1:7001): timed out");
  reply(flush, 2, "+OK\r\n");
  session_->complete(*flush);
  EXPECT_EQ(flush->reply,
            "-ERR ringleader: backend b1 (127.0.0.1:7001): timed out (done on 2 of 3 backends: " +
                name(flush, 0) + ", " + name(flush, 2) + "; not on: " + name(flush, 1) + ")\r\n");

  // SCRIPT LOAD and FLUSH change the backends too, though Redis does not flag them "write":
  // never dropped for a client that has gone (as reads are), and reported the same way.
  for (const char* line : {"SCRIPT LOAD \"return 1\"\r\n", "SCRIPT FLUSH\r\n"}) {
    PendingRequest* script = plan(line);
    EXPECT_FALSE(script->reads_only) << line;
    reply(script, 0,
          line[7] == 'L' ? "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n" : "+OK\r\n");
    fail(script, 1, "backend b1 (127.0.0.1:7001): timed out");
    reply(script, 2,
          line[7] == 'L' ? "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n" : "+OK\r\n");
    session_->complete(*script);
    EXPECT_EQ(script->reply,
              "-ERR ringleader: backend b1 (127.0.0.1:7001): timed out (done on 2 of 3 backends: " +
                  name(script, 0) + ", " + name(script, 2) + "; not on: " + name(script, 1) +
                  ")\r\n")
        << line;
  }

  PendingRequest* none = plan("FUNCTION DELETE nosuchlib\r\n");
  for (size_t i = 0; i < 3; ++i)
    reply(none, i, "-ERR Library not found\r\n");
  session_->complete(*none);
  EXPECT_EQ(none->reply, "-ERR Library not found\r\n");

  PendingRequest* all = plan("FLUSHDB\r\n");
  for (size_t i = 0; i < 3; ++i)
    reply(all, i, "+OK\r\n");
  session_->complete(*all);
  EXPECT_EQ(all->reply, "+OK\r\n");
}

TEST_F(RedisSessionTest, ScriptExistsOnlyWhereEveryBackendHasIt) {
  // EVALSHA may land on any backend: a script exists for the pool when every backend has it.
  PendingRequest* req = plan("SCRIPT EXISTS a b c\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);
  reply(req, 0, "*3\r\n:1\r\n:1\r\n:0\r\n");
  reply(req, 1, "*3\r\n:1\r\n:0\r\n:0\r\n");
  reply(req, 2, "*3\r\n:1\r\n:1\r\n:0\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "*3\r\n:1\r\n:0\r\n:0\r\n");
  PendingRequest* odd = plan("SCRIPT EXISTS a\r\n");
  reply(odd, 0, "*1\r\n:1\r\n");
  reply(odd, 1, "*2\r\n:1\r\n:1\r\n");  // a broken backend
  reply(odd, 2, "*1\r\n:1\r\n");
  session_->complete(*odd);
  EXPECT_EQ(odd->reply.rfind("-ERR ringleader: backend b1 (127.0.0.1:7001): unexpected reply", 0),
            0u)
      << odd->reply;
}

TEST_F(RedisSessionTest, TimeIsTheProxysClock) {
  const int64_t before = static_cast<int64_t>(::time(nullptr));
  PendingRequest* req = plan("TIME\r\n");
  ASSERT_TRUE(req->complete);
  auto v = parse_reply(req->reply);
  ASSERT_TRUE(v && v->type == ReplyValue::Type::kArray && v->elements.size() == 2) << req->reply;
  const int64_t seconds = std::stoll(std::string(v->elements[0].text));
  EXPECT_GE(seconds, before);
  EXPECT_LE(seconds, before + 5);
  EXPECT_LT(std::stoll(std::string(v->elements[1].text)), 1000000);
}

TEST_F(RedisSessionTest, WholeKeyspaceReadsWithEveryBackendDownAreErrors) {
  std::vector<ring::Backend> backends = ring_->backends();
  for (ring::Backend& b : backends)
    b.state = ring::BackendState::kDown;
  ring_ = ring::Ring::build(backends, config_.ring, 6).value();
  for (const char* request : {"SCAN 0\r\n", "SCAN 0 COUNT 10\r\n", "DBSIZE\r\n", "KEYS *\r\n"}) {
    PendingRequest* req = plan(request);
    EXPECT_TRUE(req->complete) << request;
    EXPECT_EQ(req->reply, "-ERR ringleader: no backend available\r\n") << request;
  }
}

TEST_F(RedisSessionTest, InfoShowsEverySectionNamed) {
  PendingRequest* req = plan("INFO clients cpu\r\n");
  ASSERT_TRUE(req->complete);
  EXPECT_NE(req->reply.find("# Clients\r\n"), std::string::npos) << req->reply;
  EXPECT_NE(req->reply.find("# CPU\r\n"), std::string::npos) << req->reply;
  EXPECT_EQ(req->reply.find("# Stats\r\n"), std::string::npos) << req->reply;
  PendingRequest* server = plan("INFO server clients\r\n");
  ASSERT_EQ(server->fragments.size(), 3u);  // for the backends' redis_version
  EXPECT_EQ(server->fragments[0].payload, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
  EXPECT_EQ(plan("INFO stats KEYSPACE\r\n")->fragments.size(), 3u);
}

// With ring.replicas = 2: fragments carry the keys' replica set and whether they read or write.
class RedisReplicatedSessionTest : public testing::SessionFixture<RedisSession> {
 protected:
  void SetUp() override { build(config::Protocol::kRedis, "b", 7000, 2); }
};

TEST_F(RedisReplicatedSessionTest, ReadsAndWritesCarryTheKeysReplicaSet) {
  struct Case {
    const char* request;
    Access access;
  };
  for (const Case& c :
       {Case{"GET foo\r\n", Access::kRead}, Case{"SET foo 1\r\n", Access::kWrite},
        Case{"INCR foo\r\n", Access::kWrite}, Case{"HGETALL foo\r\n", Access::kRead},
        Case{"EVAL \"return 1\" 1 foo\r\n", Access::kWrite},
        Case{"EVAL_RO \"return 1\" 1 foo\r\n", Access::kRead}}) {
    PendingRequest* req = plan(c.request);
    ASSERT_EQ(req->fragments.size(), 1u) << c.request;
    const Fragment& f = req->fragments[0];
    EXPECT_EQ(f.access, c.access) << c.request;
    EXPECT_EQ(f.backend, replicas("foo").primary()) << c.request;
    // A single-key read names its primary; the core walks for the rest only when needed.
    const bool single_key_read = c.access == Access::kRead && c.request[0] != 'E';
    EXPECT_EQ(f.replicas_deferred, single_key_read) << c.request;
    if (single_key_read) {
      EXPECT_EQ(f.key_hash, ring_->hash("foo")) << c.request;
    } else {
      EXPECT_TRUE(f.replicas == replicas("foo")) << c.request;
    }
  }
  // Whole-keyspace commands address each backend itself.
  PendingRequest* dbsize = plan("DBSIZE\r\n");
  ASSERT_EQ(dbsize->fragments.size(), 3u);
  for (const Fragment& f : dbsize->fragments)
    EXPECT_EQ(f.access, Access::kDirect);
}

// With replicas, an EVALSHA whose body the proxy has seen goes to the replicas as EVAL with
// that body: a replica that lost its scripts (a restart) runs it too, rather than answering
// NOSCRIPT while the others run it. SCRIPT FLUSH forgets the bodies.
TEST_F(RedisReplicatedSessionTest, EvalshaOfAKnownScriptGoesAsEval) {
  ScriptRegistry::process().forget_all();
  const std::string body = "return redis.call('INCR', KEYS[1])";
  const std::string sha = sha1_hex(body);
  const std::string evalsha =
      "*4\r\n$7\r\nEVALSHA\r\n$40\r\n" + sha + "\r\n$1\r\n1\r\n$3\r\nfoo\r\n";
  // Unknown: forwarded as sent.
  PendingRequest* unknown = plan(evalsha);
  ASSERT_EQ(unknown->fragments.size(), 1u);
  EXPECT_EQ(unknown->fragments[0].payload, evalsha);
  // Known from SCRIPT LOAD (or an EVAL): EVAL with the body, to the key's replicas.
  plan("*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n" + bulk(body));
  PendingRequest* known = plan(evalsha);
  ASSERT_EQ(known->fragments.size(), 1u);
  EXPECT_EQ(known->fragments[0].payload,
            "*4\r\n$4\r\nEVAL\r\n" + bulk(body) + "$1\r\n1\r\n$3\r\nfoo\r\n");
  EXPECT_TRUE(known->fragments[0].replicas == replicas("foo"));
  EXPECT_EQ(known->fragments[0].access, Access::kWrite);
  // Upper-case digits name the same script; EVALSHA_RO goes as EVAL_RO.
  std::string upper = sha;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  PendingRequest* ro = plan("EVALSHA_RO " + upper + " 1 foo\r\n");
  EXPECT_EQ(ro->fragments[0].payload,
            "*4\r\n$7\r\nEVAL_RO\r\n" + bulk(body) + "$1\r\n1\r\n$3\r\nfoo\r\n");
  // A SCRIPT FLUSH the backends will refuse (a bad option) flushes nothing: still known.
  plan("SCRIPT FLUSH BOGUS\r\n");
  EXPECT_NE(plan(evalsha)->fragments[0].payload, evalsha);
  // From a SCRIPT FLUSH on, before its answer even, as sent (Redis answers NOSCRIPT): an
  // EVALSHA pipelined behind it must not load the script again. A SCRIPT LOAD after it
  // teaches the body again, and the flush's answer does not forget that.
  PendingRequest* flush = plan("SCRIPT FLUSH ASYNC\r\n");
  EXPECT_EQ(plan(evalsha)->fragments[0].payload, evalsha);
  plan("*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n" + bulk(body));
  for (size_t i = 0; i < flush->fragments.size(); ++i)
    reply(flush, i, "+OK\r\n");
  session_->complete(*flush);
  EXPECT_EQ(flush->reply, "+OK\r\n");
  EXPECT_NE(plan(evalsha)->fragments[0].payload, evalsha);
  plan("SCRIPT FLUSH\r\n");
  EXPECT_EQ(plan(evalsha)->fragments[0].payload, evalsha);
  // An EVAL teaches its body.
  plan("*4\r\n$4\r\nEVAL\r\n" + bulk(body) + "$1\r\n1\r\n$3\r\nfoo\r\n");
  EXPECT_NE(plan(evalsha)->fragments[0].payload, evalsha);
  ScriptRegistry::process().forget_all();
}

TEST(ScriptRegistryTest, FindsWhatAnyThreadLearnedAndForgetsOnFlush) {
  ScriptRegistry scripts;
  const std::string sha = sha1_hex("return 1");
  EXPECT_FALSE(scripts.find(sha));  // remembered as missing
  std::thread([&] { scripts.learn("return 1"); }).join();
  ASSERT_TRUE(scripts.find(sha));  // a change since: looked up again
  EXPECT_EQ(*scripts.find(sha), "return 1");
  EXPECT_FALSE(scripts.find(sha.substr(1)));
  EXPECT_FALSE(scripts.find(sha1_hex("return 2")));
  std::thread([&] { scripts.forget_all(); }).join();
  EXPECT_FALSE(scripts.find(sha));  // this thread's copy is gone too
  // Bounded: past kMaxScripts bodies, nothing more is learned.
  for (size_t i = 0; i < ScriptRegistry::kMaxScripts + 10; ++i)
    scripts.learn("return " + std::to_string(i));
  EXPECT_TRUE(scripts.find(sha1_hex("return 0")));
  EXPECT_FALSE(scripts.find(sha1_hex("return " + std::to_string(ScriptRegistry::kMaxScripts))));
  scripts.forget_all();
  EXPECT_FALSE(scripts.find(sha1_hex("return 0")));
  scripts.learn("");  // an empty script is a script
  EXPECT_EQ(scripts.find(sha1_hex("")), std::optional<std::string_view>(""));
}

// SET NX and its kin with replicas: the primary alone decides; the other replica gets the
// unconditional write only once the primary applied it; the client gets the primary's answer.
TEST_F(RedisReplicatedSessionTest, ConditionalWritesAreDecidedByThePrimary) {
  PendingRequest* req = plan("SET lock token NX PX 30000\r\n");
  ASSERT_EQ(req->fragments.size(), 2u);
  const ring::ReplicaSet set = replicas("lock");
  const Fragment& decided = req->fragments[0];
  EXPECT_EQ(decided.backend, set.primary());
  EXPECT_EQ(decided.access, Access::kDirect);  // no failover to a replica deciding alone
  EXPECT_EQ(decided.after, Fragment::kNoAfter);
  const Fragment& follow = req->fragments[1];
  EXPECT_EQ(follow.backend, set[1]);
  EXPECT_EQ(follow.after, 0u);
  EXPECT_EQ(follow.after_reply, "+OK");
  EXPECT_EQ(follow.payload,
            "*5\r\n$3\r\nSET\r\n$4\r\nlock\r\n$5\r\ntoken\r\n$2\r\nPX\r\n"
            "$5\r\n30000\r\n");
  // The answer is the primary's, whatever the follow-up did.
  reply(req, 0, "+OK\r\n");
  fail(req, 1, "backend b2 (127.0.0.1:7002): timeout after 1000 ms");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "+OK\r\n");

  PendingRequest* taken = plan("SETNX lock other\r\n");
  ASSERT_EQ(taken->fragments.size(), 2u);
  EXPECT_EQ(taken->fragments[1].after_reply, ":1");
  EXPECT_EQ(complete_unapplied(taken, ":0\r\n"), ":0\r\n");

  PendingRequest* down = plan("HSETNX h f v\r\n");
  ASSERT_EQ(down->fragments.size(), 2u);
  fail(down, 0, "backend b1 (127.0.0.1:7001): connection refused");
  down->fragments[1].state = FragmentState::kDone;
  session_->complete(*down);
  EXPECT_EQ(down->reply, "-ERR ringleader: backend b1 (127.0.0.1:7001): connection refused\r\n");

  // Unconditional writes still go to every replica as one write.
  PendingRequest* plain = plan("SET lock token PX 30000\r\n");
  ASSERT_EQ(plain->fragments.size(), 1u);
  EXPECT_EQ(plain->fragments[0].access, Access::kWrite);
}

TEST_F(RedisReplicatedSessionTest, SplitsGroupKeysByReplicaSetAndKeepTheClientsOrder) {
  std::string mget = "MGET";
  std::vector<std::string> keys;
  for (int i = 0; i < 60; ++i) {
    keys.push_back("key:" + std::to_string(i));
    mget += " " + keys.back();
  }
  PendingRequest* req = plan(mget + "\r\n");
  ASSERT_FALSE(req->complete);
  std::vector<ring::ReplicaSet> sets;
  for (const std::string& k : keys) {
    bool seen = false;
    for (const auto& s : sets)
      seen = seen || s == replicas(k);
    if (!seen) sets.push_back(replicas(k));
  }
  ASSERT_EQ(req->fragments.size(), sets.size());
  ASSERT_EQ(req->merge.slots.size(), keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    const Fragment& f = req->fragments[req->merge.slots[k].first];
    EXPECT_EQ(f.access, Access::kRead);
    EXPECT_TRUE(f.replicas == replicas(keys[k])) << keys[k];
  }
  for (size_t i = 0; i < req->fragments.size(); ++i) {
    std::string r = "*" +
                    std::to_string(std::count_if(req->merge.slots.begin(), req->merge.slots.end(),
                                                 [&](const auto& s) { return s.first == i; })) +
                    "\r\n";
    for (size_t k = 0; k < keys.size(); ++k) {
      if (req->merge.slots[k].first == i)
        r += "$" + std::to_string(keys[k].size()) + "\r\n" + keys[k] + "\r\n";
    }
    reply(req, i, r);
  }
  session_->complete(*req);
  std::string expected = "*60\r\n";
  for (const std::string& k : keys)
    expected += "$" + std::to_string(k.size()) + "\r\n" + k + "\r\n";
  EXPECT_EQ(req->reply, expected);
  // A split write is written to each group's replicas.
  PendingRequest* del = plan("DEL key:1 key:2 key:3 key:4 key:5\r\n");
  for (const Fragment& f : del->fragments)
    EXPECT_EQ(f.access, Access::kWrite);
}

TEST_F(RedisReplicatedSessionTest, KeysTogetherNeedTheSameReplicaSetNotOnlyTheSamePrimary) {
  // Two keys with one primary but different second replicas.
  std::string a, b;
  for (int i = 0; i < 500 && b.empty(); ++i) {
    for (int j = i + 1; j < 500 && b.empty(); ++j) {
      const std::string x = "k" + std::to_string(i), y = "k" + std::to_string(j);
      if (owner(x) == owner(y) && !(replicas(x) == replicas(y))) {
        a = x;
        b = y;
      }
    }
  }
  ASSERT_FALSE(b.empty()) << "no two keys share a primary but not a replica set";
  PendingRequest* req = plan("RENAME " + a + " " + b + "\r\n");
  ASSERT_TRUE(req->complete);
  EXPECT_EQ(req->reply.rfind("-CROSSSLOT", 0), 0u) << req->reply;
  const std::string set_a =
      ring_->backend(replicas(a)[0]).name + "+" + ring_->backend(replicas(a)[1]).name;
  EXPECT_NE(req->reply.find(set_a), std::string::npos) << req->reply;
  // A hash tag keeps them together.
  PendingRequest* tagged = plan("RENAME {t}" + a + " {t}" + b + "\r\n");
  ASSERT_FALSE(tagged->complete);
  EXPECT_EQ(tagged->fragments[0].access, Access::kWrite);
  EXPECT_EQ(tagged->fragments[0].replicas.size(), 2u);
}

class RedisSessionAuthTest : public RedisSessionTest {
 protected:
  void SetUp() override {
    RedisSessionTest::SetUp();
    config_.proxy.requirepass = "pw";
    session_ = std::make_unique<RedisSession>(env_);
  }
};

TEST_F(RedisSessionAuthTest, NothingIsForwardedBeforeAuth) {
  EXPECT_EQ(plan("GET foo\r\n")->reply.rfind("-NOAUTH", 0), 0u);
  EXPECT_EQ(plan("PING\r\n")->reply.rfind("-NOAUTH", 0), 0u);
  EXPECT_EQ(plan("AUTH nope\r\n")->reply.rfind("-WRONGPASS", 0), 0u);
  EXPECT_EQ(plan("AUTH pw\r\n")->reply, "+OK\r\n");
  PendingRequest* get = plan("GET foo\r\n");
  EXPECT_FALSE(get->complete);
  EXPECT_EQ(get->fragments.size(), 1u);
}

TEST_F(RedisSessionAuthTest, ArityIsCheckedBeforeAuthenticationAsRedisDoes) {
  EXPECT_EQ(plan("GET\r\n")->reply, "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(plan("GET a b\r\n")->reply, "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(plan("GET a\r\n")->reply, "-NOAUTH Authentication required.\r\n");
}

TEST_F(RedisSessionAuthTest, HelloAuthenticatesBeforeItChecksTheName) {
  // Redis's order: options read, credentials checked, then the name; a bad name is an error
  // that leaves the client authenticated.
  EXPECT_EQ(plan("HELLO 2\r\n")->reply,
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
            "the RESP protocol version at the same time\r\n");
  EXPECT_EQ(plan("HELLO 2 AUTH default pw SETNAME \"bad name\" FOO\r\n")->reply,
            "-ERR Syntax error in HELLO option 'FOO'\r\n");  // nothing done
  EXPECT_EQ(plan("PING\r\n")->reply.rfind("-NOAUTH", 0), 0u);
  EXPECT_EQ(
      plan("HELLO 2 AUTH default pw SETNAME \"bad name\"\r\n")->reply.rfind("-ERR Client names", 0),
      0u);
  EXPECT_EQ(plan("PING\r\n")->reply, "+PONG\r\n");
  EXPECT_EQ(plan("CLIENT GETNAME\r\n")->reply, "$-1\r\n");  // no name was set
  // The last AUTH given counts.
  session_ = std::make_unique<RedisSession>(env_);
  EXPECT_EQ(plan("HELLO 2 AUTH default pw AUTH default nope\r\n")->reply.rfind("-WRONGPASS", 0),
            0u);
  EXPECT_EQ(plan("PING\r\n")->reply.rfind("-NOAUTH", 0), 0u);
}

TEST_F(RedisSessionAuthTest, RequestsBeforeAuthAreHeldSmall) {
  // Eleven arguments, or a 70 KB request, before AUTH: refused as the header arrives, as
  // Redis refuses them, so nobody without the password makes the proxy buffer 64 MB.
  PendingRequest* many = plan("*11\r\n", NextStatus::kFatal);
  EXPECT_EQ(many->reply,
            "-ERR Protocol error: request has more than the limit before AUTH (10) "
            "arguments\r\n");
  session_ = std::make_unique<RedisSession>(env_);
  PendingRequest* big = plan("*2\r\n$3\r\nGET\r\n$70000\r\n", NextStatus::kFatal);
  EXPECT_EQ(big->reply.rfind("-ERR Protocol error: request exceeds the limit before AUTH", 0), 0u)
      << big->reply;
  // After AUTH (pipelined with them), proxy.max_request_bytes applies.
  session_ = std::make_unique<RedisSession>(env_);
  EXPECT_EQ(plan("AUTH pw\r\n")->reply, "+OK\r\n");
  const std::string value(100000, 'v');
  PendingRequest* set = plan("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + value + "\r\n");
  EXPECT_EQ(set->fragments.size(), 1u);
}

// RESET signs the client out, as Redis does when a password is required, and holds its
// requests small again.
TEST_F(RedisSessionAuthTest, ResetAsksForTheSecretAgain) {
  EXPECT_EQ(plan("RESET\r\n")->reply, "+RESET\r\n");  // allowed before AUTH
  EXPECT_EQ(plan("AUTH pw\r\n")->reply, "+OK\r\n");
  EXPECT_EQ(plan("GET foo\r\n")->fragments.size(), 1u);
  EXPECT_EQ(plan("RESET\r\n")->reply, "+RESET\r\n");
  EXPECT_EQ(plan("GET foo\r\n")->reply.rfind("-NOAUTH", 0), 0u);
  PendingRequest* big = plan("*2\r\n$3\r\nGET\r\n$70000\r\n", NextStatus::kFatal);
  EXPECT_EQ(big->reply.rfind("-ERR Protocol error: request exceeds the limit before AUTH", 0), 0u)
      << big->reply;
}

TEST(RedisProtocolTest, MissesAreNilsAndArraysOfNothingButNils) {
  RedisProtocol protocol;
  for (const char* miss : {"$-1\r\n", "*-1\r\n", "*1\r\n$-1\r\n", "*3\r\n$-1\r\n$-1\r\n$-1\r\n"})
    EXPECT_TRUE(protocol.is_miss_reply(miss)) << miss;
  for (const char* hit :
       {"$1\r\nx\r\n", "*0\r\n", "*2\r\n$-1\r\n$1\r\nx\r\n", "*2\r\n$-1\r\n",
        "*1\r\n$-1\r\n$-1\r\n", ":0\r\n", "*x\r\n$-1\r\n", "*1\r\n*-1\r\n", "-ERR x\r\n"})
    EXPECT_FALSE(protocol.is_miss_reply(hit)) << hit;
}

}  // namespace
}  // namespace ringleader::proxy::redis
