// LoopLoad: whether a worker's loop has been busy lately, from the time it spent waiting in
// its poll for something to do (libuv's idle-time metric, UV_METRICS_IDLE_TIME).
//
// The loop samples it once per iteration with the clock and its total idle time so far. It
// judges whole windows of kWindowNs: the loop is busy while the last complete window spent
// less than kBusyIdleShare of its time waiting. A busy loop is one whose clients' requests
// already wait for it: an iteration runs the callbacks of many sockets, and a request read
// early in it waits for all of them. Single-threaded: the worker's loop only.
#pragma once

#include <cstdint>

namespace ringleader::proxy {

class LoopLoad {
 public:
  static constexpr uint64_t kWindowNs = 1'000'000;
  // Under this share of a window spent waiting, the loop counts as busy. Measured with
  // redis-benchmark at -P 1 through one worker on two cores (shared with the load generator
  // and four redis-servers), the loop waited 9% of the time with 50 clients, 15% with 20,
  // 22% with 10 and 54% with 3.
  static constexpr double kBusyIdleShare = 0.3;
  // Loaded: busy, and since then no window waited more than this share. Gathering writes by
  // the clients' share (BackendConnection::gather) makes a busy loop wait more (it wakes the
  // backends less often): at -P 1 with 50 clients, 36% of the time against 22% without, so
  // a verdict of busy alone turned that gathering off every other window.
  static constexpr double kLoadedIdleShare = 0.5;

  // Whether a sample at `now_ns` would be taken (the first, or one that ends a window): the
  // loop reads its idle time, which takes libuv's lock, only then.
  bool due(uint64_t now_ns) const { return !started_ || now_ns - window_start_ns_ >= kWindowNs; }

  // A sample at `now_ns` of the loop's total idle time, `idle_total_ns` (never decreasing).
  void sample(uint64_t now_ns, uint64_t idle_total_ns) {
    if (!started_) {
      started_ = true;
      window_start_ns_ = now_ns;
      window_idle_ns_ = idle_total_ns;
      return;
    }
    if (now_ns - window_start_ns_ < kWindowNs) return;
    const uint64_t idle = idle_total_ns - window_idle_ns_;
    const auto length = static_cast<double>(now_ns - window_start_ns_);
    busy_ = static_cast<double>(idle) < kBusyIdleShare * length;
    loaded_ = busy_ || (loaded_ && static_cast<double>(idle) <= kLoadedIdleShare * length);
    window_start_ns_ = now_ns;
    window_idle_ns_ = idle_total_ns;
  }

  // The last complete window's verdict; false until one has completed.
  bool busy() const { return busy_; }
  // Busy in some window, and no window since waited more than kLoadedIdleShare.
  bool loaded() const { return loaded_; }

 private:
  bool started_ = false;
  bool busy_ = false;
  bool loaded_ = false;
  uint64_t window_start_ns_ = 0;
  uint64_t window_idle_ns_ = 0;  // the idle total when the window started
};

}  // namespace ringleader::proxy
