// Proxy counters. Each worker writes only its own WorkerCounters (relaxed atomics, no
// contention); readers (INFO, metrics) sum across workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/latency_histogram.h"

namespace ringleader::proxy {

// X(field, Prometheus counter name, help): declared once; fields, totals and the exposition
// all expand from this list, so names never drift.
#define RINGLEADER_WORKER_COUNTERS(X)                                                            \
  X(clients_accepted, "ringleader_client_connections_total", "Client connections accepted")      \
  X(clients_rejected, "ringleader_client_connections_rejected_total",                            \
    "Client connections refused because proxy.max_clients was reached")                          \
  X(clients_closed_protocol_error, "ringleader_client_protocol_errors_total",                    \
    "Clients closed after malformed or oversized input")                                         \
  X(clients_closed_idle, "ringleader_client_idle_closed_total",                                  \
    "Clients closed by proxy.client_idle_timeout_ms")                                            \
  X(clients_closed_output_limit, "ringleader_client_output_limit_closed_total",                  \
    "Clients closed with more unwritten replies than proxy.max_client_output_bytes")             \
  X(requests, "ringleader_requests_parsed_total", "Client requests parsed")                      \
  X(requests_local, "ringleader_requests_local_total",                                           \
    "Client requests answered by the proxy itself (local commands, refusals, errors)")           \
  X(fragments_sent, "ringleader_backend_requests_sent_total",                                    \
    "Backend requests handed to backend connections")                                            \
  X(fragments_failed, "ringleader_backend_requests_failed_total",                                \
    "Backend requests that got no reply (timeout, connection error, unavailable, ejected)")      \
  X(read_failovers, "ringleader_read_failovers_total",                                           \
    "Reads sent to the next replica after one got no reply")                                     \
  X(read_miss_failovers, "ringleader_read_miss_failovers_total",                                 \
    "Reads sent to the next replica after a miss (replication.miss_failover)")                   \
  X(replica_write_failures, "ringleader_replica_write_failures_total",                           \
    "Copies of writes that a replica did not acknowledge (timeout, connection error, ...)")      \
  X(replies_too_large, "ringleader_backend_replies_too_large_total",                             \
    "Backend replies over backend.max_reply_bytes, dropped (their requests got an error)")       \
  X(backend_connects, "ringleader_backend_connects_total", "Backend connections established")    \
  X(backend_connect_failures, "ringleader_backend_connect_failures_total",                       \
    "Backend connection attempts that failed")                                                   \
  X(backend_timeouts, "ringleader_backend_timeouts_total", "Backend requests that timed out")    \
  X(bytes_from_clients, "ringleader_client_received_bytes_total", "Bytes read from clients")     \
  X(bytes_to_clients, "ringleader_client_sent_bytes_total", "Bytes written to clients")          \
  X(client_reads, "ringleader_client_reads_total", "Socket reads from clients that got data")    \
  X(client_writes, "ringleader_client_writes_total",                                             \
    "Socket writes to clients (replies ready together share one)")                               \
  X(backend_reads, "ringleader_backend_reads_total", "Socket reads from backends that got data") \
  X(client_reads_deferred, "ringleader_client_reads_deferred_total",                             \
    "Client reads put off to the next loop iteration: the connection had read its share")        \
  X(client_parses_deferred, "ringleader_client_parses_deferred_total",                           \
    "Times a client's buffered requests waited for a later loop iteration: the worker had "      \
    "parsed its share of the iteration and the client its own")                                  \
  X(client_reads_paused_worker_full, "ringleader_client_reads_paused_worker_full_total",         \
    "Clients whose reading paused because their worker held its limit of queued requests "       \
    "(they had requests of their own waiting)")                                                  \
  X(backend_reads_deferred, "ringleader_backend_reads_deferred_total",                           \
    "Backend reads put off to the next loop iteration: the connection had read its share")       \
  X(backend_writes, "ringleader_backend_writes_total",                                           \
    "Socket writes to backends (requests queued together share one)")                            \
  X(backend_fragments_queued, "ringleader_backend_requests_queued_total",                        \
    "Backend requests that waited in the proxy, taken in turns by client, for room on a "        \
    "connection holding its limit of outstanding requests or of bytes queued to be written")     \
  X(backend_gathered_writes, "ringleader_backend_gathered_writes_total",                         \
    "Backend writes that waited for more requests to join them, as requests were arriving fast") \
  X(backend_reads_dropped, "ringleader_backend_reads_dropped_client_gone_total",                 \
    "Reads not sent to a backend because their client closed while they waited for a turn")

// How a request ended, for ringleader_requests_total{outcome}.
enum class Outcome : uint8_t {
  kOk = 0,      // a reply that is not an error
  kError = 1,   // an error reply from a backend or from the proxy's rules (refused, NOAUTH...)
  kFailed = 2,  // no backend reply: timeout, unavailable, ejected
};
inline constexpr size_t kOutcomes = 3;

// Latency classes, for ringleader_request_duration_seconds{class}.
enum class LatencyClass : uint8_t { kRead = 0, kWrite, kMultiKey, kWholeKeyspace, kLocal, kOther };
inline constexpr size_t kLatencyClasses = 6;
inline constexpr const char* kLatencyClassNames[kLatencyClasses] = {
    "read", "write", "multi_key", "whole_keyspace", "local", "other"};

struct WorkerCounters {
  // `commands`: how many commands the protocol's table has (index 0 = unknown).
  explicit WorkerCounters(size_t commands = 1)
      : command_count(commands),
        requests_by_command(new std::atomic<uint64_t>[commands * kOutcomes]) {
    for (size_t i = 0; i < commands * kOutcomes; ++i)
      requests_by_command[i].store(0);
  }

#define RL_COUNTER_FIELD(name, metric, help) std::atomic<uint64_t> name{0};
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_FIELD)
#undef RL_COUNTER_FIELD
  std::atomic<int64_t> client_connections{0};  // gauge: open client connections
  // Time gathered backend writes waited, summed (ringleader_backend_gather_wait_seconds_total).
  std::atomic<uint64_t> backend_gather_wait_ns{0};

