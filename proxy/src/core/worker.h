// Worker: one thread, one libuv loop, its listening socket (SO_REUSEPORT on the shared
// proxy.listen address), its clients and its own backend pools. Nothing on the data path is
// shared with other workers except the ring snapshot (read-only) and relaxed counters.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backend_pool.h"
#include "client_connection.h"
#include "common/result.h"
#include "config/config.h"
#include "counters.h"
#include "io_batch.h"
#include "pending_request.h"
#include "protocol.h"
#include "read_budget.h"
#include "replication.h"
#include "ring_publisher.h"
#include "uv_util.h"

namespace ringleader::proxy {

class BackendConnection;
class ClientConnection;

class Worker final : public PoolOwner {
 public:
  using EjectionRequest =
      std::function<void(const std::string& backend, const std::string& address)>;

  Worker(uint32_t id, const config::Config& config, Protocol& protocol, RingPublisher& rings,
         ProxyCounters& counters, EjectionRequest eject);
  ~Worker() override;

  // Binds the listener (the socket is created here, so bind errors surface at once) and
  // starts the thread. With `shared_listener_fd` (a bound Unix-domain socket, see
  // UnixListener), listens on a duplicate of it instead and ignores `listen_address`.
  Status start(const sockaddr_storage& listen_address, int shared_listener_fd = -1);
  // Thread-safe: stop accepting, let in-flight requests finish for up to `grace_ms`, then
  // close everything; the thread ends when the loop is empty.
  void drain(uint32_t grace_ms);
  // Thread-safe: pick up a newly published ring now rather than at the next loop iteration.
  void wake() { uv_async_send(&wakeup_); }
  void join();

  // --- for the worker's own connections (loop thread only) ---
  uv_loop_t* loop() { return &loop_; }
  // Time the loop has waited in its poll for something to do, in all (libuv's idle time,
  // counted up to the moment of the call while it waits). Any thread, while the worker exists.
  uint64_t poll_wait_ns() { return uv_metrics_idle_time(&loop_); }
  const config::Config& config() const { return config_; }
  const SessionEnv& session_env() const { return env_; }
  Protocol& protocol() override { return protocol_; }
  ProxyCounters& proxy_counters() { return proxy_counters_; }
  WorkerCounters& counters() override { return *counters_; }
  const ring::RingSnapshot& ring() const { return ring_; }
  const ReplicationPolicy& replication() const { return replication_; }
  // Spreads reads over replicas (replication.read = "any"): a new value per read.
  uint64_t next_read_turn() { return read_turn_++; }
  // The pool for backend `index` of `ring` (any snapshot, by name); nullptr if unknown.
  BackendPool* pool_for(const ring::Ring& ring, ring::BackendIndex index);
  void send_part(PendingRequest* req, uint32_t part, ring::BackendIndex backend) override;
  // The listen addresses it compares with are read once at start and never change (a reload
  // leaves [proxy], [admin] and [membership] as they were), so workers may read them.
  std::string own_listener_at(const sockaddr_storage& peer) override;
  void request_ejection(const std::string& backend, const std::string& address) override {
    eject_(backend, address);
  }
  size_t expected_per_backend(uint64_t since_ns, size_t cap) const override;
  void schedule_flush(BackendConnection* c) override { backend_flushes_.push_back(c); }
  void schedule_flush(ClientConnection* c) { client_flushes_.push_back(c); }
  bool queue_write(int fd, const char* data, size_t len, IoBatch::Writer* writer) override {
    if (!collecting_writes_) return false;
    io_batch_->add(fd, data, len, writer);
    return true;
  }
  void client_opened(ClientConnection* c) { clients_.insert(c); }
  // Lanes spread clients over a backend's connections (PendingRequest::lane).
  uint32_t next_client_lane() { return next_lane_++; }
  void client_closed(ClientConnection* c) { clients_.erase(c); }
  // Clients refused over max_clients that are still open (writing their error, lingering):
  // at most refused_clients_per_worker of them linger, so a flood of them holds a bounded
  // number of descriptors (fd_limit.h counts them).
  uint32_t refused_clients_open = 0;
  uint32_t workers() const { return static_cast<uint32_t>(proxy_counters_.workers.size()); }
  // Requests read from this worker's clients and not yet answered to them (in the clients'
  // queues), and the bytes they were read from. Each client's own share is bounded
  // (ClientConnection), but a flood from thousands of clients would hold thousands of shares:
  // memory without bound, and a worker busy parsing floods while other clients wait. So
  // from kMaxQueuedRequests (or kMaxQueuedRequestBytes) on, clients with requests of their
  // own waiting are not read; a client with none is, so one that asks little still gets
  // through. A paused client reads again when its own requests are all answered, or when
  // the worker is below half its limits.
  static constexpr size_t kMaxQueuedRequests = 128 * 1024;
  // Requests the worker parses per loop iteration before clients past their own share wait
  // for a later one (ClientConnection::kParseQuantum).
  static constexpr size_t kParseBudget = 4096;
  bool parse_budget_left() const { return parsed_.value() < kParseBudget; }
  void count_parsed() { parsed_.add(); }
  // Clients whose buffered input waits for a share of an iteration, oldest first.
  RecentList parse_backlog;
  static constexpr size_t kMaxQueuedRequestBytes = size_t{256} << 20;
  size_t queued_requests = 0;
  size_t queued_request_bytes = 0;
  // Both count the requests of closed clients that backends still hold
  // (PendingRequest::abandoned_load, this worker's thread's).
  bool queue_full() const {
    const PendingRequest::AbandonedLoad& gone = PendingRequest::abandoned_load();
    return queued_requests + gone.requests >= kMaxQueuedRequests ||
           queued_request_bytes + gone.bytes >= kMaxQueuedRequestBytes;
  }
  bool queue_below_half() const {
    const PendingRequest::AbandonedLoad& gone = PendingRequest::abandoned_load();
    return queued_requests + gone.requests < kMaxQueuedRequests / 2 &&
           queued_request_bytes + gone.bytes < kMaxQueuedRequestBytes / 2;
  }
  bool draining() const { return draining_; }
  // Clients whose ready replies wait for the rest of their read, in the order their holds
  // began. A hold ends after ClientConnection::kReplyHoldNs at most: checked after every poll,
  // and by hold_timer_ while the loop waits.
  RecentList held_replies;
  // Begins `node`'s hold (its client joins held_replies) at `now_ns`.
  void hold_replies(ClientConnection::HeldReplies& node, uint64_t now_ns);

