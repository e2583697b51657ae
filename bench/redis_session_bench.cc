// RedisSession micro-benchmarks: planning a request into backend fragments and merging the
// replies, with one copy of each key and with two (replica sets).
// Run: build/bench/redis_session_bench   (see README for recorded figures)
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/counters.h"
#include "proxy/redis/encoder.h"
#include "redis/redis_session.h"

namespace ringleader::proxy::redis {
namespace {

// A session over three backends whose ring keeps `replicas` copies of each key.
struct Fixture {
  explicit Fixture(uint32_t replicas) {
    for (int i = 0; i < 3; ++i) {
      config.backends.push_back({"r" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i),
                                 1, "", ring::BackendState::kActive});
    }
    config.ring.replicas = replicas;
    ring = ring::Ring::build(config.backends, config.ring, 1).value();
    env.config = &config;
    env.counters = &counters;
    session = std::make_unique<RedisSession>(env);
  }
  config::Config config;
  ring::RingSnapshot ring;
  ProxyCounters counters;
  SessionEnv env;
  std::unique_ptr<RedisSession> session;
};

// GET of one key: plan (one fragment), a bulk reply, merge. Args: replicas.
void BM_GetPlanAndMerge(benchmark::State& state) {
  Fixture fx(static_cast<uint32_t>(state.range(0)));
  std::string request;
  const std::string_view args[] = {"GET", "key:00001234"};
  append_command(request, args);
  const std::string reply = "$32\r\n" + std::string(32, 'v') + "\r\n";
  for (auto _ : state) {
    PendingRequest* req = PendingRequest::create(nullptr);
    size_t consumed = 0;
    fx.session->next(request, fx.ring, *req, &consumed);
    req->fragments[0].reply = reply;
    req->fragments[0].state = FragmentState::kDone;
    fx.session->complete(*req);
    benchmark::DoNotOptimize(req->reply.data());
    req->release();
  }
}
BENCHMARK(BM_GetPlanAndMerge)->Arg(1)->Arg(2);

// MGET of N keys split over the backends (or replica sets), each part answered with 32-byte
// values, merged in key order. Args: keys, replicas.
void BM_MgetPlanAndMerge(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  Fixture fx(static_cast<uint32_t>(state.range(1)));
  std::vector<std::string> names;
  for (int k = 0; k < keys; ++k)
    names.push_back("key:" + std::to_string(k));
  std::vector<std::string_view> args = {"MGET"};
  for (const std::string& n : names)
    args.push_back(n);
  std::string request;
  append_command(request, args);
  const std::string value = "$32\r\n" + std::string(32, 'v') + "\r\n";
  for (auto _ : state) {
    PendingRequest* req = PendingRequest::create(nullptr);
    size_t consumed = 0;
    fx.session->next(request, fx.ring, *req, &consumed);
    // Each part answers as many values as it asked keys ("*N\r\n" + the command + N keys).
    std::vector<int> asked(req->fragments.size(), 0);
    for (const auto& slot : req->merge.slots)
      ++asked[slot.first];
    for (size_t i = 0; i < req->fragments.size(); ++i) {
      Fragment& f = req->fragments[i];
      const int n = req->fragments.size() == 1 ? keys : asked[i];
      f.reply = "*" + std::to_string(n) + "\r\n";
      for (int v = 0; v < n; ++v)
        f.reply += value;
      f.state = FragmentState::kDone;
    }
    fx.session->complete(*req);
    benchmark::DoNotOptimize(req->reply.data());
    req->release();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * keys);
}
BENCHMARK(BM_MgetPlanAndMerge)->Args({10, 1})->Args({10, 2})->Args({100, 1})->Args({100, 2});

}  // namespace
}  // namespace ringleader::proxy::redis

BENCHMARK_MAIN();
