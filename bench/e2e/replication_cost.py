#!/usr/bin/python3
"""End-to-end: what replication costs ringleader on the same machine and backends.

Starts 4 redis-servers and one ringleader per setting over them (ring.replicas 1; 2 with
write = one and all; 3 with write = quorum), then runs redis-benchmark SET and GET with 50
clients at -P 16 against each in alternation (in a new random order every round), and prints requests/s, p99 and ringleader's CPU
seconds per 100k client requests (utime + stime from /proc), with ratios to replicas = 1.
A replicated write is R backend requests; a read stays one. Medians over --rounds rounds.

    bench/e2e/replication_cost.py --ringleader build/app/ringleader [--requests 1000000]
        [--rounds 3] [--pipeline 16]
"""
import argparse
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import RedisServer, Ringleader, TempDir  # noqa: E402
from vs_twemproxy import cpu_seconds, redis_benchmark  # noqa: E402

SETTINGS = [("R=1", 1, "one"), ("R=2 one", 2, "one"), ("R=2 all", 2, "all"),
            ("R=3 quorum", 3, "quorum")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ringleader", required=True)
    parser.add_argument("--requests", type=int, default=1000000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipeline", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    results = {(name, test): [] for name, _, _ in SETTINGS for test in ("set", "get")}
    with TempDir() as tmp:
        redises = [RedisServer(tmp).__enter__() for _ in range(4)]
        proxies = {}
        try:
            for i, (name, replicas, write) in enumerate(SETTINGS):
                proxies[name] = Ringleader(
                    args.ringleader, tmp, [r.port for r in redises],
                    proxy=f"workers = {args.workers}", ring=f"replicas = {replicas}",
                    extra=f'[replication]\nwrite = "{write}"\n[log]\nlevel = "warn"',
                    name=f"rl{i}").__enter__()
            for rnd in range(args.rounds):
                for test in ("set", "get"):
                    order = [name for name, _, _ in SETTINGS]
                    random.shuffle(order)
                    for name in order:
                        rl = proxies[name]
                        before = cpu_seconds(rl.proc.pid)
                        rps, _, p99 = redis_benchmark(rl.port, test, args.pipeline,
                                                      args.requests, args.clients)
                        cpu = (cpu_seconds(rl.proc.pid) - before) / args.requests * 1e5
                        results[(name, test)].append((rps, p99, cpu))
                        print(f"round {rnd + 1} {name:10s} {test.upper()} -P {args.pipeline}: "
                              f"{rps:10.0f} req/s p99 {p99:.3f} ms cpu {cpu:.3f} s/100k",
                              file=sys.stderr, flush=True)
        finally:
            for rl in proxies.values():
                rl.__exit__(None, None, None)
            for r in redises:
                r.__exit__(None, None, None)

    print(f"redis-benchmark, {args.clients} clients, {args.requests} requests at -P "
          f"{args.pipeline}, 4 redis-servers, ringleader workers={args.workers}, "
          f"median of {args.rounds} rounds")
    print(f"{'test':6s} {'setting':12s} {'req/s':>10s} {'p99 ms':>8s} {'cpu s/100k':>11s} "
          f"{'req/s vs R=1':>13s} {'cpu vs R=1':>11s}")
    for test in ("set", "get"):
        base = [statistics.median(x[i] for x in results[("R=1", test)]) for i in range(3)]
        for name, _, _ in SETTINGS:
            m = [statistics.median(x[i] for x in results[(name, test)]) for i in range(3)]
            # CPU is counted in clock ticks (10 ms): a short run of R=1 may show none at all.
            cpu_ratio = f"{m[2] / base[2]:10.2f}x" if base[2] > 0 else f"{'n/a':>11s}"
            print(f"{test.upper():6s} {name:12s} {m[0]:10.0f} {m[1]:8.3f} {m[2]:11.3f} "
                  f"{m[0] / base[0]:12.2f}x {cpu_ratio}")


if __name__ == "__main__":
    main()
