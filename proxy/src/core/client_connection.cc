#include "client_connection.h"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include "backend_pool.h"
#include "common/log.h"
#include "common/socket_address.h"
#include "common/socket_queues.h"
#include "fd_limit.h"
#include "replication.h"
#include "tcp_keepalive.h"
#include "uv_util.h"
#include "worker.h"

namespace ringleader::proxy {
namespace {
constexpr size_t kReadChunk = 64 * 1024;
// Reading pauses while this many requests wait for replies; TCP pushes back on the client
// meanwhile. Replies waiting to be written never pause it: a client that writes its whole
// pipeline before reading (most client libraries) would then wait on the proxy while the
// proxy waits on it. proxy.max_client_output_bytes bounds them instead.
constexpr size_t kMaxQueuedRequests = 16 * 1024;
// ... or while their bytes (as the client sent them) reach this: each is held until its reply
// comes, so a client pipelining big writes to a slow backend would otherwise pin up to 16 Ki
// of them. One request of any size (up to proxy.max_request_bytes) is taken below it.
constexpr size_t kMaxQueuedRequestBytes = size_t{32} << 20;
constexpr uint64_t kLingerMs = 1000;
// Replies to requests that arrived in one read are written together while fewer than this
// many bytes are ready: a pipelining client gets its batch in one segment, not one per
// backend that answered.
constexpr size_t kHoldBytes = 16 * 1024;
// Replies at least this big are queued as chunks of their own (see out_chunks_).
constexpr size_t kChunkBytes = 64 * 1024;

bool finished(const Fragment& f) {
  return f.state == FragmentState::kDone || f.state == FragmentState::kFailed;
}

// Empties a reply nothing will read; a big one's memory goes back at once, a small one's
// buffer stays for the recycled request.
void drop_reply(std::string& reply) {
  if (reply.capacity() > PendingRequest::kMaxKeptBytes) {
    std::string().swap(reply);
  } else {
    reply.clear();
  }
}

// A copy of a write has finished: counts it for its write. True when that decides the write
// (its fragment is then kDone or kFailed); false while undecided, and for copies that
// finish after the decision.
bool settle_copy(PendingRequest& req, Fragment& copy) {
  Fragment& write = req.fragments[copy.parent];
  if (finished(write)) {
    drop_reply(copy.reply);  // decided: nothing reads it
    return false;
  }
  const uint32_t n = write.replicas.size();
  auto acknowledged = [](const Fragment& c) {
    return c.state == FragmentState::kDone && !c.refused;
  };
  if (acknowledged(copy)) {
    ++write.acks;
    // Only the first acknowledged copy in replica order can answer, so one reply is kept:
    // a write that returns data (GETDEL of a big value) holds it once, not once per replica.
    bool ahead = false;
    for (uint32_t i = 0; i < n; ++i) {
      Fragment& c = req.copies[write.first_copy + i];
      if (!acknowledged(c)) continue;
      if (ahead) drop_reply(c.reply);
      ahead = true;
    }
  } else {
    ++write.failures;  // failed, or refused (its error reply kept: a few bytes)
  }
  switch (write_verdict(write.acks, write.failures, write.needed, n)) {
    case WriteVerdict::kPending:
      return false;
    case WriteVerdict::kAcked:
      // The first acknowledged copy in replica order answers: the primary's when it has.
      // Taken, not copied: nothing reads a copy's reply once its write is decided.
      for (uint32_t i = 0; i < n; ++i) {
        Fragment& c = req.copies[write.first_copy + i];
        if (acknowledged(c)) {
          write.reply.swap(c.reply);
          write.answered_by = c.backend;
          break;
        }
      }
      write.state = FragmentState::kDone;
      return true;
    case WriteVerdict::kFailed: {
      // No replica took it and one at least refused it: the first refusal in replica order
      // answers, its error code kept, as the one server's would without replicas.
      if (write.acks == 0) {
        for (uint32_t i = 0; i < n; ++i) {
          Fragment& c = req.copies[write.first_copy + i];
          if (c.state == FragmentState::kDone) {
            write.reply.swap(c.reply);
            write.answered_by = c.backend;
            write.state = FragmentState::kDone;
            return true;
          }
        }
      }
      std::string errors;
      for (uint32_t i = 0; i < n; ++i) {
        const Fragment& c = req.copies[write.first_copy + i];
        if (acknowledged(c)) continue;
        if (!errors.empty()) errors += "; ";
        errors += c.error;
      }
      write.error = write_failure(write.acks, n, write.needed, errors);
      write.state = FragmentState::kFailed;
      return true;
    }
  }
  return false;
}

// Fills in a deferred replica set, primary first as the ring gives it.
void resolve_replicas(const PendingRequest& req, Fragment& f) {
  f.replicas = req.ring->replicas(f.key_hash);
  f.replicas_deferred = false;
}

// One more of the request's fragments (or the dispatcher's hold) is done with.
void count_finished(PendingRequest* req) {
  if (--req->outstanding > 0) return;
  if (ClientConnection* client = req->client()) client->on_request_ready(req);
}

}  // namespace

void on_fragment_finished(PoolOwner& owner, PendingRequest* req, uint32_t part) {
  if (PendingRequest::is_copy(part)) {
    if (!settle_copy(*req, req->part(part))) return;
    part = req->part(part).parent;
  } else {
    const Fragment& f = req->fragments[part];
    // A read that got no reply, a refusal (or a miss, with miss_failover) tries the next replica,
    // while its client waits for it. A primary read does not: what it returns belongs to
    // the primary (a cas unique from another replica could match a newer item there).
    if (f.access == Access::kRead) {
      if (ClientConnection* client = req->client(); client && client->fail_over(req, part)) {
        return;
      }
    }
    if (f.follow_up &&
        (f.state == FragmentState::kFailed || owner.protocol().is_error_reply(f.reply))) {
      WorkerCounters::bump(owner.counters().replica_write_failures);
    }
  }
  // Fragments waiting for this one go now or never, whether or not the client is still
  // there: the primary applied the write, so the other replicas must get it too. They are
  // still counted as outstanding, so none of this completes the request before `part`
  // itself is counted below.
  if (req->has_waiting) {
    const Fragment& done = req->fragments[part];
    for (uint32_t i = 0; i < req->fragments.size(); ++i) {
      Fragment& w = req->fragments[i];
      if (w.after != part || w.state != FragmentState::kQueued) continue;
      w.after = Fragment::kNoAfter;
      if (done.state == FragmentState::kDone && done.reply.starts_with(w.after_reply) &&
          (w.derive == 0 || owner.protocol().complete_follow_up(w, done.reply))) {
        w.follow_up = true;
        owner.send_part(req, i, w.backend);
      } else {
        w.state = FragmentState::kDone;  // not sent: its condition did not hold
        count_finished(req);
      }
    }
  }
  count_finished(req);
}

void ClientConnection::accept(Worker& worker, StreamHandle& listener) {
  auto* c = new ClientConnection(worker, worker.protocol().new_session(worker.session_env()));
  c->socket_.init(worker.loop(), listener.unix_domain);
  c->socket_.handle()->data = c;
  c->open_handles_ = 1;
  if (uv_accept(listener.stream(), c->socket_.stream()) != 0) {
    c->closing_ = true;
    uv_close(c->socket_.handle(),
             [](uv_handle_t* h) { static_cast<ClientConnection*>(h->data)->on_handle_closed(); });
    return;
  }
  if (!listener.unix_domain) {
    uv_tcp_nodelay(&c->socket_.tcp, 1);
    if (int err = enable_tcp_keepalive(&c->socket_.tcp, worker.config().proxy.tcp_keepalive_s)) {
      RL_LOG_DEBUG("client connection: TCP keepalive not set: %s", std::strerror(err));
    }
  }
  ProxyCounters& pc = worker.proxy_counters();
  int64_t open = pc.connected_clients.fetch_add(1, std::memory_order_relaxed) + 1;
  bool admitted = open <= static_cast<int64_t>(pc.max_clients.load(std::memory_order_relaxed));
  if (!admitted) pc.connected_clients.fetch_sub(1, std::memory_order_relaxed);
  c->start(admitted);
}

ClientConnection::ClientConnection(Worker& worker, std::unique_ptr<Session> session)
    : worker_(worker), session_(std::move(session)), lane_(worker.next_client_lane()) {
  session_->attach(*this);
  held_.client = this;
  backlog_.client = this;
}

namespace {

// `cached`, read first from the socket unless closing: its peer's address (`peer`) or its
// own. A Unix-domain client has no address of its own; both are the listening socket's path,
// as Redis reports them ("/run/ringleader.sock:0").
std::string cached_address(std::string& cached, bool closing, const StreamHandle& socket,
                           bool peer) {
  if (cached.empty() && !closing) {
    uv_os_fd_t fd = -1;
    if (uv_fileno(socket.handle(), &fd) != 0) return cached;
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const bool own = !peer || socket.unix_domain;
    if ((own ? ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length)
             : ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length)) == 0) {
      cached = format_socket_address(address);
    }
  }
  return cached;
}

}  // namespace

