// Splitting of inline command lines ("SET k \"a b\"") into arguments. Internal to the codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/redis/request_parser.h"

namespace ringleader::proxy::redis {

enum class InlineSplit : uint8_t { kOk, kUnbalancedQuotes, kTooManyArgs };

// Splits `line` (one inline command without its "\n" or "\r\n") the way Redis splits inline
// commands and redis-cli splits what is typed:
//  - words are separated by spaces, tabs, CR, LF (and NUL); leading/trailing blanks are ignored;
//  - "..." takes \xHH, \n \r \t \b \a and \<any> escapes; '...' takes \' only;
//  - a quote may start mid-word (foo"bar" is foobar); a closing quote must be followed by a
//    blank or the end of the line, else the quotes are unbalanced.
// Appends one ArgRange per word to `out`: words without quotes as offsets into the input
// (`line` starts at input offset `line_offset`), quoted ones as offsets into `unescaped`, to
// which their bytes are appended. Stops with kTooManyArgs before adding argument max_args + 1.
InlineSplit split_inline_args(std::string_view line, size_t line_offset, size_t max_args,
                              std::vector<detail::ArgRange>& out, std::string& unescaped);

}  // namespace ringleader::proxy::redis
