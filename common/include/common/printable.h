// printable: untrusted bytes made fit for a log line, an error reply or a terminal.
// escaped: the same, reversibly, for output that scripts read back (columns of keys).
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

// printable(), also with every byte from 0x80 up as '?': for bytes that may not be text at
// all (what a peer of unknown kind sent), which would leave invalid UTF-8 in a log file.
inline std::string printable_ascii(std::string_view s, size_t max) {
  std::string out = printable(s, max);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return out;
}

// All of `s` with its backslashes and control bytes escaped: "\\", "\t", "\n", "\r", and
// "\xHH" for the others (ESC, DEL, and the C1 controls U+0080-U+009F as UTF-8 writes them,
// "\xc2\x9b", which some terminals also obey). Other bytes from 0x80 up pass unchanged
// (UTF-8 stays readable). The result holds no TAB, newline or terminal escape, so it can stand
// in a tab-separated column, and undoing the escapes gives `s` back.
inline std::string escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  const auto hex = [&out](unsigned char c) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      hex(c);
      hex(next);
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      hex(c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace ringleader