std::string ClientConnection::peer_address() const {
  return cached_address(peer_address_, closing_, socket_, true);
}

std::string ClientConnection::local_address() const {
  return cached_address(local_address_, closing_, socket_, false);
}

ClientBuffers ClientConnection::buffers() const {
  ClientBuffers b;
  b.input = in_.size();
  b.input_capacity = in_.capacity();
  b.input_free = in_.free_at_tail();
  b.output = out_pending_.size();
  b.output_chunks = out_chunks_.size();
  b.output_waiting =
      out_pending_.size() + out_chunk_bytes_ + held_bytes_ + (out_writing_.size() - out_written_);
  b.memory = in_.capacity() + out_pending_.capacity() + out_chunk_bytes_ + out_writing_.capacity();
  return b;
}

int ClientConnection::fd() const {
  uv_os_fd_t fd = -1;
  if (closing_ || uv_fileno(socket_.handle(), &fd) != 0) return -1;
  return fd;
}

void ClientConnection::start(bool admitted) {
  worker_.client_opened(this);
  admitted_ = admitted;
  uv_timer_init(worker_.loop(), &idle_timer_);
  idle_timer_.data = this;
  ++open_handles_;
  WorkerCounters& wc = worker_.counters();
  if (!admitted) {
    WorkerCounters::bump(wc.clients_rejected);
    // Past the bound, no lingering: the error is written and the connection closed, which
    // may reset it before the client reads the error.
    linger_refused_ = worker_.refused_clients_open < refused_clients_per_worker(worker_.workers());
    ++worker_.refused_clients_open;
    out_pending_ = worker_.protocol().error_reply("max number of clients reached");
    close_after_write_ = true;
    write_out();
    return;
  }
  WorkerCounters::bump(wc.clients_accepted);
  wc.client_connections.fetch_add(1, std::memory_order_relaxed);
  last_activity_ns_ = loop_now_ns();
  connected_ns_ = last_activity_ns_;
  if (uint32_t idle = worker_.config().proxy.client_idle_timeout_ms; idle > 0) {
    uv_timer_start(
        &idle_timer_,
        [](uv_timer_t* t) { static_cast<ClientConnection*>(t->data)->on_idle_timer(); }, idle, 0);
  }
  start_reading();
}

