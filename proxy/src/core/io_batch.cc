#include "io_batch.h"

#include <liburing.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace ringleader::proxy {
namespace {
constexpr int kUnknown = 1 << 30;  // no completion seen (yet) for this send
}  // namespace

Result<std::unique_ptr<IoBatch>> IoBatch::create(unsigned entries) {
  auto ring = std::make_unique<io_uring>();
  io_uring_params params{};
  // One thread submits and nothing completes asynchronously: no cross-thread wakeups needed.
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  int rc = io_uring_queue_init_params(entries, ring.get(), &params);
  if (rc == -EINVAL) {
    params = io_uring_params{};  // kernels before 6.0 know neither flag
    rc = io_uring_queue_init_params(entries, ring.get(), &params);
  }
  if (rc != 0) return Status::error(std::strerror(-rc));
  return std::unique_ptr<IoBatch>(new IoBatch(std::move(ring), entries));
}

IoBatch::IoBatch(std::unique_ptr<io_uring> ring, unsigned entries)
    : ring_(std::move(ring)), entries_(entries) {}

IoBatch::~IoBatch() {
  io_uring_queue_exit(ring_.get());
}

void IoBatch::add(int fd, const char* data, size_t len, Writer* writer) {
  queued_.push_back(Queued{fd, data, len, writer, kUnknown});
}

void IoBatch::run() {
  running_.clear();
  running_.swap(queued_);
  for (size_t begin = 0; begin < running_.size(); begin += entries_) {
    submit(begin, std::min(running_.size(), begin + entries_));
  }
  // Outcomes only once every send is done: a writer's reaction (closing a socket, failing
  // requests) then cannot disturb a send still to be performed.
  for (Queued& q : running_)
    q.writer->on_batched_write(q.result == kUnknown ? UV_EAGAIN : q.result);
  running_.clear();
}

void IoBatch::submit(size_t begin, size_t end) {
  if (!usable_) return;  // left kUnknown: reported as EAGAIN
  for (size_t i = begin; i < end; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    io_uring_prep_send(sqe, running_[i].fd, running_[i].data, running_[i].len,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, i);
  }
  int submitted;
  do {
    submitted = io_uring_submit(ring_.get());
  } while (submitted == -EINTR);
  if (submitted < 0 || static_cast<size_t>(submitted) < end - begin) {
    // Sends the kernel did not take stay in the submission queue; the ring is never entered
    // again, so they are never performed and their writers retry through libuv.
    RL_LOG_WARN("io_uring submission failed (%s): writing one socket at a time from now on",
                submitted < 0 ? std::strerror(-submitted) : "partial submission");
    usable_ = false;
    if (submitted <= 0) return;
  }
  // MSG_DONTWAIT sends complete during submission, so their completions are already there;
  // waiting guards the invariant that nothing outlives run().
  for (int seen = 0; seen < submitted;) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe(ring_.get(), &cqe);
    if (rc == -EINTR) continue;
    if (rc != 0) {
      RL_LOG_WARN("io_uring completion wait failed (%s)", std::strerror(-rc));
      usable_ = false;
      return;
    }
    uint64_t index = io_uring_cqe_get_data64(cqe);
    if (index < running_.size())
      running_[index].result = cqe->res == -EAGAIN ? UV_EAGAIN : cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    ++seen;
  }
}

}  // namespace ringleader::proxy
