// MemcachedSession: how requests become fragments and how fragment replies become the
// client's reply. A fixed ring of three backends; replies are filled in by hand.
#include "memcached/memcached_session.h"

#include <gtest/gtest.h>

#include <set>

#include "core/counters.h"
#include "memcached/memcached_protocol.h"
#include "session_fixture.h"

namespace ringleader::proxy::memcached {
namespace {

class MemcachedSessionTest : public testing::SessionFixture<MemcachedSession> {
 protected:
  void SetUp() override { build(config::Protocol::kMemcached, "mc", 11211); }

  std::string backend_of(const PendingRequest* req, size_t fragment) {
    return ring_->backend(req->fragments[fragment].backend).name;
  }

  // Keys with three different owners.
  std::vector<std::string> keys_apart() {
    std::vector<std::string> keys;
    std::set<std::string> owners;
    for (int i = 0; i < 1000 && keys.size() < 3; ++i) {
      std::string k = "key" + std::to_string(i);
      if (owners.insert(owner(k)).second) keys.push_back(k);
    }
    EXPECT_EQ(keys.size(), 3u);
    return keys;
  }

  size_t fragment_for(const PendingRequest* req, std::string_view key) {
    for (size_t i = 0; i < req->fragments.size(); ++i) {
      if (backend_of(req, i) == owner(key)) return i;
    }
    ADD_FAILURE() << "no fragment for " << key;
    return 0;
  }

