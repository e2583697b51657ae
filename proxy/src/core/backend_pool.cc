#include "backend_pool.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

#include "backend_connection.h"
#include "common/log.h"

namespace ringleader::proxy {
namespace {

Result<sockaddr_storage> resolve(const std::string& address) {
  std::string host;
  uint16_t port = 0;
  if (!config::parse_host_port(address, &host, &port)) {
    return Status::error("invalid backend address \"" + address + "\"");
  }
  sockaddr_storage out{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (uv_ip4_addr(host.c_str(), port, v4) == 0) return out;
  if (uv_ip6_addr(host.c_str(), port, v6) == 0) return out;
  // A host name: resolved once, when the pool is created.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Status::error("cannot resolve \"" + host + "\": " + gai_strerror(rc));
  }
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  if (out.ss_family == AF_INET) v4->sin_port = htons(port);
  if (out.ss_family == AF_INET6) v6->sin6_port = htons(port);
  freeaddrinfo(found);
  return out;
}

}  // namespace

Result<std::unique_ptr<BackendPool>> BackendPool::create(
    uv_loop_t* loop, PoolOwner& owner, Protocol& protocol, const config::BackendPoolConfig& config,
    const ring::Backend& backend, std::shared_ptr<BackendStats> stats, uint32_t worker_id) {
  auto addr = resolve(backend.address);
  if (!addr) return Status::error("backend " + backend.name + ": " + addr.error());
  std::unique_ptr<BackendPool> pool(
      new BackendPool(owner, config, backend.name, backend.address, std::move(stats), worker_id));
  uint32_t n = std::max<uint32_t>(1, config.connections);
  for (uint32_t i = 0; i < n; ++i) {
    pool->connections_.push_back(new BackendConnection(loop, *pool, protocol, addr.value()));
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

bool BackendPool::idle() const {
  for (const BackendConnection* c : connections_) {
    if (c->load() > 0) return false;
  }
  return true;
}

void BackendPool::report_failure(const std::string& why) {
  ++consecutive_failures_;
  if (config_.failure_limit > 0 && consecutive_failures_ % config_.failure_limit == 0) {
    // Said once a run of failures: while it goes on, each further failure_limit of them asks
    // for the ejection again (it may have expired) without saying so again.
    if (consecutive_failures_ == config_.failure_limit) {
      RL_LOG_WARN("%u consecutive failures, the last: %s; ejecting for %u ms",
                  consecutive_failures_, why.c_str(), config_.retry_timeout_ms);
    }
    owner_.request_ejection(name_);
  }
}

}  // namespace ringleader::proxy
