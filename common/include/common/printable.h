// printable: untrusted bytes made fit for a log line, an error reply or a terminal.
#pragma once

#include <string>
#include <string_view>

namespace ringleader {

// At most `max` bytes of `s`, control bytes (terminal escapes included) as '?', and "..."
// when `s` was longer.
inline std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace ringleader
