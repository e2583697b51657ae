#include "backend_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "backend_pool.h"
#include "common/log.h"
#include "common/socket_address.h"
#include "common/socket_queues.h"
#include "fd_limit.h"
#include "tcp_keepalive.h"
#include "text.h"
#include "uv_util.h"

namespace ringleader::proxy {
namespace {
constexpr uint64_t kMs = 1000000;
constexpr uint64_t kFirstBackoffNs = 50 * kMs;
constexpr size_t kReadChunk = 64 * 1024;
// While a written batch is unanswered, new fragments are held back until its replies arrive,
// or until this many are queued: the hold spreads a write's fixed costs (the system call, the
// segment, the backend's wakeup) over several requests, and past a few dozen requests or one
// backend read's worth of bytes (16 KiB for redis-server) holding on only makes the backend
// wait for the proxy.
constexpr size_t kHoldRequests = 16;
constexpr size_t kHoldBytes = 16 * 1024;
// A write buffer sent whole keeps its capacity for the next batch up to this size; a bigger
// one (a big value's, a burst's) is given back, or every connection would keep its largest.
constexpr size_t kKeptWriteBytes = 256 * 1024;
}  // namespace

struct BackendConnection::Socket {
  StreamHandle stream;        // TCP, or a Unix-domain socket for a unix: address
  BackendConnection* owner;   // null once detached: late callbacks then do nothing
  BackendConnection* parent;  // never null: told when the handle is closed
  uv_connect_t connect_req;
};

// A host-name lookup on libuv's thread pool. Its callback always runs (UV_EAI_CANCELED when
// cancelled); `owner` is cleared when the connection no longer waits for it.
struct BackendConnection::Resolve {
  uv_getaddrinfo_t req;
  BackendConnection* owner;
};

struct BackendConnection::WriteOp {
  uv_write_t req;
  std::string bytes;
  BackendConnection* owner;
  Socket* socket;  // the socket it was written on; a stale op after a reconnect is ignored
};

BackendConnection::BackendConnection(uv_loop_t* loop, BackendPool& pool, Protocol& protocol)
    : loop_(loop), pool_(pool), protocol_(protocol), framer_(protocol.new_framer()) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_prepare_init(loop_, &gather_prepare_);
  gather_prepare_.data = this;
  uv_idle_init(loop_, &gather_idle_);
  gather_idle_.data = this;
  uv_timer_init(loop_, &gather_timer_);
  gather_timer_.data = this;
}

void BackendConnection::send(PendingRequest* req, uint32_t fragment) {
  req->retain();
  Fragment& f = req->part(fragment);
  f.state = FragmentState::kSent;
  uint64_t now = loop_now_ns();
  Held held{req, fragment, now + uint64_t{pool_.config().timeout_ms} * kMs, now};
  clients_.note(req->lane, now);
  if (state_ == State::kClosed) {
    finish(held, FragmentState::kFailed, pool_.describe() + ": shutting down");
    return;
  }
  if (state_ == State::kBackoff) {
    if (now < backoff_until_ns_) {
      const std::string why = pool_.describe() + ": unavailable (" + last_error_ + ")";
      finish(held, FragmentState::kFailed, why);
      if (backoff_refusals_count_) pool_.report_failure(why);
      return;
    }
    state_ = State::kIdle;
  }
  if (!turns_.empty() || !has_room()) {
    turns_.push(req->lane, held);
    WorkerCounters::bump(pool_.counters().backend_fragments_queued);
    if (state_ == State::kIdle) start_connect();
    return;
  }
  switch (state_) {
    case State::kIdle:
      waiting_.push_back(held);
      waiting_bytes_ += req->payload(fragment).size();
      start_connect();
      return;
    case State::kConnecting:
    case State::kHandshake:
      waiting_.push_back(held);
      waiting_bytes_ += req->payload(fragment).size();
      return;
    case State::kReady:
      out_pending_ += req->payload(fragment);
      in_flight_.push_back(held);
      WorkerCounters::bump(pool_.counters().fragments_sent);
      request_flush();
      if (in_flight_.size() == 1) arm_timer();
      return;
    case State::kBackoff:
    case State::kClosed:
      return;  // handled above
  }
}

void BackendConnection::preconnect() {
  if (state_ == State::kIdle) start_connect();
}

void BackendConnection::start_connect() {
  state_ = State::kConnecting;
  // One deadline for the lookup and the connect together.
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<BackendConnection*>(t->data)->on_timer(); },
      std::max<uint32_t>(1, pool_.config().connect_timeout_ms), 0);
  if (const sockaddr_storage* fixed = pool_.fixed_address()) {
    connect_to(*fixed);
    return;
  }
  auto* r = new Resolve{};
  r->owner = this;
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  resolve_ = r;
  int rc = uv_getaddrinfo(
      loop_, &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* found) {
        auto* lookup = static_cast<Resolve*>(req->data);
        if (lookup->owner != nullptr) lookup->owner->on_resolved(status, found);
        uv_freeaddrinfo(found);
        delete lookup;
      },
      pool_.host().c_str(), nullptr, &hints);
  if (rc != 0) {
    resolve_ = nullptr;
    delete r;
    connect_failed("cannot resolve \"" + pool_.host() + "\": " + uv_strerror(rc));
  }
}