void ClientConnection::start_reading() {
  reading_ = true;
  uv_read_start(
      socket_.stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<ClientConnection*>(h->data);
        size_t available = 0;
        buf->base = self->in_.prepare(kReadChunk, &available);
        buf->len = self->read_budget_.offer(available);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        static_cast<ClientConnection*>(s->data)->on_read(nread);
      });
}

void ClientConnection::on_read(ssize_t nread) {
  if (nread == 0) return;     // EAGAIN
  if (nread == UV_ENOBUFS) {  // this iteration's read budget is spent: read on in the next
    WorkerCounters::bump(worker_.counters().client_reads_deferred);
    return;
  }
  if (nread < 0) {
    if (nread != UV_EOF || lingering_) {
      close();
      return;
    }
    // The client closed its side (shutdown or a pipe that ended): it has sent everything.
    // Its complete requests are still answered, a partial one at the end is dropped, and the
    // connection closes once the replies are written (libuv stopped reading).
    input_eof_ = true;
    reading_ = false;
    process_input();
    if (idle()) close();
    return;
  }
  if (lingering_) {
    in_.clear();  // discarded: the connection is closing
    return;
  }
  in_.commit(static_cast<size_t>(nread));
  read_budget_.charge(static_cast<size_t>(nread));
  WorkerCounters::bump(worker_.counters().bytes_from_clients, static_cast<uint64_t>(nread));
  WorkerCounters::bump(worker_.counters().client_reads);
  ++reads_;
  last_activity_ns_ = loop_now_ns();
  process_input();
}

