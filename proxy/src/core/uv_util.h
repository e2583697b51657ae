// Small libuv helpers. Contract reminders (libuv): a handle's memory may be freed only in
// its close callback; a request must stay alive until its callback runs; a function that
// returns an error does not call its callback.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ringleader::proxy {

// A write's bytes as one uv_buf_t. uv_buf_init takes an unsigned length, which would cut a
// buffer of 4 GiB or more; on Unix the field is a size_t and libuv writes all of it.
inline uv_buf_t write_buffer(char* base, size_t length) {
  uv_buf_t buf;
  buf.base = base;
  buf.len = length;
  return buf;
}

// The most a socket write is first tried with (the worker's batch or a plain try): an
// io_uring send's length and a write's result both fit in 32 bits. A longer buffer's rest
// goes out through a libuv write request, as a partial write's does.
inline constexpr size_t kMaxWriteAttempt = size_t{1} << 30;

// Whether a write's `result` (bytes written, or a negative libuv error) covers all of
// `attempted` bytes.
inline bool wrote_all(int result, size_t attempted) {
  return result >= 0 && static_cast<size_t>(result) == attempted;
}

// Closes a heap-allocated handle wrapper T (whose first member is the uv handle) and
// deletes it in the close callback.
template <typename T, typename Handle>
void close_and_delete(T* owner, Handle* handle) {
  handle->data = owner;
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete static_cast<T*>(h->data); });
}

// A connection's or listener's handle: TCP or a Unix-domain socket (a libuv pipe). Both
// begin with uv_stream_t's fields, so stream() and handle() serve either; `unix_domain`
// says which one was initialised.
struct StreamHandle {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  };
  bool unix_domain = false;

  StreamHandle() : tcp{} {}
  // uv_tcp_init or uv_pipe_init (without handle passing), per `unix`.
  int init(uv_loop_t* loop, bool unix) {
    unix_domain = unix;
    return unix ? uv_pipe_init(loop, &pipe, 0) : uv_tcp_init(loop, &tcp);
  }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
  const uv_stream_t* stream() const { return reinterpret_cast<const uv_stream_t*>(&tcp); }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&tcp); }
  const uv_handle_t* handle() const { return reinterpret_cast<const uv_handle_t*>(&tcp); }
};

inline std::string uv_error_text(int err) {
  return uv_strerror(err);
}

inline uint64_t monotonic_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// The loop's clock: monotonic time read at most once per loop stage and shared by all the
// stage does. A worker would otherwise read the clock several times per request, and on a
// virtual machine a read can cost as much as the rest of a request's bookkeeping. The worker
// forgets the reading before each poll and after each check phase, so no stage sees a time
// from before its poll returned or its timers became due. Thread-local: one per worker;
// only for code that runs on a worker's loop.
inline thread_local uint64_t loop_clock_ns = 0;
inline uint64_t loop_now_ns() {
  if (loop_clock_ns == 0) loop_clock_ns = monotonic_ns();
  return loop_clock_ns;
}
inline void loop_clock_forget() {
  loop_clock_ns = 0;
}

}  // namespace ringleader::proxy
