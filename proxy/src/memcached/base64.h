// Base64 (RFC 4648, standard alphabet, padded) decoding, for meta-command keys sent with the
// 'b' flag: the proxy hashes the key's bytes, as a get of the same binary key would.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringleader::proxy::memcached {

// False when `in` is not padded base64 (a length not a multiple of 4, a byte outside the
// alphabet, padding anywhere but at the end).
inline bool decode_base64(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const size_t pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const int v = j >= 4 - pad ? 0 : value(in[i + j]);
      if (v < 0) return false;
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    out->push_back(static_cast<char>(group >> 16));
    if (pad < 2) out->push_back(static_cast<char>((group >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(group & 0xff));
  }
  return true;
}

}  // namespace ringleader::proxy::memcached