void ClientConnection::process_input() {
  if (in_process_) return;
  in_process_ = true;
  WorkerCounters& wc = worker_.counters();
  // Why parsing stopped: all complete requests parsed, its share of this iteration taken, or
  // something else that resumes it (a full queue, a barrier, a closing request).
  enum class Stop { kDrained, kShare, kOther } stop = Stop::kOther;
  while (!closing_ && !close_after_write_ && !input_done_ && barrier_ == nullptr && !in_.empty()) {
    const bool worker_full = !queue_.empty() && worker_.queue_full();
    if (queue_.size() >= kMaxQueuedRequests || queued_request_bytes_ >= kMaxQueuedRequestBytes ||
        worker_full) {
      // (Reading may have stopped already while the client waited for a parse share: it now
      // waits for this instead, and resumes with it.)
      if (reading_ || read_paused_for_parse_) {
        if (reading_) uv_read_stop(socket_.stream());
        reading_ = false;
        if (worker_full) WorkerCounters::bump(wc.client_reads_paused_worker_full);
      }
      break;
    }
    if (parsed_.value() >= kParseQuantum && !worker_.parse_budget_left()) {
      stop = Stop::kShare;
      if (reading_) {
        uv_read_stop(socket_.stream());
        reading_ = false;
        read_paused_for_parse_ = true;
      }
      if (!backlog_.linked()) {
        worker_.parse_backlog.join(backlog_, loop_now_ns());
        WorkerCounters::bump(wc.client_parses_deferred);
      }
      break;
    }
    auto* req = PendingRequest::create(this);
    req->started_ns = loop_now_ns();
    req->batch = reads_;
    req->lane = lane_;
    size_t consumed = 0;
    NextStatus st = session_->next(in_.readable(), worker_.ring(), *req, &consumed);
    if (st == NextStatus::kNeedMore) {
      req->release();
      if (input_eof_) in_.clear();  // the rest of a request that will never come
      stop = Stop::kDrained;
      break;
    }
    parsed_.add();
    worker_.count_parsed();
    if (st == NextStatus::kDiscarded) {
      req->release();
      in_.consume(consumed);
      continue;
    }
    in_.consume(consumed);
    WorkerCounters::bump(wc.requests);
    // What the request holds: what was read, or what it became when that is more (a
    // replicated EVALSHA sent as EVAL with its script's body).
    size_t planned = 0;
    for (const Fragment& f : req->fragments)
      planned += f.payload.size();
    const size_t charge = std::max(consumed, planned);
    req->request_bytes = charge;
    queued_request_bytes_ += charge;
    ++worker_.queued_requests;
    worker_.queued_request_bytes += charge;
    queue_.push_back(req);
    set_due(false);
    // dispatch() may finish the request at once (every backend unavailable) and the queue
    // then write and release it: this loop holds it until it is done with it.
    req->retain();
    // A reply counts toward the output limit once, while its request is queued: here for
    // those answered without a backend, in on_request_ready() for the dispatched ones (even
    // when dispatch() finishes one at once, which may also take it off the queue).
    if (st == NextStatus::kFatal) {
      WorkerCounters::bump(wc.clients_closed_protocol_error);
      req->complete = true;
      req->close_after = true;
      charge_held(*req, req->reply.size());
    } else if (req->complete) {
      WorkerCounters::bump(wc.requests_local);
      charge_held(*req, req->reply.size());
    } else {
      dispatch(req);
      if (req->has_waiting && !req->complete) {
        barrier_ = req;
        if (reading_) {
          uv_read_stop(socket_.stream());
          reading_ = false;
        }
      }
    }
    const bool close_after = req->close_after;
    req->release();
    if (close_after) {
      // Nothing after a closing request (QUIT, a fatal error) runs, as with the servers
      // themselves: what follows it in the input is dropped unread, and reading stops.
      input_done_ = true;
      if (reading_) {
        uv_read_stop(socket_.stream());
        reading_ = false;
      }
      break;
    }
  }
  if (stop == Stop::kOther && in_.empty()) stop = Stop::kDrained;
  if (stop != Stop::kShare) {
    worker_.parse_backlog.leave(backlog_);
    // Reading stopped only for the share resumes once the input is parsed; stopped for
    // another reason as well, it resumes with that reason (see on_request_ready).
    if (read_paused_for_parse_ && stop == Stop::kDrained && !reading_ && !closing_ && !input_eof_ &&
        !input_done_ && !close_after_write_ && !drain_) {
      start_reading();
    }
    read_paused_for_parse_ = false;
  }
  in_.shrink_if_idle(256 * 1024);
  in_process_ = false;
  flush_ready();
}

