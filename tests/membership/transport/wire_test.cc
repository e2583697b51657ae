#include "membership/transport/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace ringleader::membership::transport {
namespace {

raft::Configuration some_config() {
  raft::Configuration c;
  c.voters = {"p1", "p2", "p3"};
  c.learners = {"p4"};
  return c;
}

std::vector<raft::Entry> some_entries() {
  return {
      raft::Entry{3, 10, raft::EntryType::kNoop, ""},
      raft::Entry{3, 11, raft::EntryType::kCommand, std::string("\x01\x02\x00\xff", 4)},
      raft::Entry{4, 12, raft::EntryType::kConfig, raft::encode_configuration(some_config())},
  };
}

// One message of every payload type, with every field set to something other than its default.
std::vector<raft::Message> every_message() {
  std::vector<raft::Message> out;
  auto add = [&out](raft::Payload p) { out.push_back(raft::Message{"p1", "p2", 7, std::move(p)}); };
  add(raft::VoteRequest{raft::VoteKind::kPreVote, raft::ElectionCause::kTransfer, 12, 4});
  add(raft::VoteResponse{raft::VoteKind::kVote, raft::Verdict::kGranted});
  add(raft::AppendRequest{9, 3, some_entries(), 11, 42});
  add(raft::AppendRequest{9, 3, {}, 11, 43});  // heartbeat
  add(raft::AppendResponse{raft::Verdict::kRejected, 5, 9, 6, 2, 42});
  raft::Snapshot snap;
  snap.meta.index = 100;
  snap.meta.term = 6;
  snap.meta.config = some_config();
  snap.data = std::string(1000, 'x');
  add(raft::SnapshotRequest{snap, 77});
  add(raft::TimeoutNow{});
  add(raft::ReadIndexRequest{123456789});
  add(raft::ReadIndexResponse{99, raft::Verdict::kGranted, 100});
  return out;
}

std::vector<Frame> every_frame() {
  std::vector<Frame> out;
  out.push_back(Hello{"p1", "127.0.0.1:7401"});
  out.push_back(Hello{"p4", "[::1]:7404", {"p1", "p2", "p3"}});
  for (raft::Message& m : every_message())
    out.push_back(std::move(m));
  ForwardRequest cmd;
  cmd.request_id = 5;
  cmd.kind = ForwardKind::kCommand;
  cmd.command = "encoded command";
  cmd.deadline_unix_ms = 1'764'000'000'000;
  out.push_back(cmd);
  ForwardRequest cc;
  cc.request_id = 6;
  cc.kind = ForwardKind::kConfigChange;
  cc.change = raft::ConfigChange{raft::ConfigChangeType::kAddLearner, "p4"};
  cc.address = "127.0.0.1:7404";
  out.push_back(cc);
  out.push_back(ForwardResponse{5, true, 17, ""});
  out.push_back(ForwardResponse{6, false, 0, "not leader"});
  out.push_back(ForwardResponse{7, false, 0, "unknown backend \"x\"", true});
  return out;
}

bool same_frame(const Frame& a, const Frame& b) {
  if (a.index() != b.index()) return false;
  if (auto* m = std::get_if<raft::Message>(&a)) return same_message(*m, std::get<raft::Message>(b));
  if (auto* h = std::get_if<Hello>(&a)) return *h == std::get<Hello>(b);
  if (auto* f = std::get_if<ForwardRequest>(&a)) return *f == std::get<ForwardRequest>(b);
  return std::get<ForwardResponse>(a) == std::get<ForwardResponse>(b);
}

TEST(Wire, RoundTripsEveryMessageType) {
  std::vector<raft::Message> messages = every_message();
  ASSERT_GE(messages.size(), std::variant_size_v<raft::Payload>);
  std::set<size_t> kinds;
  for (const raft::Message& m : messages) {
    std::string bytes = encode_message(m);
    Result<raft::Message> back = decode_message(bytes);
    ASSERT_TRUE(back.is_ok()) << raft::payload_name(m.payload) << ": " << back.error();
    EXPECT_TRUE(same_message(m, *back)) << raft::payload_name(m.payload);
    kinds.insert(m.payload.index());
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<raft::Payload>);
}

TEST(Wire, RoundTripsEveryFrameKind) {
  for (const Frame& f : every_frame()) {
    Result<Frame> back = decode_frame(encode_frame(f));
    ASSERT_TRUE(back.is_ok()) << back.error();
    EXPECT_TRUE(same_frame(f, *back)) << "frame kind " << f.index();
  }
}

TEST(Wire, RejectsEveryTruncationAndTrailingBytes) {
  for (const Frame& f : every_frame()) {
    std::string bytes = encode_frame(f);
    for (size_t len = 0; len < bytes.size(); ++len) {
      EXPECT_FALSE(decode_frame(std::string_view(bytes).substr(0, len)).is_ok())
          << "frame kind " << f.index() << " cut at " << len;
    }
    EXPECT_FALSE(decode_frame(bytes + '\0').is_ok()) << "frame kind " << f.index();
  }
}

TEST(Wire, RejectsUnknownVersionKindAndEnums) {
  std::string hello = encode_frame(Hello{"p1", "127.0.0.1:1"});
  for (uint8_t version : {0, 4, 255}) {
    std::string bad_version = hello;
    bad_version[0] = static_cast<char>(version);
    EXPECT_FALSE(decode_frame(bad_version).is_ok()) << "version " << int{version};
  }
  std::string bad_kind = hello;
  bad_kind[1] = 9;
  EXPECT_FALSE(decode_frame(bad_kind).is_ok());

  // VoteResponse: version, kind, from, to, term, tag, kind, verdict.
  std::string vote = encode_message(raft::Message{"a", "b", 1, raft::VoteResponse{}});
  std::string bad_enum = vote;
  bad_enum[bad_enum.size() - 1] = 2;  // verdict out of range
  EXPECT_FALSE(decode_frame(bad_enum).is_ok());
  std::string bad_tag = vote;
  bad_tag[bad_tag.size() - 3] = 8;  // payload tag out of range
  EXPECT_FALSE(decode_frame(bad_tag).is_ok());

  EXPECT_FALSE(decode_frame(encode_frame(Hello{"", "x"})).is_ok()) << "hello without node id";
}

// Version 1 peers send the same frames, except that a hello ends after the listen address.
TEST(Wire, DecodesVersionOneFramesWithFoundersUnknown) {
  std::string hello = encode_frame(Hello{"p1", "127.0.0.1:1"});
  ASSERT_EQ(hello.substr(hello.size() - 4), std::string(4, '\0')) << "no founders: count 0 last";
  std::string v1 = hello.substr(0, hello.size() - 4);
  v1[0] = 1;
  Result<Frame> back = decode_frame(v1);
  ASSERT_TRUE(back.is_ok()) << back.error();
  EXPECT_EQ(std::get<Hello>(*back), (Hello{"p1", "127.0.0.1:1"}));
  EXPECT_FALSE(decode_frame(v1 + std::string(4, '\0')).is_ok()) << "a v1 hello has no count";

  for (const Frame& f : every_frame()) {
    if (std::holds_alternative<Hello>(f)) continue;
    for (char version : {1, 2}) {
      std::string bytes = encode_frame(f);
      bytes[0] = version;
      Frame expected = f;
      if (auto* forward = std::get_if<ForwardRequest>(&expected)) {
        bytes.resize(bytes.size() - 8);  // before version 3: no deadline
        forward->deadline_unix_ms = 0;
      }
      Result<Frame> old = decode_frame(bytes);
      ASSERT_TRUE(old.is_ok()) << "frame kind " << f.index() << ": " << old.error();
      EXPECT_TRUE(same_frame(expected, *old)) << "frame kind " << f.index();
    }
  }
}

// Version 3 changed forward requests only: every other kind is written as version 2, which
// the release before reads, so a group being upgraded keeps its Raft traffic.
TEST(Wire, OnlyForwardRequestsAreWrittenAsVersionThree) {
  for (const Frame& f : every_frame()) {
    const bool forward = std::holds_alternative<ForwardRequest>(f);
    EXPECT_EQ(wire_version_of(f), forward ? 3 : 2) << "frame kind " << f.index();
    EXPECT_EQ(encode_frame(f)[0], forward ? 3 : 2) << "frame kind " << f.index();
  }
}

TEST(Wire, RejectsHelloWithTooManyOrMalformedFounders) {
  Hello h{"p1", "127.0.0.1:1"};
  for (size_t i = 0; i < kMaxFounders; ++i)
    h.founders.push_back("n" + std::string(5 - std::to_string(i).size(), '0') + std::to_string(i));
  EXPECT_TRUE(decode_frame(encode_frame(h)).is_ok());
  h.founders.push_back("z-one-too-many");
  EXPECT_FALSE(decode_frame(encode_frame(h)).is_ok());
  // A count the remaining bytes cannot hold fails before anything is reserved.
  std::string bytes = encode_frame(Hello{"p1", "127.0.0.1:1"});
  for (size_t i = bytes.size() - 4; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xff);
  EXPECT_FALSE(decode_frame(bytes).is_ok());
  EXPECT_FALSE(decode_frame(encode_frame(Hello{"p1", "x", {"", "p1"}})).is_ok()) << "empty id";
  EXPECT_FALSE(decode_frame(encode_frame(Hello{"p1", "x", {"p2", "p1"}})).is_ok()) << "unsorted";
  EXPECT_FALSE(decode_frame(encode_frame(Hello{"p1", "x", {"p1", "p1"}})).is_ok()) << "twice";
}

// kMaxHelloPayload is exactly the longest hello that decodes: every string at its limit.
TEST(Wire, TheLongestHelloFitsKMaxHelloPayload) {
  const std::string longest_id(raft::kMaxNodeIdLength, 'n');
  Hello h{longest_id, std::string(kMaxAddressLength, '1')};
  for (size_t i = 0; i < kMaxFounders; ++i) {
    std::string id = std::to_string(1000000 + i);  // sorted and distinct
    h.founders.push_back(id + std::string(raft::kMaxNodeIdLength - id.size(), 'f'));
  }
  const std::string bytes = encode_frame(h);
  ASSERT_TRUE(decode_frame(bytes).is_ok());
  EXPECT_EQ(bytes.size(), kMaxHelloPayload);
}

TEST(Wire, HugeEntryCountFailsWithoutAllocating) {
  raft::Message m{"a", "b", 1, raft::AppendRequest{}};
  std::string bytes = encode_message(m);
  // AppendRequest body: prev_index, prev_term, then the u32 entry count.
  size_t count_at = 2 + (4 + 1) + (4 + 1) + 8 + 1 + 8 + 8;
  for (int i = 0; i < 4; ++i)
    bytes[count_at + i] = static_cast<char>(0xff);
  EXPECT_FALSE(decode_frame(bytes).is_ok());
}

// Mutated valid encodings and random bytes: decode must return (ok or error) and never crash or
// read out of bounds (the sanitizer build checks the latter). Fixed seed, bounded iterations.
TEST(Wire, FuzzedInputNeverCrashes) {
  std::mt19937_64 rng(0x5eed'0004);
  std::vector<std::string> corpus;
  for (const Frame& f : every_frame())
    corpus.push_back(encode_frame(f));
  size_t accepted = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    std::string input;
    if (iter % 10 == 0) {
      input.resize(rng() % 64);
      for (char& c : input)
        c = static_cast<char>(rng());
      if (input.size() >= 2 && (rng() & 1)) input[0] = static_cast<char>(kWireVersion);
    } else {
      input = corpus[rng() % corpus.size()];
      int mutations = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < mutations && !input.empty(); ++k) {
        switch (rng() % 4) {
          case 0:
            input[rng() % input.size()] = static_cast<char>(rng());
            break;
          case 1:
            input.resize(rng() % input.size());
            break;
          case 2:
            input.insert(input.begin() + static_cast<long>(rng() % input.size()),
                         static_cast<char>(rng()));
            break;
          default:
            input[rng() % input.size()] ^= static_cast<char>(1u << (rng() % 8));
            break;
        }
      }
    }
    Result<Frame> r = decode_frame(input);
    if (r.is_ok()) {
      ++accepted;
      if (static_cast<uint8_t>(input[0]) == wire_version_of(*r)) {
        // Whatever decodes must encode back to the same bytes (the format has one encoding).
        EXPECT_EQ(encode_frame(*r), input);
      } else {
        Result<Frame> again = decode_frame(encode_frame(*r));  // an earlier version's frame
        ASSERT_TRUE(again.is_ok());
        EXPECT_TRUE(same_frame(*r, *again));
      }
    }
  }
  EXPECT_LT(accepted, 30000u);
}