  // "get KEY KEY ... KEY\r\n" with `times` copies.
  static std::string get_repeated(const std::string& key, int times) {
    std::string input = "get";
    for (int i = 0; i < times; ++i)
      input += " " + key;
    return input + "\r\n";
  }
};

TEST_F(MemcachedSessionTest, SingleKeyRequestsGoAsReceivedToTheOwner) {
  for (std::string input :
       {"get foo\r\n", "set foo 1 0 3\r\nabc\r\n", "delete foo\r\n", "incr foo 2\r\n",
        "touch foo 10\r\n", "gets foo\r\n", "gat 5 foo\r\n", "cas foo 0 0 1 77\r\nv\r\n"}) {
    PendingRequest* req = plan(input);
    ASSERT_FALSE(req->complete) << input;
    ASSERT_EQ(req->fragments.size(), 1u);
    EXPECT_EQ(backend_of(req, 0), owner("foo"));
    EXPECT_EQ(req->fragments[0].payload, input);
    reply(req, 0, "STORED\r\n");
    session_->complete(*req);
    EXPECT_EQ(req->reply, "STORED\r\n");
  }
}

TEST_F(MemcachedSessionTest, NoreplyIsStrippedAndTheReplyDropped) {
  PendingRequest* set = plan("set foo 1 0 3 noreply\r\nabc\r\n");
  ASSERT_EQ(set->fragments.size(), 1u);
  EXPECT_EQ(set->fragments[0].payload, "set foo 1 0 3\r\nabc\r\n");
  reply(set, 0, "STORED\r\n");
  session_->complete(*set);
  EXPECT_EQ(set->reply, "");

  PendingRequest* del = plan("delete foo noreply\r\n");
  EXPECT_EQ(del->fragments[0].payload, "delete foo\r\n");
  del->fragments[0].state = FragmentState::kFailed;  // nothing, even for a failure
  del->fragments[0].error = "mc1: connect failed";
  session_->complete(*del);
  EXPECT_EQ(del->reply, "");

  EXPECT_EQ(plan("incr n 5 noreply\r\n")->fragments[0].payload, "incr n 5\r\n");
  EXPECT_EQ(plan("touch n 9 noreply\r\n")->fragments[0].payload, "touch n 9\r\n");
}

TEST_F(MemcachedSessionTest, KeysWithControlBytesAreForwardedAsMemcachedTakesThem) {
  const std::string input = "get \x10\x10key\x01\r\n";
  PendingRequest* req = plan(input);
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, input);
  EXPECT_EQ(backend_of(req, 0), owner("\x10\x10key\x01"));
}

TEST_F(MemcachedSessionTest, BareNewlineRequestsAreReencoded) {
  PendingRequest* req = plan("set foo 0 0 1\nx\r\n");
  EXPECT_EQ(req->fragments[0].payload, "set foo 0 0 1\r\nx\r\n");
  EXPECT_EQ(plan("get  foo\n")->fragments[0].payload, "get foo\r\n");
}

TEST_F(MemcachedSessionTest, GetOfKeysOnSeveralBackendsIsSplitAndMergedInKeyOrder) {
  auto k = keys_apart();  // k[0], k[1], k[2] on three backends
  const std::string input = "get " + k[0] + " " + k[1] + " " + k[2] + " " + k[0] + "\r\n";
  PendingRequest* req = plan(input);
  ASSERT_EQ(req->fragments.size(), 3u);
  size_t f0 = fragment_for(req, k[0]), f1 = fragment_for(req, k[1]), f2 = fragment_for(req, k[2]);
  EXPECT_EQ(req->fragments[f0].payload, "get " + k[0] + "\r\n");  // asked once, answered twice
  EXPECT_EQ(req->fragments[f1].payload, "get " + k[1] + "\r\n");
  const std::string v0 = "VALUE " + k[0] + " 1 2\r\naa\r\n";
  const std::string v2 = "VALUE " + k[2] + " 0 5\r\nEND\r\n\r\n";  // data that looks like END
  reply(req, f0, v0 + "END\r\n");
  reply(req, f1, "END\r\n");  // a miss
  reply(req, f2, v2 + "END\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, v0 + v2 + v0 + "END\r\n");
}

TEST_F(MemcachedSessionTest, GatKeepsItsExptimeInEveryPart) {
  auto k = keys_apart();
  PendingRequest* req = plan("gats 300 " + k[0] + " " + k[1] + "\r\n");
  ASSERT_EQ(req->fragments.size(), 2u);
  EXPECT_EQ(req->fragments[fragment_for(req, k[1])].payload, "gats 300 " + k[1] + "\r\n");
  const std::string v1 = "VALUE " + k[1] + " 0 1 99\r\nz\r\n";
  reply(req, fragment_for(req, k[0]), "END\r\n");
  reply(req, fragment_for(req, k[1]), v1 + "END\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, v1 + "END\r\n");
}

TEST_F(MemcachedSessionTest, SplitWithAFailedPartNamesTheBackend) {
  auto k = keys_apart();
  PendingRequest* req = plan("get " + k[0] + " " + k[1] + "\r\n");
  reply(req, fragment_for(req, k[0]), "END\r\n");
  Fragment& failed = req->fragments[fragment_for(req, k[1])];
  failed.state = FragmentState::kFailed;
  failed.error = owner(k[1]) + ": request timed out";
  session_->complete(*req);
  EXPECT_EQ(req->reply, "SERVER_ERROR ringleader: " + owner(k[1]) + ": request timed out\r\n");
}

TEST_F(MemcachedSessionTest, SplitWithAnErrorLinePassesItThrough) {
  auto k = keys_apart();
  PendingRequest* req = plan("get " + k[0] + " " + k[1] + "\r\n");
  reply(req, fragment_for(req, k[0]), "VALUE " + k[0] + " 0 1\r\nx\r\nEND\r\n");
  reply(req, fragment_for(req, k[1]), "SERVER_ERROR out of memory\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "SERVER_ERROR out of memory\r\n");
}

TEST_F(MemcachedSessionTest, SplitWithAnItemNotAskedForIsAnError) {
  auto k = keys_apart();
  PendingRequest* req = plan("get " + k[0] + " " + k[1] + "\r\n");
  reply(req, fragment_for(req, k[0]), "VALUE other 0 1\r\nx\r\nEND\r\n");
  reply(req, fragment_for(req, k[1]), "END\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply.rfind("SERVER_ERROR ringleader: ", 0), 0u) << req->reply;
}

TEST_F(MemcachedSessionTest, FlushAllGoesToEveryBackendAndIsOkOnlyIfAllAre) {
  PendingRequest* req = plan("flush_all 10\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(req->fragments[i].payload, "flush_all 10\r\n");
    reply(req, i, "OK\r\n");
  }
  session_->complete(*req);
  EXPECT_EQ(req->reply, "OK\r\n");

  PendingRequest* bad = plan("flush_all\r\n");
  for (size_t i = 0; i < 3; ++i)
    reply(bad, i, i == 1 ? "SERVER_ERROR busy\r\n" : "OK\r\n");
  session_->complete(*bad);
  EXPECT_EQ(bad->reply, "SERVER_ERROR busy\r\n");

  PendingRequest* quiet = plan("flush_all noreply\r\n");
  EXPECT_EQ(quiet->fragments[0].payload, "flush_all\r\n");
}

TEST_F(MemcachedSessionTest, FlushAllReachesEjectedBackendsToo) {
  // An ejected backend gets its part too (its pool still exists and retries): left out, an OK
  // would let its old data come back when it returns. When its part fails, so does flush_all.
  config_.backends[1].state = ring::BackendState::kDown;
  ring_ = ring::Ring::build(config_.backends, config_.ring, 6).value();
  PendingRequest* req = plan("flush_all\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    if (backend_of(req, i) == "mc1") {
      req->fragments[i].state = FragmentState::kFailed;
      req->fragments[i].error = "backend mc1 is unavailable";
    } else {
      reply(req, i, "OK\r\n");
    }
  }
  session_->complete(*req);
  EXPECT_EQ(req->reply, "SERVER_ERROR ringleader: backend mc1 is unavailable\r\n");
}

TEST_F(MemcachedSessionTest, LocalAnswers) {
  struct Case {
    std::string input, reply;
  };
  for (const Case& c : std::vector<Case>{
           {"version\r\n", "VERSION 1.6.0-ringleader-0.1.0\r\n"},
           {"verbosity 1\r\n", "OK\r\n"},
           {"verbosity 1 noreply\r\n", ""},
           {"verbosity\r\n", "ERROR\r\n"},
           {"verbosity noreply\r\n", ""},
           {"verbosity 1 2\r\n", "OK\r\n"},
           {"verbosity 1 2 3\r\n", "ERROR\r\n"},
           {"verbosity x\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"stats noreply\r\n", "ERROR\r\n"},
           {"bogus\r\n", "ERROR\r\n"},
           {"GET foo\r\n", "ERROR\r\n"},  // commands are case-sensitive, as in memcached
           {"\r\n", "ERROR\r\n"},
           {"get\r\n", "ERROR\r\n"},
           {"gets\r\n", "ERROR\r\n"},
           {"gat\r\n", "ERROR\r\n"},
           {"gat 10\r\n", "END\r\n"},  // an exptime and no keys: nothing found, as in memcached
           {"gats 10\r\n", "END\r\n"},
           {"gat x\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
           // memcached's answer to a key over 250 bytes, in every command
           {"get " + std::string(251, 'k') + "\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"delete " + std::string(251, 'k') + "\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"touch " + std::string(251, 'k') + " 1\r\n",
            "CLIENT_ERROR bad command line format\r\n"},
           {"stats cachedump 1 1\r\n",
            "CLIENT_ERROR ringleader does not support 'stats cachedump': it describes one "
            "memcached server; ask the server directly\r\n"},
           {"incr n x\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"},
           {"incr n -1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"},
           {"touch n soon\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
           {"touch n\r\n", "ERROR\r\n"},  // a word count memcached does not take
           {"incr n 1 2 3\r\n", "ERROR\r\n"},
           {"delete\r\n", "ERROR\r\n"},
           {"delete n 5\r\n",
            "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"},
           {"gat x k\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
           {"set k x 0 1\r\nv\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"set k -1 0 1\r\nv\r\n", "CLIENT_ERROR bad command line format\r\n"},
           // A word count a storage command does not take: unknown to memcached.
           {"cas k 0 0 1\r\nv\r\n", "ERROR\r\n"},
           {"set k 0 0 1 x y\r\nv\r\n", "ERROR\r\n"},
           {"flush_all soon\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
           {"flush_all 0 x y\r\n", "ERROR\r\n"},
           {"delete n 0 x\r\n",
            "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"},
       }) {
    PendingRequest* req = plan(c.input);
    EXPECT_TRUE(req->complete) << c.input;
    EXPECT_TRUE(req->fragments.empty()) << c.input;
    EXPECT_EQ(req->reply, c.reply) << c.input;
    EXPECT_FALSE(req->close_after) << c.input;
  }
}

TEST_F(MemcachedSessionTest, UnsupportedCommandsAreNamedInTheError) {
  for (std::string name :
       {"stats slabs", "stats reset", "slabs", "lru_crawler", "watch", "shutdown"}) {
    PendingRequest* req = plan(name + " x\r\n");
    ASSERT_TRUE(req->complete);
    EXPECT_EQ(req->reply.rfind("CLIENT_ERROR ringleader does not support '" + name + "': ", 0), 0u)
        << req->reply;
  }
}

TEST_F(MemcachedSessionTest, MetaCommandsGoToTheKeysOwnerAsReceived) {
  for (std::string input : {"mg foo v f t\r\n", "ms foo 3 T60 F5\r\nabc\r\n", "md foo I T30\r\n",
                            "ma foo N0 J5 v\r\n", "me foo\r\n", "mg foo v Oabc k\r\n"}) {
    PendingRequest* req = plan(input);
    ASSERT_EQ(req->fragments.size(), 1u) << input;
    EXPECT_EQ(backend_of(req, 0), owner("foo")) << input;
    EXPECT_EQ(req->fragments[0].payload, input);
    reply(req, 0, "VA 3 f5\r\nabc\r\n");
    session_->complete(*req);
    EXPECT_EQ(req->reply, "VA 3 f5\r\nabc\r\n") << input;
  }
}

TEST_F(MemcachedSessionTest, MetaKeysInBase64AreHashedAsTheirBytes) {
  // "Zm9v" is "foo": the same place as a get of foo.
  PendingRequest* req = plan("mg Zm9v b v\r\n");
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(backend_of(req, 0), owner("foo"));
  EXPECT_EQ(req->fragments[0].payload, "mg Zm9v b v\r\n");
  // In memcached's words, which differ by command.
  const std::pair<const char*, const char*> kBad[] = {
      {"mg Zm9v= b v\r\n", "CLIENT_ERROR error decoding key\r\n"},
      {"mg Zm9*v b\r\n", "CLIENT_ERROR error decoding key\r\n"},
      {"ms a 1 b\r\nx\r\n", "CLIENT_ERROR error decoding key\r\n"},
      {"md a b\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
      {"ma a b\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
      {"me a b\r\n", "CLIENT_ERROR bad command line format\r\n"}};
  for (const auto& [bad, error] : kBad) {
    PendingRequest* refused = plan(bad);
    ASSERT_TRUE(refused->complete) << bad;
    EXPECT_EQ(refused->reply, error) << bad;
  }
}

// A storage line refused for its flags, exptime, cas value or key takes its data block with
// it: what the client sent as a value is never read as a command (memcached would run
// "delete victim" here). (An ms whose flags memcached refuses is forwarded: memcached skips
// its data block itself.)
TEST_F(MemcachedSessionTest, ARefusedStorageLinesDataBlockIsNotRunAsACommand) {
  for (const std::string& line : std::vector<std::string>{
           "set k abc 0 13", "set k 0 soon 13", "cas k 0 0 13 x",
           "set " + std::string(251, 'k') + " 0 0 13", "ms " + std::string(251, 'k') + " 13"}) {
    PendingRequest* req = plan(line + "\r\ndelete victim\r\n");  // consumed whole
    ASSERT_TRUE(req->complete) << line;
    EXPECT_TRUE(req->fragments.empty()) << line;
    EXPECT_EQ(req->reply.rfind("CLIENT_ERROR ", 0), 0u) << line << ": " << req->reply;
  }
}

TEST_F(MemcachedSessionTest, MeDecodesItsKeyOnlyWhenTheWordAfterItIsB) {
  // As memcached 1.6.18 reads me: "b" right after the key, and nothing else, means base64.
  // A key whose decoded bytes live elsewhere than the key as written shows which was hashed.
  std::string encoded, plain;
  for (const auto& [e, p] : {std::pair{"Zm9v", "foo"},
                             {"YmFy", "bar"},
                             {"YmF6", "baz"},
                             {"cXV4", "qux"},
                             {"a2V5", "key"},
                             {"YWJj", "abc"}}) {
    if (owner(e) != owner(p)) {
      encoded = e;
      plain = p;
      break;
    }
  }
  ASSERT_FALSE(encoded.empty()) << "no key here whose base64 form lives elsewhere";
  PendingRequest* req = plan("me " + encoded + " b\r\n");
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(backend_of(req, 0), owner(plain));
  // me reads no q either: forwarded as received ("me KEY q b" stripped of q would decode).
  req = plan("me " + encoded + " q b\r\n");
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, "me " + encoded + " q b\r\n");
  for (const std::string flags : {" bx", " x b", ""}) {
    req = plan("me " + encoded + flags + "\r\n");
    ASSERT_EQ(req->fragments.size(), 1u) << flags;
    EXPECT_EQ(backend_of(req, 0), owner(encoded)) << flags;
  }
}

TEST_F(MemcachedSessionTest, QuietMetaCommandsAreSentWithRepliesAndTheProxyDropsWhatQHides) {
  struct Case {
    const char* request;
    const char* forwarded;
    const char* reply;
    const char* client_gets;
  };
  for (const Case& c : {
           Case{"mg foo v q\r\n", "mg foo v\r\n", "EN\r\n", ""},
           Case{"mg foo v q\r\n", "mg foo v\r\n", "VA 1\r\nx\r\n", "VA 1\r\nx\r\n"},
           Case{"mg foo q k\r\n", "mg foo k\r\n", "HD kfoo\r\n", "HD kfoo\r\n"},
           Case{"ms foo 1 q T0\r\nx\r\n", "ms foo 1 T0\r\nx\r\n", "HD\r\n", ""},
           Case{"ms foo 1 q C5\r\nx\r\n", "ms foo 1 C5\r\nx\r\n", "EX\r\n", "EX\r\n"},
           Case{"md foo q O7\r\n", "md foo O7\r\n", "HD O7\r\n", ""},
           Case{"md foo q\r\n", "md foo\r\n", "NF\r\n", "NF\r\n"},
           Case{"ma foo q v\r\n", "ma foo v\r\n", "VA 1\r\n5\r\n", ""},
           Case{"ma foo q\r\n", "ma foo\r\n", "NF\r\n", "NF\r\n"},
           Case{"mg foo q\r\n", "mg foo\r\n", "SERVER_ERROR busy\r\n", "SERVER_ERROR busy\r\n"},
       }) {
    PendingRequest* req = plan(c.request);
    ASSERT_EQ(req->fragments.size(), 1u) << c.request;
    EXPECT_EQ(req->fragments[0].payload, c.forwarded);
    reply(req, 0, c.reply);
    session_->complete(*req);
    EXPECT_EQ(req->reply, c.client_gets) << c.request << " answered " << c.reply;
  }
  // A failure is always heard, quiet or not.
  PendingRequest* failed = plan("ms foo 1 q\r\nx\r\n");
  fail(failed, 0, "backend mc0 (127.0.0.1:11211): connection refused");
  session_->complete(*failed);
  EXPECT_EQ(failed->reply,
            "SERVER_ERROR ringleader: backend mc0 (127.0.0.1:11211): connection refused\r\n");
  // mn is the proxy's: every reply before it has been sent by the time it is answered.
  PendingRequest* noop = plan("mn\r\n");
  ASSERT_TRUE(noop->complete);
  EXPECT_EQ(noop->reply, "MN\r\n");
}

TEST_F(MemcachedSessionTest, MalformedMetaCommands) {
  // Without a key: memcached's answers, which differ by command.
  for (const char* bad : {"mg\r\n", "md\r\n", "ma\r\n"}) {
    PendingRequest* req = plan(bad);
    ASSERT_TRUE(req->complete) << bad;
    EXPECT_EQ(req->reply, "ERROR\r\n") << bad;
  }
  PendingRequest* me = plan("me\r\n");
  ASSERT_TRUE(me->complete);
  EXPECT_EQ(me->reply, "CLIENT_ERROR bad command line format\r\n");
  PendingRequest* long_key = plan("mg " + std::string(251, 'k') + " v\r\n");
  ASSERT_TRUE(long_key->complete);
  EXPECT_EQ(long_key->reply, "CLIENT_ERROR bad command line format\r\n");
  // Without a length there is no data block, and the client goes on: memcached answers such
  // an ms itself (CLIENT_ERROR), the proxy a set (ERROR).
  PendingRequest* ms = plan("ms foo\r\n");
  ASSERT_EQ(ms->fragments.size(), 1u);
  EXPECT_EQ(ms->fragments[0].payload, "ms foo\r\n");
  PendingRequest* set = plan("set foo 0 0\r\n");
  ASSERT_TRUE(set->complete);
  EXPECT_EQ(set->reply, "ERROR\r\n");
}

TEST_F(MemcachedSessionTest, MetaLinesMemcachedWouldMisreadNeverReachIt) {
  // Any flag starting with q is quiet mode to memcached: all of them are stripped, or the
  // backend would leave a reply out and its connection would fall out of step.
  PendingRequest* q1 = plan("mg foo v q1 k\r\n");
  ASSERT_EQ(q1->fragments.size(), 1u);
  EXPECT_EQ(q1->fragments[0].payload, "mg foo v k\r\n");
  reply(q1, 0, "EN\r\n");
  session_->complete(*q1);
  EXPECT_EQ(q1->reply, "");
  // 20 words: memcached would refuse the line without reading ms's data block, then run the
  // block as commands. Refused here, the block read and dropped with it.
  std::string flags;
  for (int i = 0; i < 17; ++i)
    flags += " T0";
  PendingRequest* many = plan("ms foo 3" + flags + "\r\nabc\r\n");
  ASSERT_TRUE(many->complete);
  EXPECT_EQ(many->reply, "CLIENT_ERROR options flags too long\r\n");
  // memcached 1.6.18 words it differently for mg.
  PendingRequest* many_mg = plan("mg foo" + flags + " v v\r\n");
  ASSERT_TRUE(many_mg->complete);
  EXPECT_EQ(many_mg->reply, "CLIENT_ERROR options flags are too long\r\n");
  PendingRequest* ok = plan("ms foo 3" + flags.substr(3) + "\r\nabc\r\n");  // 19 words
  EXPECT_FALSE(ok->complete);
  // Over memcached's line limit (it drops the connection): refused here.
  PendingRequest* long_line = plan("mg foo v O" + std::string(2100, 'o') + "\r\n");
  ASSERT_TRUE(long_line->complete);
  EXPECT_EQ(long_line->reply, "CLIENT_ERROR bad command line format\r\n");
}

TEST_F(MemcachedSessionTest, OversizedMetaSetUnlinksTheKeyAsSetDoes) {
  config_.proxy.max_request_bytes = 64;
  session_ = std::make_unique<MemcachedSession>(env_);
  for (auto [head, payload] :
       {std::pair<std::string, std::string>{"ms big 100 T0\r\n", "md big\r\n"},
        {"ms Zm9v 100 b\r\n", "md Zm9v b\r\n"}}) {
    auto* req = new PendingRequest(nullptr);
    held_.push_back(req);
    size_t consumed = 0;
    ASSERT_EQ(session_->next(head, ring_, *req, &consumed), NextStatus::kRequest);
    ASSERT_EQ(req->fragments.size(), 1u) << head;
    EXPECT_EQ(req->fragments[0].payload, payload);
    EXPECT_EQ(backend_of(req, 0), owner(head.find(" b\r") != std::string::npos ? "foo" : "big"));
    reply(req, 0, "NF\r\n");
    session_->complete(*req);
    EXPECT_EQ(req->reply, "SERVER_ERROR object too large for cache\r\n");
    session_ = std::make_unique<MemcachedSession>(env_);  // the block is not sent here
  }
}

TEST_F(MemcachedSessionTest, StatsAreTheProxysOwn) {
  counters_.workers[0]->requests.store(41);
  counters_.workers[0]->clients_accepted.store(3);
  counters_.workers[0]->bytes_from_clients.store(1234);
  PendingRequest* req = plan("stats\r\n");
  ASSERT_TRUE(req->complete);
  const std::string& r = req->reply;
  EXPECT_EQ(r.rfind("STAT pid ", 0), 0u) << r;
  for (std::string line :
       {"STAT version 1.6.0-ringleader-0.1.0\r\n", "STAT threads 1\r\n", "STAT cmd_total 41\r\n",
        "STAT total_connections 3\r\n", "STAT bytes_read 1234\r\n", "STAT ring_backends 3\r\n"}) {
    EXPECT_NE(r.find(line), std::string::npos) << line << " in:\n" << r;
  }
  EXPECT_TRUE(r.ends_with("\r\nEND\r\n")) << r;
  // Every line but END is "STAT <name> <value>".
  size_t lines = 0;
  for (size_t pos = 0; pos < r.size() - 5; pos = r.find("\r\n", pos) + 2, ++lines) {
    EXPECT_EQ(r.compare(pos, 5, "STAT "), 0) << r.substr(pos);
  }
  EXPECT_EQ(lines, 18u);
}

TEST_F(MemcachedSessionTest, NoreplyRequestsGetNoErrorLineEither) {
  // memcached suppresses its own error lines for noreply requests; so does the proxy, or a
  // noreply client would read the error as the answer to its next request.
  using namespace std::string_literals;
  for (const std::string& input : std::vector<std::string>{
           "incr k abc noreply\r\n", "touch k soon noreply\r\n", "flush_all soon noreply\r\n",
           "delete " + std::string(251, 'k') + " noreply\r\n", "set k x 0 1 noreply\r\nv\r\n",
           "set k\0 0 0 1 noreply\r\nv\r\n"s, "verbosity x noreply\r\n", "incr k noreply\r\n",
           "decr k noreply\r\n", "touch k noreply\r\n"}) {
    PendingRequest* req = plan(input);
    EXPECT_TRUE(req->complete) << input;
    EXPECT_TRUE(req->fragments.empty()) << input;
    EXPECT_EQ(req->reply, "") << input;
  }
  // A key named noreply is a key for get.
  PendingRequest* get = plan("get noreply\r\n");
  ASSERT_EQ(get->fragments.size(), 1u);
  EXPECT_EQ(get->fragments[0].payload, "get noreply\r\n");
}

TEST_F(MemcachedSessionTest, LinesWithNulAreRefused) {
  // memcached reads a command line as a C string: "set k\0 0 0 3" would be "set k" to it, and
  // the data block would run as a command, giving the backend stream one reply too many.
  using namespace std::string_literals;
  for (std::string input : {"set k\0 0 0 3\r\nabc\r\n"s, "get a\0b\r\n"s, "delete \0\r\n"s}) {
    PendingRequest* req = plan(input);
    EXPECT_TRUE(req->complete);
    EXPECT_TRUE(req->fragments.empty());
    EXPECT_EQ(req->reply, "CLIENT_ERROR bad command line format\r\n");
  }
}

TEST_F(MemcachedSessionTest, PaddedLinesAreRewrittenWithSingleSpaces) {
  // memcached closes a connection that sends over 2048 bytes without a newline (get and gets
  // excepted): padding must not reach it.
  const std::string padded = "touch k" + std::string(5000, ' ') + "10\r\n";
  PendingRequest* req = plan(padded);
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, "touch k 10\r\n");
  EXPECT_EQ(plan("set  k 0 0 1\r\nv\r\n")->fragments[0].payload, "set k 0 0 1\r\nv\r\n");
}

TEST_F(MemcachedSessionTest, NumbersTakeLeadingZerosAsMemcachedDoes) {
  // memcached reads its numbers with strtoull / strtol: any number of leading zeros.
  const std::string zeros(24, '0');
  for (const std::string& line :
       {"incr a " + zeros + "1\r\n", "touch a " + zeros + "10\r\n",
        "set b " + zeros + "7 0 1\r\nx\r\n", "set b 0 0 " + zeros + "1\r\nx\r\n",
        "cas a 0 0 1 " + zeros + "1\r\nx\r\n"}) {
    PendingRequest* req = plan(line);
    EXPECT_FALSE(req->complete) << line << req->reply;
    EXPECT_EQ(req->fragments.size(), 1u) << line;
  }
  EXPECT_EQ(plan("incr a 99999999999999999999\r\n")->reply,
            "CLIENT_ERROR invalid numeric delta argument\r\n");  // past 2^64 still is not
}

TEST_F(MemcachedSessionTest, NumbersTakeWhiteSpaceAroundThemAsMemcachedDoes) {
  // strtol skips C white space before a number, and memcached takes one followed by white
  // space (the rest of the word unread). Words are split on ' ' only, so these are one word.
  for (const std::string line :
       {"set b 1\v 0 1\r\nx\r\n", "set b 0 \t5 1\r\nx\r\n", "set b 0 0 1\t\r\nx\r\n",
        "set b 0 0 1\fx\r\nx\r\n", "touch a 1\v\r\n", "incr a 1\t\r\n", "gat \r10 a\r\n",
        "cas a 0 0 1 \v7\r\nx\r\n"}) {
    PendingRequest* req = plan(line);
    EXPECT_FALSE(req->complete) << ::testing::PrintToString(line) << req->reply;
    EXPECT_EQ(req->fragments.size(), 1u) << ::testing::PrintToString(line);
  }
  // Not a number: white space alone, or letters right after the digits.
  EXPECT_EQ(plan("touch a \v\r\n")->reply, "CLIENT_ERROR invalid exptime argument\r\n");
  EXPECT_EQ(plan("incr a 1x\t\r\n")->reply, "CLIENT_ERROR invalid numeric delta argument\r\n");
}

TEST_F(MemcachedSessionTest, LongBgetIsCutUnderMemcachedsLineLimit) {
  // bget is get by another name, but memcached reads only get and gets lines past 2048
  // bytes: a longer bget line resets the backend connection, failing every client's
  // requests on it. So it is cut as gat is, even when one backend owns every key.
  for (const bool one_owner : {true, false}) {
    std::string input = "bget";
    for (int i = 0; i < 300; ++i)
      input += (one_owner ? " {t}key-" : " key-") + std::to_string(i);
    input += "\r\n";
    session_ = std::make_unique<MemcachedSession>(env_);
    PendingRequest* req = plan(input);
    ASSERT_GT(req->fragments.size(), 1u) << one_owner;
    for (const Fragment& f : req->fragments) {
      EXPECT_LE(f.payload.size(), 2000u) << one_owner;
      EXPECT_EQ(f.payload.rfind("bget ", 0), 0u) << one_owner;
    }
  }
  // get and gets lines of any length go as they are.
  std::string get = "get";
  for (int i = 0; i < 300; ++i)
    get += " {t}key-" + std::to_string(i);
  get += "\r\n";
  PendingRequest* whole = plan(get);
  ASSERT_EQ(whole->fragments.size(), 1u);
  EXPECT_EQ(whole->fragments[0].payload, get);
}

TEST_F(MemcachedSessionTest, LongGatIsCutUnderMemcachedsLineLimit) {
  std::string input = "gat 60";
  std::vector<std::string> keys;
  for (int i = 0; i < 600; ++i) {
    keys.push_back("a-rather-long-key-name-" + std::to_string(i));
    input += " " + keys.back();
  }
  input += "\r\n";
  PendingRequest* req = plan(input);
  ASSERT_GT(req->fragments.size(), 3u);  // more parts than backends
  for (const Fragment& f : req->fragments) {
    EXPECT_LE(f.payload.size(), 2000u);
    EXPECT_EQ(f.payload.rfind("gat 60 ", 0), 0u);
  }
  // Every part answers all its keys; the client gets all 600 in its order.
  for (size_t i = 0; i < req->fragments.size(); ++i) {
    std::string_view words = req->fragments[i].payload;
    words.remove_prefix(7);
    words.remove_suffix(2);
    std::string r;
    while (!words.empty()) {
      size_t end = words.find(' ');
      std::string key(words.substr(0, end));
      r += "VALUE " + key + " 0 " + std::to_string(key.size()) + "\r\n" + key + "\r\n";
      words.remove_prefix(end == std::string_view::npos ? words.size() : end + 1);
    }
    reply(req, i, r + "END\r\n");
  }
  session_->complete(*req);
  std::string expected;
  for (const std::string& key : keys)
    expected += "VALUE " + key + " 0 " + std::to_string(key.size()) + "\r\n" + key + "\r\n";
  EXPECT_EQ(req->reply, expected + "END\r\n");

  // get and gets lines have no such limit: one part per backend.
  input.replace(0, 6, "get");
  EXPECT_LE(plan(input)->fragments.size(), 3u);
}

TEST_F(MemcachedSessionTest, RepeatedKeysAreAskedOnce) {
  PendingRequest* req = plan(get_repeated("same", 1000));
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, "get same\r\n");
  const std::string item = "VALUE same 0 1\r\nx\r\n";
  reply(req, 0, item + "END\r\n");
  session_->complete(*req);
  std::string expected;
  for (int i = 0; i < 1000; ++i)
    expected += item;
  EXPECT_EQ(req->reply, expected + "END\r\n");
}

TEST_F(MemcachedSessionTest, OversizedDataBlockIsAnsweredAndSkippedAsItArrives) {
  config_.proxy.max_request_bytes = 64;
  session_ = std::make_unique<MemcachedSession>(env_);
  const std::string head = "set big 0 0 100\r\n";
  const std::string block = std::string(100, 'x') + "\r\n";
  auto* req = new PendingRequest(nullptr);
  held_.push_back(req);
  size_t consumed = 0;
  ASSERT_EQ(session_->next(head + block.substr(0, 30), ring_, *req, &consumed),
            NextStatus::kRequest);
  EXPECT_EQ(consumed, head.size());
  // As memcached does, a refused set also unlinks the key, so its old value is not served.
  ASSERT_EQ(req->fragments.size(), 1u);
  EXPECT_EQ(req->fragments[0].payload, "delete big\r\n");
  EXPECT_EQ(backend_of(req, 0), owner("big"));
  reply(req, 0, "NOT_FOUND\r\n");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "SERVER_ERROR object too large for cache\r\n");
  // The block is dropped in whatever pieces it comes, never held whole.
  size_t dropped = 0;
  std::string_view rest = std::string_view(block).substr(0, 30);
  auto* next_req = new PendingRequest(nullptr);
  held_.push_back(next_req);
  ASSERT_EQ(session_->next(rest, ring_, *next_req, &consumed), NextStatus::kDiscarded);
  dropped += consumed;
  const std::string tail = block.substr(30) + "get k\r\n";
  ASSERT_EQ(session_->next(tail, ring_, *next_req, &consumed), NextStatus::kDiscarded);
  dropped += consumed;
  EXPECT_EQ(dropped, block.size());
  // Then the next request, as usual.
  ASSERT_EQ(session_->next("get k\r\n", ring_, *next_req, &consumed), NextStatus::kRequest);
  EXPECT_EQ(next_req->fragments.size(), 1u);
}

TEST_F(MemcachedSessionTest, AnOversizedSetWithAMalformedLineUnlinksNothing) {
  // memcached refuses the line before it sizes the item, and leaves the key as it was.
  config_.proxy.max_request_bytes = 64;
  for (const auto& [line, reply] : std::vector<std::pair<std::string, std::string>>{
           {"set k abc 0 100\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"set k 0 x 100\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"set k -1 0 100\r\n", "CLIENT_ERROR bad command line format\r\n"},
           {"set k 0 0 100 a b\r\n", "ERROR\r\n"}}) {
    session_ = std::make_unique<MemcachedSession>(env_);
    PendingRequest* req = plan(line);
    EXPECT_TRUE(req->complete) << line;
    EXPECT_TRUE(req->fragments.empty()) << line;
    EXPECT_EQ(req->reply, reply) << line;
  }
}

TEST_F(MemcachedSessionTest, AnOversizedMsLineMemcachedRefusesWholeUnlinksNothing) {
  // 20 words or more, or a line past memcached's limit: refused as a line that size is,
  // before the item is sized, and the key is left as it was.
  config_.proxy.max_request_bytes = 4096;
  std::string many = "ms k 5000";
  for (const char* flag :
       {"I", "L", "P", "c", "f", "h", "k", "l", "s", "t", "u", "v", "T0", "F0", "O1", "N0", "R0"})
    many += std::string(" ") + flag;
  for (const auto& [line, reply] : std::vector<std::pair<std::string, std::string>>{
           {many + "\r\n", "CLIENT_ERROR options flags too long\r\n"},
           {"ms k 5000 O" + std::string(2100, '1') + "\r\n",
            "CLIENT_ERROR bad command line format\r\n"}}) {
    session_ = std::make_unique<MemcachedSession>(env_);
    PendingRequest* req = plan(line);
    EXPECT_TRUE(req->complete) << line.substr(0, 40);
    EXPECT_TRUE(req->fragments.empty()) << line.substr(0, 40);
    EXPECT_EQ(req->reply, reply) << line.substr(0, 40);
  }
}

TEST_F(MemcachedSessionTest, OversizedOtherStorageCommandsAreRefusedWithoutABackend) {
  config_.proxy.max_request_bytes = 64;
  session_ = std::make_unique<MemcachedSession>(env_);
  PendingRequest* req = plan("append big 0 0 100\r\n");
  EXPECT_TRUE(req->complete);
  EXPECT_TRUE(req->fragments.empty());
  EXPECT_EQ(req->reply, "SERVER_ERROR object too large for cache\r\n");
}

TEST_F(MemcachedSessionTest, ALineWithNulAndAnOversizedBlockStillSkipsTheBlock) {
  using namespace std::string_literals;
  config_.proxy.max_request_bytes = 64;
  session_ = std::make_unique<MemcachedSession>(env_);
  const std::string head = "set k\0 0 0 100\r\n"s;
  PendingRequest* req = plan(head);
  EXPECT_EQ(req->reply, "CLIENT_ERROR bad command line format\r\n");
  // The block is dropped, not run as commands.
  auto* next_req = new PendingRequest(nullptr);
  held_.push_back(next_req);
  size_t consumed = 0;
  const std::string block = "flush_all\r\n" + std::string(89, 'x') + "\r\n";
  ASSERT_EQ(session_->next(block, ring_, *next_req, &consumed), NextStatus::kDiscarded);
  EXPECT_EQ(consumed, block.size());
}

TEST_F(MemcachedSessionTest, OneWordAfterTheArgumentsIsIgnoredAsMemcachedIgnoresIt) {
  for (std::string input : {"set k 0 0 1 extra\r\nv\r\n", "cas k 0 0 1 5 extra\r\nv\r\n",
                            "incr k 1 extra\r\n", "touch k 10 extra\r\n"}) {
    PendingRequest* req = plan(input);
    EXPECT_FALSE(req->complete) << input;
    EXPECT_EQ(req->fragments.size(), 1u) << input;
  }
  PendingRequest* flush = plan("flush_all 10 extra\r\n");
  ASSERT_FALSE(flush->fragments.empty());
  EXPECT_EQ(flush->fragments[0].payload, "flush_all 10\r\n");
  // delete takes no such word; with noreply its error is silent, as memcached's is.
  PendingRequest* del = plan("delete k 10 noreply\r\n");
  EXPECT_TRUE(del->complete);
  EXPECT_TRUE(del->fragments.empty());
  EXPECT_EQ(del->reply, "");
}

TEST_F(MemcachedSessionTest, NoreplyCountsOnlyWithAWordCountTheCommandTakes) {
  // "delete noreply" deletes the key named noreply, as in memcached.
  PendingRequest* del = plan("delete noreply\r\n");
  ASSERT_EQ(del->fragments.size(), 1u);
  EXPECT_EQ(del->fragments[0].payload, "delete noreply\r\n");
  EXPECT_EQ(static_cast<MergeKind>(del->merge.kind), MergeKind::kPass);
  // Wrong word counts are answered even when the last word is noreply.
  for (std::string input : {"incr noreply\r\n", "touch k 1 2 noreply\r\n",
                            "flush_all 1 2 noreply\r\n", "set k 0 0 1 2 noreply\r\nv\r\n"}) {
    PendingRequest* req = plan(input);
    EXPECT_TRUE(req->complete) << input;
    EXPECT_NE(req->reply, "") << input;
  }
}

TEST_F(MemcachedSessionTest, RepeatsMayNotInflateAReplyWithoutBound) {
  // One 1 MiB item asked 70 times: 69 MiB of copies, over the 64 MiB repeats may add.
  PendingRequest* req = plan(get_repeated("big", 70));
  ASSERT_EQ(req->fragments.size(), 1u);
  reply(req, 0, "VALUE big 0 1048576\r\n" + std::string(1048576, 'v') + "\r\nEND\r\n");
  session_->complete(*req);
  EXPECT_EQ(
      req->reply.rfind("SERVER_ERROR ringleader: the keys asked again would repeat over 64 MiB", 0),
      0u)
      << req->reply.substr(0, 80);
  // 60 copies are within the bound.
  PendingRequest* ok = plan(get_repeated("big", 60));
  reply(ok, 0, "VALUE big 0 1048576\r\n" + std::string(1048576, 'v') + "\r\nEND\r\n");
  session_->complete(*ok);
  EXPECT_EQ(ok->reply.size(), 60 * (21 + 1048576 + 2) + 5u);
}

TEST_F(MemcachedSessionTest, QuitClosesWithoutAReply) {
  PendingRequest* req = plan("quit\r\n");
  EXPECT_TRUE(req->complete);
  EXPECT_TRUE(req->close_after);
  EXPECT_EQ(req->reply, "");
}

TEST_F(MemcachedSessionTest, UnframableRequestIsFatalWithItsErrorLine) {
  PendingRequest* req = plan("set k 0 0 3\r\nabcdef\r\n", NextStatus::kFatal);
  EXPECT_EQ(req->reply, "CLIENT_ERROR bad data chunk\r\n");
  // Answered by the proxy: its latency counts as local, not as a read.
  EXPECT_EQ(static_cast<LatencyClass>(req->latency_class), LatencyClass::kLocal);
}

// A noreply storage line with a bad data block closes the client without the error line:
// memcached prints none either, and a client pipelining reads it as a later request's answer.
// memcached reads a line up to a NUL byte: "mn\0" would run as mn. Refused as every line
// with a NUL is, not answered as an unknown command.
TEST_F(MemcachedSessionTest, ALineWithANulIsRefusedWhateverItsFirstWord) {
  EXPECT_EQ(plan(std::string("mn\0\r\n", 5))->reply, "CLIENT_ERROR bad command line format\r\n");
  EXPECT_EQ(plan(std::string("get\0k\r\n", 7))->reply, "CLIENT_ERROR bad command line format\r\n");
  EXPECT_EQ(plan("frobnicate\r\n")->reply, "ERROR\r\n");
}

TEST_F(MemcachedSessionTest, UnframableNoreplyRequestIsFatalWithoutALine) {
  EXPECT_EQ(plan("set k 0 0 3 noreply\r\nabcdef\r\n", NextStatus::kFatal)->reply, "");
  EXPECT_EQ(plan("cas k 0 0 3 1 noreply\r\nabcdef\r\n", NextStatus::kFatal)->reply, "");
  // Only a word count the command takes has a noreply (the key is "noreply" here), and a
  // quiet meta set is answered: memcached prints the error for both.
  EXPECT_EQ(plan("set noreply 0 0 3\r\nabcdef\r\n", NextStatus::kFatal)->reply,
            "CLIENT_ERROR bad data chunk\r\n");
  EXPECT_EQ(plan("ms k 3 q\r\nabcdef\r\n", NextStatus::kFatal)->reply,
            "CLIENT_ERROR bad data chunk\r\n");
}

TEST_F(MemcachedSessionTest, PipelinedInputIsTakenOneRequestAtATime) {
  const std::string input = "get a\r\nset b 0 0 1\r\nx\r\nversion\r\n";
  std::string_view rest = input;
  std::vector<bool> local;
  while (!rest.empty()) {
    auto* req = new PendingRequest(nullptr);
    held_.push_back(req);
    size_t consumed = 0;
    ASSERT_EQ(session_->next(rest, ring_, *req, &consumed), NextStatus::kRequest);
    local.push_back(req->complete);
    rest.remove_prefix(consumed);
  }
  EXPECT_EQ(local, (std::vector<bool>{false, false, true}));
}

// With ring.replicas = 2.
class MemcachedReplicatedSessionTest : public testing::SessionFixture<MemcachedSession> {
 protected:
  void SetUp() override { build(config::Protocol::kMemcached, "mc", 11211, 2); }
};

TEST_F(MemcachedReplicatedSessionTest, EachCommandSaysHowItUsesTheReplicas) {
  struct Case {
    const char* request;
    Access access;
  };
  for (const Case& c :
       {Case{"get k\r\n", Access::kRead}, Case{"gets k\r\n", Access::kReadPrimary},
        Case{"gat 10 k\r\n", Access::kReadPrimary}, Case{"set k 0 0 1\r\nx\r\n", Access::kWrite},
        Case{"set k 0 0 1 noreply\r\nx\r\n", Access::kWrite}, Case{"delete k\r\n", Access::kWrite},
        Case{"incr k 1\r\n", Access::kWrite}, Case{"touch k 10\r\n", Access::kWrite},
        Case{"mg k v\r\n", Access::kRead}, Case{"mg k v q k O1\r\n", Access::kRead},
        Case{"mg k v c\r\n", Access::kReadPrimary}, Case{"mg k v N30\r\n", Access::kReadPrimary},
        Case{"mg k T30\r\n", Access::kReadPrimary}, Case{"me k\r\n", Access::kReadPrimary},
        Case{"ms k 1 T0\r\nx\r\n", Access::kWrite}, Case{"md k\r\n", Access::kWrite},
        Case{"ma k D5\r\n", Access::kWrite}}) {
    PendingRequest* req = plan(c.request);
    // gat of one key: a touch of the other replica waits for the read to hit.
    const bool gat = std::string_view(c.request).starts_with("gat ");
    ASSERT_EQ(req->fragments.size(), gat ? 2u : 1u) << c.request;
    if (gat) {
      const Fragment& touch = req->fragments[1];
      EXPECT_EQ(touch.payload, "touch k 10\r\n");
      EXPECT_EQ(touch.backend, replicas("k")[1]);
      EXPECT_EQ(touch.after, 0u);
      EXPECT_EQ(touch.after_reply, "VALUE ");
    }
    const Fragment& f = req->fragments[0];
    EXPECT_EQ(f.access, c.access) << c.request;
    EXPECT_EQ(f.backend, replicas("k").primary()) << c.request;
    if (c.access == Access::kWrite) {
      EXPECT_TRUE(f.replicas == replicas("k")) << c.request;
    } else {
      EXPECT_TRUE(f.replicas_deferred) << c.request;
      EXPECT_EQ(f.key_hash, ring_->hash("k")) << c.request;
    }
  }
}

TEST_F(MemcachedReplicatedSessionTest, SplitGetsGroupByReplicaSet) {
  std::string get = "get";
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) {
    keys.push_back("key" + std::to_string(i));
    get += " " + keys.back();
  }
  PendingRequest* req = plan(get + "\r\n");
  ASSERT_EQ(req->merge.slots.size(), keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    const Fragment& f = req->fragments[req->merge.slots[k].first];
    EXPECT_TRUE(f.replicas == replicas(keys[k])) << keys[k];
    EXPECT_EQ(f.access, Access::kRead);
  }
}

TEST_F(MemcachedReplicatedSessionTest, CasGoesToThePrimaryAndTheOtherReplicasDropTheKey) {
  PendingRequest* req = plan("cas k 0 0 1 77\r\nx\r\n");
  ASSERT_EQ(req->fragments.size(), 2u);
  const ring::ReplicaSet set = replicas("k");
  EXPECT_EQ(req->fragments[0].access, Access::kDirect);
  EXPECT_EQ(req->fragments[0].backend, set[0]);
  EXPECT_EQ(req->fragments[0].payload, "cas k 0 0 1 77\r\nx\r\n");
  EXPECT_EQ(req->fragments[1].access, Access::kDirect);
  EXPECT_EQ(req->fragments[1].backend, set[1]);
  EXPECT_EQ(req->fragments[1].payload, "delete k\r\n");
  EXPECT_EQ(req->fragments[0].after, Fragment::kNoAfter);
  EXPECT_EQ(req->fragments[1].after, 0u);  // only once the primary answered STORED
  EXPECT_EQ(req->fragments[1].after_reply, "STORED\r\n");
  // The primary answers, whatever the other replica said or whether it answered at all.
  reply(req, 0, "STORED\r\n");
  fail(req, 1, "backend mc1 (127.0.0.1:11212): timeout after 5 ms");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "STORED\r\n");
  // A primary that did not answer is the client's error.
  PendingRequest* failed = plan("cas k 0 0 1 77\r\nx\r\n");
  fail(failed, 0, "backend mc0 (127.0.0.1:11211): connection refused");
  reply(failed, 1, "DELETED\r\n");
  session_->complete(*failed);
  EXPECT_EQ(failed->reply,
            "SERVER_ERROR ringleader: backend mc0 (127.0.0.1:11211): connection refused\r\n");
  // noreply: nothing comes back either way.
  PendingRequest* quiet = plan("cas k 0 0 1 77 noreply\r\nx\r\n");
  ASSERT_EQ(quiet->fragments.size(), 2u);
  EXPECT_EQ(quiet->fragments[0].payload, "cas k 0 0 1 77\r\nx\r\n");
  reply(quiet, 0, "EXISTS\r\n");
  reply(quiet, 1, "NOT_FOUND\r\n");
  session_->complete(*quiet);
  EXPECT_EQ(quiet->reply, "");
}

// add and replace store only when the key is absent (present): the primary decides, and once
// it stored the item the other replicas get it as a plain set.
TEST_F(MemcachedReplicatedSessionTest, AddAndReplaceAreDecidedByThePrimary) {
  const ring::ReplicaSet set = replicas("k");
  for (const char* command : {"add", "replace"}) {
    const std::string request = std::string(command) + " k 5 60 3 noreply\r\nabc\r\n";
    PendingRequest* req = plan(request);
    ASSERT_EQ(req->fragments.size(), 2u) << command;
    EXPECT_EQ(req->fragments[0].access, Access::kDirect);
    EXPECT_EQ(req->fragments[0].backend, set[0]);
    EXPECT_EQ(req->fragments[0].payload, std::string(command) + " k 5 60 3\r\nabc\r\n");
    EXPECT_EQ(req->fragments[1].backend, set[1]);
    EXPECT_EQ(req->fragments[1].payload, "set k 5 60 3\r\nabc\r\n");
    EXPECT_EQ(req->fragments[1].after, 0u);
    EXPECT_EQ(req->fragments[1].after_reply, "STORED\r\n");
  }
  EXPECT_EQ(complete_unapplied(plan("add k 0 0 1\r\nx\r\n"), "NOT_STORED\r\n"), "NOT_STORED\r\n");
  // The meta forms: ms in mode E (add) or R (replace); the others get a plain ms.
  for (const char* mode : {"ME", "Mr"}) {
    PendingRequest* meta = plan(std::string("ms k 3 T60 ") + mode + " q F5\r\nabc\r\n");
    ASSERT_EQ(meta->fragments.size(), 3u) << mode;
    EXPECT_EQ(meta->fragments[0].access, Access::kDirect);
    EXPECT_EQ(meta->fragments[0].payload, std::string("ms k 3 T60 ") + mode + " F5\r\nabc\r\n");
    EXPECT_EQ(meta->fragments[1].payload, "ms k 3 T60 F5\r\nabc\r\n");
    EXPECT_EQ(meta->fragments[1].after_reply, "HD");
    // Refused by the primary for want of room (memcached then unlinks the item there): the
    // other replicas drop their copy.
    EXPECT_EQ(meta->fragments[2].backend, set[1]);
    EXPECT_EQ(meta->fragments[2].payload, "md k\r\n");
    EXPECT_EQ(meta->fragments[2].after, 0u);
    EXPECT_EQ(meta->fragments[2].after_reply, "SERVER_ERROR");
    EXPECT_EQ(complete_unapplied(meta, "NS\r\n"), "NS\r\n");
  }
  // Append, prepend and set modes write every replica as one write.
  EXPECT_EQ(plan("ms k 1 MA\r\nx\r\n")->fragments[0].access, Access::kWrite);
  // A plain set still writes every replica as one write.
  PendingRequest* plain = plan("set k 0 0 1\r\nx\r\n");
  ASSERT_EQ(plain->fragments.size(), 1u);
  EXPECT_EQ(plain->fragments[0].access, Access::kWrite);
}

TEST_F(MemcachedReplicatedSessionTest, MetaCasGoesToThePrimaryAndTheOtherReplicasDropTheKey) {
  PendingRequest* req = plan("ms k 1 C77 q\r\nx\r\n");
  ASSERT_EQ(req->fragments.size(), 3u);  // the third drops the copies after a SERVER_ERROR
  const ring::ReplicaSet set = replicas("k");
  EXPECT_EQ(req->fragments[0].backend, set[0]);
  EXPECT_EQ(req->fragments[0].payload, "ms k 1 C77\r\nx\r\n");
  EXPECT_EQ(req->fragments[1].backend, set[1]);
  EXPECT_EQ(req->fragments[1].payload, "md k\r\n");
  EXPECT_EQ(req->fragments[1].after, 0u);
  EXPECT_EQ(req->fragments[1].after_reply, "HD");  // HD, with whatever flags follow
  EXPECT_EQ(req->fragments[2].after_reply, "SERVER_ERROR");
  reply(req, 0, "HD\r\n");
  reply(req, 1, "HD\r\n");
  reply(req, 2, "");
  session_->complete(*req);
  EXPECT_EQ(req->reply, "");  // quiet: the success is not heard
  // A base64 key is dropped in base64.
  PendingRequest* b64 = plan("md Zm9v b C5\r\n");
  const ring::ReplicaSet foo = replicas("foo");
  ASSERT_EQ(b64->fragments.size(), 2u);
  EXPECT_EQ(b64->fragments[0].backend, foo[0]);
  EXPECT_EQ(b64->fragments[1].backend, foo[1]);
  EXPECT_EQ(b64->fragments[1].payload, "md Zm9v b\r\n");
  EXPECT_EQ(complete_unapplied(b64, "EX\r\n"), "EX\r\n");  // the primary did not delete
  // ma with v answers the new number: that, not HD, says it was applied.
  PendingRequest* incr = plan("ma k C5 v\r\n");
  ASSERT_EQ(incr->fragments.size(), 2u);
  EXPECT_EQ(incr->fragments[1].after_reply, "VA ");
  EXPECT_EQ(plan("ma k C5\r\n")->fragments[1].after_reply, "HD");
}

TEST(MemcachedProtocolTest, MissesOfGetAndMetaGet) {
  MemcachedProtocol protocol;
  for (const char* miss : {"END\r\n", "EN\r\n", "EN O12 kfoo\r\n"})
    EXPECT_TRUE(protocol.is_miss_reply(miss)) << miss;
  for (const char* hit : {"VALUE k 0 1\r\nx\r\nEND\r\n", "VA 1\r\nx\r\n", "HD\r\n", "ENX\r\n"})
    EXPECT_FALSE(protocol.is_miss_reply(hit)) << hit;
}

}  // namespace
}  // namespace ringleader::proxy::memcached

namespace ringleader::proxy::memcached {
namespace {

// A retrieval's items must be for keys it asked, in its order: anything else means the
// backend's replies are out of step with the requests (MemcachedProtocol::misanswers).
TEST(MemcachedProtocolTest, ItemsForKeysNotAskedForAreMisanswers) {
  MemcachedProtocol protocol;
  std::string why;
  const auto mis = [&](std::string_view payload, std::string_view reply) {
    why.clear();
    return protocol.misanswers(payload, reply, &why);
  };
  EXPECT_FALSE(mis("get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n"));
  EXPECT_FALSE(mis("get a\r\n", "END\r\n"));
  EXPECT_FALSE(mis("get a\r\n", "SERVER_ERROR out of memory\r\n"));
  EXPECT_FALSE(mis("gets  a   b\r\n", "VALUE b 0 1 7\r\nx\r\nEND\r\n"));  // a missed
  EXPECT_FALSE(
      mis("get a b a\r\n", "VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));
  EXPECT_FALSE(mis("gat 60 a\r\n", "VALUE a 0 2\r\nxy\r\nEND\r\n"));
  EXPECT_FALSE(mis("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_FALSE(mis("mg a v\r\n", "VA 1\r\nx\r\n"));
  // A value holding what looks like an item line is data, not an item.
  EXPECT_FALSE(mis("get a\r\n", "VALUE a 0 16\r\nVALUE b 0 1\r\nx\r\n\r\nEND\r\n"));

  EXPECT_TRUE(mis("get a\r\n", "VALUE b 0 1\r\nx\r\nEND\r\n"));
  EXPECT_EQ(why, "an item for key 'b' that the request did not ask for (or not then)");
  EXPECT_TRUE(mis("get a\r\n", "VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));    // twice
  EXPECT_TRUE(mis("get a b\r\n", "VALUE b 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));  // order
  EXPECT_TRUE(mis("gat 60 a\r\n", "VALUE 60 0 1\r\nx\r\nEND\r\n"));  // the exptime is no key
}

}  // namespace
}  // namespace ringleader::proxy::memcached