bool ClientConnection::gone_while_not_reading() const {
  if (closing_ || reading_) return false;
  uv_os_fd_t fd = -1;
  if (uv_fileno(socket_.handle(), &fd) != 0) return false;
  // POLLHUP: both directions shut (a TCP reset or a Unix-socket peer that closed); POLLERR: a
  // pending error. A half-close alone raises neither.
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

void ClientConnection::release_buffers_if_quiet(uint64_t now_ns, uint64_t quiet_ns) {
  // While a write is out, the socket or the io_uring batch may still read out_pending_ or
  // out_writing_; in process_input() views into in_ are live.
  if (closing_ || writing_ || in_process_ || now_ns - last_activity_ns_ < quiet_ns) return;
  set_due(false);  // answered a while ago and sent nothing since: not about to send
  if (in_.empty()) {
    in_.clear();
    session_->release_idle_memory();
  }
  if (out_pending_.empty()) std::string().swap(out_pending_);
  std::string().swap(out_writing_);  // only in use while writing_
  queue_.release_if_empty();
  out_chunks_.release_if_empty();
}

void ClientConnection::dispatch(PendingRequest* req) {
  req->outstanding = static_cast<uint32_t>(req->fragments.size()) + 1;  // +1: held below
  const uint32_t planned = static_cast<uint32_t>(req->fragments.size());
  req->client_seq = ++dispatched_;
  // Known before anything is sent: a fragment may finish inside the loop below.
  for (const Fragment& f : req->fragments) {
    if (f.after != Fragment::kNoAfter) req->has_waiting = true;
    if (!req->reads_only && f.access != Access::kRead && f.access != Access::kReadPrimary) {
      last_write_seq_ = req->client_seq;
    }
  }
  for (uint32_t i = 0; i < planned; ++i) {
    Fragment& f = req->fragments[i];
    // Waiting fragments go when `after` finishes, which may already have happened in this
    // loop (a send that failed at once): either way not from here.
    if (f.after != Fragment::kNoAfter || f.state != FragmentState::kQueued) continue;
    if (f.replicas_deferred) {
      // A read of one key: the primary needs no replica walk, other policies do.
      if (f.access == Access::kReadPrimary ||
          worker_.replication().read == config::ReadPolicy::kPrimary) {
        worker_.send_part(req, i, f.backend);
        continue;
      }
      resolve_replicas(*req, f);
    }
    if (f.replicas.size() <= 1 || f.access == Access::kDirect) {
      worker_.send_part(req, i, f.backend);
    } else if (f.access == Access::kWrite) {
      send_copies(req, i);
    } else {
      if (f.access == Access::kRead) {
        f.replicas =
            read_order(f.replicas, *req->ring, worker_.replication(), worker_.next_read_turn());
      }
      f.tried = 0;
      f.backend = f.replicas[0];
      worker_.send_part(req, i, f.backend);
    }
  }
  // Dropping the hold completes the request if every fragment already finished (for
  // example all failed at once): the completion then runs exactly once, here.
  count_finished(req);
}

void ClientConnection::send_copies(PendingRequest* req, uint32_t fragment) {
  Fragment& write = req->fragments[fragment];
  const uint32_t n = write.replicas.size();
  write.needed = static_cast<uint8_t>(acks_needed(worker_.replication().write, n));
  write.first_copy = static_cast<uint32_t>(req->copies.size());
  write.state = FragmentState::kSent;
  // Every copy exists before any is sent: one that fails at once is tallied against all.
  for (uint32_t r = 0; r < n; ++r) {
    Fragment& copy = req->copies.add();
    copy.backend = write.replicas[r];  // its bytes are the write's (PendingRequest::payload)
    copy.parent = fragment;
  }
  const uint32_t first = write.first_copy;
  for (uint32_t r = 0; r < n; ++r) {
    worker_.send_part(req, PendingRequest::kCopyBit | (first + r), req->copies[first + r].backend);
  }
}

bool ClientConnection::fail_over(PendingRequest* req, uint32_t fragment) {
  Fragment& f = req->fragments[fragment];
  Protocol& protocol = worker_.protocol();
  const bool answered = f.state == FragmentState::kDone;
  // A reply saying the server did not run the read (loading its data, busy with a script)
  // sends it to the next replica, as no reply does.
  const bool refused = answered && protocol.is_refusal(f.reply);
  const bool miss = answered && !refused;
  if (miss && !(worker_.replication().miss_failover && protocol.is_miss_reply(f.reply))) {
    return false;  // an answer
  }
  if (f.replicas_deferred) resolve_replicas(*req, f);  // the primary was tried (tried = 0)
  if (f.tried + 1u >= f.replicas.size() || last_write_seq_ > req->client_seq) {
    // Out of replicas. An earlier replica's miss or refusal (still in `reply`) is a better
    // answer than a later one's failure.
    if (!answered && !f.reply.empty()) {
      f.state = FragmentState::kDone;
      f.error.clear();
    }
    return false;
  }
  ++f.tried;
  f.backend = f.replicas[f.tried];
  WorkerCounters::bump(miss ? worker_.counters().read_miss_failovers
                            : worker_.counters().read_failovers);
  // The fragment stays outstanding: this send (or, when it fails at once, the next
  // fail_over or the final failure) accounts for it.
  worker_.send_part(req, fragment, f.backend);
  return true;
}

void ClientConnection::on_request_ready(PendingRequest* req) {
  if (req->complete) return;
  session_->complete(*req);
  req->complete = true;
  charge_held(*req, req->reply.size());
  if (req == barrier_) barrier_ = nullptr;  // flush_ready() resumes the input
  flush_ready();
}

void ClientConnection::flush_ready() {
  while (!queue_.empty() && queue_.front()->complete) {
    if (over_output_limit()) {
      // It sends faster than it reads: requests dispatched before its replies piled up would
      // keep adding to them. Like Redis's client-output-buffer-limit, it is cut off.
      WorkerCounters::bump(worker_.counters().clients_closed_output_limit);
      close();
      return;
    }
    PendingRequest* req = queue_.front();
    queue_.pop_front();
    if (queue_.empty()) set_due(true);
    held_bytes_ -= req->held_charge;
    req->held_charge = 0;
    queued_request_bytes_ -= req->request_bytes;
    --worker_.queued_requests;
    worker_.queued_request_bytes -= req->request_bytes;
    req->request_bytes = 0;
    record(*req);
    if (req->reply.size() < kChunkBytes) {
      out_pending_ += req->reply;
    } else {
      // No write is handed out here (those finish within the worker's flush), so the
      // buffers can move.
      if (!out_pending_.empty()) {
        out_chunk_bytes_ += out_pending_.size();
        out_chunks_.push_back(std::move(out_pending_));
        out_pending_ = std::string();
      }
      out_chunk_bytes_ += req->reply.size();
      out_chunks_.push_back(std::move(req->reply));
      req->reply = std::string();
    }
    out_batch_ = req->batch;
    if (req->close_after) close_after_write_ = true;
    // Copies of a write acknowledged early may still be in flight: they must not find this
    // connection through the request once it is gone.
    req->detach_client();
    req->release();
    if (close_after_write_) break;
  }
  if (!flush_scheduled_ && !closing_) {
    flush_scheduled_ = true;
    worker_.schedule_flush(this);
  }
  // (A client waiting for a parse share is taken up by the worker: Worker::resume_parsing.)
  if (!reading_ && !in_process_ && !closing_ && !close_after_write_ && !input_done_ && !drain_ &&
      barrier_ == nullptr && !backlog_.linked() && queue_.size() < kMaxQueuedRequests / 2 &&
      queued_request_bytes_ < kMaxQueuedRequestBytes / 2 &&
      (queue_.empty() || worker_.queue_below_half())) {
    if (!input_eof_) start_reading();
    if (!in_.empty()) process_input();
  }
}

void ClientConnection::charge_held(PendingRequest& req, size_t bytes) {
  if (closing_) return;
  held_bytes_ = held_bytes_ - req.held_charge + bytes;
  req.held_charge = bytes;
  if (over_output_limit()) {
    WorkerCounters::bump(worker_.counters().clients_closed_output_limit);
    close();
  }
}

bool ClientConnection::over_output_limit() const {
  const uint64_t limit = worker_.config().proxy.max_client_output_bytes;
  if (limit == 0) return false;
  const size_t behind = queue_.empty() ? 0 : held_bytes_ - queue_.front()->held_charge;
  return out_chunk_bytes_ + out_pending_.size() + (out_writing_.size() - out_written_) + behind >
         limit;
}

void ClientConnection::record(const PendingRequest& req) {
  WorkerCounters& wc = worker_.counters();
  Outcome outcome = Outcome::kOk;
  // A follow-up is a replica's copy of the primary's decision: the client's answer is the
  // primary's, and a copy that failed counts as a replica write failure, not here.
  for (const Fragment& f : req.fragments) {
    if (f.state == FragmentState::kFailed && !f.follow_up) outcome = Outcome::kFailed;
  }
  if (outcome == Outcome::kOk && worker_.protocol().is_error_reply(req.reply)) {
    outcome = Outcome::kError;
  }
  wc.count_request(req.command, outcome);
  if (req.latency_class < kLatencyClasses && req.started_ns != 0) {
    wc.latency[req.latency_class].record_ns(loop_now_ns() - req.started_ns);
  }
}

void ClientConnection::flush_writes() {
  flush_scheduled_ = false;
  write_out();
}

void ClientConnection::write_held() {
  write_out();
}

void ClientConnection::write_out() {
  if (closing_) return;
  if (writing_) return;
  if (out_pending_.empty() && out_chunks_.empty()) {
    if (close_after_write_) {
      linger_then_close();
    } else if ((drain_ || input_eof_) && queue_.empty() && !backlog_.linked()) {
      close_after_last_reply();
    }
    return;
  }
  if (out_chunks_.empty() && !close_after_write_ && !queue_.empty() &&
      queue_.front()->batch == out_batch_ && out_pending_.size() < kHoldBytes) {
    // The rest of this read's replies are still due: written with them when they are ready,
    // or without them once these have waited kReplyHoldNs (the worker then calls
    // write_held()).
    const uint64_t now = loop_now_ns();
    if (hold_since_ns_ == 0) {
      hold_since_ns_ = now;
      worker_.hold_replies(held_, now);
      return;
    }
    if (now - hold_since_ns_ < kReplyHoldNs) return;
  }
  hold_since_ns_ = 0;
  worker_.held_replies.leave(held_);
  writing_chunk_ = !out_chunks_.empty();
  std::string& source = writing_chunk_ ? out_chunks_.front() : out_pending_;
  WorkerCounters::bump(worker_.counters().bytes_to_clients, source.size());
  WorkerCounters::bump(worker_.counters().client_writes);
  // A plain non-blocking write first (with the iteration's others when batching): when the
  // socket takes it all (the common case) libuv needs no write request or poll-set change.
  writing_ = true;
  attempted_ = source.size();
  uv_os_fd_t fd = -1;
  uv_fileno(socket_.handle(), &fd);
  const size_t first = std::min(attempted_, kMaxWriteAttempt);
  if (worker_.queue_write(fd, source.data(), first, this)) return;
  uv_buf_t attempt = write_buffer(source.data(), first);
  on_batched_write(uv_try_write(socket_.stream(), &attempt, 1));
}

void ClientConnection::on_batched_write(int written) {
  writing_ = false;
  if (closing_) return;
  if (written > 0) last_activity_ns_ = loop_now_ns();
  std::string& source = writing_chunk_ ? out_chunks_.front() : out_pending_;
  if (wrote_all(written, attempted_)) {
    if (writing_chunk_) {
      out_chunk_bytes_ -= source.size();
      out_chunks_.pop_front();
    } else {
      out_pending_.erase(0, attempted_);  // replies may have been appended meanwhile
    }
    if (!out_pending_.empty() || !out_chunks_.empty()) {
      flush_ready();
    } else if (close_after_write_) {
      linger_then_close();
    } else if ((drain_ || input_eof_) && queue_.empty() && !backlog_.linked()) {
      close_after_last_reply();
    }
    return;
  }
  if (written < 0 && written != UV_EAGAIN) {
    close();
    return;
  }
  // The rest goes out from where it is, without a copy.
  out_writing_.clear();
  out_writing_.swap(source);
  if (writing_chunk_) {
    out_chunk_bytes_ -= out_writing_.size();
    out_chunks_.pop_front();
  }
  out_written_ = written > 0 ? static_cast<size_t>(written) : 0;
  uv_buf_t buf =
      write_buffer(out_writing_.data() + out_written_, out_writing_.size() - out_written_);
  write_req_.data = this;
  writing_ = true;
  int rc = uv_write(&write_req_, socket_.stream(), &buf, 1, [](uv_write_t* r, int status) {
    static_cast<ClientConnection*>(r->data)->on_write_done(status);
  });
  if (rc != 0) {
    writing_ = false;
    close();
  }
}

void ClientConnection::on_write_done(int status) {
  writing_ = false;
  out_writing_.clear();
  out_written_ = 0;
  if (out_writing_.capacity() > (1u << 20)) std::string().swap(out_writing_);
  if (status != 0 || closing_) {
    close();
    return;
  }
  last_activity_ns_ = loop_now_ns();
  write_out();
  flush_ready();
}

void ClientConnection::close_after_last_reply() {
  // A draining proxy stopped reading a client that may still be sending: closing a socket
  // with unread input resets it, and the reset discards what the kernel still holds of the
  // last replies (their bytes the client has not taken). Such a client lingers; one whose
  // replies all reached it and that sent nothing more is closed at once, so a drain does not
  // wait for idle clients. A client that ended its input has nothing more to send.
  if (drain_ && !input_eof_ && kernel_holds_bytes()) {
    linger_then_close();
  } else {
    close();
  }
}

bool ClientConnection::kernel_holds_bytes() const {
  uv_os_fd_t fd = -1;
  if (uv_fileno(socket_.handle(), &fd) != 0) return false;
  return kernel_unsent_bytes(fd) > 0 || kernel_unread_bytes(fd) > 0;
}

void ClientConnection::linger_then_close() {
  if (lingering_ || closing_) return;
  if (!admitted_ && !linger_refused_) {  // refused, past the bound on those lingering
    close();
    return;
  }
  lingering_ = true;
  uv_timer_start(
      &idle_timer_, [](uv_timer_t* t) { static_cast<ClientConnection*>(t->data)->close(); },
      kLingerMs, 0);
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, socket_.stream(), [](uv_shutdown_t*, int) {}) != 0) {
    close();
    return;
  }
  if (!reading_) start_reading();
}

