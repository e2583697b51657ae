// Redis codec micro-benchmarks: parsing a pipelined client stream, framing backend replies,
// command lookup and key extraction.
// Run: build/bench/redis_codec_bench   (see README for recorded figures)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/redis/command_table.h"
#include "proxy/redis/encoder.h"
#include "proxy/redis/reply_scanner.h"
#include "proxy/redis/reply_value.h"
#include "proxy/redis/request_parser.h"

namespace ringleader::proxy::redis {
namespace {

// `count` pipelined requests, alternating SET key value(32 B) and GET key, as redis-benchmark
// sends them.
std::string pipelined_get_set(int count) {
  std::string stream;
  const std::string value(32, 'v');
  char key[32];
  for (int i = 0; i < count; ++i) {
    std::snprintf(key, sizeof key, "key:%08d", i);
    if (i % 2 == 0) {
      const std::string_view args[] = {"SET", key, value};
      append_command(stream, args);
    } else {
      const std::string_view args[] = {"GET", key};
      append_command(stream, args);
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
    size_t args = 0;
    while (parser.parse(rest) == ParseStatus::kComplete) {
      args += parser.args().size();
      rest.remove_prefix(parser.consumed());
      parser.reset();
    }
    parser.reset();
    benchmark::DoNotOptimize(args);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
}
BENCHMARK(BM_ParsePipelinedGetSet)->Arg(16)->Arg(1024);

// The same stream arriving in 16 KiB reads: each partial request is resumed, not restarted.
void BM_ParsePipelinedIn16KiBReads(benchmark::State& state) {
  const std::string stream = pipelined_get_set(4096);
  constexpr size_t kRead = 16 << 10;
  RequestParser parser;
  for (auto _ : state) {
    size_t start = 0;  // first unconsumed byte
    size_t end = 0;    // bytes received so far
    size_t requests = 0;
    while (start < stream.size()) {
      end = std::min(stream.size(), end + kRead);
      while (parser.parse(std::string_view(stream).substr(start, end - start)) ==
             ParseStatus::kComplete) {
        start += parser.consumed();
        parser.reset();
        ++requests;
      }
    }
    benchmark::DoNotOptimize(requests);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_ParsePipelinedIn16KiBReads);

void BM_ParseInline(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1024; ++i)
    stream += "GET key:" + std::to_string(i) + "\r\n";
  RequestParser parser;
  for (auto _ : state) {
    std::string_view rest = stream;
    while (parser.parse(rest) == ParseStatus::kComplete) {
      rest.remove_prefix(parser.consumed());
      parser.reset();
    }
    parser.reset();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_ParseInline);

// Backend replies to GET/SET: bulk values and +OK, pipelined.
void BM_ScanPipelinedReplies(benchmark::State& state) {
  std::string stream;
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  for (int i = 0; i < 1024; ++i) {
    if (i % 2 == 0) {
      append_simple(stream, "OK");
    } else {
      append_bulk(stream, value);
    }
  }
  ReplyScanner scanner;
  for (auto _ : state) {
    std::string_view rest = stream;
    while (scanner.scan(rest) == ParseStatus::kComplete) {
      rest.remove_prefix(scanner.length());
      scanner.reset();
    }
    scanner.reset();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_ScanPipelinedReplies)->Arg(32)->Arg(4096);

// An MGET reply of `range(0)` elements: framing it, and parsing it into values for merging.
std::string mget_reply(int count) {
  std::string reply;
  append_array_header(reply, static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (i % 10 == 9) {
      append_null_bulk(reply);
    } else {
      append_bulk(reply, "value-" + std::to_string(i));
    }
  }
  return reply;
}

void BM_ScanArrayReply(benchmark::State& state) {
  const std::string reply = mget_reply(static_cast<int>(state.range(0)));
  ReplyScanner scanner;
  for (auto _ : state) {
    benchmark::DoNotOptimize(scanner.scan(reply));
    scanner.reset();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(reply.size()));
}
BENCHMARK(BM_ScanArrayReply)->Arg(100)->Arg(10000);

void BM_ParseReplyValue(benchmark::State& state) {
  const std::string reply = mget_reply(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto value = parse_reply(reply);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(reply.size()));
}
BENCHMARK(BM_ParseReplyValue)->Arg(100)->Arg(10000);

void BM_FindCommand(benchmark::State& state) {
  const std::vector<std::string> names = {"GET",     "set",     "MGET",       "zrangebyscore",
                                          "Hgetall", "EVALSHA", "xreadgroup", "nosuchcommand"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(find_command(names[i++ % names.size()]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FindCommand);

void BM_KeyPositions(benchmark::State& state) {
  const std::vector<std::string_view> get = {"GET", "key:00000001"};
  const std::vector<std::string_view> zunion = {"ZUNIONSTORE", "d",       "3", "a", "b",
                                                "c",           "WEIGHTS", "1", "2", "3"};
  const CommandSpec& get_spec = *find_command("get");
  const CommandSpec& zunion_spec = *find_command("zunionstore");
  size_t i = 0;
  for (auto _ : state) {
    if (i++ % 2 == 0) {
      benchmark::DoNotOptimize(key_positions(get_spec, get));
    } else {
      benchmark::DoNotOptimize(key_positions(zunion_spec, zunion));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_KeyPositions);

}  // namespace
}  // namespace ringleader::proxy::redis

BENCHMARK_MAIN();
