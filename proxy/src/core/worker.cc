#include "worker.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backend_connection.h"
#include "client_connection.h"
#include "common/log.h"
#include "fd_limit.h"
#include "own_listener.h"
#include "pending_request.h"
#include "read_budget.h"
#include "ring/hash.h"
#include "uv_util.h"

namespace ringleader::proxy {

Worker::Worker(uint32_t id, const config::Config& config, Protocol& protocol, RingPublisher& rings,
               ProxyCounters& counters, EjectionRequest eject)
    : id_(id),
      config_(config),
      protocol_(protocol),
      rings_(rings),
      proxy_counters_(counters),
      counters_(counters.workers.at(id).get()),
      eject_(std::move(eject)) {
  env_.config = &config_;
  env_.counters = &proxy_counters_;
  env_.worker_id = id_;
  env_.start_time_ns = counters.start_time_ns;
  replication_ = ReplicationPolicy::from(config_);
  loop_status_ = uv_loop_init(&loop_);
  // The time the loop waits in its poll: LoopLoad, and a metric.
  if (loop_status_ == 0) {
    loop_status_ = uv_loop_configure(&loop_, UV_METRICS_IDLE_TIME);
    if (loop_status_ != 0) uv_loop_close(&loop_);
  }
}

Worker::~Worker() {
  join();
  if (loop_status_ == 0) uv_loop_close(&loop_);
}

Status Worker::start(const sockaddr_storage& addr, int shared_listener_fd) {
  if (loop_status_ != 0) {
    return Status::error("worker " + std::to_string(id_) + ": cannot create its event loop: " +
                         uv_strerror(loop_status_) + fd_exhaustion_hint(-loop_status_));
  }
  const bool unix_domain = shared_listener_fd >= 0;
  int fd = unix_domain ? ::fcntl(shared_listener_fd, F_DUPFD_CLOEXEC, 0)
                       : ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    return Status::error("worker " + std::to_string(id_) + ": " + (unix_domain ? "dup" : "socket") +
                         ": " + std::strerror(err) + fd_exhaustion_hint(err));
  }
  if (!unix_domain) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Every worker binds the same address; the kernel spreads connections over them.
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ::close(fd);
      return Status::error(std::string("SO_REUSEPORT: ") + std::strerror(errno));
    }
    socklen_t len = addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      int err = errno;
      ::close(fd);
      return Status::error("cannot listen on " + config_.proxy.listen + ": " + std::strerror(err));
    }
  }
  listener_.init(&loop_, unix_domain);
  listener_.handle()->data = this;
  int rc = unix_domain ? uv_pipe_open(&listener_.pipe, fd) : uv_tcp_open(&listener_.tcp, fd);
  if (rc != 0) {
    ::close(fd);  // not adopted by the handle
  } else {
    rc = uv_listen(listener_.stream(), 1024, [](uv_stream_t* server, int status) {
      auto* w = static_cast<Worker*>(server->data);
      if (status != 0) {
        w->on_accept_failed(status);
        return;
      }
      ClientConnection::accept(*w, w->listener_);
    });
  }
  if (rc != 0) {
    uv_close(listener_.handle(), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return Status::error("cannot listen on " + config_.proxy.listen + ": " + uv_strerror(rc));
  }
  listener_open_ = true;

  uv_async_init(&loop_, &wakeup_,
                [](uv_async_t* a) { static_cast<Worker*>(a->data)->on_wakeup(); });
  wakeup_.data = this;
  uv_prepare_init(&loop_, &poll_ring_);
  poll_ring_.data = this;
  uv_prepare_start(&poll_ring_, [](uv_prepare_t* p) {
    loop_clock_forget();
    ++loop_turn;
    auto* w = static_cast<Worker*>(p->data);
    w->refresh_ring();
    w->preconnect_new_pools();
    w->sweep_retiring();
    w->resume_parsing();
  });
  uv_idle_init(&loop_, &parse_idle_);
  parse_idle_.data = this;
  uv_check_init(&loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, [](uv_check_t* c) { static_cast<Worker*>(c->data)->flush_all(); });
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_timer_init(&loop_, &quiet_sweep_);
  quiet_sweep_.data = this;
  uv_timer_start(
      &quiet_sweep_, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->sweep_quiet_clients(); },
      kQuietSweepMs, kQuietSweepMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(&quiet_sweep_));
  uv_timer_init(&loop_, &hold_timer_);
  hold_timer_.data = this;
  refresh_ring();
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void Worker::run() {
  // Created by the thread that submits (an io_uring set up for a single issuer insists).
  if (config_.proxy.io_uring) {
    auto batch = IoBatch::create();
    if (batch) {
      io_batch_ = std::move(batch.value());
      proxy_counters_.io_uring_workers.fetch_add(1, std::memory_order_relaxed);
    } else if (id_ == 0) {
      RL_LOG_WARN("io_uring unavailable (%s): workers write one socket at a time",
                  batch.error().c_str());
    }
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  RL_LOG_DEBUG("worker %u stopped", id_);
}

void Worker::on_accept_failed(int status) {
  // A connection libuv could not accept (it handles running out of descriptors itself, by
  // closing pending connections): said at most every 10 s per worker.
  const uint64_t now = loop_now_ns();
  if (accept_failure_logged_ns_ != 0 && now - accept_failure_logged_ns_ < 10'000'000'000ull) return;
  accept_failure_logged_ns_ = now;
  RL_LOG_ERROR("worker %u: cannot accept clients: %s%s; they are closed at once", id_,
               uv_strerror(status), fd_exhaustion_hint(-status).c_str());
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::drain(uint32_t grace_ms) {
  drain_grace_ms_.store(grace_ms, std::memory_order_release);
  uv_async_send(&wakeup_);
}

void Worker::on_wakeup() {
  refresh_ring();
  int64_t grace = drain_grace_ms_.load(std::memory_order_acquire);
  if (grace < 0 || draining_) return;
  draining_ = true;
  if (listener_open_) {
    listener_open_ = false;
    uv_close(listener_.handle(), nullptr);
  }
  std::vector<ClientConnection*> clients(clients_.begin(), clients_.end());
  for (ClientConnection* c : clients)
    c->close_when_idle();
  // Check every 10 ms whether the last client is gone and the backends have answered what
  // was sent for clients already gone (copies of writes acknowledged early, a conditional
  // write's follow-ups); give up waiting after the grace.
  uv_timer_start(
      &drain_timer_,
      [](uv_timer_t* t) {
        auto* w = static_cast<Worker*>(t->data);
        if ((w->clients_.empty() && w->backends_idle()) ||
            uv_now(&w->loop_) >= w->drain_deadline_ms_) {
          w->finish_drain();
        }
      },
      10, 10);
  drain_deadline_ms_ = uv_now(&loop_) + static_cast<uint64_t>(grace);
}

bool Worker::backends_idle() const {
  for (const auto& [name, pool] : pools_) {
    if (!pool->idle()) return false;
  }
  return retiring_.empty();
}

void Worker::sweep_retiring() {
  std::erase_if(retiring_, [](const std::unique_ptr<BackendPool>& pool) { return pool->idle(); });
}

void Worker::finish_drain() {
  std::vector<ClientConnection*> clients(clients_.begin(), clients_.end());
  if (!clients.empty() || !backends_idle()) {
    size_t unanswered = 0;
    for (const ClientConnection* c : clients)
      unanswered += c->unanswered();
    RL_LOG_WARN(
        "worker %u: shutdown grace over: closing %zu clients with %zu requests unanswered%s", id_,
        clients.size(), unanswered,
        backends_idle() ? "" : "; backend requests still in flight are abandoned");
  }
  for (ClientConnection* c : clients)
    c->close();
  pools_by_index_.clear();
  pools_.clear();  // connections fail what they hold and close themselves
  retiring_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&quiet_sweep_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&hold_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&parse_idle_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_ring_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_check_), nullptr);
}

void Worker::sweep_quiet_clients() {
  const uint64_t now = loop_now_ns();
  std::vector<ClientConnection*> gone;  // closing one leaves clients_: collected first
  for (ClientConnection* c : clients_) {
    c->release_buffers_if_quiet(now, uint64_t{kQuietSweepMs} * 1000000);
    if (c->gone_while_not_reading()) gone.push_back(c);
  }
  for (ClientConnection* c : gone)
    c->close();
}

void Worker::hold_replies(ClientConnection::HeldReplies& node, uint64_t now_ns) {
  held_replies.join(node, now_ns);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&hold_timer_))) {
    uv_timer_start(
        &hold_timer_, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->end_expired_holds(); }, 1,
        1);
  }
}

