// RESP2 encoding: each function appends one value (or an array header) to `out`.
// They never fail; text that cannot appear on a RESP line is made safe instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/redis/reply_value.h"

namespace ringleader::proxy::redis {

// "+text\r\n". CR and LF inside `text` become spaces, so the line can never break framing.
void append_simple(std::string& out, std::string_view text);
// "-message\r\n" (message like "ERR unknown command"); CR and LF become spaces.
void append_error(std::string& out, std::string_view message);
// ":value\r\n"
void append_integer(std::string& out, int64_t value);
// "$len\r\nbytes\r\n" — any bytes.
void append_bulk(std::string& out, std::string_view bytes);
// "$-1\r\n"
void append_null_bulk(std::string& out);
// "*count\r\n": the `count` elements must be appended next.
void append_array_header(std::string& out, size_t count);
// "*-1\r\n"
void append_null_array(std::string& out);
// A request as a multibulk array of bulk strings: "*N\r\n$len\r\narg\r\n...".
void append_command(std::string& out, std::span<const std::string_view> args);
// Re-encodes a parsed reply. Without recursion, so any nesting depth is fine.
// kSimple/kError text is made safe as above; kInteger is written from `integer`.
void append_value(std::string& out, const ReplyValue& value);

}  // namespace ringleader::proxy::redis