  // requests_by_command[command * kOutcomes + outcome]
  size_t command_count;
  std::unique_ptr<std::atomic<uint64_t>[]> requests_by_command;
  metrics::LatencyHistogram latency[kLatencyClasses];

  void count_request(uint16_t command, Outcome outcome) {
    size_t c = command < command_count ? command : 0;
    bump(requests_by_command[c * kOutcomes + static_cast<size_t>(outcome)]);
  }

  // Single-writer increment: the owning worker only.
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct CounterTotals {
#define RL_COUNTER_TOTAL(name, metric, help) uint64_t name = 0;
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_TOTAL)
#undef RL_COUNTER_TOTAL
  int64_t client_connections = 0;
  uint64_t backend_gather_wait_ns = 0;
};

// One backend's statistics, one slot per worker (each written by its worker only).
struct BackendStats {
  struct Slot {
    metrics::LatencyHistogram latency;    // send to reply
    std::atomic<uint64_t> replies{0};     // fragments answered (refusals excluded)
    std::atomic<uint64_t> refusals{0};    // answered with Protocol::is_refusal: not run
    std::atomic<uint64_t> failures{0};    // fragments failed
    std::atomic<int64_t> connections{0};  // open connections (gauge)
  };
  explicit BackendStats(size_t workers) {
    for (size_t i = 0; i < workers; ++i)
      slots.push_back(std::make_unique<Slot>());
  }
  std::vector<std::unique_ptr<Slot>> slots;
  // Since when (monotonic ns) attempts to connect fail, all workers together: set by the
  // first failed attempt, cleared by the next one that connects; 0 while none fails.
  std::atomic<uint64_t> unreachable_since_ns{0};
  // When that was last logged (the first failure, then at most once a minute).
  std::atomic<uint64_t> unreachable_logged_ns{0};
  // Requests (or connections) that failed in a row, all workers together: a reply from the
  // backend on any of them clears it. backend.failure_limit counts these.
  std::atomic<uint32_t> consecutive_failures{0};
  // When a timeout last counted as a failure: one stall times out the requests of every
  // worker's connection at once, and counts once per backend.timeout_ms.
  std::atomic<uint64_t> timeout_counted_ns{0};
  // When a run of failures was last logged (at most once a minute), and whether the run
  // going on was, so that its end is logged too.
  std::atomic<uint64_t> failing_logged_ns{0};
  std::atomic<bool> failing_run_logged{false};
  // A hash of the address the counts above are of (0 before the first): see count_for.
  std::atomic<uint64_t> address_hash{0};