void BackendConnection::on_resolved(int status, const addrinfo* found) {
  resolve_ = nullptr;
  if (status != 0 || found == nullptr) {
    connect_failed("cannot resolve \"" + pool_.host() +
                   "\": " + (status != 0 ? uv_strerror(status) : "no address"));
    return;
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  const uint16_t port = htons(pool_.port());
  if (address.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&address)->sin_port = port;
  if (address.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = port;
  connect_to(address);
}

void BackendConnection::connect_failed(const std::string& error) {
  last_error_ = error;
  WorkerCounters::bump(pool_.counters().backend_connect_failures);
  pool_.note_connect_failure(error);
  fail_all(pool_.describe() + ": " + error, true);
}

void BackendConnection::out_of_descriptors(int err) {
  last_error_ = "cannot open a connection: " + uv_error_text(err) + fd_exhaustion_hint(-err);
  WorkerCounters::bump(pool_.counters().backend_connect_failures);
  pool_.note_out_of_descriptors(last_error_);
  fail_all(pool_.describe() + ": " + last_error_, false);
  backoff_refusals_count_ = false;  // nor do the requests refused while it backs off
}

void BackendConnection::connect_to(const sockaddr_storage& address) {
  socket_ = new Socket{};
  socket_->owner = this;
  socket_->parent = this;
  const bool unix_domain = address.ss_family == AF_UNIX;
  socket_->stream.init(loop_, unix_domain);
  socket_->stream.handle()->data = socket_;
  ++open_handles_;
  socket_->connect_req.data = socket_;
  auto connected = [](uv_connect_t* req, int status) {
    auto* s = static_cast<Socket*>(req->data);
    if (s->owner) s->owner->on_connected(status);
  };
  if (unix_domain) {
    // Errors (no such file, refused) come through the callback.
    uv_pipe_connect(&socket_->connect_req, &socket_->stream.pipe, unix_socket_path(address).c_str(),
                    connected);
    return;
  }
  uv_tcp_nodelay(&socket_->stream.tcp, 1);
  int rc = uv_tcp_connect(&socket_->connect_req, &socket_->stream.tcp,
                          reinterpret_cast<const sockaddr*>(&address), connected);
  if (rc == UV_EMFILE || rc == UV_ENFILE) {
    out_of_descriptors(rc);
  } else if (rc != 0) {
    connect_failed("connect failed: " + uv_error_text(rc));
  }
}

std::string BackendConnection::loops_back() {
  uv_os_fd_t fd = -1;
  if (uv_fileno(socket_->stream.handle(), &fd) != 0) return "";
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return "";
  std::string reached, where;
  if (socket_->stream.unix_domain) {
    // The process at the other end: this one only through its own Unix proxy.listen (the
    // admin and Raft listeners are TCP), however the path was spelt (a symlink, /var/run for
    // /run). A server in another PID namespace is never this process.
    ucred cred{};
    socklen_t cred_length = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_length) == 0 &&
        cred.pid == ::getpid()) {
      reached = "proxy.listen";
      where = "unix:" + unix_socket_path(peer);
    }
  } else {
    reached = pool_.owner().own_listener_at(peer);
    where = format_socket_address(peer);
  }
  if (reached.empty()) return "";
  return "reached " + config::own_listener_owner(reached) + " (" + where +
         "), not a backend: requests sent there would come back to this instance";
}

void BackendConnection::on_connected(int status) {
  if (status != 0) {
    if (status == UV_ECANCELED) return;  // socket closed while connecting
    if (status == UV_EMFILE || status == UV_ENFILE) {
      out_of_descriptors(status);
      return;
    }
    connect_failed("connect failed: " + uv_error_text(status));
    return;
  }
  if (const std::string loop = loops_back(); !loop.empty()) {
    connect_failed(loop);
    return;
  }
  uv_timer_stop(&timer_);
  if (!socket_->stream.unix_domain) {
    if (int err = enable_tcp_keepalive(&socket_->stream.tcp, pool_.config().tcp_keepalive_s)) {
      RL_LOG_DEBUG("%s: TCP keepalive not set: %s", pool_.describe().c_str(), std::strerror(err));
    }
  }
  WorkerCounters::bump(pool_.counters().backend_connects);
  connected_ = true;
  pool_.stats().connections.fetch_add(1, std::memory_order_relaxed);
  backoff_step_ = 0;
  uv_read_start(
      socket_->stream.stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* s = static_cast<Socket*>(h->data);
        size_t available = 0;
        buf->base = s->owner ? s->owner->in_.prepare(kReadChunk, &available) : nullptr;
        buf->len = s->owner ? s->owner->read_budget_.offer(available) : 0;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
        auto* s = static_cast<Socket*>(stream->data);
        if (s->owner) s->owner->on_read(nread);
      });
  std::string hello = protocol_.handshake(pool_.config());
  handshake_pending_ = protocol_.handshake_replies(pool_.config());
  if (handshake_pending_ > 0) {
    state_ = State::kHandshake;
    out_pending_ += hello;
    request_flush();
    uv_timer_start(
        &timer_, [](uv_timer_t* t) { static_cast<BackendConnection*>(t->data)->on_timer(); },
        std::max<uint32_t>(1, pool_.config().timeout_ms), 0);
    return;
  }
  pool_.note_connected();  // (a server refusing it says so in its first reply)
  state_ = State::kReady;
  write_waiting();
}

