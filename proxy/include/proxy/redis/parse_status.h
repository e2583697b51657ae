// Outcome of one incremental parse step, shared by the request parser and the reply scanner.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringleader::proxy::redis {

enum class ParseStatus : uint8_t {
  kComplete,  // one whole request / reply is at the start of the input
  kNeedMore,  // the input ends inside it: call again with the same bytes plus more
  kError,     // malformed: error() says why; the stream cannot be resynchronised
};

// Bounds on what one client request may cost the proxy. Exceeding one is a protocol error.
struct ParseLimits {
  size_t max_request_bytes = size_t{64} << 20;  // whole request, framing included
  size_t max_args = size_t{1} << 20;            // arguments of one request
  size_t max_inline_bytes = size_t{64} << 10;   // one inline command line, newline excluded
  // How errors name the byte and argument limits.
  std::string_view bytes_name = "max_request_bytes";
  std::string_view args_name = "max_args";
};

}  // namespace ringleader::proxy::redis
