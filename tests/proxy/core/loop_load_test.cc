// LoopLoad: judged over whole windows from a loop's idle time; then on real libuv loops, one
// that mostly waits for a timer and one kept busy, sampled once per iteration as the worker
// samples it.
#include "core/loop_load.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <cstdint>

namespace ringleader::proxy {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(LoopLoadTest, NotBusyBeforeAWholeWindow) {
  LoopLoad load;
  EXPECT_FALSE(load.busy());
  load.sample(100 * kMs, 0);
  load.sample(100 * kMs + LoopLoad::kWindowNs / 2, 0);  // half a window, never idle
  EXPECT_FALSE(load.busy());
  load.sample(100 * kMs + LoopLoad::kWindowNs, 0);
  EXPECT_TRUE(load.busy());
}

TEST(LoopLoadTest, BusyBelowTheIdleShareOfAWindow) {
  const auto window = static_cast<double>(LoopLoad::kWindowNs);
  const auto below = static_cast<uint64_t>(window * LoopLoad::kBusyIdleShare) - 1000;
  const auto above = static_cast<uint64_t>(window * LoopLoad::kBusyIdleShare) + 1000;
  LoopLoad load;
  uint64_t now = 7 * kMs;
  uint64_t idle = 5 * kMs;  // idle time from before the first sample does not count
  load.sample(now, idle);
  now += LoopLoad::kWindowNs;
  idle += below;
  load.sample(now, idle);
  EXPECT_TRUE(load.busy());
  now += LoopLoad::kWindowNs;
  idle += above;
  load.sample(now, idle);
  EXPECT_FALSE(load.busy());
}

TEST(LoopLoadTest, AVerdictHoldsUntilTheNextWindowEnds) {
  LoopLoad load;
  load.sample(0, 0);
  load.sample(LoopLoad::kWindowNs, 0);
  ASSERT_TRUE(load.busy());
  // The next window waits all along, but it is judged only once it is whole.
  load.sample(LoopLoad::kWindowNs + LoopLoad::kWindowNs / 2, LoopLoad::kWindowNs / 2);
  EXPECT_TRUE(load.busy());
  load.sample(3 * LoopLoad::kWindowNs, 2 * LoopLoad::kWindowNs);
  EXPECT_FALSE(load.busy());
}

TEST(LoopLoadTest, LoadedFromABusyWindowUntilOneWaitsMoreThanTheLoadedShare) {
  const auto window = static_cast<double>(LoopLoad::kWindowNs);
  const auto between =  // not busy, yet not waiting past the loaded share either
      static_cast<uint64_t>(window * (LoopLoad::kBusyIdleShare + LoopLoad::kLoadedIdleShare) / 2);
  const auto above = static_cast<uint64_t>(window * LoopLoad::kLoadedIdleShare) + 1000;
  LoopLoad load;
  uint64_t now = 0, idle = 0;
  load.sample(now, idle);
  auto window_waiting = [&](uint64_t waited) {
    now += LoopLoad::kWindowNs;
    idle += waited;
    load.sample(now, idle);
  };
  window_waiting(between);
  EXPECT_FALSE(load.loaded()) << "never busy yet";
  window_waiting(0);
  EXPECT_TRUE(load.busy());
  EXPECT_TRUE(load.loaded());
  window_waiting(between);
  EXPECT_FALSE(load.busy());
  EXPECT_TRUE(load.loaded()) << "waiting more, but not past the loaded share";
  window_waiting(between);
  EXPECT_TRUE(load.loaded());
  window_waiting(above);
  EXPECT_FALSE(load.loaded());
  window_waiting(between);
  EXPECT_FALSE(load.loaded()) << "loaded again only from a busy window";
}

TEST(LoopLoadTest, ASampleIsDueFirstAndThenOnceAWindow) {
  LoopLoad load;
  EXPECT_TRUE(load.due(5 * kMs));
  load.sample(5 * kMs, 0);
  EXPECT_FALSE(load.due(5 * kMs + LoopLoad::kWindowNs - 1));
  EXPECT_TRUE(load.due(5 * kMs + LoopLoad::kWindowNs));
}

TEST(LoopLoadTest, AWindowLongerThanOneIsJudgedWhole) {
  // An iteration that took several windows (a long callback, a long wait) is one window.
  LoopLoad load;
  load.sample(0, 0);
  load.sample(10 * LoopLoad::kWindowNs, 4 * LoopLoad::kWindowNs);  // waited 40%
  EXPECT_FALSE(load.busy());
  load.sample(20 * LoopLoad::kWindowNs, 5 * LoopLoad::kWindowNs);  // waited 10%
  EXPECT_TRUE(load.busy());
}

// A libuv loop with idle-time metrics, sampled in its check phase (after each poll) the way
// a worker samples its LoopLoad, for `iterations` iterations.
struct SampledLoop {
  uv_loop_t loop;
  uv_check_t check;
  LoopLoad load;
  int iterations = 0;
  int busy_iterations = 0;
  int limit;

  explicit SampledLoop(int iteration_limit) : limit(iteration_limit) {
    EXPECT_EQ(uv_loop_init(&loop), 0);
    EXPECT_EQ(uv_loop_configure(&loop, UV_METRICS_IDLE_TIME), 0);
    uv_check_init(&loop, &check);
    check.data = this;
    uv_check_start(&check, [](uv_check_t* c) {
      auto* s = static_cast<SampledLoop*>(c->data);
      const uint64_t now = uv_hrtime();
      if (s->load.due(now)) s->load.sample(now, uv_metrics_idle_time(&s->loop));
      s->busy_iterations += s->load.busy() ? 1 : 0;
      if (++s->iterations == s->limit) uv_stop(&s->loop);
    });
  }
  ~SampledLoop() {
    uv_close(reinterpret_cast<uv_handle_t*>(&check), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
  }
};

TEST(LoopLoadTest, ALoopWaitingForATimerIsNotBusy) {
  SampledLoop s(40);
  uv_timer_t timer;
  uv_timer_init(&s.loop, &timer);
  uv_timer_start(
      &timer, [](uv_timer_t*) {}, 2, 2);  // the loop sleeps ~2 ms per iteration
  uv_run(&s.loop, UV_RUN_DEFAULT);
  EXPECT_EQ(s.iterations, 40);
  EXPECT_EQ(s.busy_iterations, 0);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
}

TEST(LoopLoadTest, ALoopThatNeverWaitsIsBusy) {
  SampledLoop s(1'000'000);
  uv_idle_t spin;  // an active idle handle: the poll only looks, never waits
  uv_idle_init(&s.loop, &spin);
  uv_idle_start(&spin, [](uv_idle_t*) {});
  uv_timer_t stop;  // ends the run after 20 ms (many windows)
  uv_update_time(&s.loop);
  uv_timer_init(&s.loop, &stop);
  stop.data = &s;
  uv_timer_start(
      &stop, [](uv_timer_t* t) { uv_stop(&static_cast<SampledLoop*>(t->data)->loop); }, 20, 0);
  uv_run(&s.loop, UV_RUN_DEFAULT);
  EXPECT_GT(s.iterations, 10);
  EXPECT_TRUE(s.load.busy());
  EXPECT_GT(s.busy_iterations, s.iterations / 2);
  uv_close(reinterpret_cast<uv_handle_t*>(&spin), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop), nullptr);
}

}  // namespace
}  // namespace ringleader::proxy