void ClientConnection::on_idle_timer() {
  // Reads only note the time (no timer update per read): the timer is armed for when the
  // connection would have been idle long enough, and checks then.
  const uint32_t idle_ms = worker_.config().proxy.client_idle_timeout_ms;
  const uint64_t idle_ns = uint64_t{idle_ms} * 1000000;
  // Replies being written are activity while they make progress, as for Redis's `timeout`:
  // a client still reading them is not idle (one that stopped reading is).
  if (writing_) {
    const size_t unwritten = uv_stream_get_write_queue_size(socket_.stream());
    if (unwritten != unwritten_at_idle_check_) last_activity_ns_ = loop_now_ns();
    unwritten_at_idle_check_ = unwritten;
  }
  const uint64_t quiet_ns = loop_now_ns() - last_activity_ns_;
  // Requests in flight, or read and waiting for a parse share, are activity.
  const bool busy = !queue_.empty() || backlog_.linked();
  if (!busy && quiet_ns >= idle_ns) {
    WorkerCounters::bump(worker_.counters().clients_closed_idle);
    close();
    return;
  }
  // Busy: check a whole timeout from now.
  const uint64_t left_ms = busy ? idle_ms : (idle_ns - quiet_ns + 999999) / 1000000;
  uv_timer_start(
      &idle_timer_, [](uv_timer_t* t) { static_cast<ClientConnection*>(t->data)->on_idle_timer(); },
      left_ms, 0);
}

