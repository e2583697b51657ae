// backend.failure_limit over an instance's workers: each worker has its own pool of a backend,
// and all of them count its failures in the one BackendStats they share. A timeout counts
// once per backend.timeout_ms however many workers' connections one stall timed out.
#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "core/backend_pool.h"
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
  void send_part(PendingRequest*, uint32_t, ring::BackendIndex) override {}

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

}  // namespace
}  // namespace ringleader::proxy
