// ByteReader: the bounds-checked inverse of ByteWriter. Every read reports failure instead of
// reading past the end; after the first failure every later read fails too, so a decoder may
// read a whole record and check ok() once. Never throws, never asserts on input.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringleader::membership::codec {

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  uint8_t u8() { return static_cast<uint8_t>(fixed(1)); }
  uint16_t u16() { return static_cast<uint16_t>(fixed(2)); }
  uint32_t u32() { return static_cast<uint32_t>(fixed(4)); }
  uint64_t u64() { return fixed(8); }
  double f64() { return std::bit_cast<double>(u64()); }
  // A u32-length-prefixed byte string of at most `max_len` bytes; a longer one fails.
  std::string bytes(size_t max_len) {
    uint32_t len = u32();
    if (!ok_ || len > max_len || len > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string v(in_.substr(pos_, len));
    pos_ += len;
    return v;
  }

  bool ok() const { return ok_; }
  // True when every byte was consumed and no read failed.
  bool done() const { return ok_ && pos_ == in_.size(); }
  size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
  void fail() { ok_ = false; }

 private:
  uint64_t fixed(size_t width) {
    if (!ok_ || in_.size() - pos_ < width) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i)
      v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += width;
    return v;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ringleader::membership::codec