void BackendConnection::write_waiting() {
  uint64_t now = loop_now_ns();
  while (!waiting_.empty()) {
    Held h = waiting_.front();
    waiting_.pop_front();
    waiting_bytes_ -= h.req->payload(h.fragment).size();
    // The request timeout runs from the write, not from the wait for the connection.
    h.deadline_ns = std::max(h.deadline_ns, now + uint64_t{pool_.config().timeout_ms} * kMs);
    out_pending_ += h.req->payload(h.fragment);
    in_flight_.push_back(h);
    if (counted_waiting_ > 0) {
      --counted_waiting_;
    } else {
      WorkerCounters::bump(pool_.counters().fragments_sent);
    }
  }
  take_turns();
  request_flush();
  arm_timer();
}

void BackendConnection::take_turns() {
  if (turns_.empty() || state_ != State::kReady) return;
  const uint64_t now = loop_now_ns();
  const bool was_empty = in_flight_.empty();
  while (!turns_.empty() && has_room()) {
    Held h = turns_.pop();
    if (drop_abandoned_read(h)) continue;
    // As for a fragment that waited for the connection: its time runs from the write.
    h.deadline_ns = std::max(h.deadline_ns, now + uint64_t{pool_.config().timeout_ms} * kMs);
    out_pending_ += h.req->payload(h.fragment);
    in_flight_.push_back(h);
    WorkerCounters::bump(pool_.counters().fragments_sent);
  }
  request_flush();
  if (was_empty) arm_timer();
}

bool BackendConnection::drop_abandoned_read(const Held& held) {
  PendingRequest* req = held.req;
  if (!req->abandoned || PendingRequest::is_copy(held.fragment)) return false;
  Fragment& f = req->part(held.fragment);
  const bool read = f.access == Access::kRead || f.access == Access::kReadPrimary ||
                    (f.access == Access::kDirect && req->reads_only);
  if (!read) return false;
  f.state = FragmentState::kFailed;
  f.error = "client gone";
  WorkerCounters::bump(pool_.counters().backend_reads_dropped);
  on_fragment_finished(pool_.owner(), req, held.fragment);
  req->release();
  return true;
}

void BackendConnection::request_flush() {
  if (flush_scheduled_ || writing_ || socket_ == nullptr) return;
  flush_scheduled_ = true;
  pool_.owner().schedule_flush(this);
}

void BackendConnection::flush() {
  flush_scheduled_ = false;
  if (writing_ || out_pending_.empty() || socket_ == nullptr) return;
  // Batching: the backend is still working on what was written; what queues up meanwhile
  // goes out as one write when all its replies are in (process_replies asks for it), or
  // sooner once kHoldRequests or kHoldBytes are queued.
  if (on_wire_ > 0 && in_flight_.size() - on_wire_ < kHoldRequests &&
      out_pending_.size() < kHoldBytes) {
    return;
  }
  const size_t unwritten = in_flight_.size() - on_wire_;
  if (on_wire_ == 0 && state_ == State::kReady && gather(unwritten)) return;
  // A fragment's time runs from its write. The poll's callbacks that queued it may have taken
  // long (a worker parsing a flood), and that is the proxy's time, not the backend's.
  const uint64_t written_by = loop_now_ns() + uint64_t{pool_.config().timeout_ms} * kMs;
  for (size_t i = on_wire_; i < in_flight_.size(); ++i)
    in_flight_[i].deadline_ns = std::max(in_flight_[i].deadline_ns, written_by);
  note_write(unwritten);
  set_on_wire(in_flight_.size());
  pool_.owner().awaiting_replies.join(awaiting_, loop_now_ns());  // replies due from now
  WorkerCounters::bump(pool_.counters().backend_writes);
  // A plain non-blocking write first (with the iteration's others when batching); a write
  // request only for what the socket did not take.
  writing_ = true;
  attempted_ = out_pending_.size();
  write_socket_ = socket_;
  uv_os_fd_t fd = -1;
  uv_fileno(socket_->stream.handle(), &fd);
  const size_t first = std::min(attempted_, kMaxWriteAttempt);
  if (pool_.owner().queue_write(fd, out_pending_.data(), first, this)) return;
  uv_buf_t attempt = write_buffer(out_pending_.data(), first);
  on_batched_write(uv_try_write(socket_->stream.stream(), &attempt, 1));
}

