// Helpers for the codec tests: feeding inputs in pieces through buffers that move, the way a
// connection's read buffer grows and compacts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/redis/reply_scanner.h"
#include "proxy/redis/request_parser.h"

namespace ringleader::proxy::redis::testing {

// What one request parse ended with; args copied out so they outlive the buffers.
struct ParsedRequest {
  ParseStatus status = ParseStatus::kNeedMore;
  std::vector<std::string> args;
  size_t consumed = 0;
  size_t skipped = 0;
  std::string error;
};

// Shows `input` to a fresh parser whole.
ParsedRequest parse_whole(std::string_view input, ParseLimits limits = {});
// Shows input[0, split) first (unless split is 0), then all of `input` in a freshly allocated
// buffer, so any pointer the parser kept into the first buffer would dangle (ASan catches it).
ParsedRequest parse_split(std::string_view input, size_t split, ParseLimits limits = {});
// Shows input[0, 1), input[0, 2), ... each in a fresh buffer, until the parser is done.
ParsedRequest parse_bytewise(std::string_view input, ParseLimits limits = {});
// Parses every request of a pipelined `input`, consuming each. Stops at kNeedMore or kError
// (the last element then says which).
std::vector<ParsedRequest> parse_all(std::string_view input, ParseLimits limits = {});

struct ScannedReply {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t length = 0;
  std::string error;
};
ScannedReply scan_split(std::string_view input, size_t split);
ScannedReply scan_bytewise(std::string_view input);

// Multibulk encoding of `args`.
std::string multibulk(const std::vector<std::string>& args);

}  // namespace ringleader::proxy::redis::testing
