#include "membership/transport/wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <type_traits>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"

namespace ringleader::membership::transport {

namespace {

using codec::ByteReader;
using codec::ByteWriter;

enum class FrameKind : uint8_t { kHello = 1, kRaft = 2, kForwardRequest = 3, kForwardResponse = 4 };

// A forward response's outcome byte.
constexpr uint8_t kForwardFailed = 0, kForwardOk = 1, kForwardRefused = 2;

// Smallest encoded entry: term + index + type + data length.
constexpr size_t kMinEncodedEntry = 8 + 8 + 1 + 4;

template <typename E>
bool enum_in_range(uint8_t v, E last) {
  return v <= static_cast<std::underlying_type_t<E>>(last);
}

void put_entries(ByteWriter& w, const std::vector<raft::Entry>& entries) {
  w.u32(static_cast<uint32_t>(entries.size()));
  for (const raft::Entry& e : entries) {
    w.u64(e.term);
    w.u64(e.index);
    w.u8(static_cast<uint8_t>(e.type));
    w.bytes(e.data);
  }
}

bool get_entries(ByteReader& r, std::vector<raft::Entry>& out) {
  uint32_t count = r.u32();
  // Each entry takes at least kMinEncodedEntry bytes: refuse counts the input cannot hold
  // before reserving anything.
  if (!r.ok() || count > r.remaining() / kMinEncodedEntry) return false;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    raft::Entry e;
    e.term = r.u64();
    e.index = r.u64();
    uint8_t type = r.u8();
    if (!enum_in_range(type, raft::EntryType::kConfig)) return false;
    e.type = static_cast<raft::EntryType>(type);
    e.data = r.bytes(kMaxFramePayload);
    if (!r.ok()) return false;
    out.push_back(std::move(e));
  }
  return true;
}

void put_payload(ByteWriter& w, const raft::Payload& payload) {
  w.u8(static_cast<uint8_t>(payload.index()));
  std::visit(
      [&w](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, raft::VoteRequest>) {
          w.u8(static_cast<uint8_t>(p.kind));
          w.u8(static_cast<uint8_t>(p.cause));
          w.u64(p.last_log_index);
          w.u64(p.last_log_term);
        } else if constexpr (std::is_same_v<T, raft::VoteResponse>) {
          w.u8(static_cast<uint8_t>(p.kind));
          w.u8(static_cast<uint8_t>(p.verdict));
        } else if constexpr (std::is_same_v<T, raft::AppendRequest>) {
          w.u64(p.prev_index);
          w.u64(p.prev_term);
          put_entries(w, p.entries);
          w.u64(p.leader_commit);
          w.u64(p.heartbeat_seq);
        } else if constexpr (std::is_same_v<T, raft::AppendResponse>) {
          w.u8(static_cast<uint8_t>(p.verdict));
          w.u64(p.match_index);
          w.u64(p.rejected_prev_index);
          w.u64(p.conflict_index);
          w.u64(p.conflict_term);
          w.u64(p.heartbeat_seq);
        } else if constexpr (std::is_same_v<T, raft::SnapshotRequest>) {
          w.u64(p.snapshot.meta.index);
          w.u64(p.snapshot.meta.term);
          w.bytes(raft::encode_configuration(p.snapshot.meta.config));
          w.bytes(p.snapshot.data);
          w.u64(p.heartbeat_seq);
        } else if constexpr (std::is_same_v<T, raft::TimeoutNow>) {
          // no fields
        } else if constexpr (std::is_same_v<T, raft::ReadIndexRequest>) {
          w.u64(p.request_id);
        } else {
          static_assert(std::is_same_v<T, raft::ReadIndexResponse>);
          w.u64(p.request_id);
          w.u8(static_cast<uint8_t>(p.verdict));
          w.u64(p.read_index);
        }
      },
      payload);
}

