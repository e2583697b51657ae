#!/usr/bin/python3
"""End-to-end: what a membership change costs in misses, against what the ring predicts.

Starts 5 redis-servers and, for each setting (ring.replicas 1; 2; 2 with
replication.miss_failover), one ringleader over the first 4 (static mode, write = "all").
It writes --keys keys, then
  1. adds the fifth backend (new config + SIGHUP) and reads every key back;
  2. removes one of the first four (new config + SIGHUP) and reads every key back again,
counting the reads that miss. ringleader moves no data, so a read misses when the replicas it
asks do not hold the key. The prediction comes from the ring alone (`ringleader lookup` before
and after): the share of keys whose new primary is none of the backends that got the write
(what a read of the primary alone misses), and the share whose new replica set holds none of
them (what a read that asks every replica misses).

    bench/e2e/rebalance_misses.py --ringleader build/app/ringleader [--keys 20000]
"""
import argparse
import os
import sys
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import (Process, RedisServer, TempDir, admin_http, free_port,  # noqa: E402
                     port_open, replica_backends, wait_until)

SETTINGS = [("replicas = 1", 1, False), ("replicas = 2", 2, False),
            ("replicas = 2, miss_failover", 2, True)]


def write_config(path, port, admin_port, redises, members, replicas, miss_failover):
    lines = ["[proxy]", f'listen = "127.0.0.1:{port}"', "workers = 1",
             "[admin]", f'listen = "127.0.0.1:{admin_port}"',
             "[ring]", f"replicas = {replicas}",
             "[replication]", 'write = "all"',
             f"miss_failover = {'true' if miss_failover else 'false'}",
             "[log]", 'level = "warn"']
    for i in members:
        lines += ["[[backends]]", f'name = "redis-{i}"',
                  f'address = "127.0.0.1:{redises[i].port}"']
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def misses(client, keys):
    found = 0
    for start in range(0, len(keys), 1000):
        pipe = client.pipeline(transaction=False)
        for k in keys[start:start + 1000]:
            pipe.get(k)
        found += sum(1 for v in pipe.execute() if v is not None)
    return len(keys) - found


def predicted(binary, config_path, keys, holders_before):
    """(share whose new primary holds no copy, share whose new replica set holds none)."""
    after = replica_backends(binary, config_path, keys)
    primary_empty = sum(1 for a, b in zip(holders_before, after) if b[0] not in a)
    lost = sum(1 for a, b in zip(holders_before, after) if not set(a) & set(b))
    return primary_empty / len(keys), lost / len(keys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ringleader", required=True)
    parser.add_argument("--keys", type=int, default=20000)
    args = parser.parse_args()
    keys = [f"key:{i}" for i in range(args.keys)]
    rows = []
    with TempDir() as tmp:
        redises = [RedisServer(tmp).__enter__() for _ in range(5)]
        try:
            for n, (name, replicas, miss_failover) in enumerate(SETTINGS):
                for r in redises:
                    redis.Redis(port=r.port).flushall()
                port, admin_port = free_port(), free_port()
                config = os.path.join(tmp, f"rl{n}.toml")
                write_config(config, port, admin_port, redises, [0, 1, 2, 3], replicas,
                             miss_failover)
                rl = Process([args.ringleader, "serve", "-c", config],
                             os.path.join(tmp, f"rl{n}.log")).__enter__()
                try:
                    wait_until(lambda: port_open(port), what="ringleader")
                    c = redis.Redis(port=port, socket_timeout=30)
                    for start in range(0, len(keys), 1000):
                        c.mset({k: k for k in keys[start:start + 1000]})
                    holders = replica_backends(args.ringleader, config, keys)
                    for step, members in (("add a 5th backend", [0, 1, 2, 3, 4]),
                                          ("then remove one", [1, 2, 3, 4])):
                        write_config(config, port, admin_port, redises, members, replicas,
                                     miss_failover)
                        rl.proc.send_signal(1)  # SIGHUP
                        wait_until(lambda: len(admin_http("GET", admin_port, "/ring")[1]
                                               ["backends"]) == len(members),
                                   what="the new ring")
                        time.sleep(0.2)  # every worker picks the new ring up
                        moved, lost = predicted(args.ringleader, config, keys, holders)
                        missed = misses(c, keys) / len(keys)
                        rows.append((name, step, moved, lost, missed))
                        print(f"{name:28s} {step:18s} primary holds none {moved:6.2%} "
                              f"no old holder {lost:6.2%} reads missed {missed:6.2%}",
                              file=sys.stderr, flush=True)
                finally:
                    rl.__exit__(None, None, None)
        finally:
            for r in redises:
                r.__exit__(None, None, None)

    print(f"{args.keys} keys written over 4 redis-servers (write = all), then a backend added "
          f"and one removed, each by SIGHUP; every key read back after each change")
    print("predicted: the share of keys whose new primary holds no copy / whose new replica set "
          "holds none")
    print(f"{'setting':28s} {'change':18s} {'primary: none':>14s} {'set: none':>10s} "
          f"{'reads missed':>13s}")
    for name, step, moved, lost, missed in rows:
        print(f"{name:28s} {step:18s} {moved:14.2%} {lost:10.2%} {missed:13.2%}")


if __name__ == "__main__":
    main()