void BackendConnection::set_on_wire(size_t n) {
  if (n == 0) pool_.owner().awaiting_replies.leave(awaiting_);
  on_wire_ = n;
}

bool BackendConnection::gather(size_t unwritten) {
  if (out_pending_.size() >= kHoldBytes) return false;
  const uint64_t now = loop_now_ns();
  PoolOwner& owner = pool_.owner();
  // Whether a blocking poll would end soon: another backend's replies or a client's next
  // requests are due, and became due within the gathering window.
  const uint64_t recent = now > GatherRule::kWindowNs ? now - GatherRule::kWindowNs : 0;
  const bool others_due =
      owner.awaiting_replies.joined_since(recent) || owner.clients_due.joined_since(recent);
  const bool started = gather_.gathering();
  const GatherRule::Look look{unwritten, now, others_due, owner.loop_load.busy(),
                              uv_is_active(reinterpret_cast<uv_handle_t*>(&gather_timer_)) != 0};
  if (!gather_.hold(look, [&] { return share_goal(recent, now); })) return false;
  if (!started) {
    // The bound when the loop has nothing else to do: libuv's timers count milliseconds.
    uv_timer_start(
        &gather_timer_,
        [](uv_timer_t* h) {
          auto* c = static_cast<BackendConnection*>(h->data);
          if (c->gather_.gathering()) c->flush();
        },
        1, 0);
  }
  // Looked at again after the next poll: the prepare phase runs just before it, and a flush
  // asked for there runs in the check phase just after it.
  uv_prepare_start(&gather_prepare_, [](uv_prepare_t* h) {
    uv_prepare_stop(h);
    auto* c = static_cast<BackendConnection*>(h->data);
    if (c->gather_.gathering()) c->request_flush();
  });
  // The poll may block (until an event, or the timer) only while something else is due and
  // recent: one of them ends it soon. Otherwise clients wait for these very requests (or for
  // a backend busy with a slow command) and nothing may end it but the timer: an active idle
  // handle makes the poll only look (libuv polls without blocking while one is active when
  // it polls, so the handle is stopped here and in stop_gathering(), never in its own
  // callback).
  if (!others_due) {
    uv_idle_start(&gather_idle_, [](uv_idle_t*) {});
  } else {
    uv_idle_stop(&gather_idle_);
  }
  return true;
}

size_t BackendConnection::share_goal(uint64_t since_ns, uint64_t now_ns) const {
  PoolOwner& owner = pool_.owner();
  if (!owner.loop_load.loaded()) return 0;
  // The backend's share is spread over its connections (by client), and no more can come
  // than one request from each client that has been sending here.
  const size_t connections = std::max<size_t>(pool_.config().connections, 1);
  const size_t goal =
      std::min(owner.expected_per_backend(since_ns, GatherRule::kTarget) / connections,
               clients_.count(now_ns));
  return goal >= 2 ? goal : 0;
}

void BackendConnection::stop_gathering() {
  gather_.stop();
  uv_prepare_stop(&gather_prepare_);
  uv_idle_stop(&gather_idle_);
  uv_timer_stop(&gather_timer_);
}

void BackendConnection::note_write(size_t requests) {
  const uint64_t now = loop_now_ns();
  if (gather_.gathering()) {
    WorkerCounters::bump(pool_.counters().backend_gathered_writes);
    WorkerCounters::bump(pool_.counters().backend_gather_wait_ns, now - gather_.started_ns());
    stop_gathering();
  }
  gather_.wrote(requests, now);
}

