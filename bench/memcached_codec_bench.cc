// memcached text-protocol micro-benchmarks: parsing a pipelined client stream, framing
// backend replies, and a session planning and merging a get split over three backends.
// Run: build/bench/memcached_codec_bench   (see README for recorded figures)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/counters.h"
#include "memcached/memcached_session.h"
#include "proxy/memcached/reply_scanner.h"
#include "proxy/memcached/request_parser.h"

namespace ringleader::proxy::memcached {
namespace {

// `count` pipelined requests, alternating "set key 0 0 32" and "get key".
std::string pipelined_get_set(int count) {
  std::string stream;
  const std::string value(32, 'v');
  char line[64];
  for (int i = 0; i < count; ++i) {
    if (i % 2 == 0) {
      std::snprintf(line, sizeof line, "set key:%08d 0 0 32\r\n", i);
      stream += line + value + "\r\n";
    } else {
      std::snprintf(line, sizeof line, "get key:%08d\r\n", i);
      stream += line;
    }
  }
  return stream;
}

void BM_ParsePipelinedGetSet(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::string stream = pipelined_get_set(count);
  RequestParser parser;
  for (auto _ : state) {
    std::string_view rest = stream;
    size_t tokens = 0;
    while (parser.parse(rest) == ParseStatus::kComplete) {
      tokens += parser.tokens().size();
      rest.remove_prefix(parser.consumed());
      parser.reset();
    }
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
}
BENCHMARK(BM_ParsePipelinedGetSet)->Arg(16)->Arg(1024);

// Replies as a backend sends them to -P 16 get/set traffic: hits of 32 bytes and STORED.
void BM_ScanReplies(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1024; ++i) {
    stream += i % 2 == 0 ? "STORED\r\n"
                         : "VALUE key:00000001 0 32\r\n" + std::string(32, 'v') + "\r\nEND\r\n";
  }
  ReplyScanner scanner;
  for (auto _ : state) {
    std::string_view rest = stream;
    while (scanner.scan(rest) == ParseStatus::kComplete) {
      rest.remove_prefix(scanner.length());
      scanner.reset();
    }
    benchmark::DoNotOptimize(rest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_ScanReplies);

// A get of `keys` keys over a ring of three backends: parse, split, merge of all hits.
void BM_SplitGetPlanAndMerge(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  config::Config config;
  for (int i = 0; i < 3; ++i) {
    config.backends.push_back({"mc" + std::to_string(i), "127.0.0.1:" + std::to_string(11211 + i),
                               1, "", ring::BackendState::kActive});
  }
  ring::RingSnapshot ring = ring::Ring::build(config.backends, config.ring, 1).value();
  ProxyCounters counters;
  SessionEnv env;
  env.config = &config;
  env.counters = &counters;
  MemcachedSession session(env);
  std::string request = "get";
  for (int k = 0; k < keys; ++k)
    request += " key:" + std::to_string(k);
  request += "\r\n";
  for (auto _ : state) {
    auto* req = new PendingRequest(nullptr);
    size_t consumed = 0;
    session.next(request, ring, *req, &consumed);
    for (Fragment& f : req->fragments) {
      // Each backend answers every key it was asked for, 32-byte values.
      std::string_view payload = f.payload;
      payload.remove_prefix(4);
      payload.remove_suffix(2);
      while (!payload.empty()) {
        size_t end = payload.find(' ');
        std::string_view key = payload.substr(0, end);
        f.reply += "VALUE ";
        f.reply += key;
        f.reply += " 0 32\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n";
        payload.remove_prefix(end == std::string_view::npos ? payload.size() : end + 1);
      }
      f.reply += "END\r\n";
      f.state = FragmentState::kDone;
    }
    session.complete(*req);
    benchmark::DoNotOptimize(req->reply.data());
    req->release();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * keys);
}
BENCHMARK(BM_SplitGetPlanAndMerge)->Arg(1)->Arg(10)->Arg(100);

}  // namespace
}  // namespace ringleader::proxy::memcached

BENCHMARK_MAIN();