// Reads the payload whose tag is `tag`; false on any malformed field.
bool get_payload(ByteReader& r, uint8_t tag, raft::Payload& out) {
  switch (tag) {
    case 0: {
      raft::VoteRequest p;
      uint8_t kind = r.u8();
      uint8_t cause = r.u8();
      if (!enum_in_range(kind, raft::VoteKind::kVote) ||
          !enum_in_range(cause, raft::ElectionCause::kTransfer))
        return false;
      p.kind = static_cast<raft::VoteKind>(kind);
      p.cause = static_cast<raft::ElectionCause>(cause);
      p.last_log_index = r.u64();
      p.last_log_term = r.u64();
      out = p;
      return r.ok();
    }
    case 1: {
      raft::VoteResponse p;
      uint8_t kind = r.u8();
      uint8_t verdict = r.u8();
      if (!enum_in_range(kind, raft::VoteKind::kVote) ||
          !enum_in_range(verdict, raft::Verdict::kGranted))
        return false;
      p.kind = static_cast<raft::VoteKind>(kind);
      p.verdict = static_cast<raft::Verdict>(verdict);
      out = p;
      return r.ok();
    }
    case 2: {
      raft::AppendRequest p;
      p.prev_index = r.u64();
      p.prev_term = r.u64();
      if (!get_entries(r, p.entries)) return false;
      p.leader_commit = r.u64();
      p.heartbeat_seq = r.u64();
      out = std::move(p);
      return r.ok();
    }
    case 3: {
      raft::AppendResponse p;
      uint8_t verdict = r.u8();
      if (!enum_in_range(verdict, raft::Verdict::kGranted)) return false;
      p.verdict = static_cast<raft::Verdict>(verdict);
      p.match_index = r.u64();
      p.rejected_prev_index = r.u64();
      p.conflict_index = r.u64();
      p.conflict_term = r.u64();
      p.heartbeat_seq = r.u64();
      out = p;
      return r.ok();
    }
    case 4: {
      raft::SnapshotRequest p;
      p.snapshot.meta.index = r.u64();
      p.snapshot.meta.term = r.u64();
      std::string config = r.bytes(kMaxFramePayload);
      if (!r.ok()) return false;
      Result<raft::Configuration> decoded = raft::decode_configuration(config);
      if (!decoded) return false;
      p.snapshot.meta.config = std::move(decoded).value();
      p.snapshot.data = r.bytes(kMaxFramePayload);
      p.heartbeat_seq = r.u64();
      out = std::move(p);
      return r.ok();
    }
    case 5:
      out = raft::TimeoutNow{};
      return true;
    case 6: {
      raft::ReadIndexRequest p;
      p.request_id = r.u64();
      out = p;
      return r.ok();
    }
    case 7: {
      raft::ReadIndexResponse p;
      p.request_id = r.u64();
      uint8_t verdict = r.u8();
      if (!enum_in_range(verdict, raft::Verdict::kGranted)) return false;
      p.verdict = static_cast<raft::Verdict>(verdict);
      p.read_index = r.u64();
      out = p;
      return r.ok();
    }
    default:
      return false;
  }
}
static_assert(std::variant_size_v<raft::Payload> == 8, "a new payload needs a wire tag");

void put_message(ByteWriter& w, const raft::Message& m) {
  w.bytes(m.from);
  w.bytes(m.to);
  w.u64(m.term);
  put_payload(w, m.payload);
}

bool get_message(ByteReader& r, raft::Message& m) {
  m.from = r.bytes(raft::kMaxNodeIdLength);
  m.to = r.bytes(raft::kMaxNodeIdLength);
  m.term = r.u64();
  uint8_t tag = r.u8();
  if (!r.ok()) return false;
  return get_payload(r, tag, m.payload);
}

bool same_entries(const std::vector<raft::Entry>& a, const std::vector<raft::Entry>& b) {
  return a == b;
}

}  // namespace

uint8_t wire_version_of(const Frame& frame) {
  return std::holds_alternative<ForwardRequest>(frame) ? kWireVersion : 2;
}

