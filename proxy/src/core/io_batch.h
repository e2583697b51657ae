// IoBatch: the socket writes of one loop iteration, handed to the kernel in one system call.
//
// Built on io_uring. Every write is a non-blocking send (MSG_DONTWAIT): the kernel performs
// it during submission or answers EAGAIN, exactly as a plain write() would, so buffers need
// to stay valid only until run() returns, and nothing is ever left in flight. Where io_uring
// cannot be set up (old kernel, a seccomp profile, kernel.io_uring_disabled) create() says
// why and callers write one socket at a time. If the ring ever fails to submit, the writes
// it did not perform report EAGAIN (their writers fall back to libuv's write queue) and the
// batch stops being usable. Single-threaded: created, filled and run by one worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

struct io_uring;

namespace ringleader::proxy {

class IoBatch {
 public:
  // Whoever queued a write: told its outcome (bytes written, or a negative UV_E* code).
  class Writer {
   public:
    virtual void on_batched_write(int result) = 0;

   protected:
    virtual ~Writer() = default;
  };

  // `entries`: sends per submission (more queued are submitted in several).
  static Result<std::unique_ptr<IoBatch>> create(unsigned entries = 256);
  ~IoBatch();
  IoBatch(const IoBatch&) = delete;
  IoBatch& operator=(const IoBatch&) = delete;

  // False after a submission failure: write directly from then on.
  bool usable() const { return usable_; }
  // Queues a send of [data, data + len) on fd; the bytes must stay untouched until run().
  void add(int fd, const char* data, size_t len, Writer* writer);
  bool empty() const { return queued_.empty(); }
  // Performs every queued send, then tells each writer its outcome, in queue order. Writers
  // may queue more from their callbacks; those wait for the next run().
  void run();

 private:
  struct Queued {
    int fd;
    const char* data;
    size_t len;
    Writer* writer;
    int result;
  };
  IoBatch(std::unique_ptr<io_uring> ring, unsigned entries);
  void submit(size_t begin, size_t end);

  std::unique_ptr<io_uring> ring_;
  unsigned entries_;
  bool usable_ = true;
  std::vector<Queued> queued_;
  std::vector<Queued> running_;
};

}  // namespace ringleader::proxy
