// A libuv loop running on its own thread, for tests that talk to a server over real sockets.
// run() executes a function on the loop thread and waits for it; the loop stops when the
// harness is destroyed, after `on_stop` (run on the loop thread) has closed the test's handles.
#pragma once

#include <uv.h>

#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace ringleader::proxy::admin::testing {

class LoopThread {
 public:
  LoopThread() {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &wake_,
                  [](uv_async_t* a) { static_cast<LoopThread*>(a->data)->drain(); });
    wake_.data = this;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  // Stops the loop: runs `stop` (which must close what the test opened), closes the wakeup
  // handle and joins. The loop must then be empty: uv_loop_close fails on leaked handles.
  void stop(std::function<void()> stop_fn) {
    if (stopped_) return;
    stopped_ = true;
    run([this, stop_fn = std::move(stop_fn)] {
      stop_fn();
      uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    });
    thread_.join();
    close_result_ = uv_loop_close(&loop_);
  }

  ~LoopThread() {
    stop([] {});
  }

  uv_loop_t* loop() { return &loop_; }
  int close_result() const { return close_result_; }

  // Runs `fn` on the loop thread and returns its result once it has run.
  template <typename F>
  auto run(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    std::future<R> done = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back([task] { (*task)(); });
    }
    uv_async_send(&wake_);
    return done.get();
  }

 private:
  void drain() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks.swap(queue_);
    }
    for (auto& t : tasks)
      t();
  }

  uv_loop_t loop_{};
  uv_async_t wake_{};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
  bool stopped_ = false;
  int close_result_ = -1;
};

}  // namespace ringleader::proxy::admin::testing
