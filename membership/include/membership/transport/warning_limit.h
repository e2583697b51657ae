// WarningLimit: how often the transport repeats one kind of warning. Its keys (peer ids, the
// ids a Hello claims, hosts) come from whatever connects, any number of them: each key is
// named at most once per interval, and at most max_per_interval lines of the kind are written
// per interval over all keys, so a caller that makes up a new id per connection cannot flood
// the log. Memory is bounded too (the map is cleared at kMaxKeys).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ringleader::membership::transport {

class WarningLimit {
 public:
  static constexpr uint64_t kIntervalMs = 30'000;
  static constexpr uint32_t kMaxPerInterval = 8;
  static constexpr size_t kMaxKeys = 256;

  // Whether a warning about `key` is due at `now` (milliseconds), noting it when it is.
  bool due(const std::string& key, uint64_t now) {
    auto it = last_.find(key);
    if (it != last_.end() && now - it->second < kIntervalMs) return false;
    if (now - window_start_ms_ >= kIntervalMs || !window_started_) {
      window_started_ = true;
      window_start_ms_ = now;
      in_window_ = 0;
    }
    if (in_window_ >= kMaxPerInterval) return false;
    ++in_window_;
    if (last_.size() >= kMaxKeys) last_.clear();
    last_[key] = now;
    return true;
  }

 private:
  std::map<std::string, uint64_t> last_;  // when each key was last named
  bool window_started_ = false;
  uint64_t window_start_ms_ = 0;
  uint32_t in_window_ = 0;  // lines written since window_start_ms_
};

}  // namespace ringleader::membership::transport
