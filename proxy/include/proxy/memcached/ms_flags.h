// Checks an ms line's flags as memcached 1.6 does before it sizes the item. The proxy needs it
// where it must answer for memcached: an ms whose data block is over max_request_bytes is
// refused without being forwarded, and memcached unlinks the key only when the flags pass.
#pragma once

#include <span>
#include <string_view>

namespace ringleader::proxy::memcached {

// `t` is the whole line split into words: "ms", key, datalen, flags... Returns the error line
// memcached answers (without "\r\n"), or an empty view when it accepts the flags. Where a line
// has several faults, the answer is the one memcached gives: an unknown or repeated flag at
// once; otherwise the last faulty flag's error, then a too long opaque, then an invalid mode.
std::string_view ms_flags_error(std::span<const std::string_view> t);

}  // namespace ringleader::proxy::memcached
