// printable: untrusted bytes made fit for a log line, an error reply or a terminal.
// escaped: the same, reversibly, for output that scripts read back (columns of keys).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace ringleader {

// Length of the well-formed UTF-8 sequence of two to four bytes that starts at s[i] (RFC 3629:
// no overlong form, no surrogate, nothing above U+10FFFF), or 0 when none starts there.
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [s](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  size_t n = 0;
  unsigned char low = 0x80;  // range of the second byte, narrower after some lead bytes
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong below U+0800
    if (lead == 0xed) high = 0x9f;  // surrogates U+D800-U+DFFF
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    if (lead == 0xf0) low = 0x90;   // overlong below U+10000
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < n || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

// True for a C1 control (U+0080-U+009F) as UTF-8 writes it: two bytes, 0xc2 then 0x80-0x9f.
// Some terminals obey them (0xc2 0x9b starts an escape sequence, as ESC '[' does).
inline bool utf8_c1_control(std::string_view s, size_t i, size_t length) {
  return length == 2 && static_cast<unsigned char>(s[i]) == 0xc2 &&
         static_cast<unsigned char>(s[i + 1]) <= 0x9f;
}

// At most `max` bytes of `s`, and "..." when `s` was longer. The result is valid UTF-8 with no
// control character: each control byte (terminal escapes included), C1 control and byte that
// is not part of a well-formed UTF-8 sequence shows as '?'; other text passes unchanged, and
// the cut never splits a character.
inline std::string printable(std::string_view s, size_t max) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t length = c < 0x80 ? 1 : utf8_sequence_length(s, i);
    if (std::max<size_t>(length, 1) > max - std::min(i, max)) break;
    if (length == 0 || utf8_c1_control(s, i, length) || c < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else {
      out.append(s.substr(i, length));
    }
    i += std::max<size_t>(length, 1);
  }
  if (i < s.size()) out += "...";
  return out;
}

// printable(), also with every byte from 0x80 up as '?': for bytes that may not be text at
// all (what a peer of unknown kind sent).
inline std::string printable_ascii(std::string_view s, size_t max) {
  std::string out = printable(s, max);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return out;
}

// All of `s` with its backslashes, control bytes and non-UTF-8 bytes escaped: "\\", "\t", "\n",
// "\r", and "\xHH" for the others (ESC, DEL, each byte of a C1 control as UTF-8 writes it,
// "\xc2\x9b", and each byte from 0x80 up that is not part of a well-formed UTF-8 sequence).
// Other characters pass unchanged (UTF-8 text stays readable). The result is valid UTF-8
// holding no TAB, newline or terminal escape, so it can stand in a tab-separated column, and
// undoing the escapes gives `s` back.
inline std::string escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  const auto hex = [&out](unsigned char c) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t length = utf8_sequence_length(s, i);
      if (length == 0 || utf8_c1_control(s, i, length)) {
        for (size_t k = 0; k < std::max<size_t>(length, 1); ++k)
          hex(static_cast<unsigned char>(s[i + k]));
      } else {
        out.append(s.substr(i, length));
      }
      i += std::max<size_t>(length, 1);
      continue;
    }
    if (c == '\\') {
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
    ++i;
  }
  return out;
}

}  // namespace ringleader