std::string encode_frame(const Frame& frame) {
  ByteWriter w;
  w.u8(wire_version_of(frame));
  std::visit(
      [&w](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, Hello>) {
          w.u8(static_cast<uint8_t>(FrameKind::kHello));
          w.bytes(f.node_id);
          w.bytes(f.listen_address);
          w.u32(static_cast<uint32_t>(f.founders.size()));
          for (const raft::NodeId& id : f.founders)
            w.bytes(id);
        } else if constexpr (std::is_same_v<T, raft::Message>) {
          w.u8(static_cast<uint8_t>(FrameKind::kRaft));
          put_message(w, f);
        } else if constexpr (std::is_same_v<T, ForwardRequest>) {
          w.u8(static_cast<uint8_t>(FrameKind::kForwardRequest));
          w.u64(f.request_id);
          w.u8(static_cast<uint8_t>(f.kind));
          if (f.kind == ForwardKind::kCommand) {
            w.bytes(f.command);
          } else {
            w.u8(static_cast<uint8_t>(f.change.type));
            w.bytes(f.change.node);
            w.bytes(f.address);
          }
          w.u64(f.deadline_unix_ms);
        } else {
          static_assert(std::is_same_v<T, ForwardResponse>);
          w.u8(static_cast<uint8_t>(FrameKind::kForwardResponse));
          w.u64(f.request_id);
          w.u8(f.ok ? kForwardOk : f.refused ? kForwardRefused : kForwardFailed);
          w.u64(f.index);
          w.bytes(f.error.size() > kMaxErrorLength ? f.error.substr(0, kMaxErrorLength) : f.error);
        }
      },
      frame);
  return std::move(w).take();
}

Result<Frame> decode_frame(std::string_view payload) {
  ByteReader r(payload);
  uint8_t version = r.u8();
  uint8_t kind = r.u8();
  if (!r.ok()) return Status::error("frame: truncated header");
  if (version < 1 || version > kWireVersion) {
    return Status::error("frame: unknown wire version " + std::to_string(version));
  }
  Frame frame;
  switch (static_cast<FrameKind>(kind)) {
    case FrameKind::kHello: {
      Hello h;
      h.node_id = r.bytes(raft::kMaxNodeIdLength);
      h.listen_address = r.bytes(kMaxAddressLength);
      if (r.ok() && h.node_id.empty()) return Status::error("frame: hello without a node id");
      if (version >= 2) {
        uint32_t count = r.u32();
        // Each id takes at least its 4-byte length: refuse counts the input cannot hold.
        if (r.ok() && (count > kMaxFounders || count > r.remaining() / 4)) {
          return Status::error("frame: hello with too many founders");
        }
        for (uint32_t i = 0; i < count && r.ok(); ++i) {
          h.founders.push_back(r.bytes(raft::kMaxNodeIdLength));
          // Sorted and distinct, as in a Configuration: one list has one encoding.
          if (r.ok() &&
              (h.founders.back().empty() || (i > 0 && h.founders[i - 1] >= h.founders.back()))) {
            return Status::error("frame: hello founders not sorted, distinct and non-empty");
          }
        }
      }
      frame = std::move(h);
      break;
    }
    case FrameKind::kRaft: {
      raft::Message m;
      if (!get_message(r, m)) return Status::error("frame: malformed raft message");
      frame = std::move(m);
      break;
    }
    case FrameKind::kForwardRequest: {
      ForwardRequest f;
      f.request_id = r.u64();
      uint8_t fk = r.u8();
      if (!r.ok()) break;
      if (fk == static_cast<uint8_t>(ForwardKind::kCommand)) {
        f.kind = ForwardKind::kCommand;
        f.command = r.bytes(kMaxFramePayload);
      } else if (fk == static_cast<uint8_t>(ForwardKind::kConfigChange)) {
        f.kind = ForwardKind::kConfigChange;
        uint8_t type = r.u8();
        if (r.ok() && !enum_in_range(type, raft::ConfigChangeType::kRemove)) {
          return Status::error("frame: unknown config change type");
        }
        f.change.type = static_cast<raft::ConfigChangeType>(type);
        f.change.node = r.bytes(raft::kMaxNodeIdLength);
        f.address = r.bytes(kMaxAddressLength);
      } else {
        return Status::error("frame: unknown forward kind " + std::to_string(fk));
      }
      if (version >= 3) f.deadline_unix_ms = r.u64();
      frame = std::move(f);
      break;
    }
    case FrameKind::kForwardResponse: {
      ForwardResponse f;
      f.request_id = r.u64();
      uint8_t outcome = r.u8();
      if (r.ok() && outcome > kForwardRefused) return Status::error("frame: bad outcome");
      f.ok = outcome == kForwardOk;
      f.refused = outcome == kForwardRefused;
      f.index = r.u64();
      f.error = r.bytes(kMaxErrorLength);
      frame = std::move(f);
      break;
    }
    default:
      return Status::error("frame: unknown kind " + std::to_string(kind));
  }
  if (!r.ok()) return Status::error("frame: truncated or oversized field");
  if (!r.done()) return Status::error("frame: trailing bytes");
  return frame;
}

