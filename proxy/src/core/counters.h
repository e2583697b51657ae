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

#define RL_COUNTER_FIELD(name, help) std::atomic<uint64_t> name{0};
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_FIELD)
#undef RL_COUNTER_FIELD
  std::atomic<int64_t> client_connections{0};  // gauge: open client connections

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
#define RL_COUNTER_TOTAL(name, help) uint64_t name = 0;
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_TOTAL)
#undef RL_COUNTER_TOTAL
  int64_t client_connections = 0;
};

// One backend's statistics, one slot per worker (each written by its worker only).
struct BackendStats {
  struct Slot {
    metrics::LatencyHistogram latency;    // send to reply
    std::atomic<uint64_t> replies{0};     // fragments answered
    std::atomic<uint64_t> failures{0};    // fragments failed
    std::atomic<int64_t> connections{0};  // open connections (gauge)
  };
  explicit BackendStats(size_t workers) {
    for (size_t i = 0; i < workers; ++i)
      slots.push_back(std::make_unique<Slot>());
  }
  std::vector<std::unique_ptr<Slot>> slots;
};

// Backend statistics by name. Entries outlive pools: a backend that leaves and comes back
// keeps counting where it stopped. Thread-safe.
class BackendStatsRegistry {
 public:
  explicit BackendStatsRegistry(size_t workers) : workers_(workers) {}
  std::shared_ptr<BackendStats> get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& entry = by_name_[name];
    if (!entry) entry = std::make_shared<BackendStats>(workers_);
    return entry;
  }
  std::map<std::string, std::shared_ptr<BackendStats>> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_name_;
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
