// Ring micro-benchmarks: key hash + lookup, replica walk, ring and Maglev builds.
// Run: build/bench/ring_bench   (see README for recorded figures)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/malloc_policy.h"
#include "ring/ring.h"

namespace ringleader::ring {
namespace {

std::vector<Backend> backends(int n) {
  std::vector<Backend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({"backend-" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i), 1,
                   "zone-" + std::to_string(i % 3), BackendState::kActive});
  }
  return out;
}

// 4096 distinct 16-byte keys, "user:%011d".
const std::vector<std::string>& keys16() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    char buf[32];
    for (int i = 0; i < 4096; ++i) {
      std::snprintf(buf, sizeof buf, "user:%011d", i * 7919);
      k.emplace_back(buf);
    }
    return k;
  }();
  return keys;
}

RingSnapshot build(int n, Algorithm algorithm, uint32_t replicas = 1, uint32_t vnodes = 160) {
  RingParams p;
  p.algorithm = algorithm;
  p.vnodes = vnodes;
  p.replicas = replicas;
  return Ring::build(backends(n), p, 1).value();
}

void BM_HashOnly(benchmark::State& state) {
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hash_xxh3(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_HashOnly);

void BM_HashAndLookup(benchmark::State& state) {
  auto ring = build(static_cast<int>(state.range(0)), Algorithm::kVnode);
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->primary_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_HashAndLookup)->Arg(10)->Arg(100)->Arg(1000);

void BM_HashAndLookupBoundedLoad(benchmark::State& state) {
  RingParams p;
  p.balance_factor = 1.25;
  auto ring = Ring::build(backends(static_cast<int>(state.range(0))), p, 1).value();
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->primary_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_HashAndLookupBoundedLoad)->Arg(100);

void BM_ReplicaWalkR3(benchmark::State& state) {
  auto ring = build(static_cast<int>(state.range(0)), Algorithm::kVnode, 3);
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->replicas_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_ReplicaWalkR3)->Arg(10)->Arg(100)->Arg(1000);

// What the data path asks for every key: its replica set, here of one backend (R = 1), to
// compare with BM_HashAndLookup (the primary alone).
void BM_ReplicaSetR1(benchmark::State& state) {
  auto ring = build(static_cast<int>(state.range(0)), Algorithm::kVnode, 1);
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->replicas_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_ReplicaSetR1)->Arg(100);

void BM_KetamaLookup(benchmark::State& state) {
  RingParams p;
  p.algorithm = Algorithm::kKetama;
  p.hash = HashKind::kFnv1a64;
  auto ring = Ring::build(backends(static_cast<int>(state.range(0))), p, 1).value();
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->primary_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_KetamaLookup)->Arg(100);

void BM_MaglevLookup(benchmark::State& state) {
  auto ring = build(static_cast<int>(state.range(0)), Algorithm::kMaglev);
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->primary_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_MaglevLookup)->Arg(10)->Arg(100)->Arg(1000);

void BM_MaglevReplicaWalkR3(benchmark::State& state) {
  auto ring = build(static_cast<int>(state.range(0)), Algorithm::kMaglev, 3);
  const auto& keys = keys16();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->replicas_for_key(keys[i++ & 4095]));
  }
}
BENCHMARK(BM_MaglevReplicaWalkR3)->Arg(100);

void BM_RingBuild(benchmark::State& state) {
  auto list = backends(static_cast<int>(state.range(0)));
  RingParams p;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Ring::build(list, p, 1));
  }
}
BENCHMARK(BM_RingBuild)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_RingBuildBoundedLoad(benchmark::State& state) {
  auto list = backends(static_cast<int>(state.range(0)));
  RingParams p;
  p.balance_factor = 1.25;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Ring::build(list, p, 1));
  }
}
BENCHMARK(BM_RingBuildBoundedLoad)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_MaglevBuild(benchmark::State& state) {
  auto list = backends(static_cast<int>(state.range(0)));
  RingParams p;
  p.algorithm = Algorithm::kMaglev;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Ring::build(list, p, 1));
  }
}
BENCHMARK(BM_MaglevBuild)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringleader::ring

// Same allocator policy as the ringleader binary (see common/malloc_policy.h). Pass
// --cold-pages to measure builds that fault in fresh pages instead.
int main(int argc, char** argv) {
  bool cold = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--cold-pages") {
      cold = true;
      for (int j = i; j + 1 < argc; ++j)
        argv[j] = argv[j + 1];
      --argc;
      break;
    }
  }
  if (!cold) ringleader::keep_large_allocations_in_heap();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
