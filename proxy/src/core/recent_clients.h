// RecentClients: about how many distinct clients sent to one backend connection lately, so
// that gathering (BackendConnection::gather) never waits for more requests than the clients
// of that backend can bring: a client that waits for its reply sends one request at a time.
//
// Time is cut into periods of kPeriodNs. The count is the larger of the current period's and
// the previous period's distinct clients (a client is its PendingRequest::lane), each counted
// up to kMax; a period that passed with no request counts none. A small open-addressed table
// holds the current period's lanes and is cleared when the next period begins. Single-
// threaded (the worker's loop).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace ringleader::proxy {

class RecentClients {
 public:
  static constexpr size_t kMax = 64;
  static constexpr uint64_t kPeriodNs = 2'000'000;

  // A request of client `lane` was sent at `now_ns` (a clock that does not go back).
  void note(uint32_t lane, uint64_t now_ns) {
    roll(now_ns);
    if (current_ == kMax) return;
    const uint32_t key = lane + 1;  // 0 marks a free slot; lanes wrap, which only merges two
    size_t slot = (key * 2654435761u) % kSlots;
    while (table_[slot] != 0) {
      if (table_[slot] == key) return;
      slot = (slot + 1) % kSlots;
    }
    table_[slot] = key;
    ++current_;
  }

  // Distinct clients seen in the current period or the one before, whichever saw more.
  size_t count(uint64_t now_ns) const {
    if (now_ns - period_start_ns_ >= 2 * kPeriodNs) return 0;
    if (now_ns - period_start_ns_ >= kPeriodNs) return current_;  // the previous period now
    return std::max(current_, previous_);
  }

 private:
  static constexpr size_t kSlots = 2 * kMax;  // at most half full

  void roll(uint64_t now_ns) {
    if (now_ns - period_start_ns_ < kPeriodNs) return;
    previous_ = now_ns - period_start_ns_ < 2 * kPeriodNs ? current_ : 0;
    if (current_ != 0) table_.fill(0);
    current_ = 0;
    period_start_ns_ = now_ns;
  }

  std::array<uint32_t, kSlots> table_{};
  size_t current_ = 0;
  size_t previous_ = 0;
  uint64_t period_start_ns_ = 0;
};

}  // namespace ringleader::proxy