void BackendConnection::on_batched_write(int written) {
  if (socket_ == nullptr || socket_ != write_socket_) return;  // closed meanwhile
  writing_ = false;
  if (wrote_all(written, attempted_)) {
    // While a big write's progress is being looked at, the kernel now holds these bytes too:
    // their going must not hide that the backend stopped reading the others.
    if (unsent_seen_ > 0) unsent_seen_ += attempted_;
    out_pending_.erase(0, attempted_);  // requests may have been queued meanwhile
    take_turns();                       // the buffer has room again
    if (!out_pending_.empty()) {
      request_flush();
    } else {
      release_write_buffer();
    }
    return;
  }
  if (written < 0 && written != UV_EAGAIN) {
    last_error_ = uv_error_text(written);
    fail_all(pool_.describe() + ": write failed: " + last_error_, true);
    return;
  }
  auto* op = new WriteOp{};
  op->bytes.swap(out_pending_);  // no copy of a big request's bytes: sent from where they are
  if (op->bytes.size() > attempted_) {
    // Requests queued between the batched attempt and this report (another writer's report
    // failed reads over to this backend, a client resumed): not part of this write, not among
    // the on_wire_ ones, so they stay queued for a flush of their own.
    out_pending_.assign(op->bytes, attempted_);
    op->bytes.resize(attempted_);
  }
  const size_t offset = written > 0 ? static_cast<size_t>(written) : 0;
  op->owner = this;
  op->socket = socket_;
  op->req.data = op;
  uv_buf_t buf = write_buffer(op->bytes.data() + offset, op->bytes.size() - offset);
  writing_ = true;
  int rc = uv_write(&op->req, socket_->stream.stream(), &buf, 1, [](uv_write_t* req, int status) {
    auto* w = static_cast<WriteOp*>(req->data);
    BackendConnection* c = w->owner;
    bool current = c && c->socket_ == w->socket;
    delete w;
    if (current) c->on_write_done(status);
  });
  // libuv writes what it can at once: what is left is what later progress is measured by.
  if (rc != 0) {
    delete op;
    writing_ = false;
    last_error_ = uv_error_text(rc);
    fail_all(pool_.describe() + ": write failed: " + last_error_, true);
    return;
  }
  unsent_seen_ = unsent_bytes();
  arm_timer();   // looks at the write's progress from now on (see arm_timer)
  take_turns();  // out_pending_ fills while this write is out
}

void BackendConnection::release_write_buffer() {
  if (out_pending_.empty() && out_pending_.capacity() > kKeptWriteBytes) {
    std::string().swap(out_pending_);  // a big request's size, kept for good otherwise
  }
}

void BackendConnection::on_write_done(int status) {
  writing_ = false;
  if (status != 0) {
    if (status == UV_ECANCELED) return;
    last_error_ = uv_error_text(status);
    fail_all(pool_.describe() + ": write failed: " + last_error_, true);
    return;
  }
  // The kernel holds the tail of the write: its progress counts from here.
  last_write_progress_ns_ = loop_now_ns();
  unsent_seen_ = unsent_bytes();
  flush();
}

void BackendConnection::on_read(ssize_t nread) {
  if (nread == 0) return;     // EAGAIN
  if (nread == UV_ENOBUFS) {  // this iteration's read budget is spent: read on in the next
    WorkerCounters::bump(pool_.counters().backend_reads_deferred);
    return;
  }
  if (nread < 0) {
    last_error_ = nread == UV_EOF ? "connection closed by backend" : uv_error_text(int(nread));
    if (state_ == State::kReady && on_wire_ == 0 && waiting_.empty() && !writing_ && in_.empty()) {
      // An idle connection the backend closed (redis-server's `timeout`, a restart between
      // requests): nothing was lost and nothing says the backend is unwell. No failure, no
      // backoff. Requests queued since the last poll but not handed to the socket yet go out
      // on a new connection; with none, the next request connects again. Either way that
      // attempt is what counts.
      close_socket();
      uv_timer_stop(&timer_);
      state_ = State::kIdle;
      if (!in_flight_.empty()) {
        counted_waiting_ = in_flight_.size();
        waiting_.swap(in_flight_);
        for (const Held& h : waiting_)
          waiting_bytes_ += h.req->payload(h.fragment).size();
        start_connect();
      }
      return;
    }
    fail_all(pool_.describe() + ": " + last_error_, true);
    return;
  }
  in_.commit(static_cast<size_t>(nread));
  read_budget_.charge(static_cast<size_t>(nread));
  last_read_ns_ = loop_now_ns();
  WorkerCounters::bump(pool_.counters().backend_reads);
  process_replies();
}

