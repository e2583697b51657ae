#!/usr/bin/python3
"""End-to-end: ringleader against twemproxy (nutcracker) on the same machine and backends.

Starts 4 redis-servers, one nutcracker (ketama, fnv1a_64) and one ringleader (ketama,
fnv1a_64: the same placement) over them, then runs redis-benchmark SET and GET with 50
clients at -P 1 and -P 16 against each proxy in alternation, and prints requests/s, p50,
p99 and the proxy's CPU seconds per 100k requests (utime + stime from /proc), with the
ringleader/twemproxy ratios. Medians over --rounds rounds. It also prints what the rest of
the machine spent per request: the four servers' CPU and wakeups, the load generator's CPU
(its rusage), and the total of the three CPU figures. When the load saturates the cores,
as -P 1 does on two, that total is what bounds the requests/s.

With --protocol memcached: 4 memcached servers, nutcracker with "redis: false", and
memaslap (libmemcached-tools) with 50 concurrent clients: its default mix (90% get, 10% set
of 32-byte values, one request in flight per client) and the same mix with gets of 10 keys
(-d 10), which both proxies split over the servers. memaslap reports latency only as a
power-of-two histogram, so p50 and p99 there are bucket upper bounds.

With --unix backends, both proxies reach the redis-servers over their Unix-domain sockets;
with --unix all, both also listen on one and redis-benchmark connects to it (-s).

While it runs, a watcher per CPU (host_pauses.py) notes the times the machine ran nothing for
10 ms or more (--pause-threshold-ms; 0 turns it off): on a virtual machine the host can stop
the guest, and every request in flight through either proxy then takes that long. Each run's
line names the pauses within it, and the summary counts them per proxy.

    bench/e2e/vs_twemproxy.py --ringleader build/app/ringleader [--requests 200000]
        [--pipelined-requests 1000000] [--rounds 3] [--protocol memcached]
        [--unix backends|all] [--pause-threshold-ms 10]
"""
import argparse
import contextlib
import csv
import io
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

from host_pauses import HostPauses, describe

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import (MemcachedServer, Process, RedisServer, Ringleader, TempDir,  # noqa: E402
                     free_port, port_open, unix_socket_open, wait_until)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def write_nutcracker_config(directory, listen_port, backend_ports, redis=True, listen=None,
                            servers=None):
    """A nutcracker pool placing keys as ringleader's ketama/fnv1a_64 ring does (weight 1 each,
    no ejection, one connection per backend); returns the file's path. listen: a Unix socket
    path instead of the port; servers: the backends as written (host:port or socket paths)
    instead of the loopback ports."""
    conf = os.path.join(directory, "nutcracker.yml")
    listen = f"{listen} 0600" if listen else f"127.0.0.1:{listen_port}"
    servers = servers or [f"127.0.0.1:{port}" for port in backend_ports]
    with open(conf, "w") as f:
        f.write(f"bench:\n  listen: {listen}\n  hash: fnv1a_64\n"
                f"  distribution: ketama\n  redis: {'true' if redis else 'false'}\n"
                "  auto_eject_hosts: false\n  server_connections: 1\n  servers:\n")
        for server in servers:
            f.write(f"   - {server}:1\n")
    return conf


