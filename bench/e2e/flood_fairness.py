#!/usr/bin/python3
"""End-to-end: what a flood of pipelined requests from many clients costs another client.

Starts one redis-server, one nutcracker and one ringleader (one worker) over it. Against each
proxy in turn, redis-benchmark floods it with GETs of one key (--clients connections, each
keeping --pipeline GETs outstanding, --requests in all) while a probe client (its own process) sends one GET every
5 ms and times its reply. Prints the probe's latency (p50, p99, max) during the flood, the
flood's requests/s, and the proxy's peak resident memory so far (VmHWM), as medians over
--rounds rounds. A proxy that writes requests to a
backend connection in arrival order puts each probe behind everything the flood has
outstanding; ringleader keeps at most 1,024 requests outstanding per backend connection and
takes the rest 16 per client in turn.

    bench/e2e/flood_fairness.py --ringleader build/app/ringleader [--rounds 3]
"""
import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import RedisServer, TempDir, raise_open_file_limit, status_bytes  # noqa: E402
from vs_twemproxy import both_proxies, redis_benchmark  # noqa: E402

KEY = b"flood-fairness-probe"
GET = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(KEY), KEY)
VALUE = b"v" * 16
REPLY = b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)


def probe(port, stop, out):
    """One GET every 5 ms until `stop` is set; appends each wait in seconds to `out`."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while not stop.is_set():
            t = time.perf_counter()
            s.sendall(GET)
            got = b""
            while len(got) < len(REPLY):
                chunk = s.recv(100)
                if not chunk:
                    raise RuntimeError("the proxy closed the probe's connection")
                got += chunk
            out.append(time.perf_counter() - t)
            time.sleep(0.005)


def measure(port, args):
    """(flood requests/s, probe p50 ms, p99 ms, max ms, probes)."""
    with multiprocessing.Manager() as manager:
        stop, lat = manager.Event(), manager.list()
        p = multiprocessing.Process(target=probe, args=(port, stop, lat))
        p.start()
        time.sleep(0.2)
        # Every request a GET of the one key "key:__rand_int__".
        rps = redis_benchmark(port, "get", args.pipeline, args.requests, args.clients,
                              random_keys=False)[0]
        stop.set()
        p.join(timeout=150)
        lat = sorted(lat)
    return (rps, lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3, lat[-1] * 1e3,
            len(lat))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--pipeline", type=int, default=500)
    ap.add_argument("--requests", type=int, default=3000000)
    ap.add_argument("--proxies", default="twemproxy,ringleader",
                    help="comma-separated: which proxies to measure, in this order")
    args = ap.parse_args()
    # Ours, redis-benchmark's and the proxies' (they inherit the limit).
    if not raise_open_file_limit(2 * args.clients + 200):
        ap.error(f"the open-file limit is too low for {args.clients} clients")

    with TempDir() as tmp:
        server = RedisServer(tmp).__enter__()
        try:
            with both_proxies(tmp, args.ringleader, [server],
                              proxy=f"workers = 1\nmax_clients = {args.clients + 100}") as proxies:
                redis.Redis(port=server.port).set(KEY, VALUE)
                results = {}
                for rnd in range(args.rounds):
                    for name in args.proxies.split(","):
                        port, pid = proxies[name]
                        r = measure(port, args) + (status_bytes(pid, "VmHWM") / 2**20,)
                        results.setdefault(name, []).append(r)
                        print(f"round {rnd + 1} {name:10s}: flood {r[0]:8.0f} req/s, probe p50 "
                              f"{r[1]:.1f} ms p99 {r[2]:.1f} ms max {r[3]:.1f} ms ({r[4]} GETs), "
                              f"peak RSS {r[5]:.0f} MB", flush=True)
                print(f"\nmedians over {args.rounds} rounds (redis-benchmark GET, {args.clients} "
                      f"clients at -P {args.pipeline}, {args.requests} requests):")
                print("| proxy | flood req/s | probe p50 ms | probe p99 ms | probe max ms | "
                      "peak RSS MB |")
                print("| --- | --- | --- | --- | --- | --- |")
                for name, rows in results.items():
                    med = [statistics.median(col) for col in zip(*rows)]
                    print(f"| {name} | {med[0]:.0f} | {med[1]:.1f} | {med[2]:.1f} | "
                          f"{med[3]:.1f} | {max(r[5] for r in rows):.0f} |")
        finally:
            server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
