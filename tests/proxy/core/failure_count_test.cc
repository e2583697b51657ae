// backend.failure_limit over an instance's workers: each worker has its own pool of a backend,
// and all of them count its failures in the one BackendStats they share. A timeout counts
// once per backend.timeout_ms however many workers' connections one stall timed out.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/socket_address.h"
#include "core/backend_pool.h"
#include "loopback_listener.h"
#include "redis/redis_protocol.h"

namespace ringleader::proxy {
namespace {

class EjectionCounter final : public PoolOwner {
 public:
  void request_ejection(const std::string& name, const std::string&) override {
    ejections.push_back(name);
  }
  WorkerCounters& counters() override { return counters_; }
  void schedule_flush(BackendConnection*) override {}
  bool queue_write(int, const char*, size_t, IoBatch::Writer*) override { return false; }
  Protocol& protocol() override { return protocol_; }
  size_t expected_per_backend(uint64_t, size_t) const override { return 0; }
  void send_part(PendingRequest*, uint32_t, ring::BackendIndex) override {}
  std::string own_listener_at(const sockaddr_storage& peer) override {
    return socket_address_port(peer) == own_port ? "proxy.listen" : "";
  }

  uint16_t own_port = 0;  // a port this fake instance "listens" on

  std::vector<std::string> ejections;

 private:
  WorkerCounters counters_;
  redis::RedisProtocol protocol_;
};

class FailureCountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    config_.failure_limit = 3;
    config_.timeout_ms = 60000;  // the test runs well within one timeout
    stats_ = std::make_shared<BackendStats>(workers_);
    const ring::Backend backend{"b", "127.0.0.1:9", 1, "", ring::BackendState::kActive};
    for (uint32_t w = 0; w < workers_; ++w) {
      auto pool = BackendPool::create(&loop_, owner_, protocol_, config_, backend, stats_, w);
      ASSERT_TRUE(pool) << pool.error();
      pools_.push_back(std::move(*pool));
    }
  }
  void TearDown() override {
    pools_.clear();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }

  static constexpr uint32_t workers_ = 4;
  uv_loop_t loop_{};
  config::BackendPoolConfig config_;
  EjectionCounter owner_;
  redis::RedisProtocol protocol_;
  std::shared_ptr<BackendStats> stats_;
  std::vector<std::unique_ptr<BackendPool>> pools_;
};

TEST_F(FailureCountTest, FailuresOfEveryWorkerCountTogether) {
  pools_[0]->report_failure("backend b: refused");
  pools_[1]->report_failure("backend b: refused");
  EXPECT_TRUE(owner_.ejections.empty());
  pools_[2]->report_failure("backend b: refused");  // the third in a row, on a third worker
  EXPECT_EQ(owner_.ejections, std::vector<std::string>{"b"});
  // A reply on any worker ends the run.
  pools_[3]->report_success();
  EXPECT_EQ(stats_->consecutive_failures.load(), 0u);
  pools_[0]->report_failure("backend b: refused");
  pools_[1]->report_failure("backend b: refused");
  EXPECT_EQ(owner_.ejections.size(), 1u);
}

TEST_F(FailureCountTest, OneStallTimingOutEveryWorkerCountsOnce) {
  for (auto& pool : pools_)
    pool->report_timeout("backend b: timeout after 60000 ms");
  EXPECT_EQ(stats_->consecutive_failures.load(), 1u);
  EXPECT_TRUE(owner_.ejections.empty());
  // Other failures are not deduplicated.
  pools_[0]->report_failure("backend b: refused");
  pools_[1]->report_failure("backend b: refused");
  EXPECT_EQ(owner_.ejections.size(), 1u);
}

// A connection that came back into the instance itself (own_listener_at names the listener)
// is refused as a failed connect: counted, never used. One to any other port is a backend.
TEST_F(FailureCountTest, AConnectionThatReachedTheInstanceItselfIsAFailedConnect) {
  for (const bool own : {true, false}) {
    SCOPED_TRACE(own ? "own listener" : "a backend");
    uint16_t port = 0;
    const int listener = testing::loopback_listener(&port);
    ASSERT_GE(listener, 0);
    owner_.own_port = own ? port : 0;

    auto stats = std::make_shared<BackendStats>(1);
    const ring::Backend backend{"b", "127.0.0.1:" + std::to_string(port), 1, "",
                                ring::BackendState::kActive};
    auto pool = BackendPool::create(&loop_, owner_, protocol_, config_, backend, stats, 0);
    ASSERT_TRUE(pool) << pool.error();
    const uint64_t failures_before = owner_.counters().backend_connect_failures.load();
    (*pool)->preconnect();
    const auto settled = [&] {
      return stats->consecutive_failures.load() > 0 || stats->slots[0]->connections.load() > 0;
    };
    for (int i = 0; i < 5000 && !settled(); ++i) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(stats->consecutive_failures.load(), own ? 1u : 0u);
    EXPECT_EQ(stats->slots[0]->connections.load(), own ? 0 : 1);
    EXPECT_EQ(owner_.counters().backend_connect_failures.load() - failures_before, own ? 1u : 0u);
    EXPECT_EQ(stats->unreachable_since_ns.load() != 0, own);
    // The listener saw the connection; the refused one is already closed (end of stream).
    const int accepted = ::accept(listener, nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    pollfd readable{accepted, POLLIN, 0};
    char byte = 0;
    if (own) {
      ASSERT_EQ(::poll(&readable, 1, 5000), 1);
      EXPECT_EQ(::read(accepted, &byte, 1), 0);
    } else {
      EXPECT_EQ(::poll(&readable, 1, 50), 0);
    }
    ::close(accepted);
    ::close(listener);
    pool->reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
}

}  // namespace
}  // namespace ringleader::proxy
