// ReplyValue: one RESP2 reply as a tree of views, for the few replies the proxy must look
// inside (merging the parts of a split multi-key command, checking a handshake).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ringleader::proxy::redis {

struct ReplyValue {
  enum class Type : uint8_t { kSimple, kError, kInteger, kBulk, kNullBulk, kArray, kNullArray };

  Type type = Type::kNullBulk;
  // kSimple/kError: the line without its type byte and CRLF; kBulk: the body;
  // kInteger: the digits as sent. Empty otherwise.
  std::string_view text;
  int64_t integer = 0;               // kInteger
  std::vector<ReplyValue> elements;  // kArray

  bool operator==(const ReplyValue&) const = default;
};

// What a caller will read of a reply, so that a backend's reply cannot make the tree cost
// more than that: depth counts nested arrays (a scalar is 0, an array of scalars 1), values
// count every node (an array of n scalars is n + 1). The default depth keeps the recursive
// destruction of a tree shallow.
struct ReplyLimits {
  size_t max_depth = 32;
  size_t max_values = SIZE_MAX;
};

// Parses `complete_reply`, which must hold exactly one complete reply (as ReplyScanner frames
// it) and nothing after it. The views point into `complete_reply`: keep its buffer alive and
// unchanged while the value is used. Malformed input, a partial reply, trailing bytes or a
// reply past `limits` give an error; nothing is built before the limits are checked. Work
// and memory are linear in the size of the reply; no recursion.
Result<ReplyValue> parse_reply(std::string_view complete_reply, ReplyLimits limits = {});

}  // namespace ringleader::proxy::redis