TEST(Wire, MacDependsOnKeySequenceAndPayload) {
  std::string payload = encode_frame(Hello{"p1", "127.0.0.1:1"});
  const std::string key = session_key("secret", std::string(kNonceBytes, 'n'));
  std::string mac = frame_mac(key, 7, payload);
  EXPECT_EQ(mac.size(), kMacBytes);
  EXPECT_TRUE(mac_matches(key, 7, payload, mac));
  EXPECT_FALSE(mac_matches(key, 6, payload, mac));
  EXPECT_FALSE(mac_matches(key, 8, payload, mac));
  EXPECT_FALSE(mac_matches(session_key("Secret", std::string(kNonceBytes, 'n')), 7, payload, mac));
  EXPECT_FALSE(mac_matches(session_key("secret", std::string(kNonceBytes, 'm')), 7, payload, mac));
  std::string changed = payload;
  changed.back() ^= 1;
  EXPECT_FALSE(mac_matches(key, 7, changed, mac));
  EXPECT_FALSE(mac_matches(key, 7, payload, mac.substr(1)));
  // Neither the session's MAC nor an earlier release's passes for the other.
  EXPECT_FALSE(unsessioned_mac_matches("secret", payload, mac));
  EXPECT_TRUE(unsessioned_mac_matches("secret", payload, unsessioned_frame_mac("secret", payload)));
  EXPECT_FALSE(mac_matches(key, 0, payload, unsessioned_frame_mac("secret", payload)));
  // An empty secret (loopback without one) still makes a key of its nonce, not a fixed one.
  const std::string empty_secret_key = session_key("", std::string(kNonceBytes, 'n'));
  EXPECT_EQ(empty_secret_key.size(), kMacBytes);
  EXPECT_NE(empty_secret_key, std::string(kMacBytes, '\0'));
  EXPECT_NE(empty_secret_key, session_key("", std::string(kNonceBytes, 'm')));
  // No frame passes under an empty key (what session_key gives when it fails), not even one
  // sealed under it.
  EXPECT_FALSE(mac_matches("", 0, payload, seal_frame("", 0, payload).substr(4, kMacBytes)));
  EXPECT_FALSE(mac_matches("", 0, payload, std::string(kMacBytes, '\0')));

  std::string sealed = seal_frame(key, 7, payload);
  ASSERT_EQ(sealed.size(), kFrameHeaderBytes + payload.size());
  EXPECT_EQ(static_cast<uint8_t>(sealed[0]), payload.size());
  EXPECT_EQ(sealed.substr(4, kMacBytes), mac);
  EXPECT_EQ(sealed.substr(kFrameHeaderBytes), payload);
}

TEST(Wire, ChallengesAreReadByteByByte) {
  Result<std::string> nonce = random_nonce();
  ASSERT_TRUE(nonce.is_ok());
  ASSERT_EQ(nonce->size(), kNonceBytes);
  EXPECT_NE(*nonce, *random_nonce());
  const std::string challenge = encode_challenge(*nonce);
  ASSERT_EQ(challenge.size(), kChallengeBytes);
  for (size_t n = 0; n < kChallengeBytes; ++n) {
    Result<std::string> partial = decode_challenge(std::string_view(challenge).substr(0, n));
    ASSERT_TRUE(partial.is_ok()) << n;
    EXPECT_EQ(*partial, "") << n;
  }
  EXPECT_EQ(*decode_challenge(challenge), *nonce);
  EXPECT_FALSE(decode_challenge(challenge + "x").is_ok());
  // What other servers write first is not a challenge, however little of it has arrived.
  for (std::string other : {"H", "HTTP/1.1 400", "-ERR", "+OK", "RLMC\x02"}) {
    EXPECT_FALSE(decode_challenge(other).is_ok()) << other;
  }
}

}  // namespace
}  // namespace ringleader::membership::transport
