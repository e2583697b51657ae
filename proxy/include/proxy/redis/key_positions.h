// KeyPositions: the indexes of a request's key arguments, in request order.
// Holds up to kInline positions without allocating (the common single- and few-key requests).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringleader::proxy::redis {

class KeyPositions {
 public:
  static constexpr size_t kInline = 6;

  void push_back(uint32_t index) {
    if (spill_.empty() && size_ < kInline) {
      inline_[size_++] = index;
      return;
    }
    if (spill_.empty()) spill_.assign(inline_.begin(), inline_.begin() + size_);
    spill_.push_back(index);
    ++size_;
  }
  void reserve(size_t n) {
    if (n > kInline) {
      spill_.reserve(n);
      if (spill_.empty()) spill_.assign(inline_.begin(), inline_.begin() + size_);
    }
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint32_t> indexes() const {
    return spill_.empty() ? std::span<const uint32_t>(inline_.data(), size_)
                          : std::span<const uint32_t>(spill_);
  }
  uint32_t operator[](size_t i) const { return indexes()[i]; }
  auto begin() const { return indexes().begin(); }
  auto end() const { return indexes().end(); }

 private:
  std::array<uint32_t, kInline> inline_{};
  // Invariant: either empty (positions in inline_[0, size_)) or holds all size_ positions.
  std::vector<uint32_t> spill_;
  size_t size_ = 0;
};

}  // namespace ringleader::proxy::redis