std::string encode_message(const raft::Message& message) {
  return encode_frame(Frame{message});
}

Result<raft::Message> decode_message(std::string_view payload) {
  Result<Frame> frame = decode_frame(payload);
  if (!frame) return frame.status();
  if (!std::holds_alternative<raft::Message>(*frame)) {
    return Status::error("frame: not a raft message");
  }
  return std::get<raft::Message>(std::move(frame).value());
}

namespace {

constexpr char kChallengeMagic[4] = {'R', 'L', 'M', 'C'};
constexpr uint8_t kChallengeVersion = 1;
constexpr std::string_view kSessionLabel = "ringleader membership session";

// HMAC-SHA256 under `key` of the concatenated `parts` (OpenSSL 3's EVP_MAC, which takes the
// parts in turn: a 64 MiB snapshot frame is not copied to be sealed).
std::optional<std::string> hmac(std::string_view key,
                                std::initializer_list<std::string_view> parts) {
  static constexpr unsigned char kEmpty[1] = {0};
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // shared, never freed
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                               OSSL_PARAM_construct_end()};
  EVP_MAC_CTX* ctx = kHmac != nullptr ? EVP_MAC_CTX_new(kHmac) : nullptr;
  bool ok =
      ctx != nullptr &&
      EVP_MAC_init(ctx, key.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), params) == 1;
  for (std::string_view part : parts) {
    ok = ok &&
         (part.empty() || EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()),
                                         part.size()) == 1);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  ok = ok && EVP_MAC_final(ctx, out, &out_len, sizeof(out)) == 1 && out_len == kMacBytes;
  EVP_MAC_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string sequence_bytes(uint64_t sequence) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(sequence >> (8 * i));
  return out;
}

}  // namespace

Result<std::string> random_nonce() {
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(kNonceBytes)) !=
      1) {
    return Status::error("no random bytes for a connection challenge (OpenSSL RAND_bytes failed)");
  }
  return nonce;
}

std::string encode_challenge(std::string_view nonce) {
  std::string out(kChallengeMagic, sizeof(kChallengeMagic));
  out.push_back(static_cast<char>(kChallengeVersion));
  out.append(nonce);
  return out;
}

Result<std::string> decode_challenge(std::string_view bytes) {
  const std::string expected_head =
      std::string(kChallengeMagic, sizeof(kChallengeMagic)) + static_cast<char>(kChallengeVersion);
  const size_t head = std::min(bytes.size(), expected_head.size());
  if (bytes.size() > kChallengeBytes || bytes.substr(0, head) != expected_head.substr(0, head)) {
    return Status::error("not a membership challenge");
  }
  if (bytes.size() < kChallengeBytes) return std::string();
  return std::string(bytes.substr(expected_head.size()));
}

