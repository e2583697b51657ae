// Feeding the memcached codec its input in pieces through buffers that move, the way a
// connection's read buffer grows and compacts: a pointer kept into an earlier buffer would
// dangle, and ASan would report it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/memcached/reply_scanner.h"
#include "proxy/memcached/request_parser.h"

namespace ringleader::proxy::memcached::testing {

// What one request parse ended with, copied out so it outlives the buffers.
struct Parsed {
  ParseStatus status = ParseStatus::kNeedMore;
  std::vector<std::string> tokens;
  std::string data;
  bool has_data = false;
  size_t consumed = 0;
  size_t discard = 0;
  std::string error;
};

// A heap copy of exactly `bytes.size()` bytes: a read past them is caught by ASan.
std::unique_ptr<char[]> fresh(std::string_view bytes);

// Shows input[0, split) first (unless split is 0), then all of `input`, each in a fresh buffer.
Parsed parse_split(std::string_view input, size_t split, ParseLimits limits = {});
// Shows input[0, 1), input[0, 2), ... each in a fresh buffer, until the parser is done.
Parsed parse_bytewise(std::string_view input, ParseLimits limits = {});

struct Scanned {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t length = 0;
  std::string error;
};
Scanned scan_split(std::string_view input, size_t split);
Scanned scan_bytewise(std::string_view input);

}  // namespace ringleader::proxy::memcached::testing
