// Wire format between membership peers: the frames PeerTransport carries, and their versioned
// binary encoding. Pure functions; no sockets here.
//
//   connection          = challenge (listener -> caller) then frames (caller -> listener)
//   challenge           = "RLMC" | u8 1 | 16 random bytes (the nonce), written by the
//                         listening node as soon as it accepts
//   frame on the stream = u32 payload length (little-endian)
//                       | 32 bytes HMAC-SHA256(session key, u64 sequence | payload)
//                       | payload
//   session key         = HMAC-SHA256(secret, "ringleader membership session" | nonce)
//   sequence            = the frame's place on its connection, from 0 (the Hello), not sent
//
// So a frame is good on one connection, at one place: recorded frames replayed on another
// connection, or again, reordered or dropped on theirs, fail their MAC. Frames of earlier
// releases were sealed with HMAC-SHA256(secret, payload) and no challenge; such a frame is
// recognised (unsessioned_mac_matches) only to say so, never accepted.
//   payload             = u8 version | u8 kind | body
//   version: 3 for forward requests (kWireVersion, the only kind it changed), 2 for the other
//   kinds, so that a release that reads version 2 still reads them; 1 to 3 are decoded.
//   kinds: 1 hello, 2 raft message, 3 forward request, 4 forward response
//
// Bodies use the membership's ByteWriter conventions: integers little-endian fixed width,
// strings u32 length + bytes, enums u8 (checked against their range on decode).
//   hello            = node id | listen address | u32 count | founder ids (version 2; a
//                      version 1 hello ends after the address: founders unknown)
//   raft message     = from | to | u64 term | u8 payload tag (index in raft::Payload) | fields
//                      entries = u32 count | (u64 term | u64 index | u8 type | data)*
//                      snapshot = u64 index | u64 term | encode_configuration bytes | data
//   forward request  = u64 request id | u8 kind | (command bytes | u8 change type | node | addr)
//                      | u64 deadline (version 3; earlier versions carry none: 0)
//   forward response = u64 request id | u8 outcome (0 failed, 1 ok, 2 refused) | u64 index |
//                      error text
//
// decode_frame accepts exactly what encode_frame produces: an unknown version or kind, an enum
// out of range, an oversized or truncated field, or trailing bytes is an error value. It never
// throws, asserts or reads out of bounds, whatever the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "membership/raft/configuration.h"
#include "membership/raft/message.h"

namespace ringleader::membership::transport {

inline constexpr uint8_t kWireVersion = 3;
// Bytes of the frame header: length + MAC.
inline constexpr size_t kMacBytes = 32;
inline constexpr size_t kFrameHeaderBytes = 4 + kMacBytes;
// Largest payload a peer may send; a longer length closes the connection.
inline constexpr size_t kMaxFramePayload = size_t{64} << 20;
// Longest listen address or error text carried in a frame.
inline constexpr size_t kMaxAddressLength = 255;
inline constexpr size_t kMaxErrorLength = 4096;
// Most founder ids a hello carries.
inline constexpr size_t kMaxFounders = 1024;
// Largest hello payload: version, kind, node id, address, founders, each string with its u32
// length. Until a connection's hello arrived, a longer frame closes it: a caller that has not
// shown it holds the secret cannot make the node buffer kMaxFramePayload bytes.
inline constexpr size_t kMaxHelloPayload = 2 + (4 + raft::kMaxNodeIdLength) +
                                           (4 + kMaxAddressLength) + 4 +
                                           kMaxFounders * (4 + raft::kMaxNodeIdLength);

// First frame on every connection: who is calling and where it listens, so that a peer learns
// the address of a node that is not in its configuration yet (a new learner), and which group
// it belongs to: the voters the group was bootstrapped with (sorted; empty while the caller
// does not know them yet, e.g. a node that joined and has not heard from a leader).
struct Hello {
  raft::NodeId node_id;
  std::string listen_address;  // where peers reach the caller; empty when it cannot tell
  std::vector<raft::NodeId> founders = {};