std::string session_key(std::string_view secret, std::string_view nonce) {
  return hmac(secret, {kSessionLabel, nonce}).value_or(std::string());
}

std::string frame_mac(std::string_view key, uint64_t sequence, std::string_view payload) {
  // Failed, the MAC is all zero: no receiver's computation gives that, so the frame is
  // refused there (mac_matches fails closed when its own computation fails).
  return hmac(key, {sequence_bytes(sequence), payload}).value_or(std::string(kMacBytes, '\0'));
}

std::string seal_frame(std::string_view key, uint64_t sequence, std::string_view payload) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(payload.size()));
  w.raw(frame_mac(key, sequence, payload));
  w.raw(payload);
  return std::move(w).take();
}

bool mac_matches(std::string_view key, uint64_t sequence, std::string_view payload,
                 std::string_view mac) {
  if (mac.size() != kMacBytes || key.empty()) return false;
  const std::optional<std::string> expected = hmac(key, {sequence_bytes(sequence), payload});
  return expected && CRYPTO_memcmp(expected->data(), mac.data(), kMacBytes) == 0;
}

std::string unsessioned_frame_mac(std::string_view secret, std::string_view payload) {
  return hmac(secret, {payload}).value_or(std::string(kMacBytes, '\0'));
}

bool unsessioned_mac_matches(std::string_view secret, std::string_view payload,
                             std::string_view mac) {
  if (mac.size() != kMacBytes) return false;
  const std::optional<std::string> expected = hmac(secret, {payload});
  return expected && CRYPTO_memcmp(expected->data(), mac.data(), kMacBytes) == 0;
}

bool same_message(const raft::Message& a, const raft::Message& b) {
  if (a.from != b.from || a.to != b.to || a.term != b.term) return false;
  if (a.payload.index() != b.payload.index()) return false;
  return std::visit(
      [&b](const auto& pa) {
        using T = std::decay_t<decltype(pa)>;
        const T& pb = std::get<T>(b.payload);
        if constexpr (std::is_same_v<T, raft::VoteRequest>) {
          return pa.kind == pb.kind && pa.cause == pb.cause &&
                 pa.last_log_index == pb.last_log_index && pa.last_log_term == pb.last_log_term;
        } else if constexpr (std::is_same_v<T, raft::VoteResponse>) {
          return pa.kind == pb.kind && pa.verdict == pb.verdict;
        } else if constexpr (std::is_same_v<T, raft::AppendRequest>) {
          return pa.prev_index == pb.prev_index && pa.prev_term == pb.prev_term &&
                 same_entries(pa.entries, pb.entries) && pa.leader_commit == pb.leader_commit &&
                 pa.heartbeat_seq == pb.heartbeat_seq;
        } else if constexpr (std::is_same_v<T, raft::AppendResponse>) {
          return pa.verdict == pb.verdict && pa.match_index == pb.match_index &&
                 pa.rejected_prev_index == pb.rejected_prev_index &&
                 pa.conflict_index == pb.conflict_index && pa.conflict_term == pb.conflict_term &&
                 pa.heartbeat_seq == pb.heartbeat_seq;
        } else if constexpr (std::is_same_v<T, raft::SnapshotRequest>) {
          return pa.snapshot == pb.snapshot && pa.heartbeat_seq == pb.heartbeat_seq;
        } else if constexpr (std::is_same_v<T, raft::TimeoutNow>) {
          return true;
        } else if constexpr (std::is_same_v<T, raft::ReadIndexRequest>) {
          return pa.request_id == pb.request_id;
        } else {
          return pa.request_id == pb.request_id && pa.verdict == pb.verdict &&
                 pa.read_index == pb.read_index;
        }
      },
      a.payload);
}

}  // namespace ringleader::membership::transport
