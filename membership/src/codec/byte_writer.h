// ByteWriter: appends little-endian fixed-width integers and length-prefixed byte strings to a
// std::string. The encoding every membership format is built from.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringleader::membership::codec {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { fixed(v, 2); }
  void u32(uint32_t v) { fixed(v, 4); }
  void u64(uint64_t v) { fixed(v, 8); }
  void f64(double v) { u64(std::bit_cast<uint64_t>(v)); }
  // u32 length, then the bytes.
  void bytes(std::string_view v) {
    u32(static_cast<uint32_t>(v.size()));
    out_.append(v);
  }
  void raw(std::string_view v) { out_.append(v); }

  const std::string& view() const { return out_; }
  std::string take() && { return std::move(out_); }

 private:
  void fixed(uint64_t v, int width) {
    for (int i = 0; i < width; ++i)
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }

  std::string out_;
};

}  // namespace ringleader::membership::codec