void Worker::end_expired_holds() {
  const uint64_t now = loop_now_ns();
  while (RecentList::Node* oldest = held_replies.oldest()) {
    if (now - oldest->since_ns() < ClientConnection::kReplyHoldNs) return;
    held_replies.leave(*oldest);
    static_cast<ClientConnection::HeldReplies*>(oldest)->client->write_held();
  }
  uv_timer_stop(&hold_timer_);
}

void Worker::resume_parsing() {
  // A client deferred again rejoins at the tail: one pass takes each at most once.
  size_t pass = parse_backlog.size();
  for (bool first = true; pass > 0 && (first || parse_budget_left()); --pass, first = false) {
    RecentList::Node* oldest = parse_backlog.oldest();
    parse_backlog.leave(*oldest);
    static_cast<ClientConnection::ParseBacklog*>(oldest)->client->resume_parsing();
  }
  if (parse_backlog.empty()) {
    uv_idle_stop(&parse_idle_);
  } else {
    uv_idle_start(&parse_idle_, [](uv_idle_t*) {});
  }
}

size_t Worker::expected_per_backend(uint64_t since_ns, size_t cap) const {
  const size_t backends = ring_ ? ring_->backends().size() : 0;
  if (backends == 0) return 0;
  const size_t enough = cap * backends;  // the walk over recent clients stops there
  if (queued_requests >= enough) return cap;
  const size_t limit = enough - queued_requests;
  // Every idle connection that starts gathering asks, most of them in the same flush and with
  // the same clock: one walk serves them all (with many backends and thousands of clients,
  // one walk per connection took a loaded loop's time).
  Answered& memo = answered_;
  if (memo.round != flush_round_ || memo.since_ns != since_ns ||
      (memo.count == memo.limit && limit > memo.limit)) {
    memo = {flush_round_, since_ns, limit, clients_due.count_joined_since(since_ns, limit)};
  }
  return (queued_requests + std::min(memo.count, limit)) / backends;
}

