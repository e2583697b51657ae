// RingQueue: a FIFO of movable values in one circular array that is allocated on the first
// push and can be given back when empty. A proxy holds two such queues per client connection
// (its requests, its big replies) and thousands of connections, most of them idle: an empty
// std::deque still owns a 512-byte node and its map (about 600 bytes with the allocator's
// headers), an empty RingQueue owns nothing.
//
// Invariants: capacity_ is 0 (no storage) or a power of two of at least kMinCapacity;
// size_ <= capacity_; element i (0 = the front) lives in slot (head_ + i) & (capacity_ - 1);
// every slot outside [head_, head_ + size_) holds a value-initialized T, so a popped value
// keeps no memory alive. Pushing may move every element (references are invalidated);
// popping invalidates only references to the popped element.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <utility>

namespace ringleader::proxy {

template <typename T>
class RingQueue {
 public:
  static constexpr size_t kMinCapacity = 8;

  RingQueue() = default;
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Slots allocated (0 until the first push, and after release_if_empty()).
  size_t capacity() const { return capacity_; }

  // Precondition for front(), pop_front() and operator[]: the index is below size().
  T& front() {
    assert(size_ > 0);
    return slots_[head_];
  }
  const T& front() const {
    assert(size_ > 0);
    return slots_[head_];
  }
  T& operator[](size_t i) {
    assert(i < size_);
    return slots_[(head_ + i) & (capacity_ - 1)];
  }
  const T& operator[](size_t i) const {
    assert(i < size_);
    return slots_[(head_ + i) & (capacity_ - 1)];
  }

  void push_back(T value) {
    if (size_ == capacity_) grow();
    slots_[(head_ + size_) & (capacity_ - 1)] = std::move(value);
    ++size_;
  }

  void pop_front() {
    assert(size_ > 0);
    // Destroyed and made anew: assigning T() could keep the old value's buffer (a string
    // assigned an empty one keeps its capacity).
    std::destroy_at(&slots_[head_]);
    std::construct_at(&slots_[head_]);
    head_ = (head_ + 1) & (capacity_ - 1);
    if (--size_ == 0) head_ = 0;
  }

  // Drops every element; keeps the storage.
  void clear() {
    while (size_ > 0)
      pop_front();
  }

  // Frees the storage when the queue is empty (an idle connection giving its memory back).
  void release_if_empty() {
    if (size_ != 0) return;
    slots_.reset();
    capacity_ = head_ = 0;
  }

 private:
  void grow() {
    const size_t bigger = capacity_ ? capacity_ * 2 : kMinCapacity;
    std::unique_ptr<T[]> slots(new T[bigger]());
    for (size_t i = 0; i < size_; ++i)
      slots[i] = std::move((*this)[i]);
    slots_ = std::move(slots);
    capacity_ = bigger;
    head_ = 0;
  }

  std::unique_ptr<T[]> slots_;
  size_t capacity_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace ringleader::proxy
