// FairQueue micro-benchmarks: what a request that waits for its turn on a backend connection
// costs (one push and one pop), with few and many clients waiting.
// Run: build/bench/fair_queue_bench
#include <benchmark/benchmark.h>

#include <cstdint>

#include "core/fair_queue.h"

namespace ringleader::proxy {
namespace {

struct Item {  // the size of a waiting fragment (BackendConnection::Held)
  void* req = nullptr;
  uint32_t fragment = 0;
  uint64_t deadline_ns = 0;
  uint64_t sent_ns = 0;
};

// A flood of `lanes` clients: the queue holds 64 values per lane; each iteration pushes one
// value for the next lane and pops one.
void BM_FairQueuePushPop(benchmark::State& state) {
  const auto lanes = static_cast<uint32_t>(state.range(0));
  FairQueue<Item> q(64);
  for (uint32_t lane = 0; lane < lanes; ++lane)
    for (int i = 0; i < 64; ++i)
      q.push(lane, Item{});
  uint32_t next = 0;
  for (auto _ : state) {
    q.push(next, Item{});
    next = next + 1 == lanes ? 0 : next + 1;
    benchmark::DoNotOptimize(q.pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FairQueuePushPop)->Arg(1)->Arg(50)->Arg(1000);

}  // namespace
}  // namespace ringleader::proxy

BENCHMARK_MAIN();