  bool operator==(const Hello&) const = default;
};

// A follower asks the leader to propose on its behalf.
//   command       — `command` holds an encoded state::Command (see command_codec.h).
//   config_change — `change` is proposed; `address` is the listen address of change.node for
//                   an add (empty otherwise).
enum class ForwardKind : uint8_t { kCommand = 1, kConfigChange = 2 };

struct ForwardRequest {
  uint64_t request_id = 0;
  ForwardKind kind = ForwardKind::kCommand;
  std::string command;
  raft::ConfigChange change;
  std::string address;
  // When the caller stops waiting, in Unix milliseconds by the sender's clock; 0 for none. A
  // leader that reads the request later (it was stopped, or the link stalled with the frame
  // in flight) does not propose it: the caller has been told it timed out.
  uint64_t deadline_unix_ms = 0;

  bool operator==(const ForwardRequest& o) const {
    return request_id == o.request_id && kind == o.kind && command == o.command &&
           change.type == o.change.type && change.node == o.change.node && address == o.address &&
           deadline_unix_ms == o.deadline_unix_ms;
  }
};

// The leader's answer once the proposal is applied on the leader (ok, with its index) or has
// failed (error text; `refused` when the request itself cannot apply, see Status::refused).
struct ForwardResponse {
  uint64_t request_id = 0;
  bool ok = false;
  raft::Index index = 0;
  std::string error;
  bool refused = false;

  bool operator==(const ForwardResponse&) const = default;
};

using Frame = std::variant<Hello, raft::Message, ForwardRequest, ForwardResponse>;

// The version `frame` is written with: kWireVersion for a ForwardRequest, 2 for the rest.
uint8_t wire_version_of(const Frame& frame);
// The payload bytes of `frame` (no length, no MAC).
std::string encode_frame(const Frame& frame);
Result<Frame> decode_frame(std::string_view payload);

// Just a Raft message, for tests and tools: encode_frame/decode_frame of a raft::Message.
std::string encode_message(const raft::Message& message);
Result<raft::Message> decode_message(std::string_view payload);

// The challenge a listening node writes first on each connection it accepts.
inline constexpr size_t kNonceBytes = 16;
inline constexpr size_t kChallengeBytes = 4 + 1 + kNonceBytes;
// kNonceBytes from the system's random source (OpenSSL's RAND_bytes); an error when it fails.
Result<std::string> random_nonce();
std::string encode_challenge(std::string_view nonce);
// What the first `bytes.size()` bytes of a stream may still turn out to be: a challenge
// (kChallengeBytes of them: its nonce), its beginning (fewer: empty), or not one (error).
Result<std::string> decode_challenge(std::string_view bytes);
// The key a connection's frames are sealed with, from the group's secret and the nonce of
// that connection's challenge; empty when it cannot be computed (the connection is then
// closed: no frame is sealed or accepted under an empty key).
std::string session_key(std::string_view secret, std::string_view nonce);

// HMAC-SHA256 of the sequence number and `payload` under `key`.
std::string frame_mac(std::string_view key, uint64_t sequence, std::string_view payload);
// Length + MAC + payload, ready for the stream as the connection's sequence-th frame.
std::string seal_frame(std::string_view key, uint64_t sequence, std::string_view payload);
// Constant-time comparison of a received MAC with the expected one.
bool mac_matches(std::string_view key, uint64_t sequence, std::string_view payload,
                 std::string_view mac);
// What an earlier release sealed `payload` with: HMAC-SHA256(secret, payload), no session.
std::string unsessioned_frame_mac(std::string_view secret, std::string_view payload);
// Whether `mac` is that: for a clear refusal, never to accept the frame.
bool unsessioned_mac_matches(std::string_view secret, std::string_view payload,
                             std::string_view mac);

// Field-wise equality of messages (raft::Message has no operator==), for tests.
bool same_message(const raft::Message& a, const raft::Message& b);

}  // namespace ringleader::membership::transport