 private:
  static constexpr uint32_t kQuietSweepMs = 1000;

  void run();
  void refresh_ring();
  // backend.preconnect: connects the pools refresh_ring() created, on the loop's thread (the
  // first refresh runs on the thread that starts the worker).
  void preconnect_new_pools();
  void on_wakeup();
  void finish_drain();
  bool backends_idle() const;  // no pool has a request in flight
  void sweep_retiring();       // closes the retiring pools that have nothing left in flight
  void on_accept_failed(int status);
  void flush_all();
  // Ends the holds that have lasted ClientConnection::kReplyHoldNs.
  void end_expired_holds();
  // Every kQuietSweepMs: clients quiet for as long give back their buffers
  // (ClientConnection::release_buffers_if_quiet), and clients that went away while they
  // were not read are closed (ClientConnection::gone_while_not_reading).
  void sweep_quiet_clients();

  uint32_t id_;
  const config::Config& config_;
  Protocol& protocol_;
  RingPublisher& rings_;
  ProxyCounters& proxy_counters_;
  WorkerCounters* counters_;
  EjectionRequest eject_;
  SessionEnv env_;
  ReplicationPolicy replication_;
  uint64_t read_turn_ = 0;

  uv_loop_t loop_;
  int loop_status_ = 0;  // uv_loop_init's result: start() fails with it
  uint64_t accept_failure_logged_ns_ = 0;
  StreamHandle listener_;
  uv_async_t wakeup_;       // drain requests from other threads
  uv_prepare_t poll_ring_;  // before each poll: forget the loop clock, pick up a new ring
  uv_check_t flush_check_;  // after each poll's callbacks: coalesced writes
  // Connections with queued bytes, written in the check phase. Entries stay valid until
  // then: connections and clients are freed only in close callbacks, which libuv runs
  // after the check phase.
  std::vector<BackendConnection*> backend_flushes_;
  std::vector<ClientConnection*> client_flushes_;
  std::vector<BackendConnection*> flushing_backends_;  // flush_all's working copies
  std::vector<ClientConnection*> flushing_clients_;
  std::unique_ptr<IoBatch> io_batch_;  // null: io_uring off or unavailable
  bool collecting_writes_ = false;     // inside flush_all with a usable io_batch_
  uint64_t flush_round_ = 0;           // flush_all calls so far
  // expected_per_backend's last count of clients answered since `since_ns` (up to `limit`; a
  // count below it is exact), good for the flush round it was taken in.
  struct Answered {
    uint64_t round = 0;
    uint64_t since_ns = 0;
    size_t limit = 0;
    size_t count = 0;
  };
  mutable Answered answered_;
  uv_timer_t drain_timer_;
  uv_timer_t quiet_sweep_;  // unreferenced: it never keeps the loop alive
  // Takes clients out of parse_backlog, oldest first, while the iteration's budget lasts (at
  // least one each iteration); keeps the poll from blocking while any are left.
  void resume_parsing();
  TurnCount parsed_;       // requests parsed in this loop iteration
  uv_idle_t parse_idle_;   // active while parse_backlog has members: the poll only looks
  uv_timer_t hold_timer_;  // every millisecond while held_replies has members
  std::thread thread_;
  std::atomic<int64_t> drain_grace_ms_{-1};  // >= 0: drain requested
  uint64_t drain_deadline_ms_ = 0;           // loop time at which waiting for clients ends
  bool draining_ = false;
  bool listener_open_ = false;

  uint64_t ring_version_ = 0;
  ring::RingSnapshot ring_;
  std::unordered_map<std::string, std::unique_ptr<BackendPool>> pools_;  // by backend name
  std::vector<BackendPool*> pools_by_index_;  // for ring_: index -> pool (or nullptr)
  std::vector<std::string> to_preconnect_;    // names of pools created since the last poll
  // Pools of backends that left the ring (or moved to another address) with requests still
  // in flight: nothing new goes to them, and they close once those are answered.
  std::vector<std::unique_ptr<BackendPool>> retiring_;
  std::unordered_set<ClientConnection*> clients_;
  uint32_t next_lane_ = 0;
};

}  // namespace ringleader::proxy
