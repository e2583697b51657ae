#!/usr/bin/python3
"""twemproxy compatibility: ringleader's ketama ring names, for every key, the backend that
a real nutcracker wrote it to.

Starts 4 redis-servers and one nutcracker with four pools over them (separate Redis
databases): fnv1a_64 with default server names, md5 with explicit names and uneven
weights, fnv1a_64 with a {} hash tag, and md5 with a $$ hash tag (one character at both
ends, as twemproxy's documentation shows it); and a fifth pool over 4 more servers on
127.0.0.2-5, port 11211, whose default names leave that port out (as libmemcached does).
Writes 10,000 keys through each pool (including non-ASCII keys, which exercise fnv1a_64's
sign extension), reads every key back from the backends directly, and compares with
`ringleader lookup` on an equivalent config, named as the README says.
"""
import argparse
import os
import shutil
import subprocess
import sys

import redis

from harness import Process, RedisServer, TempDir, free_port, port_open, wait_until

KEYS_PER_POOL = 10000


def make_keys(pool):
    keys = []
    for i in range(KEYS_PER_POOL):
        if i % 10 == 0:
            keys.append(f"ключ:{pool}:{i}".encode())  # bytes >= 0x80
        elif i % 10 == 1:
            keys.append(f"user:{{{i % 97}}}:{pool}:{i}".encode())  # hash tags
        elif i % 10 == 2:
            keys.append(f"order:${i % 89}$:{pool}:{i}".encode())  # $$ hash tags
        elif i % 10 == 3:
            keys.append(f"cart:$$:{pool}:{i}".encode())  # an empty tag: the whole key counts
        else:
            keys.append(f"key:{pool}:{i}".encode())
    return keys


POOLS = [
    # name, db, hash, hash_tag, weights, explicit names
    ("fnv", 0, "fnv1a_64", None, [1, 1, 1, 1], False),
    ("md5", 1, "md5", None, [1, 2, 3, 1], True),
    ("tagged", 2, "fnv1a_64", "{}", [2, 1, 1, 1], False),
    ("dollars", 3, "md5", "$$", [1, 1, 1, 2], False),
]
# Over the servers on port 11211.
DEFAULT_PORT_POOL = ("port11211", 0, "fnv1a_64", None, [1, 1, 2, 1], False)


def default_name(r):
    """twemproxy's name for an unnamed server: host:port, the host alone on port 11211."""
    return r.host if r.port == 11211 else f"{r.host}:{r.port}"


def nutcracker_yaml(pools, ports):
    out = []
    for (name, db, hash_name, tag, weights, named), redises, port in pools_with(pools, ports):
        out.append(f"{name}:")
        out.append(f"  listen: 127.0.0.1:{port}")
        out.append(f"  hash: {hash_name}")
        if tag:
            out.append(f'  hash_tag: "{tag}"')
        out.append("  distribution: ketama")
        out.append("  redis: true")
        out.append(f"  redis_db: {db}")
        out.append("  auto_eject_hosts: false")
        out.append("  servers:")
        for i, (r, w) in enumerate(zip(redises, weights)):
            suffix = f" shard-{i}" if named else ""
            out.append(f"   - {r.host}:{r.port}:{w}{suffix}")
    return "\n".join(out) + "\n"


def pools_with(pools, ports):
    """(pool, its servers, its listen port) for each of `pools`: (pool, servers) pairs."""
    return [(pool, redises, port) for (pool, redises), port in zip(pools, ports)]


def ringleader_toml(redises, pool):
    name, _db, hash_name, tag, weights, named = pool
    lines = ["[ring]", 'algorithm = "ketama"', f'hash = "{hash_name}"',
             f'hash_tag = "{tag or ""}"', ""]
    for i, (r, w) in enumerate(zip(redises, weights)):
        backend_name = f"shard-{i}" if named else default_name(r)
        lines += ["[[backends]]", f'name = "{backend_name}"', f'address = "{r.host}:{r.port}"',
                  f"weight = {w}", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ringleader", required=True)
    args = parser.parse_args()
    nutcracker = shutil.which("nutcracker") or "/usr/sbin/nutcracker"

    failures = 0
    with TempDir() as tmp:
        redises = [RedisServer(tmp) for _ in range(4)]
        on_11211 = [RedisServer(tmp, port=11211, host=f"127.0.0.{2 + i}") for i in range(4)]
        started = []
        try:
            for r in redises + on_11211:
                r.__enter__()
                started.append(r)
            pools = [(pool, redises) for pool in POOLS] + [(DEFAULT_PORT_POOL, on_11211)]
            ports = [free_port() for _ in pools]
            conf = os.path.join(tmp, "nutcracker.yml")
            with open(conf, "w") as f:
                f.write(nutcracker_yaml(pools, ports))
            with Process([nutcracker, "-c", conf, "-s", str(free_port()), "-a", "127.0.0.1"],
                         os.path.join(tmp, "nutcracker.log")) as nc:
                wait_until(lambda: all(port_open(p) for p in ports), what="nutcracker")
                for pool, servers, port in pools_with(pools, ports):
                    failures += check_pool(args.ringleader, tmp, servers, pool, port, nc)
        finally:
            for r in started:
                r.__exit__(None, None, None)
    if failures:
        print(f"FAILED: {failures} keys placed differently from nutcracker")
        return 1
    print(f"OK: {KEYS_PER_POOL * (len(POOLS) + 1)} keys placed exactly as nutcracker placed them")
    return 0


def check_pool(ringleader, tmp, redises, pool, port, nc):
    name, db, *_ = pool
    keys = make_keys(name)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, b"v")
    results = pipe.execute()
    assert all(results), f"pool {name}: a SET through nutcracker failed: {nc.tail()}"

    # Where each key actually lives, read from the backends directly.
    actual = {}
    for i, r in enumerate(redises):
        direct = redis.Redis(host=r.host, port=r.port, db=db)
        for k in direct.scan_iter(count=1000):
            assert k not in actual, f"key {k!r} found on two backends"
            actual[k] = i
    assert len(actual) == len(keys), f"pool {name}: {len(actual)} keys found, {len(keys)} written"

    conf = os.path.join(tmp, f"ringleader-{name}.toml")
    with open(conf, "w") as f:
        f.write(ringleader_toml(redises, pool))
    out = subprocess.run([ringleader, "lookup", "-c", conf, "--stdin"],
                         input=b"\n".join(keys) + b"\n", capture_output=True, check=True).stdout
    names = {}
    for i, r in enumerate(redises):
        names[f"shard-{i}" if pool[5] else default_name(r)] = i
    lines = out.rstrip(b"\n").split(b"\n")
    assert len(lines) == len(keys), f"pool {name}: lookup printed {len(lines)} lines"
    wrong = 0
    for k, line in zip(keys, lines):
        key, _hash, replicas = line.split(b"\t")
        assert key == k
        predicted = names[replicas.split(b",")[0].decode()]
        if predicted != actual[k]:
            wrong += 1
            if wrong <= 5:
                print(f"pool {name}: key {k!r}: ringleader says {predicted}, "
                      f"nutcracker wrote to {actual[k]}")
    spread = [sum(1 for v in actual.values() if v == i) for i in range(len(redises))]
    print(f"pool {name}: {len(keys)} keys, {wrong} misplaced, keys per backend {spread}")
    return wrong


if __name__ == "__main__":
    sys.exit(main())