void BackendConnection::process_replies() {
  while (!in_.empty()) {
    size_t length = 0;
    std::string error;
    std::string_view input = in_.readable();
    ReplyFramer::Status st = framer_->scan(input, &length, &error);
    if (st == ReplyFramer::Status::kNeedMore) {
      const bool unowned = owned_by_no_request();
      if (unowned && unowned_reply_too_long(std::max(input.size(), framer_->known_length()))) {
        return;
      }
      if (state_ == State::kReady && !unowned) {
        // Everything buffered belongs to the head reply, which is still arriving.
        const size_t head = std::max(input.size(), framer_->known_length());
        if (discarding_ || over_budget(head)) {
          if (!drop_oversized_reply(head)) return;
        } else {
          charge_head(head);
        }
      }
      break;
    }
    if (st == ReplyFramer::Status::kError) {
      last_error_ = "malformed reply: " + error;
      fail_all(pool_.describe() + ": " + last_error_, true);
      return;
    }
    std::string_view reply = input.substr(0, length);
    framer_->reset();
    if (owned_by_no_request() && unowned_reply_too_long(length)) return;
    if (state_ == State::kHandshake) {
      if (!protocol_.handshake_accepted(reply)) {
        std::string_view line = reply;
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
          line.remove_suffix(1);
        connect_failed("handshake refused: " + printable(line, 200));
        return;
      }
      in_.consume(length);
      if (--handshake_pending_ == 0) {
        uv_timer_stop(&timer_);
        pool_.note_connected();
        state_ = State::kReady;
        write_waiting();
      }
      continue;
    }
    if (discarding_ || over_budget(length)) {
      if (!drop_oversized_reply(length)) return;  // (the framer was reset: it drops nothing)
      in_.consume(length);                        // what is left of the reply
      discarding_ = false;
      continue;
    }
    // A server that will not serve the connection says so in its first reply (or before any
    // request was written: backend.preconnect). Later replies are answers, whatever they say:
    // a script's error_reply("NOAUTH ...") must not fail the connection and other clients'
    // requests on it, nor count toward the backend's ejection.
    // The first reply can be a script's, though: it proves nothing, and the next one decides.
    if (!replied_) {
      const uint16_t command = on_wire_ == 0 ? 0 : in_flight_.front().req->command;
      if (!protocol_.any_error_is_an_answer(command)) {
        if (std::string why; protocol_.refuses_connection(reply, &why)) {
          connect_failed(why);
          return;
        }
        replied_ = true;
      }
    }
    // Only requests handed to the socket can be answered: the others (held while a written
    // batch is unanswered, or queued as the handshake ended) were never sent.
    if (on_wire_ == 0) {
      unexpected_reply();
      return;
    }
    if (std::string why; protocol_.misanswers(
            in_flight_.front().req->payload(in_flight_.front().fragment), reply, &why)) {
      last_error_ = "reply out of step with the requests: " + why;
      fail_all(pool_.describe() + ": " + last_error_, true);
      return;
    }
    release_head_charge();
    Held held = in_flight_.front();
    in_flight_.pop_front();
    set_on_wire(on_wire_ - 1);
    pool_.report_success();
    finish(held, FragmentState::kDone, reply);
    in_.consume(length);
  }
  in_.shrink_if_idle(256 * 1024);
  take_turns();
  if (!out_pending_.empty()) request_flush();
  arm_timer();
}

PendingRequest* BackendConnection::budget_of_head() const {
  if (in_flight_.empty() || PendingRequest::is_copy(in_flight_.front().fragment)) return nullptr;
  return in_flight_.front().req;
}

bool BackendConnection::over_budget(size_t head) const {
  const size_t max = pool_.config().max_reply_bytes;
  if (head > max) return true;
  const PendingRequest* req = budget_of_head();
  return req != nullptr && req->reply_bytes - head_charge_ > max - head;
}

void BackendConnection::charge_head(size_t head) {
  PendingRequest* req = budget_of_head();
  if (req == nullptr) return;
  req->set_reply_bytes(req->reply_bytes - head_charge_ + head);
  head_charge_ = head;
}

void BackendConnection::release_head_charge() {
  if (head_charge_ == 0) return;
  PendingRequest* req = in_flight_.front().req;
  req->set_reply_bytes(req->reply_bytes - head_charge_);
  head_charge_ = 0;
}

bool BackendConnection::owned_by_no_request() const {
  return state_ == State::kHandshake || (!discarding_ && on_wire_ == 0);
}

bool BackendConnection::unowned_reply_too_long(size_t bytes) {
  if (bytes <= kMaxHandshakeReplyBytes) return false;
  if (state_ != State::kHandshake) {
    unexpected_reply();
    return true;
  }
  connect_failed("handshake reply longer than " + std::to_string(kMaxHandshakeReplyBytes) +
                 " bytes");
  return true;
}

void BackendConnection::unexpected_reply() {
  last_error_ = "unexpected reply with no request pending";
  fail_all(pool_.describe() + ": " + last_error_, true);
}

bool BackendConnection::drop_oversized_reply(size_t head) {
  if (!discarding_) {
    if (on_wire_ == 0) {
      unexpected_reply();
      return false;
    }
    // The backend answered; the answer is too big to hold. Its request gets an error reply,
    // not a failure: no other replica is asked for the same oversized answer.
    release_head_charge();
    const bool shared = head <= pool_.config().max_reply_bytes;  // alone it would have fit
    discarding_ = true;
    Held held = in_flight_.front();
    discard_deadline_ns_ = held.deadline_ns;
    in_flight_.pop_front();
    set_on_wire(on_wire_ - 1);
    pool_.report_success();
    WorkerCounters::bump(pool_.counters().replies_too_large);
    finish(held, FragmentState::kDone,
           protocol_.error_reply(
               "ringleader: " + pool_.describe() +
               (shared ? ": reply together with the request's other replies" : ": reply") +
               " larger than backend.max_reply_bytes (" +
               std::to_string(pool_.config().max_reply_bytes) + " bytes), dropped"));
  }
  const size_t settled = framer_->settled();
  in_.consume(settled);
  framer_->drop(settled);
  return true;
}