void Worker::flush_all() {
  ++flush_round_;
  // Clients first: their replies finish requests, the backend writes start new ones, and a
  // write wakes its reader in this order. Writers' reactions to outcomes (a failed backend
  // fails its requests, whose clients then have replies) can ask for more flushes: repeat
  // until nothing is left.
  collecting_writes_ = io_batch_ != nullptr && io_batch_->usable();
  // The writes' time (backend deadlines run from them), not the poll's: its callbacks may
  // have taken long.
  loop_clock_forget();
  if (const uint64_t now = loop_now_ns(); loop_load.due(now)) {
    loop_load.sample(now, uv_metrics_idle_time(&loop_));
  }
  if (!held_replies.empty()) end_expired_holds();
  do {
    flushing_clients_.clear();
    flushing_clients_.swap(client_flushes_);
    for (ClientConnection* c : flushing_clients_)
      c->flush_writes();
    flushing_backends_.clear();
    flushing_backends_.swap(backend_flushes_);
    for (BackendConnection* c : flushing_backends_)
      c->flush();
    if (io_batch_) {
      io_batch_->run();
      if (!io_batch_->usable()) {
        // The kernel refused a submission (IoBatch said why): one write per socket from now
        // on, and ringleader_io_uring_workers no longer counts this worker.
        io_batch_.reset();
        collecting_writes_ = false;
        proxy_counters_.io_uring_workers.fetch_sub(1, std::memory_order_relaxed);
      }
    }
  } while (!backend_flushes_.empty() || !client_flushes_.empty());
  collecting_writes_ = false;
  loop_clock_forget();
}

