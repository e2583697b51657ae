// FairQueue: values waiting for their turn, one FIFO per lane, taken a quantum per lane in turn.
//
// A backend connection runs what is written to it in the order written. Written as it
// arrives, a flood from many clients would put every later request, any client's, behind
// all of it. So past a connection's limit of outstanding requests, requests wait in a
// FairQueue keyed by their client's lane, and the connection takes them round robin, a
// quantum at a time: a client that sends one request waits for at most a quantum of each
// other waiting client's (plus what is outstanding), not for everything the others sent.
//
// Invariants: every lane in lanes_ has a non-empty queue and appears exactly once in turns_;
// turns_ holds no other lane; size_ is the sum of the lanes' queue sizes; taken_ < quantum_.
// A lane's values leave in the order they were pushed. Once emptied by pop(), a FairQueue
// owns no storage.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>

#include "ring_queue.h"

namespace ringleader::proxy {

template <typename T>
class FairQueue {
 public:
  // `quantum`: how many values a lane gives in one turn (at least 1).
  explicit FairQueue(size_t quantum = 1) : quantum_(quantum > 0 ? quantum : 1) {}

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Lanes with values waiting.
  size_t lanes() const { return lanes_.size(); }

  // Queues `value` at the end of `lane`'s FIFO; a lane new to the queue takes its turn
  // after every lane already waiting.
  void push(uint32_t lane, T value) {
    auto [it, added] = lanes_.try_emplace(lane);
    if (added) turns_.push_back(lane);
    it->second.push_back(std::move(value));
    ++size_;
  }

  // The oldest value of the lane whose turn it is. A lane's turn ends after `quantum`
  // values, or when it has no more; its next turn then comes after every other waiting
  // lane's. Precondition: !empty().
  T pop() {
    assert(size_ > 0);
    const uint32_t lane = turns_.front();
    auto it = lanes_.find(lane);
    assert(it != lanes_.end());
    T value = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) {
      lanes_.erase(it);
      turns_.pop_front();
      taken_ = 0;
    } else if (++taken_ == quantum_) {
      turns_.pop_front();
      turns_.push_back(lane);
      taken_ = 0;
    }
    if (--size_ == 0) {  // the flood is over: its storage goes too
      turns_.release_if_empty();
      std::unordered_map<uint32_t, RingQueue<T>>().swap(lanes_);
    }
    return value;
  }

 private:
  const size_t quantum_;
  std::unordered_map<uint32_t, RingQueue<T>> lanes_;  // non-empty FIFOs only
  RingQueue<uint32_t> turns_;  // lanes in the order of their next turn; front(): whose it is
  size_t taken_ = 0;           // values the front lane gave in its current turn
  size_t size_ = 0;
};

}  // namespace ringleader::proxy
