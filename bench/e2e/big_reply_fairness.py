#!/usr/bin/python3
"""End-to-end: what a client streaming big replies costs the other clients of the proxy.

Starts 2 redis-servers, one nutcracker (ketama) and one ringleader (one worker) over them.
Against each proxy in turn, a bulk client pipelines --pipeline GETs of one --value-bytes
value and reads the replies as fast as it can, --transfers times, while a probe client (its
own process) sends one GET of a small key on another backend every 2 ms. Prints the probe's
latency (p50, p99, max) during the transfers and the bulk client's MB/s, as medians over
--rounds rounds. A proxy that reads one connection until its socket is drained makes the
probe wait for megabytes of copying; ringleader reads at most 256 KiB per connection and
loop iteration.

    bench/e2e/big_reply_fairness.py --ringleader build/app/ringleader [--rounds 3]
"""
import argparse
import hashlib
import multiprocessing
import os
import socket
import statistics
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import RedisServer, TempDir  # noqa: E402
from vs_twemproxy import both_proxies  # noqa: E402


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply_line(sock, buf):
    """Reads one bulk reply ($n\\r\\n...\\r\\n) of a small value; returns leftover bytes."""
    while True:
        head, sep, rest = buf.partition(b"\r\n")
        if sep:
            size = int(head[1:])
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            return rest[size + 2:]
        buf += sock.recv(65536)


def probe(port, key, stop, out):
    """Latency of one GET every 2 ms until `stop` is set; appends seconds to `out`."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = command(b"GET", key)
        leftover = b""
        while not stop.is_set():
            t = time.perf_counter()
            s.sendall(req)
            leftover = read_reply_line(s, leftover)
            out.append(time.perf_counter() - t)
            time.sleep(0.002)


def bulk(port, key, value_bytes, pipeline):
    """Pipelines `pipeline` GETs of `key` and reads every reply; returns MB/s."""
    want = pipeline * (value_bytes + len(str(value_bytes)) + 5)
    buf = bytearray(1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as s:
        t = time.perf_counter()
        s.sendall(command(b"GET", key) * pipeline)
        got = 0
        while got < want:
            n = s.recv_into(buf)
            if n == 0:
                raise RuntimeError("the proxy closed the bulk connection")
            got += n
        return want / (time.perf_counter() - t) / 1e6


def measure(port, args, big_key, small_key):
    with multiprocessing.Manager() as manager:
        stop = manager.Event()
        lat = manager.list()
        p = multiprocessing.Process(target=probe, args=(port, small_key, stop, lat))
        p.start()
        time.sleep(0.2)
        rates = [bulk(port, big_key, args.value_bytes, args.pipeline)
                 for _ in range(args.transfers)]
        stop.set()
        p.join(timeout=30)
        lat = sorted(lat)
    return (statistics.median(rates), lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3,
            lat[-1] * 1e3, len(lat))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--value-bytes", type=int, default=1 << 20)
    ap.add_argument("--pipeline", type=int, default=200)
    ap.add_argument("--transfers", type=int, default=3, help="bulk transfers per measurement")
    args = ap.parse_args()

    with TempDir() as tmp:
        redises = [RedisServer(tmp).__enter__() for _ in range(2)]
        try:
            with both_proxies(tmp, args.ringleader, redises) as proxies:
                nc_port, rl_port = proxies["twemproxy"][0], proxies["ringleader"][0]
                # A big key and a small key on different backends (both proxies place alike:
                # ketama over the same names and weights). fnv1a_64 keeps 32 bits of its hash,
                # and for short keys that differ in their last bytes those bits differ little:
                # "k0" to "k99" can all fall on one backend, so the keys differ everywhere.
                c = redis.Redis(port=rl_port)
                owners = {}
                for i in range(1000):
                    key = "fairness-" + hashlib.sha1(str(i).encode()).hexdigest()[:16]
                    c.set(key, "s")
                    owner = next(r for r in redises
                                 if redis.Redis(port=r.port).exists(key))
                    owners.setdefault(owner.port, key)
                    if len(owners) == 2:
                        break
                if len(owners) < 2:
                    sys.exit("no two keys on different backends among 1000: is one down?")
                big_key, small_key = (k.encode() for k in owners.values())
                c.set(big_key, b"x" * args.value_bytes)
                results = {}
                for rnd in range(args.rounds):
                    for name, port in (("twemproxy", nc_port), ("ringleader", rl_port)):
                        r = measure(port, args, big_key, small_key)
                        results.setdefault(name, []).append(r)
                        print(f"round {rnd + 1} {name:10s}: bulk {r[0]:6.0f} MB/s, probe p50 "
                              f"{r[1]:.2f} ms p99 {r[2]:.2f} ms max {r[3]:.1f} ms ({r[4]} GETs)",
                              flush=True)
                print(f"\nmedians over {args.rounds} rounds ({args.pipeline} pipelined GETs of "
                      f"{args.value_bytes} bytes, {args.transfers} transfers per round):")
                print("| proxy | bulk MB/s | probe p50 ms | probe p99 ms | probe max ms |")
                print("| --- | --- | --- | --- | --- |")
                for name, rows in results.items():
                    med = [statistics.median(col) for col in zip(*rows)]
                    print(f"| {name} | {med[0]:.0f} | {med[1]:.2f} | {med[2]:.2f} | "
                          f"{med[3]:.1f} |")
        finally:
            for r in redises:
                r.__exit__(None, None, None)


if __name__ == "__main__":
    main()
