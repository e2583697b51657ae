// GatherRule: whether a write to an idle backend connection waits for more requests, and the
// state of the gathering under way (BackendConnection::gather says why gathering pays and
// how the loop waits while it does). Pure: the connection tells it what it sees each time
// it would write; the rule holds no handles and reads no clock. Single-threaded.
//
// Two rules decide, and a write waits while either wants more:
//  - The share: for share_goal requests (the connection's share of what the worker's
//    clients can be expected to bring; 0 when that rule does not apply), while something
//    else is due (a blocking poll would end soon) and until kWindowNs after the previous
//    write.
//  - The rate: when requests have been arriving fast (kMin or more expected within
//    kWindowNs at the recent averages; kMinBusy while the loop is busy) and 2 or more are
//    waiting.
// Once begun, by either rule, a gathering also goes on while every look brings more, up to
// kWindowNs after it began: past the share's goal too. Ending a share's gathering at its goal
// instead made smaller batches (50 clients at -P 1 over 4 backends: 3.9-5.6 requests per
// write against 4.3-5.9, and 3-5% fewer requests/s). Nothing is held at kTarget requests or
// more, nor once the gathering's timer has fired.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ringleader::proxy {

class GatherRule {
 public:
  static constexpr size_t kTarget = 64;
  static constexpr size_t kMin = 16;
  static constexpr size_t kMinBusy = 4;
  static constexpr uint64_t kWindowNs = 500'000;

  // What the connection sees when it would write.
  struct Look {
    size_t unwritten = 0;       // requests queued and not yet written
    uint64_t now_ns = 0;        // a clock that does not go back
    bool others_due = false;    // another backend's replies or a client's requests are due soon
    bool loop_busy = false;     // LoopLoad::busy()
    bool timer_running = true;  // the gathering's bound has not fired (ignored when starting)
  };

  // Whether to hold the write back: starts a gathering, or goes on with the one under way.
  // `share_goal()` is asked only when a gathering would start while others are due.
  template <class ShareGoal>
  bool hold(const Look& look, ShareGoal&& share_goal) {
    if (look.unwritten >= kTarget) return false;
    const uint64_t now = look.now_ns;
    auto share_wants_more = [&] {
      return share_goal_ != 0 && look.others_due && look.unwritten < share_goal_ &&
             now - last_write_ns_ < kWindowNs;
    };
    if (started_ns_ == 0) {
      share_goal_ = look.others_due ? share_goal() : 0;
      if (!share_wants_more() && !rate_wants(look)) return false;
      started_ns_ = now;
    } else if (!look.timer_running) {
      return false;
    } else if (!share_wants_more() &&
               (now - started_ns_ >= kWindowNs || look.unwritten == gathered_)) {
      return false;
    }
    gathered_ = look.unwritten;
    return true;
  }

  bool gathering() const { return started_ns_ != 0; }
  // When the gathering under way began (0: none).
  uint64_t started_ns() const { return started_ns_; }
  // The gathering under way, if any, is over (its write goes out, or the connection closes).
  void stop() { started_ns_ = 0; }

  // A write of `requests` went out at `now_ns`: ends the gathering under way and updates the
  // arrival averages the rate rule judges by.
  void wrote(size_t requests, uint64_t now_ns) {
    started_ns_ = 0;
    if (last_write_ns_ != 0) {
      // Averages of the batch and of the time between writes, kept apart: an average of their
      // ratios would let two writes microseconds apart pass for a burst.
      batch_avg_ += (static_cast<double>(requests) - batch_avg_) / 8;
      interval_avg_ns_ += (static_cast<double>(now_ns - last_write_ns_) - interval_avg_ns_) / 8;
    }
    last_write_ns_ = now_ns;
  }

 private:
  // The rate rule's condition for starting. A request that comes alone is written at once,
  // even right after a burst, when the averages still describe the burst.
  bool rate_wants(const Look& look) const {
    if (look.unwritten < 2) return false;
    // Requests expected within kWindowNs: batch_avg_ per interval_avg_ns_, or per the time
    // since the last write when that is longer.
    const double interval =
        std::max(interval_avg_ns_, static_cast<double>(look.now_ns - last_write_ns_));
    const size_t wanted = look.loop_busy ? kMinBusy : kMin;
    return batch_avg_ * static_cast<double>(kWindowNs) >= static_cast<double>(wanted) * interval;
  }

  uint64_t started_ns_ = 0;  // 0 unless a write is being held
  size_t gathered_ = 0;      // unwritten requests when the write was last held
  size_t share_goal_ = 0;    // the share rule's goal for the gathering under way; 0: none
  uint64_t last_write_ns_ = 0;
  double batch_avg_ = 0;        // requests per write, moving average
  double interval_avg_ns_ = 0;  // time between writes, moving average
};

}  // namespace ringleader::proxy
