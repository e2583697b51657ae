#include "backend_pool.h"

#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>

#include "backend_connection.h"
#include "common/log.h"
#include "common/socket_address.h"
#include "uv_util.h"

namespace ringleader::proxy {
namespace {

constexpr uint64_t kUnreachableRelogNs = 60ull * 1000000000;

}  // namespace

Result<std::unique_ptr<BackendPool>> BackendPool::create(
    uv_loop_t* loop, PoolOwner& owner, Protocol& protocol, const config::BackendPoolConfig& config,
    const ring::Backend& backend, std::shared_ptr<BackendStats> stats, uint32_t worker_id) {
  std::string host;
  uint16_t port = 0;
  std::string path;
  const bool unix_domain = config::parse_unix_address(backend.address, &path);
  if (!unix_domain && !config::parse_host_port(backend.address, &host, &port)) {
    return Status::error("backend " + backend.name + ": invalid address \"" + backend.address +
                         "\"");
  }
  std::unique_ptr<BackendPool> pool(
      new BackendPool(owner, config, backend.name, backend.address, std::move(stats), worker_id));
  pool->host_ = host;
  pool->port_ = port;
  sockaddr_storage addr{};
  if (unix_domain) {
    pool->fixed_ = unix_socket_address(path);  // fits: parse_unix_address checked
  } else if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
             uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    pool->fixed_ = addr;
  }
  uint32_t n = std::max<uint32_t>(1, config.connections);
  for (uint32_t i = 0; i < n; ++i) {
    pool->connections_.push_back(new BackendConnection(loop, *pool, protocol));
  }
  return pool;
}

BackendPool::BackendPool(PoolOwner& owner, const config::BackendPoolConfig& config,
                         std::string name, std::string address, std::shared_ptr<BackendStats> stats,
                         uint32_t worker_id)
    : owner_(owner),
      config_(config),
      name_(std::move(name)),
      address_(std::move(address)),
      stats_(std::move(stats)),
      worker_id_(worker_id) {}

BackendPool::~BackendPool() {
  for (BackendConnection* c : connections_)
    c->shutdown(describe() + ": shutting down");
}

void BackendPool::send(PendingRequest* req, uint32_t fragment) {
  connections_[req->lane % connections_.size()]->send(req, fragment);
}

void BackendPool::preconnect() {
  for (BackendConnection* c : connections_)
    c->preconnect();
}

bool BackendPool::idle() const {
  for (const BackendConnection* c : connections_) {
    if (c->load() > 0) return false;
  }
  return true;
}

void BackendPool::note_connect_failure(const std::string& error) {
  if (retired_) return;
  const uint64_t now = monotonic_ns();
  uint64_t since = 0;
  if (stats_->unreachable_since_ns.compare_exchange_strong(since, now)) {
    stats_->unreachable_logged_ns.store(now);
    RL_LOG_WARN("%s: cannot connect: %s; retrying (backoff up to %u ms)", describe().c_str(),
                error.c_str(), config_.retry_timeout_ms);
    return;
  }
  uint64_t logged = stats_->unreachable_logged_ns.load();
  if (now - logged >= kUnreachableRelogNs &&
      stats_->unreachable_logged_ns.compare_exchange_strong(logged, now)) {
    RL_LOG_WARN("%s: still cannot connect after %llu s: %s", describe().c_str(),
                static_cast<unsigned long long>((now - since) / 1000000000), error.c_str());
  }
}

void BackendPool::note_out_of_descriptors(const std::string& error) {
  // One clock for every pool and worker: the limit is the process's.
  static std::atomic<uint64_t> logged_ns{0};
  const uint64_t now = monotonic_ns();
  uint64_t logged = logged_ns.load();
  if (logged != 0 && now - logged < 10'000'000'000ull) return;
  if (!logged_ns.compare_exchange_strong(logged, now)) return;
  RL_LOG_ERROR(
      "%s: %s; the proxy is out of descriptors, so the backend is not counted as "
      "failing (repeated at most every 10 s)",
      describe().c_str(), error.c_str());
}

void BackendPool::note_connected() {
  if (retired_) return;
  const uint64_t since = stats_->unreachable_since_ns.exchange(0);
  if (since == 0) return;
  RL_LOG_INFO("%s: connected again after %.1f s unreachable", describe().c_str(),
              static_cast<double>(monotonic_ns() - since) / 1e9);
}

void BackendPool::report_failure(const std::string& why) {
  if (retired_) return;  // the failures of an old address say nothing of the backend now
  const uint32_t failures = stats_->consecutive_failures.fetch_add(1) + 1;
  if (failures == 1) {
    const uint64_t now = monotonic_ns();
    uint64_t logged = stats_->failing_logged_ns.load();
    if ((logged == 0 || now - logged >= kUnreachableRelogNs) &&
        stats_->failing_logged_ns.compare_exchange_strong(logged, now)) {
      stats_->failing_run_logged.store(true);
      RL_LOG_WARN("requests failing: %s", why.c_str());  // `why` names the backend
    }
  }
  if (config_.failure_limit > 0 && failures % config_.failure_limit == 0) {
    // Said once a run of failures: while it goes on, each further failure_limit of them asks
    // for the ejection again (it may have expired) without saying so again.
    if (failures == config_.failure_limit) {
      RL_LOG_WARN("%u consecutive failures, the last: %s; ejecting for %u ms", failures,
                  why.c_str(), config_.retry_timeout_ms);
    }
    owner_.request_ejection(name_, address());
  }
}

void BackendPool::report_timeout(const std::string& why) {
  if (retired_) return;
  const uint64_t now = monotonic_ns();
  const uint64_t window = uint64_t{config_.timeout_ms} * 1000000;
  uint64_t last = stats_->timeout_counted_ns.load();
  if (last != 0 && now - last < window) return;
  if (!stats_->timeout_counted_ns.compare_exchange_strong(last, now)) return;  // another worker
  report_failure(why);
}

void BackendPool::end_failure_run() {
  const uint32_t failures = stats_->consecutive_failures.exchange(0);
  if (failures == 0) return;  // another worker ended it
  if (stats_->failing_run_logged.exchange(false)) {
    // Failures as failure_limit counts them: a broken connection is one, however many
    // requests it failed.
    RL_LOG_INFO("%s: answering again after %u failure%s in a row", describe().c_str(), failures,
                failures == 1 ? "" : "s");
  }
}

}  // namespace ringleader::proxy