bool BackendConnection::bytes_waiting() const {
  if (socket_ == nullptr) return false;
  uv_os_fd_t fd;
  if (uv_fileno(socket_->stream.handle(), &fd) != 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

size_t BackendConnection::unsent_bytes() const {
  if (socket_ == nullptr) return 0;
  size_t unsent = socket_->stream.stream()->write_queue_size;
  uv_os_fd_t fd;
  if (uv_fileno(socket_->stream.handle(), &fd) == 0) unsent += kernel_unsent_bytes(fd);
  return unsent;
}

uint64_t BackendConnection::pushed_back(uint64_t deadline_ns) const {
  const uint64_t progress = std::max(last_read_ns_, last_write_progress_ns_);
  return std::max(deadline_ns, progress + uint64_t{pool_.config().timeout_ms} * kMs);
}

void BackendConnection::arm_timer() {
  if (state_ != State::kReady) return;
  if (in_flight_.empty() && !discarding_) {
    uv_timer_stop(&timer_);
    // Every request written was answered, so the backend read all of it: a look taken during
    // an earlier big write must not pass for progress when the next stall is first looked at.
    unsent_seen_ = 0;
    return;
  }
  uint64_t now = loop_now_ns();
  uint64_t deadline = UINT64_MAX;
  if (discarding_) deadline = pushed_back(discard_deadline_ns_);
  if (!in_flight_.empty())
    deadline = std::min(deadline, pushed_back(in_flight_.front().deadline_ns));
  uint64_t wait_ms = deadline > now ? (deadline - now + kMs - 1) / kMs : 0;
  if (writing_ || unsent_seen_ > 0) {
    // A big write is being taken: look four times per timeout, so that when the backend stops
    // taking it, its last progress is known within a quarter of one.
    wait_ms = std::min<uint64_t>(wait_ms, std::max<uint32_t>(1, pool_.config().timeout_ms / 4));
  }
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<BackendConnection*>(t->data)->on_timer(); }, wait_ms,
      0);
}

void BackendConnection::on_timer() {
  switch (state_) {
    case State::kConnecting:
      connect_failed(
          (resolve_ != nullptr ? "host name lookup timeout after " : "connect timeout after ") +
          std::to_string(pool_.config().connect_timeout_ms) + " ms");
      return;
    case State::kHandshake:
      connect_failed("handshake timeout after " + std::to_string(pool_.config().timeout_ms) +
                     " ms");
      return;
    case State::kReady:
      // Timers run before the iteration's reads: after a long iteration of this worker, bytes
      // the backend sent in time may wait unread. They are progress, not silence.
      if (bytes_waiting()) {
        last_read_ns_ = loop_now_ns();
        arm_timer();
        return;
      }
      if (const size_t unsent = unsent_bytes(); unsent < unsent_seen_) {
        // The backend took more of a big write since the last look: it is reading.
        unsent_seen_ = unsent;
        last_write_progress_ns_ = loop_now_ns();
        arm_timer();
        return;
      } else {
        unsent_seen_ = unsent;
      }
      if (discarding_ && pushed_back(discard_deadline_ns_) <= loop_now_ns()) {
        // The request of the reply being dropped was answered already: the connection, out
        // of step now, fails the requests behind it for that.
        last_error_ = "the rest of a dropped oversized reply did not arrive within " +
                      std::to_string(pool_.config().timeout_ms) + " ms";
        WorkerCounters::bump(pool_.counters().backend_timeouts);
        pool_.report_timeout(pool_.describe() + ": connection closed: " + last_error_);
        fail_all(pool_.describe() + ": connection closed: " + last_error_, false);
        backoff_refusals_count_ = false;
      } else if (!in_flight_.empty() &&
                 pushed_back(in_flight_.front().deadline_ns) <= loop_now_ns()) {
        // Replies still due would arrive out of step: the connection cannot be reused. The
        // request that timed out says so; those behind it on the connection fail because of it.
        last_error_ = "timeout after " + std::to_string(pool_.config().timeout_ms) + " ms";
        WorkerCounters::bump(pool_.counters().backend_timeouts);
        pool_.report_timeout(pool_.describe() + ": " + last_error_);
        fail_all(pool_.describe() + ": " + last_error_, false,
                 pool_.describe() +
                     ": connection closed: an earlier request on it timed out "
                     "after " +
                     std::to_string(pool_.config().timeout_ms) + " ms");
        backoff_refusals_count_ = false;
      } else {
        arm_timer();
      }
      return;
    default:
      return;
  }
}