void Worker::preconnect_new_pools() {
  for (const std::string& name : to_preconnect_) {
    if (auto it = pools_.find(name); it != pools_.end()) it->second->preconnect();
  }
  to_preconnect_.clear();
}

void Worker::refresh_ring() {
  uint64_t version = rings_.version();
  if (version == ring_version_) return;
  ring_version_ = version;
  ring_ = rings_.current();
  PendingRequest::forget_rings();
  pools_by_index_.assign(ring_->backends().size(), nullptr);
  // Pools that go take nothing new. Those with requests in flight keep running until the
  // backend has answered them (or they time out), as a client's connection is not dropped
  // either; the idle ones close once pools_ and pools_by_index_ describe the new ring.
  std::vector<std::unique_ptr<BackendPool>> retired;
  for (ring::BackendIndex i = 0; i < ring_->backends().size(); ++i) {
    const ring::Backend& b = ring_->backend(i);
    auto it = pools_.find(b.name);
    if (it != pools_.end() && it->second->address() != b.address) {
      // Re-addressed: the old pool retires (its in-flight requests finish at the old address),
      // new ones connect anew (nor do the old pool's failures eject the backend:
      // PoolOwner::request_ejection names the address).
      retired.push_back(std::move(it->second));
      pools_.erase(it);
      it = pools_.end();
    }
    if (it == pools_.end()) {
      std::shared_ptr<BackendStats> stats = proxy_counters_.backends->get(b.name);
      stats->count_for(ring::hash_xxh3(b.address));
      auto pool =
          BackendPool::create(&loop_, *this, protocol_, config_.backend, b, std::move(stats), id_);
      if (!pool) {
        RL_LOG_ERROR("worker %u: %s", id_, pool.error().c_str());
        continue;
      }
      it = pools_.emplace(b.name, std::move(pool.value())).first;
      if (config_.backend.preconnect && b.state != ring::BackendState::kDown) {
        to_preconnect_.push_back(b.name);
      }
    }
    pools_by_index_[i] = it->second.get();
  }
  // Pools of backends that left the ring.
  for (auto it = pools_.begin(); it != pools_.end();) {
    if (ring_->find(it->first)) {
      ++it;
      continue;
    }
    retired.push_back(std::move(it->second));
    it = pools_.erase(it);
  }
  for (std::unique_ptr<BackendPool>& pool : retired) {
    pool->retire();
    if (!pool->idle()) retiring_.push_back(std::move(pool));
  }
  retired.clear();
}

BackendPool* Worker::pool_for(const ring::Ring& r, ring::BackendIndex index) {
  if (index == ring::kNoBackend) return nullptr;
  if (&r == ring_.get()) return pools_by_index_[index];
  const ring::Backend& b = r.backend(index);
  auto it = pools_.find(b.name);
  if (it != pools_.end()) return it->second.get();
  // A request planned on an older ring may still reach a backend that left it while that
  // backend's pool finishes what it holds (a conditional write's follow-ups, say).
  for (const std::unique_ptr<BackendPool>& pool : retiring_) {
    if (pool->name() == b.name && pool->address() == b.address) return pool.get();
  }
  return nullptr;
}

std::string Worker::own_listener_at(const sockaddr_storage& peer) {
  return own_listener_connected(config_, peer);
}

void Worker::send_part(PendingRequest* req, uint32_t part, ring::BackendIndex backend) {
  if (BackendPool* pool = pool_for(*req->ring, backend)) {
    pool->send(req, part);
    return;
  }
  Fragment& f = req->part(part);
  f.state = FragmentState::kFailed;
  if (!f.error.empty()) f.error += "; ";
  f.error += backend == ring::kNoBackend
                 ? "no backend available for this key"
                 : "backend " + req->ring->backend(backend).name + " is unavailable";
  WorkerCounters::bump(counters_->fragments_failed);
  if (PendingRequest::is_copy(part)) WorkerCounters::bump(counters_->replica_write_failures);
  on_fragment_finished(*this, req, part);
}

}  // namespace ringleader::proxy