@contextlib.contextmanager
def both_proxies(tmp, ringleader, redises, proxy="workers = 1"):
    """nutcracker and ringleader over the same redis-servers, placing keys alike (ketama,
    fnv1a_64, backends named by address); yields {"twemproxy": (port, pid), "ringleader":
    (port, pid)} once both accept, and stops both on leaving."""
    nutcracker = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
    nc_port = free_port()
    conf = write_nutcracker_config(tmp, nc_port, [r.port for r in redises])
    backends = [{"name": f"127.0.0.1:{r.port}", "address": f"127.0.0.1:{r.port}"}
                for r in redises]
    rl = Ringleader(ringleader, tmp, backends, proxy=proxy,
                    ring='algorithm = "ketama"\nhash = "fnv1a_64"\nhash_tag = ""',
                    extra="[log]\nlevel = \"warn\"")
    with Process([nutcracker, "-c", conf, "-s", str(free_port()), "-a", "127.0.0.1"],
                 os.path.join(tmp, "nc.log")) as nc, rl:
        wait_until(lambda: port_open(nc_port), what="nutcracker")
        yield {"twemproxy": (nc_port, nc.proc.pid), "ringleader": (rl.port, rl.proc.pid)}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def sleeps(pid):
    """Times the process's threads went to sleep waiting (voluntary context switches): for a
    server blocked in epoll_wait between requests, each one is a wakeup someone paid for.
    Summed over every thread (memcached serves from worker threads; /proc/PID/status counts
    the main thread's alone)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total


def backends_load(pids):
    """CPU seconds and sleeps of the backend servers together."""
    return sum(cpu_seconds(p) for p in pids), sum(sleeps(p) for p in pids)


def client_cpu_seconds():
    """CPU seconds of this script's finished children: a load generator's, once it has been
    waited for (the proxies and servers still run, so they are not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def redis_benchmark(port, test, pipeline, requests, clients, random_keys=True):
    """One redis-benchmark run against 127.0.0.1:port, or the Unix socket at `port` when it is
    a path; (requests/s, p50 ms, p99 ms). With random_keys False, every request has the one
    key "key:__rand_int__"."""
    target = ["-s", port] if isinstance(port, str) else ["-h", "127.0.0.1", "-p", str(port)]
    run = subprocess.run(["redis-benchmark", *target, "-t", test, "-n", str(requests), "-c", str(clients), "-P", str(pipeline),
                          *(["-r", "100000"] if random_keys else []), "-d", "32", "--csv"],
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:  # it stops at the first error reply: say which
        raise RuntimeError(f"redis-benchmark failed ({run.returncode}): "
                           f"{(run.stderr or run.stdout).strip()[-500:]}")
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    row = rows[-1]
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"])


def memaslap(port, test, requests, clients):
    """(requests/s, p50 ms, p99 ms) of one memaslap run; test is "mixed" or "mget10"."""
    memaslap_bin = shutil.which("memcaslap") or shutil.which("memaslap") or "/usr/bin/memcaslap"
    argv = [memaslap_bin, "-s", f"127.0.0.1:{port}", "-T", "1", "-c", str(clients),
            "-x", str(requests), "-X", "32", "-S", "3600s"]
    if test == "mget10":
        argv += ["-d", "10"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True).stdout
    rps = float(re.search(r"TPS: (\d+)", out).group(1))
    # "Total Statistics" ends with a Log2 Dist: in a line "  i: c_i c_i+1 c_i+2 c_i+3", c_k
    # counts events with latency in [2^(k-1), 2^k) microseconds.
    total = out[out.index("Total Statistics"):]
    dist = {}
    for m in re.finditer(r"^\s+(\d+):((?:\s+\d+)+)\s*$", total, re.M):
        for j, count in enumerate(m.group(2).split()):
            dist[int(m.group(1)) + j] = int(count)
    events = sum(dist.values())

    def percentile(q):
        seen = 0
        for bucket in sorted(dist):
            seen += dist[bucket]
            if seen >= q * events:
                return 2 ** bucket / 1000.0
        return float("nan")

    return rps, percentile(0.5), percentile(0.99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--requests", type=int, default=200000, help="requests per run at -P 1")
    ap.add_argument("--pipelined-requests", type=int, default=1000000,
                    help="requests per run at -P > 1 (a run of 200k at -P 16 lasts under half "
                         "a second, too short to measure steadily)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pipelines", default="1,16", help="comma-separated -P values")
    ap.add_argument("--tests", default="set,get", help="comma-separated redis-benchmark tests")
    ap.add_argument("--protocol", choices=("redis", "memcached"), default="redis")
    ap.add_argument("--no-io-uring", action="store_true",
                    help="run ringleader with proxy.io_uring = false (one write per socket)")
    ap.add_argument("--unix", choices=("none", "backends", "all"), default="none",
                    help="Unix-domain sockets: to the backends, or also between client and proxy")
    ap.add_argument("--pause-threshold-ms", type=float, default=10,
                    help="report host pauses this long or longer (0: do not watch)")
    args = ap.parse_args()
    memcached = args.protocol == "memcached"
    if memcached and args.unix != "none":
        ap.error("--unix applies to --protocol redis (memaslap has no Unix-socket client)")
    pipelines = [1] if memcached else [int(p) for p in args.pipelines.split(",")]
    tests = ["mixed", "mget10"] if memcached else args.tests.split(",")
    nutcracker = shutil.which("nutcracker") or "/usr/sbin/nutcracker"

    with TempDir() as tmp:
        unix_backends = args.unix != "none"
        redises = [(MemcachedServer(tmp) if memcached else
                    RedisServer(tmp, unixsocket=os.path.join(tmp, f"redis-{i}.sock")
                                if unix_backends else None)).__enter__()
                   for i in range(4)]
        try:
            if unix_backends:
                wait_until(lambda: all(unix_socket_open(r.unixsocket) for r in redises),
                           what="redis Unix sockets")
            # Over TCP both proxies name the backends alike, so ketama places keys alike; a
            # Unix socket's path is no backend name, so there the placements differ.
            addresses = ([r.unixsocket for r in redises] if unix_backends
                         else [f"127.0.0.1:{r.port}" for r in redises])
            nc_port = free_port()
            nc_unix = os.path.join(tmp, "nutcracker.sock") if args.unix == "all" else None
            rl_unix = os.path.join(tmp, "ringleader.sock") if args.unix == "all" else None
            conf = write_nutcracker_config(tmp, nc_port, [r.port for r in redises],
                                           redis=not memcached, listen=nc_unix, servers=addresses)
            backends = [{"name": f"redis-{i}", "address": f"unix:{a}"} if unix_backends
                        else {"name": a, "address": a} for i, a in enumerate(addresses)]
            proxy = f"workers = {args.workers}" + ("\nio_uring = false" if args.no_io_uring else "")
            if memcached:
                proxy += '\nprotocol = "memcached"'
            rl = Ringleader(args.ringleader, tmp, backends, proxy=proxy,
                            ring='algorithm = "ketama"\nhash = "fnv1a_64"\nhash_tag = ""',
                            extra="[log]\nlevel = \"warn\"", unix_path=rl_unix)
            watch = (HostPauses(args.pause_threshold_ms / 1000) if args.pause_threshold_ms > 0
                     else None)
            cpus = len(os.sched_getaffinity(0))
            with Process([nutcracker, "-c", conf, "-s", str(free_port()), "-a", "127.0.0.1"],
                         os.path.join(tmp, "nc.log")) as nc, rl, \
                    (watch or contextlib.nullcontext()):
                wait_until(lambda: unix_socket_open(nc_unix) if nc_unix else port_open(nc_port),
                           what="nutcracker")
                targets = {"twemproxy": (nc_unix or nc_port, nc.proc.pid),
                           "ringleader": (rl_unix or rl.port, rl.proc.pid)}
                results = {}
                pauses = {name: [] for name in targets}
                server_pids = [r.proc.pid for r in redises]
                for rnd in range(args.rounds):
                    for pipeline in pipelines:
                        for name, (port, pid) in targets.items():
                            for test in tests:
                                n = args.requests if pipeline == 1 else args.pipelined_requests
                                before = cpu_seconds(pid)
                                servers_before = backends_load(server_pids)
                                client_before = client_cpu_seconds()
                                started = time.monotonic()
                                if memcached:
                                    rps, p50, p99 = memaslap(port, test, n, args.clients)
                                else:
                                    rps, p50, p99 = redis_benchmark(port, test, pipeline, n,
                                                                    args.clients)
                                cpu = cpu_seconds(pid) - before
                                client_cpu = client_cpu_seconds() - client_before
                                paused = watch.between(started, time.monotonic()) if watch else []
                                pauses[name] += paused
                                servers_after = backends_load(server_pids)
                                server_cpu = servers_after[0] - servers_before[0]
                                wakeups = servers_after[1] - servers_before[1]
                                results.setdefault((name, test, pipeline), []).append(
                                    (rps, p50, p99, cpu / n * 100000, server_cpu / n * 100000,
                                     wakeups / n, client_cpu / n * 100000,
                                     (cpu + server_cpu + client_cpu) / n * 100000))
                                label = test.upper() if memcached else f"{test.upper()} -P {pipeline:2d}"
                                print(f"round {rnd + 1} {name:10s} {label}: "
                                      f"{rps:10.0f} req/s p50 {p50:.3f} ms p99 {p99:.3f} ms "
                                      f"cpu {cpu / n * 100000:.3f} s/100k, servers' cpu "
                                      f"{server_cpu / n * 100000:.3f} s/100k and "
                                      f"{wakeups / n:.3f} wakeups per request, client's cpu "
                                      f"{client_cpu / n * 100000:.3f} s/100k"
                                      f"{'; ' if paused else ''}{describe(paused, cpus)}",
                                      file=sys.stderr)
        finally:
            for r in redises:
                r.__exit__(None, None, None)

    def med(key, i):
        return statistics.median(v[i] for v in results[key])

    if memcached:
        print(f"memaslap, {args.clients} clients, {args.requests} requests (90% get, 10% set), "
              f"4 memcached servers, p50/p99 are power-of-two bucket bounds, ", end="")
    else:
        print(f"redis-benchmark, {args.clients} clients, {args.requests} requests at -P 1 and "
              f"{args.pipelined_requests} when pipelined, 4 redis-servers, ", end="")
    unix = {"none": "", "backends": ", backends over Unix sockets",
            "all": ", clients and backends over Unix sockets"}[args.unix]
    print(f"ringleader workers={args.workers}{' io_uring=false' if args.no_io_uring else ''}"
          f"{unix}, median of {args.rounds} rounds")
    # The servers' columns: the four backend servers together, per request. A server sleeps
    # in epoll_wait when it has nothing to do, so its sleeps count the times the proxy had to
    # wake it: smaller batches per backend write mean more of them, and more server CPU.
    # The client's: the load generator's CPU per request. The total: proxy, servers and
    # client together, per request; with the cores saturated, requests/s follow its inverse.
    print(f"{'test':10s} {'proxy':11s} {'req/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s} "
          f"{'cpu s/100k':>11s} {'servers cpu':>12s} {'wakeups/req':>12s} {'client cpu':>11s} "
          f"{'total cpu':>10s}")
    for pipeline in pipelines:
        for test in tests:
            for name in ("twemproxy", "ringleader"):
                k = (name, test, pipeline)
                label = test.upper() if memcached else f"{test.upper()} -P {pipeline}"
                print(f"{label:10s} {name:11s} {med(k, 0):10.0f} {med(k, 1):8.3f} "
                      f"{med(k, 2):8.3f} {med(k, 3):11.3f} {med(k, 4):12.3f} {med(k, 5):12.3f} "
                      f"{med(k, 6):11.3f} {med(k, 7):10.3f}")
            t, r = ("twemproxy", test, pipeline), ("ringleader", test, pipeline)

            def ratio(i):
                return med(r, i) / max(med(t, i), 1e-9)

            print(f"{'':10s} {'ratio':11s} {ratio(0):10.2f}x {ratio(1):7.2f}x "
                  f"{ratio(2):7.2f}x {ratio(3):10.2f}x {ratio(4):11.2f}x {ratio(5):11.2f}x "
                  f"{ratio(6):10.2f}x {ratio(7):9.2f}x")
    if args.pause_threshold_ms > 0:
        # A pause adds its length to every request in flight: the runs it fell in lose a
        # little throughput and gain a maximum latency that says nothing about the proxy.
        print(f"host pauses of {args.pause_threshold_ms:.0f} ms or more during the runs: " +
              "; ".join(f"{name} {describe(found, cpus) or 'none'}"
                        for name, found in pauses.items()))


if __name__ == "__main__":
    main()
