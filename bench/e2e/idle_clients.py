#!/usr/bin/python3
"""End-to-end: what idle client connections cost each proxy in memory.

Starts 2 redis-servers, nutcracker and ringleader over them (1 worker), then for each proxy
opens --clients connections from this process and measures the proxy's resident memory
(VmRSS from /proc) at three points:

  connected   every connection accepted, nothing sent yet;
  after PING  every connection sent one PING and read the PONG, then went quiet;
  after 64K   every connection sent a SET of a --value-bytes value and a GET of it, then went
              quiet for --settle seconds: what a burst leaves behind.

and prints KiB per connection over the RSS before the connections opened. Loopback only; the
connection count is bounded (the open-file limit is raised to what it needs).

    bench/e2e/idle_clients.py --ringleader build/app/ringleader [--clients 2000]
        [--value-bytes 65536] [--settle 8]
"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import RedisServer, TempDir, raise_open_file_limit, status_bytes  # noqa: E402
from vs_twemproxy import both_proxies  # noqa: E402


def rss_kib(pid):
    return status_bytes(pid, "VmRSS") / 1024


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(sock, expect_len):
    """Reads exactly expect_len bytes (the replies here have known sizes)."""
    data = b""
    while len(data) < expect_len:
        chunk = sock.recv(expect_len - len(data))
        if not chunk:
            raise RuntimeError("connection closed by the proxy")
        data += chunk
    return data


def measure(name, port, pid, clients, value_bytes, settle):
    base = rss_kib(pid)
    socks = []
    try:
        for _ in range(clients):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(s)
        time.sleep(settle)
        connected = rss_kib(pid)
        for s in socks:
            s.sendall(command("PING"))
        for s in socks:
            if read_reply(s, 7) != b"+PONG\r\n":
                raise RuntimeError(f"{name}: unexpected PING reply")
        time.sleep(settle)
        after_ping = rss_kib(pid)
        value = b"v" * value_bytes
        header = b"$%d\r\n" % value_bytes
        for i, s in enumerate(socks):
            key = f"idle:{i}"
            s.sendall(command("SET", key, value) + command("GET", key))
            reply = read_reply(s, 5 + len(header) + value_bytes + 2)
            if reply[:5] != b"+OK\r\n" or reply[5:5 + len(header)] != header:
                raise RuntimeError(f"{name}: unexpected SET/GET reply {reply[:40]!r}")
        time.sleep(settle)
        after_burst = rss_kib(pid)
    finally:
        for s in socks:
            s.close()
    return base, connected, after_ping, after_burst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--value-bytes", type=int, default=65536)
    ap.add_argument("--settle", type=float, default=8.0,
                    help="seconds of quiet before each reading")
    args = ap.parse_args()
    if not 1 <= args.clients <= 20000:
        ap.error("--clients must be 1..20000")
    # Ours, and the proxy's (it inherits the limit).
    if not raise_open_file_limit(args.clients * 2 + 256):
        ap.error(f"the open-file limit is too low for {args.clients} clients")
    with TempDir() as tmp:
        redises = [RedisServer(tmp).__enter__() for _ in range(2)]
        try:
            with both_proxies(tmp, args.ringleader, redises,
                              proxy=f"workers = 1\nmax_clients = {args.clients + 100}") as proxies:
                rows = {name: measure(name, port, pid, args.clients, args.value_bytes,
                                      args.settle)
                        for name, (port, pid) in proxies.items()}
        finally:
            for r in redises:
                r.__exit__(None, None, None)
    print(f"{args.clients} idle clients, 1 proxy worker; resident memory (VmRSS) over the "
          f"proxy's before they connected, KiB per client")
    print(f"{'proxy':12s} {'base MiB':>9s} {'connected':>10s} {'after PING':>11s} "
          f"{'after ' + str(args.value_bytes // 1024) + 'K SET+GET':>18s}")
    for name, (base, connected, after_ping, after_burst) in rows.items():
        per = [(x - base) / args.clients for x in (connected, after_ping, after_burst)]
        print(f"{name:12s} {base / 1024:9.1f} {per[0]:10.1f} {per[1]:11.1f} {per[2]:18.1f}")


if __name__ == "__main__":
    main()