void ClientConnection::close_when_idle() {
  drain_ = true;
  if (reading_) {
    uv_read_stop(socket_.stream());
    reading_ = false;
  }
  if (idle()) close_after_last_reply();
}

void ClientConnection::set_due(bool due) {
  if (!due) {
    worker_.clients_due.leave(due_);
  } else if (!due_.linked()) {
    worker_.clients_due.join(due_, loop_now_ns());
  }
}

void ClientConnection::close() {
  if (closing_) return;
  closing_ = true;
  set_due(false);
  hold_since_ns_ = 0;
  worker_.held_replies.leave(held_);
  worker_.parse_backlog.leave(backlog_);
  for (size_t i = 0; i < queue_.size(); ++i) {
    PendingRequest* req = queue_[i];
    if (!req->complete) req->abandoned = true;
    req->detach_client();
    req->held_charge = 0;
    req->count_as_abandoned();
    req->release();
  }
  worker_.queued_requests -= queue_.size();
  worker_.queued_request_bytes -= queued_request_bytes_;
  queue_.clear();
  held_bytes_ = 0;
  queued_request_bytes_ = 0;
  if (admitted_) {
    worker_.proxy_counters().connected_clients.fetch_sub(1, std::memory_order_relaxed);
    worker_.counters().client_connections.fetch_sub(1, std::memory_order_relaxed);
  } else {
    --worker_.refused_clients_open;
  }
  worker_.client_closed(this);
  auto on_closed = [](uv_handle_t* h) {
    static_cast<ClientConnection*>(h->data)->on_handle_closed();
  };
  if (open_handles_ == 2) uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), on_closed);
  uv_close(socket_.handle(), on_closed);
}

void ClientConnection::on_handle_closed() {
  if (--open_handles_ == 0) delete this;
}

}  // namespace ringleader::proxy
