// Proxy counters. Each worker writes only its own WorkerCounters (relaxed atomics, no
// contention); readers (INFO, metrics) sum across workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace ringleader::proxy {

#define RINGLEADER_WORKER_COUNTERS(X)                                         \
  X(clients_accepted, "client connections accepted")                          \
  X(clients_rejected, "client connections refused (max_clients)")             \
  X(clients_closed_protocol_error, "clients closed after a protocol error")   \
  X(clients_closed_idle, "clients closed by client_idle_timeout_ms")          \
  X(requests, "requests parsed")                                              \
  X(requests_local, "requests answered by the proxy itself")                  \
  X(requests_failed, "requests answered with a proxy-generated error")        \
  X(fragments_sent, "backend requests sent")                                  \
  X(fragments_failed, "backend requests failed (timeout, connection, eject)") \
  X(backend_connects, "backend connections established")                      \
  X(backend_connect_failures, "backend connection attempts that failed")      \
  X(backend_timeouts, "backend request timeouts")                             \
  X(bytes_from_clients, "bytes read from clients")                            \
  X(bytes_to_clients, "bytes written to clients")

struct WorkerCounters {
#define RL_COUNTER_FIELD(name, help) std::atomic<uint64_t> name{0};
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_FIELD)
#undef RL_COUNTER_FIELD
  std::atomic<int64_t> client_connections{0};  // gauge: open client connections

  // Single-writer increment: the owning worker only.
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct CounterTotals {
#define RL_COUNTER_TOTAL(name, help) uint64_t name = 0;
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_TOTAL)
#undef RL_COUNTER_TOTAL
  int64_t client_connections = 0;
};

struct ProxyCounters {
  std::vector<std::unique_ptr<WorkerCounters>> workers;
  uint64_t start_time_ns = 0;  // monotonic time the proxy started
  // Open client connections across all workers; admission control for max_clients.
  std::atomic<int64_t> connected_clients{0};

  CounterTotals totals() const {
    CounterTotals t;
    for (const auto& w : workers) {
#define RL_COUNTER_SUM(name, help) t.name += w->name.load(std::memory_order_relaxed);
      RINGLEADER_WORKER_COUNTERS(RL_COUNTER_SUM)
#undef RL_COUNTER_SUM
      t.client_connections += w->client_connections.load(std::memory_order_relaxed);
    }
    return t;
  }
};

}  // namespace ringleader::proxy
