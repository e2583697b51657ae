// Fair reading on a worker's loop. libuv reads a readable socket until it is drained (up to 32
// reads per event), and a backend streaming big replies refills its socket as fast as the
// worker empties it: one connection could take a whole loop iteration for tens of megabytes
// while every other client of the worker waits. A ReadBudget caps what one connection reads
// per loop iteration; past it, the connection's alloc callback offers an empty buffer, libuv
// reports UV_ENOBUFS to its read callback (which must take it as "nothing read, go on"), and
// the socket, still readable, is read again in the next iteration, after the others had
// their turn. Level-triggered polling (libuv's) keeps it readable; nothing is lost.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ringleader::proxy {

// Numbers the worker's loop iterations; the worker advances it before each poll.
// Thread-local: one per worker; only for code that runs on a worker's loop.
inline thread_local uint64_t loop_turn = 0;

// A count that starts again from zero in each loop iteration (each loop_turn).
class TurnCount {
 public:
  size_t value() const { return turn_ == loop_turn ? n_ : 0; }
  void add(size_t n = 1) {
    if (turn_ != loop_turn) {
      turn_ = loop_turn;
      n_ = 0;
    }
    n_ += n;
  }

 private:
  uint64_t turn_ = 0;
  size_t n_ = 0;
};

class ReadBudget {
 public:
  // Bytes one connection reads per loop iteration. Small replies and requests never reach
  // it (a -P 16 iteration reads a few KiB per connection); a copy of this size takes tens
  // of microseconds, which bounds what a bulk transfer adds to another client's latency.
  static constexpr size_t kBytesPerTurn = 256 * 1024;

  explicit ReadBudget(size_t bytes_per_turn = kBytesPerTurn) : per_turn_(bytes_per_turn) {}

  // How much of `available` buffer space to offer this read: 0 once this iteration's
  // budget is spent.
  size_t offer(size_t available) const { return std::min(available, per_turn_ - used_.value()); }
  // `n` bytes were read (after an offer in this iteration).
  void charge(size_t n) { used_.add(std::min(n, per_turn_ - used_.value())); }

 private:
  size_t per_turn_;
  TurnCount used_;
};

}  // namespace ringleader::proxy
