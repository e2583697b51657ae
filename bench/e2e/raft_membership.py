#!/usr/bin/python3
"""Membership benchmarks on a 3-instance raft cluster (loopback, fsync on):
- commit latency of a membership change through the admin API (the answer comes once the
  change is applied on the instance asked), p50/p99 over --changes changes;
- how long the instances disagree: from that answer until both followers serve the new ring
  epoch, over --spread-changes changes;
- leader failover: kill -9 the leader, time until a survivor is leader; median and max over
  --kills kills (the killed instance is restarted and caught up between kills).

    bench/e2e/raft_membership.py --ringleader build/app/ringleader [--changes 1000] [--kills 20]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
import raft_cluster_test as rc  # noqa: E402
from harness import RedisServer, TempDir  # noqa: E402


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--spread-changes", type=int, default=200,
                    help="changes after which the followers' epoch is polled")
    args = ap.parse_args()
    rc.RINGLEADER = os.path.abspath(args.ringleader)
    with TempDir() as tmp:
        redises = [RedisServer(tmp).__enter__() for _ in range(3)]
        try:
            seed = [(f"r{i}", r.port) for i, r in enumerate(redises)]
            with rc.Cluster(tmp, backends=seed) as cl:
                leader = cl.wait_leader()
                latencies = []
                for i in range(args.changes):
                    start = time.monotonic()
                    status, body = rc.http("PATCH", leader.admin, "/backends/r0",
                                           {"weight": 1 + i % 7})
                    latencies.append(time.monotonic() - start)
                    if status != 200:
                        raise RuntimeError(f"change {i} failed: {body}")
                # How long the instances disagree: from the leader's answer (the change is
                # applied there) until both followers serve the new epoch, polled on their
                # /ring as fast as HTTP allows (a poll takes a fraction of a millisecond).
                followers = [n for n in cl.nodes.values() if n is not leader]
                spreads = []
                for i in range(args.spread_changes):
                    status, body = rc.http("PATCH", leader.admin, "/backends/r0",
                                           {"weight": 1 + i % 7})
                    answered = time.monotonic()
                    if status != 200:
                        raise RuntimeError(f"change {i} failed: {body}")
                    for n in followers:
                        while n.ring()["epoch"] < body["epoch"]:
                            if time.monotonic() - answered > 5:
                                raise RuntimeError(f"{n} never reached epoch {body['epoch']}")
                    spreads.append(time.monotonic() - answered)
                failovers = []
                for _ in range(args.kills):
                    old = cl.wait_leader()
                    t0 = time.monotonic()
                    old.kill()
                    survivors = [n for n in cl.nodes.values() if n is not old and n.proc]
                    cl.wait_leader(among=survivors, timeout=10)
                    failovers.append(time.monotonic() - t0)
                    old.start()
                    cl.wait_converged(timeout=20)
        finally:
            for r in redises:
                r.__exit__(None, None, None)
    print(f"membership change commit latency over {len(latencies)} changes (leader's admin API, "
          f"applied locally, fsync on): p50 {percentile(latencies, 50) * 1000:.2f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.2f} ms")
    print(f"followers serving the new epoch, after the leader's answer, over {len(spreads)} "
          f"changes: p50 {percentile(spreads, 50) * 1000:.2f} ms, "
          f"p99 {percentile(spreads, 99) * 1000:.2f} ms, max {max(spreads) * 1000:.2f} ms")
    print(f"leader failover over {len(failovers)} kill -9: median "
          f"{statistics.median(failovers) * 1000:.0f} ms, max {max(failovers) * 1000:.0f} ms "
          f"(election_timeout_ms = 400, heartbeat_ms = 40)")


if __name__ == "__main__":
    main()
