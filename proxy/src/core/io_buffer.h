// IoBuffer: a growable contiguous byte buffer with a read cursor, for socket I/O.
// Bytes are appended at the tail (directly by libuv reads via prepare()/commit()) and
// consumed from the head. Contiguity lets parsers work on one string_view; views into the
// buffer are invalidated by prepare(), append() and compaction, never by consume().
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace ringleader::proxy {

class IoBuffer {
 public:
  IoBuffer() = default;
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  // Unconsumed bytes.
  std::string_view readable() const { return {data_.get() + head_, tail_ - head_}; }
  size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }

  // Drops n bytes from the head. Precondition: n <= size().
  void consume(size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }

  // Returns a writable region of at least `min_free` bytes at the tail (moving unconsumed
  // bytes to the front or growing as needed); commit() what was written.
  char* prepare(size_t min_free, size_t* available) {
    if (capacity_ - tail_ < min_free) make_room(min_free);
    *available = capacity_ - tail_;
    return data_.get() + tail_;
  }
  void commit(size_t n) { tail_ += n; }

  void append(std::string_view bytes) {
    size_t available;
    char* at = prepare(bytes.size(), &available);
    std::memcpy(at, bytes.data(), bytes.size());
    commit(bytes.size());
  }

  // Drops all bytes and the storage.
  void clear() {
    data_.reset();
    capacity_ = head_ = tail_ = 0;
  }

  // Frees the storage when the buffer is empty and larger than `keep` (after a burst).
  void shrink_if_idle(size_t keep) {
    if (empty() && capacity_ > keep) {
      data_.reset();
      capacity_ = head_ = tail_ = 0;
    }
  }
  size_t capacity() const { return capacity_; }
  // Room after the unconsumed bytes: what prepare() offers before it moves or grows anything.
  size_t free_at_tail() const { return capacity_ - tail_; }

 private:
  void make_room(size_t min_free) {
    size_t used = tail_ - head_;
    if (head_ > 0 && capacity_ - used >= min_free && used <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + head_, used);
    } else {
      size_t cap = capacity_ ? capacity_ : 16 * 1024;
      while (cap - used < min_free)
        cap *= 2;
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (used) std::memcpy(bigger.get(), data_.get() + head_, used);
      data_ = std::move(bigger);
      capacity_ = cap;
    }
    head_ = 0;
    tail_ = used;
  }

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t head_ = 0;  // first unconsumed byte
  size_t tail_ = 0;  // one past the last byte written
};

}  // namespace ringleader::proxy