void BackendConnection::finish(Held held, FragmentState state, std::string_view reply_or_error) {
  Fragment& f = held.req->part(held.fragment);
  f.state = state;
  BackendStats::Slot& stats = pool_.stats();
  if (state == FragmentState::kDone) {
    // A refusal says the server did not run the command (scripts included: their copies
    // and reads are refused alike). One that reaches a failed-over read leaves the earlier
    // replica's answer (a miss, or the first refusal) in place, as a failure does.
    const bool refused = protocol_.is_refusal(reply_or_error);
    const bool copy = PendingRequest::is_copy(held.fragment);
    if (!(refused && !copy && f.tried > 0 && !f.reply.empty())) {
      if (!copy) {
        // (A read that failed over after a miss replaces the miss it was charged for.)
        held.req->set_reply_bytes(held.req->reply_bytes - f.reply.size() + reply_or_error.size());
      }
      f.reply.assign(reply_or_error);
      f.answered_by = f.backend;  // a copy's is its own; a read's, the replica tried now
    }
    f.error.clear();  // what earlier replicas of a failed-over read said
    stats.latency.record_ns(loop_now_ns() - held.sent_ns);
    WorkerCounters::bump(refused ? stats.refusals : stats.replies);
    if (PendingRequest::is_copy(held.fragment) && refused) {
      // The backend did not take this copy of the write: a failure for the write's tally,
      // described like one, with the reply kept (it answers when no replica took the write).
      f.refused = true;
      f.error = pool_.describe() + ": " + printable(reply_line(reply_or_error), 200);
      WorkerCounters::bump(pool_.counters().replica_write_failures);
    }
  } else {
    // A read that failed over keeps every replica's error, in the order they were tried.
    if (!f.error.empty()) f.error += "; ";
    f.error += reply_or_error;
    WorkerCounters::bump(pool_.counters().fragments_failed);
    if (PendingRequest::is_copy(held.fragment)) {
      WorkerCounters::bump(pool_.counters().replica_write_failures);
    }
    WorkerCounters::bump(stats.failures);
  }
  on_fragment_finished(pool_.owner(), held.req, held.fragment);
  held.req->release();
}

void BackendConnection::fail_all(const std::string& why, bool count_failure,
                                 const std::string& why_behind) {
  close_socket();
  if (state_ != State::kClosed) {
    state_ = State::kBackoff;
    uint64_t cap = uint64_t{pool_.config().retry_timeout_ms} * kMs;
    uint64_t backoff = std::min(cap, kFirstBackoffNs << std::min<uint32_t>(backoff_step_, 16));
    backoff_until_ns_ = loop_now_ns() + backoff;
    ++backoff_step_;
    backoff_refusals_count_ = true;
  }
  uv_timer_stop(&timer_);
  release_head_charge();
  std::deque<Held> failed;
  failed.swap(in_flight_);
  for (Held& h : waiting_)
    failed.push_back(h);
  waiting_.clear();
  waiting_bytes_ = 0;
  while (!turns_.empty())
    failed.push_back(turns_.pop());
  counted_waiting_ = 0;
  if (count_failure) pool_.report_failure(why);
  for (size_t i = 0; i < failed.size(); ++i)
    finish(failed[i], FragmentState::kFailed, i == 0 || why_behind.empty() ? why : why_behind);
}

void BackendConnection::close_socket() {
  if (resolve_ != nullptr) {
    resolve_->owner = nullptr;  // its callback frees it
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_->req));
    resolve_ = nullptr;
  }
  in_.clear();
  discarding_ = false;
  discard_deadline_ns_ = 0;
  stop_gathering();
  out_pending_.clear();
  release_write_buffer();  // a backend that stays down must not keep its last burst's size
  set_on_wire(0);
  writing_ = false;
  unsent_seen_ = 0;
  framer_->reset();
  handshake_pending_ = 0;
  replied_ = false;
  if (connected_) {
    connected_ = false;
    pool_.stats().connections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (socket_ == nullptr) return;
  Socket* s = socket_;
  socket_ = nullptr;
  s->owner = nullptr;  // callbacks still due (connect, write, read) see a detached socket
  s->stream.handle()->data = s;
  // libuv runs the socket's cancelled write and connect callbacks before its close
  // callback, and this object outlives them all: it goes only when every handle is closed.
  uv_close(s->stream.handle(), [](uv_handle_t* h) {
    auto* sock = static_cast<Socket*>(h->data);
    BackendConnection* parent = sock->parent;
    delete sock;
    parent->on_handle_closed();
  });
}

void BackendConnection::on_handle_closed() {
  --open_handles_;
  if (state_ == State::kClosed && open_handles_ == 0) delete this;
}

void BackendConnection::shutdown(const std::string& why) {
  state_ = State::kClosed;
  fail_all(why, false);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
           [](uv_handle_t* h) { static_cast<BackendConnection*>(h->data)->on_handle_closed(); });
  uv_close(reinterpret_cast<uv_handle_t*>(&gather_prepare_),
           [](uv_handle_t* h) { static_cast<BackendConnection*>(h->data)->on_handle_closed(); });
  uv_close(reinterpret_cast<uv_handle_t*>(&gather_idle_),
           [](uv_handle_t* h) { static_cast<BackendConnection*>(h->data)->on_handle_closed(); });
  uv_close(reinterpret_cast<uv_handle_t*>(&gather_timer_),
           [](uv_handle_t* h) { static_cast<BackendConnection*>(h->data)->on_handle_closed(); });
}

}  // namespace ringleader::proxy