  // Makes the counts above those of the address hashed `hash`, as a worker opens a pool for
  // it. The first worker to see the backend at another address than they were counted for
  // (re-addressed, or removed and added back elsewhere: entries outlive the backend) clears
  // them, since whether the old address could be reached says nothing of the new one; the
  // others find the hash already set and keep what the new address counted meanwhile.
  // (Not atomic as a whole: a failure another worker counts at the new address in between may
  // be cleared with the rest; one count, never a wrong ejection.)
  void count_for(uint64_t hash) {
    if (address_hash.exchange(hash) != hash) {
      unreachable_since_ns.store(0);
      unreachable_logged_ns.store(0);
      consecutive_failures.store(0);
      timeout_counted_ns.store(0);
      failing_logged_ns.store(0);
      failing_run_logged.store(false);
    }
  }
};

// Backend statistics by name. An entry lives while the backend is in the ring or a pool still
// holds it (a removed backend's pool answers its last requests); forget_absent() drops the
// others, so names that come and go (a pod's name per deploy) do not add up. A backend that
// leaves while its pools still hold the entry and comes back keeps counting where it stopped;
// one forgotten in between starts again from zero, as a new series. Thread-safe.
class BackendStatsRegistry {
 public:
  explicit BackendStatsRegistry(size_t workers) : workers_(workers) {}
  std::shared_ptr<BackendStats> get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& entry = by_name_[name];
    if (!entry) entry = std::make_shared<BackendStats>(workers_);
    return entry;
  }
  // Whether the backend's last connection attempt failed (BackendStats::unreachable_since_ns);
  // false for a backend never tried.
  bool unreachable(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_name_.find(name);
    return it != by_name_.end() &&
           it->second->unreachable_since_ns.load(std::memory_order_relaxed) != 0;
  }
  // Whether the backend's last request failed (BackendStats::consecutive_failures).
  bool failing(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_name_.find(name);
    return it != by_name_.end() &&
           it->second->consecutive_failures.load(std::memory_order_relaxed) != 0;
  }
  std::map<std::string, std::shared_ptr<BackendStats>> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_name_;
  }
  // Drops the entries of backends for which `present(name)` is false (not in the current ring)
  // and that nothing else holds. An entry held only here cannot be copied meanwhile: get()
  // and all(), the only ways to it, take the lock.
  template <typename Present>
  void forget_absent(Present present) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(by_name_, [&present](const auto& entry) {
      return entry.second.use_count() == 1 && !present(entry.first);
    });
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_name_.size();
  }

 private:
  size_t workers_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<BackendStats>> by_name_;  // guarded by mu_
};

struct ProxyCounters {
  std::vector<std::unique_ptr<WorkerCounters>> workers;
  uint64_t start_time_ns = 0;  // monotonic time the proxy started
  std::unique_ptr<BackendStatsRegistry> backends;
  // Open client connections across all workers; admission control for max_clients.
  std::atomic<int64_t> connected_clients{0};
  // proxy.max_clients, lowered when the open-file limit cannot hold that many with the
  // current ring's backend connections (see fd_limit.h): set at start and whenever the ring
  // changes its number of backends.
  std::atomic<uint32_t> max_clients{0};
  // Workers that batch their socket writes with io_uring (proxy.io_uring and the kernel).
  std::atomic<int64_t> io_uring_workers{0};

  CounterTotals totals() const {
    CounterTotals t;
    for (const auto& w : workers) {
#define RL_COUNTER_SUM(name, metric, help) t.name += w->name.load(std::memory_order_relaxed);
      RINGLEADER_WORKER_COUNTERS(RL_COUNTER_SUM)
#undef RL_COUNTER_SUM
      t.client_connections += w->client_connections.load(std::memory_order_relaxed);
      t.backend_gather_wait_ns += w->backend_gather_wait_ns.load(std::memory_order_relaxed);
    }
    return t;
  }
};

}  // namespace ringleader::proxy
