#!/usr/bin/python3
"""Replication through `ringleader serve` with real redis-servers and memcacheds on 127.0.0.1:
writes reach every replica of a key and are acknowledged as replication.write says, reads
follow replication.read and fail over to the next replica when a backend is gone."""
import os
import signal
import socket
import struct
import threading
import time
import unittest

import redis

from harness import (MemcachedServer, RedisServer, Ringleader, TempDir, metric_value, status_bytes,
                     replica_backends, run_unittests, sanitized, sigstop, wait_until)

# Never eject (failure_limit = 0): a dead backend stays in every replica set, so each request
# meets it; short timeouts keep the dead one's failures quick.
BACKEND = "[backend]\nfailure_limit = 0\nconnect_timeout_ms = 500\ntimeout_ms = 1000\n"
# For tests that pause a backend for up to 2 s without its requests timing out.
SLOW_BACKEND = "[backend]\nfailure_limit = 0\nconnect_timeout_ms = 500\ntimeout_ms = 4000\n"


def replication(write="one", read="primary", miss_failover=False):
    return (f'[replication]\nwrite = "{write}"\nread = "{read}"\n'
            f'miss_failover = {"true" if miss_failover else "false"}\n')


class RedisReplicationCase(unittest.TestCase):
    """Three redis-servers per test (a test may stop some)."""

    def setUp(self):
        self.tmp_ctx = TempDir()
        self.tmp = self.tmp_ctx.__enter__()
        self.redises = [RedisServer(self.tmp).__enter__() for _ in range(3)]
        self.proxies = []

    def tearDown(self):
        for p in self.proxies:
            p.__exit__(None, None, None)
        for r in self.redises:
            r.__exit__(None, None, None)
        self.tmp_ctx.__exit__(None, None, None)

    def proxy(self, replicas, write="one", read="primary", zone=None, zones=None, name="rl",
              miss_failover=False, backend=BACKEND):
        backends = []
        for i, r in enumerate(self.redises):
            b = {"name": f"redis-{i}", "address": f"127.0.0.1:{r.port}"}
            if zones:
                b["zone"] = zones[i]
            backends.append(b)
        rl = Ringleader(RINGLEADER, self.tmp, backends,
                        proxy=f'zone = "{zone}"' if zone else "",
                        ring=f"replicas = {replicas}",
                        extra=backend + replication(write, read, miss_failover),
                        name=name).__enter__()
        self.proxies.append(rl)
        return rl

    def client(self, rl):
        return redis.Redis(host="127.0.0.1", port=rl.port, socket_timeout=10)

    def direct(self, index):
        return redis.Redis(host="127.0.0.1", port=self.redises[index].port, socket_timeout=10)

    def holders(self, rl, keys):
        """For each key, the indexes of the backends in its replica set, primary first."""
        return [[int(name.split("-")[1]) for name in names]
                for names in replica_backends(RINGLEADER, rl.config_path, keys)]

    def hits(self, index):
        return self.direct(index).info("stats")["keyspace_hits"]

    def served(self, c, key, owners, times):
        """GETs `key` `times` through client c; how many of them each of `owners` served."""
        before = [self.hits(i) for i in owners]
        for _ in range(times):
            self.assertEqual(c.get(key), b"x")
        return [self.hits(i) - b for i, b in zip(owners, before)]


class WriteTest(RedisReplicationCase):
    def test_every_write_lands_on_the_keys_replicas_and_only_there(self):
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"w:{i}" for i in range(60)]
        for k in keys[:30]:
            self.assertTrue(c.set(k, k))
        self.assertTrue(c.mset({k: k for k in keys[30:]}))  # split over the replica sets
        self.assertEqual(c.incr("counter", 5), 5)
        self.assertEqual(c.incr("counter", 2), 7)
        c.rpush("list", "a", "b")
        for k, owners in zip(keys + ["counter"], self.holders(rl, keys + ["counter"])):
            self.assertEqual(len(owners), 2)
            want = b"7" if k == "counter" else k.encode()
            for i in range(3):
                self.assertEqual(self.direct(i).get(k), want if i in owners else None, (k, i))
        for i in self.holders(rl, ["list"])[0]:
            self.assertEqual(self.direct(i).lrange("list", 0, -1), [b"a", b"b"])
        # Deletes reach every copy too; the client hears the count of keys, not of copies.
        self.assertEqual(c.delete(*keys[:40]), 40)
        for i in range(3):
            self.assertEqual(self.direct(i).exists(*keys[:40]), 0)
        # SCAN and KEYS show each key once although two backends hold it.
        seen = []
        cursor = 0
        while True:
            cursor, batch = c.scan(cursor, count=50)
            seen += batch
            if cursor == 0:
                break
        self.assertEqual(sorted(seen), sorted(k.encode() for k in keys[40:] + ["counter", "list"]))
        self.assertEqual(sorted(c.keys("w:*")), sorted(k.encode() for k in keys[40:]))

    def test_acknowledgement_policies_with_dead_replicas(self):
        proxies = {w: self.proxy(replicas=3, write=w, name=f"rl-{w}")
                   for w in ("one", "quorum", "all")}
        clients = {w: self.client(p) for w, p in proxies.items()}
        for c in clients.values():
            self.assertTrue(c.set("k", "v0"))
        self.redises[2].stop()
        self.assertTrue(clients["one"].set("k", "v1"))
        self.assertTrue(clients["quorum"].set("k", "v2"))
        with self.assertRaises(redis.ResponseError) as err:
            clients["all"].set("k", "v3")
        message = str(err.exception)
        self.assertIn("write acknowledged by 2 of 3 replicas (3 needed)", message)
        self.assertIn("redis-2", message)
        # The live replicas took the write the client was told failed: no rollback.
        self.assertEqual(self.direct(0).get("k"), b"v3")
        self.redises[1].stop()
        self.assertTrue(clients["one"].set("k", "v4"))
        with self.assertRaises(redis.ResponseError) as err:
            clients["quorum"].set("k", "v5")
        self.assertIn("write acknowledged by 1 of 3 replicas (2 needed)", str(err.exception))
        self.assertGreater(metric_value(proxies["one"].admin_port,
                                        "ringleader_replica_write_failures_total"), 0)
        # Everything else keeps working: the last replica serves reads.
        self.assertEqual(clients["all"].get("k"), b"v5")

    def test_conditional_writes_are_decided_by_the_primary(self):
        """SET NX (a lock) on replicas that drifted apart: the primary alone decides, the other
        replica is brought to the primary's result, and a second taker is refused everywhere."""
        rl = self.proxy(replicas=2, write="one")
        c = self.client(rl)
        primary, other = self.holders(rl, ["lock"])[0]
        # The other replica kept a stale lock the primary lost (it restarted empty, say).
        self.direct(other).set("lock", "stale")
        self.assertTrue(c.set("lock", "first", nx=True, px=60000))
        self.assertEqual(self.direct(primary).get("lock"), b"first")
        self.assertEqual(self.direct(other).get("lock"), b"first")
        self.assertGreater(self.direct(other).pttl("lock"), 0)  # PX went with it
        # A second taker hears the primary's "no" and changes nothing anywhere.
        self.assertIsNone(c.set("lock", "second", nx=True, px=60000))
        self.assertFalse(c.setnx("lock", "third"))
        for i in (primary, other):
            self.assertEqual(self.direct(i).get("lock"), b"first")
        # The reverse drift: only the primary holds the key, so XX applies and is replicated.
        owners = self.holders(rl, ["only-primary"])[0]
        self.direct(owners[1]).delete("only-primary")
        self.direct(owners[0]).set("only-primary", "old")
        self.assertTrue(c.set("only-primary", "new", xx=True))
        for i in owners:
            self.assertEqual(self.direct(i).get("only-primary"), b"new")
        # HSETNX as well.
        self.assertTrue(c.hsetnx("h", "f", "1"))
        self.assertFalse(c.hsetnx("h", "f", "2"))
        for i in self.holders(rl, ["h"])[0]:
            self.assertEqual(self.direct(i).hget("h", "f"), b"1")

    def test_spop_copies_the_primarys_choice(self):
        """SPOP picks random members: run on each replica it would leave them different. The
        primary runs it; the other replica gets SREM of what it popped. (XADD * still runs on
        each replica: the entries are everywhere, their IDs from each server's clock.)"""
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        members = [str(i) for i in range(40)]
        c.sadd("pop", *members)
        popped = [m.decode() for m in c.spop("pop", 7)] + [c.spop("pop").decode()]
        holders = self.holders(rl, ["pop", "stream"])
        sets = [self.direct(i).smembers("pop") for i in holders[0]]
        self.assertEqual(sets[0], sets[1])
        self.assertEqual(sets[0], {m.encode() for m in members if m not in popped})
        self.assertIsNone(c.spop("nothing-here"))  # nothing popped, nothing copied
        for i in range(20):
            c.xadd("stream", {"n": i})
        self.assertEqual([self.direct(i).xlen("stream") for i in holders[1]], [20, 20])
        self.assertEqual(metric_value(rl.admin_port, "ringleader_replica_write_failures_total"), 0)

    def test_writes_pipelined_after_a_conditional_write_reach_the_replicas_after_it(self):
        """SETNX then EXPIRE in one pipeline, the other replica holding a stale copy: SETNX's
        follow-up (a SET, sent once the primary applied it) reaches that replica before the
        EXPIRE does, so the lock expires on every copy."""
        rl = self.proxy(replicas=2, write="one")
        c = self.client(rl)
        primary, other = self.holders(rl, ["plock"])[0]
        self.direct(other).set("plock", "stale")
        pipe = c.pipeline(transaction=False)
        pipe.setnx("plock", "t")
        pipe.expire("plock", 60)
        pipe.get("plock")
        self.assertEqual(pipe.execute(), [True, True, b"t"])
        for i in (primary, other):
            self.assertEqual(self.direct(i).get("plock"), b"t")
            self.assertGreater(self.direct(i).ttl("plock"), 0, f"redis-{i}")
        # The same client goes on pipelining after the barrier lifted.
        self.assertEqual(c.get("plock"), b"t")

    def abandon_a_conditional_write(self, rl, key):
        """Sends SET key v NX PX 60000 through `rl` while the key's primary is paused for
        writes, and makes the proxy drop the client before the primary answers: the client
        pipelines a GET of a big value first, reads nothing and resets the connection, so the
        proxy's write of the GET reply fails. Returns (primary, other) once the proxy has
        closed the client, with the primary still paused."""
        primary, other = self.holders(rl, [key])[0]
        setter = self.client(rl)
        setter.set("big", b"x" * (8 << 20))
        setter.connection_pool.disconnect()
        wait_until(lambda: metric_value(rl.admin_port, "ringleader_client_connections") == 0,
                   what="the proxy to see the first client go")
        # Paused for less than the proxy's timeout_ms: the SET waits on the primary, unanswered.
        self.direct(primary).execute_command("CLIENT", "PAUSE", "3000", "WRITE")
        paused = time.monotonic()
        s = socket.create_connection(("127.0.0.1", rl.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET big\r\nSET %s v NX PX 60000\r\n" % key.encode())
        time.sleep(0.2)  # the proxy is writing the GET reply into a full socket
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # a reset
        wait_until(lambda: metric_value(rl.admin_port, "ringleader_client_connections") == 0,
                   timeout=2.5, what="the proxy to close the client")
        self.assertLess(time.monotonic() - paused, 2.8, "the primary answered before the close")
        self.assertIsNone(self.direct(other).get(key))
        return primary, other

    def assert_replicated(self, key, owners, timeout=10):
        deadline = time.monotonic() + timeout
        while self.direct(owners[-1]).get(key) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        for i in owners:
            self.assertEqual(self.direct(i).get(key), b"v", f"redis-{i}")
            self.assertGreater(self.direct(i).pttl(key), 0, f"redis-{i}")

    def test_a_conditional_write_reaches_every_replica_after_its_client_left(self):
        """The client is gone before the primary answers: once the primary applies the write,
        the other replica still gets the follow-up."""
        rl = self.proxy(replicas=2, write="one", backend=SLOW_BACKEND)
        self.assert_replicated("gone", self.abandon_a_conditional_write(rl, "gone"))

    def test_a_drain_waits_for_the_follow_ups_of_clients_already_gone(self):
        """SIGTERM right after the client left, the primary still paused: the proxy has no
        client left, but it waits (within its grace) for the primary's answer and the
        follow-up before it exits."""
        rl = self.proxy(replicas=2, write="one", backend=SLOW_BACKEND)
        owners = self.abandon_a_conditional_write(rl, "drained")
        rl.proc.send_signal(signal.SIGTERM)
        self.assertEqual(rl.proc.wait(timeout=10), 0)
        self.assert_replicated("drained", owners, timeout=0)

    def test_each_copy_of_a_write_fits_the_reply_limit_alone(self):
        """GETDEL of a 600 KB value on two replicas with backend.max_reply_bytes = 1 MiB: one
        copy's reply answers, so the copies are not added up against the limit (the write
        applied everywhere must not be answered with a size error)."""
        rl = self.proxy(replicas=2, write="all", backend=BACKEND + "max_reply_bytes = 1048576\n")
        c = self.client(rl)
        value = b"v" * 600000
        for _ in range(3):
            self.assertTrue(c.set("getdel", value))
            self.assertEqual(c.getdel("getdel"), value)
        self.assertEqual(metric_value(rl.admin_port, "ringleader_backend_replies_too_large_total"),
                         0)

    def test_a_follow_up_that_times_out_leaves_the_clients_answer_counted_as_ok(self):
        """SET NX applies on the primary; the other replica is paused past backend.timeout_ms,
        so its copy fails. The client hears OK: the request counts as ok, the copy as a
        replica write failure (it counted as a failed request before)."""
        rl = self.proxy(replicas=2, write="one")
        c = self.client(rl)
        primary, other = self.holders(rl, ["nx:paused"])[0]
        c.delete("nx:paused")
        ok = 'ringleader_requests_total{command="set",outcome="ok"}'
        failed = 'ringleader_requests_total{command="set",outcome="failed"}'
        before = (metric_value(rl.admin_port, ok) or 0, metric_value(rl.admin_port, failed) or 0)
        failures = metric_value(rl.admin_port, "ringleader_replica_write_failures_total")
        self.direct(other).execute_command("CLIENT", "PAUSE", "2000", "WRITE")
        try:
            self.assertTrue(c.set("nx:paused", "v", nx=True))
        finally:
            self.direct(other).execute_command("CLIENT", "UNPAUSE")
        self.assertEqual(metric_value(rl.admin_port, "ringleader_replica_write_failures_total"),
                         failures + 1)
        self.assertEqual(metric_value(rl.admin_port, ok), before[0] + 1)
        self.assertEqual(metric_value(rl.admin_port, failed) or 0, before[1])

    def test_a_follow_up_the_other_replica_refuses_counts_as_a_replica_write_failure(self):
        """HSETNX applies on the primary; the other replica holds a string under that key and
        answers HSET with WRONGTYPE. The client hears the primary's answer; the miss is counted."""
        rl = self.proxy(replicas=2, write="one")
        c = self.client(rl)
        primary, other = self.holders(rl, ["mixed"])[0]
        self.direct(other).set("mixed", "a string")
        failures = metric_value(rl.admin_port, "ringleader_replica_write_failures_total")
        self.assertTrue(c.hsetnx("mixed", "f", "1"))
        self.assertEqual(self.direct(primary).hget("mixed", "f"), b"1")
        self.assertEqual(self.direct(other).get("mixed"), b"a string")
        self.assertEqual(metric_value(rl.admin_port, "ringleader_replica_write_failures_total"),
                         failures + 1)
        self.assertEqual(c.info("stats")["replica_write_failures"], failures + 1)


class RefusedWriteTest(RedisReplicationCase):
    """A replica that refuses a write (out of memory, read-only, loading...) did not take it:
    no acknowledgement. Error replies used to count as acknowledgements, so `all` answered OK
    for a write a replica never stored."""

    def refuse_writes(self, index):
        self.direct(index).config_set("maxmemory-policy", "noeviction")
        self.direct(index).config_set("maxmemory", 1)

    def test_a_refusing_replica_fails_an_all_write_and_counts_as_a_replica_failure(self):
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"oom:{i}" for i in range(60)]
        key, (primary, replica) = next((k, h) for k, h in zip(keys, self.holders(rl, keys)))
        self.refuse_writes(replica)
        failures = metric_value(rl.admin_port, "ringleader_replica_write_failures_total")
        with self.assertRaises(redis.ResponseError) as err:
            c.set(key, "v")
        self.assertIn("write acknowledged by 1 of 2 replicas", str(err.exception))
        self.assertIn(f"redis-{replica}", str(err.exception))
        self.assertIn("OOM", str(err.exception))
        self.assertEqual(metric_value(rl.admin_port, "ringleader_replica_write_failures_total"),
                         failures + 1)
        self.assertEqual(self.direct(primary).get(key), b"v")  # no rollback, as documented
        self.assertIsNone(self.direct(replica).get(key))

    def test_with_one_the_taking_replica_answers_and_with_none_the_refusal_does(self):
        rl = self.proxy(replicas=2, write="one")
        c = self.client(rl)
        keys = [f"oom:{i}" for i in range(60)]
        key, (primary, replica) = next((k, h) for k, h in zip(keys, self.holders(rl, keys)))
        # The primary refuses, the other replica takes it: `one` is met, by that replica.
        self.refuse_writes(primary)
        self.assertTrue(c.set(key, "v"))
        self.assertEqual(self.direct(replica).get(key), b"v")
        # Both refuse: the primary's refusal is the answer, its error code kept.
        self.refuse_writes(replica)
        with self.assertRaises(redis.ResponseError) as err:
            c.set(key, "w")
        self.assertTrue(str(err.exception).startswith("OOM "), str(err.exception))


    def test_a_replica_that_lost_its_scripts_runs_them_when_the_proxy_knows_them(self):
        # redis-py's Lock and a registered script, loaded through the proxy; then one replica
        # of the key loses its scripts (as in a restart). EVALSHA used to fail there with an
        # error that did not start with NOSCRIPT, so redis-py never loaded the script again,
        # and the other replica ran it: the lock stayed held on one, the counter diverged.
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"lostscripts:{i}" for i in range(60)]
        key, (primary, replica) = next((k, h) for k, h in zip(keys, self.holders(rl, keys)))
        lock = c.lock(key, timeout=30)
        self.assertTrue(lock.acquire(blocking=False))
        lock.release()
        bump = c.register_script("return redis.call('INCR', KEYS[1] .. ':n')")
        self.assertEqual(bump(keys=[key]), 1)
        for lost in (replica, primary):
            self.direct(lost).script_flush()
            self.assertTrue(lock.acquire(blocking=False))
            self.assertTrue(lock.extend(10))
            lock.release()
            self.assertEqual([self.direct(i).exists(key) for i in (primary, replica)], [0, 0])
        self.assertEqual(bump(keys=[key]), 2)
        self.assertEqual([self.direct(i).get(key + ":n") for i in (primary, replica)],
                         [b"2", b"2"])
        # SCRIPT FLUSH through the proxy: EVALSHA answers NOSCRIPT again, as Redis does, and
        # redis-py loads the script again.
        c.script_flush()
        with self.assertRaises(redis.exceptions.NoScriptError):
            c.evalsha(bump.sha, 1, key)
        self.assertEqual(bump(keys=[key]), 3)

    def test_evalshas_sent_as_evals_count_their_bodies_against_the_client_limit(self):
        # A 60 KB script, known to the proxy; one client pipelines 6,000 EVALSHAs of it (about
        # 600 KB sent) at a key whose replica is paused. Each is sent as EVAL with the body, so
        # the proxy holds 60 KB per request, and more in its copies: counted against the
        # client's queued-bytes limit (32 MiB), it stops reading that client. Counted by what
        # the client sent, the peak grew by over a gigabyte here (16,384 requests in flight
        # could hold 3 GB). Every request is answered once the replica is back.
        rl = self.proxy(replicas=2, write="all", backend=SLOW_BACKEND)
        c = self.client(rl)
        body = "return redis.call('INCR', KEYS[1]) --" + "x" * 60000
        sha = c.script_load(body)
        key = "{evb}n"
        _, replica = self.holders(rl, [key])[0]
        before = status_bytes(rl.proc.pid, "VmHWM")
        self.direct(replica).execute_command("CLIENT", "PAUSE", "1500", "WRITE")
        request = b"*4\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n$%d\r\n%s\r\n" % (
            sha.encode(), len(key), key.encode())
        with socket.create_connection(("127.0.0.1", rl.port), timeout=30) as s:
            s.sendall(request * 6000)
            got = b""
            while got.count(b"\r\n") < 6000:
                chunk = s.recv(1 << 20)
                self.assertTrue(chunk, "closed before every reply")
                got += chunk
        self.assertEqual(got.split(b"\r\n")[-2], b":6000")
        grown = status_bytes(rl.proc.pid, "VmHWM") - before
        # A sanitizer's allocator, with its quarantine and red zones, replaces glibc's there:
        # the bound is glibc's (the requests are still all answered, and the replicas equal).
        if not sanitized(RINGLEADER):
            self.assertLess(grown, 320 << 20, f"peak grew by {grown >> 20} MiB")
        self.assertEqual([self.direct(i).get(key) for i in self.holders(rl, [key])[0]],
                         [b"6000", b"6000"])

    def test_a_script_write_a_replica_refuses_is_not_acknowledged_there(self):
        # A replica that lost its scripts (restarted) answers EVALSHA -NOSCRIPT: it did not
        # run the write, whatever command carried it.
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"script:{i}" for i in range(60)]
        key, (primary, replica) = next((k, h) for k, h in zip(keys, self.holders(rl, keys)))
        sha = self.direct(primary).script_load("return redis.call('SET', KEYS[1], ARGV[1])")
        failures = metric_value(rl.admin_port, "ringleader_replica_write_failures_total")
        with self.assertRaises(redis.ResponseError) as err:
            c.evalsha(sha, 1, key, "v")
        self.assertIn("write acknowledged by 1 of 2 replicas", str(err.exception))
        self.assertIn("NOSCRIPT", str(err.exception))
        self.assertEqual(metric_value(rl.admin_port, "ringleader_replica_write_failures_total"),
                         failures + 1)
        self.assertEqual(self.direct(primary).get(key), b"v")
        self.assertIsNone(self.direct(replica).get(key))


class PartlyDoneWriteTest(RedisReplicationCase):
    def test_a_split_write_names_the_backends_that_took_it_and_the_one_that_did_not(self):
        # An MSET whose keys cover every replica set, with one backend down: the error says
        # where it was done by backend. It used to count replica sets as backends (6 of 3)
        # and name each set's primary, even one that had taken every key.
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"part:{i}" for i in range(200)]
        by_set = {}
        for k, h in zip(keys, self.holders(rl, keys)):
            by_set.setdefault(tuple(h), k)
        self.assertEqual(len(by_set), 6, "every ordered pair of the 3 backends is a set")
        self.redises[2].stop()
        with self.assertRaises(redis.ResponseError) as err:
            c.mset({k: "v" for k in by_set.values()})
        self.assertIn("(done on 2 of 3 backends: ", str(err.exception))
        self.assertIn("; not on: redis-2)", str(err.exception))
        for k in by_set.values():  # the two that are up took every key they hold
            self.assertEqual(self.direct(0).get(k) or self.direct(1).get(k), b"v")


class ReadTest(RedisReplicationCase):
    def test_reads_fail_over_when_the_primary_is_gone(self):
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"r:{i}" for i in range(60)]
        self.assertTrue(c.mset({k: k for k in keys}))
        holders = self.holders(rl, keys)
        on_dead = [k for k, h in zip(keys, holders) if h[0] == 0]
        self.assertTrue(on_dead, "some keys have redis-0 as primary")
        self.redises[0].stop()
        for k in keys:
            self.assertEqual(c.get(k), k.encode())
        self.assertEqual(c.mget(keys), [k.encode() for k in keys])
        failovers = metric_value(rl.admin_port, "ringleader_read_failovers_total")
        self.assertGreaterEqual(failovers, len(on_dead))
        self.assertEqual(c.info("stats")["read_failovers"], failovers)
        # With every replica of a key gone, the read fails naming both.
        other = holders[keys.index(on_dead[0])][1]
        self.redises[other].stop()
        with self.assertRaises(redis.ResponseError) as err:
            c.get(on_dead[0])
        self.assertIn("redis-0", str(err.exception))
        # A split read names both for the part that failed, and claims nothing "done".
        with self.assertRaises(redis.ResponseError) as err:
            c.exists(*keys)
        self.assertRegex(str(err.exception),
                         f"^ringleader: backend redis-[0{other}] .*; backend redis-[0{other}] ")
        self.assertNotIn("done on", str(err.exception))
        with self.assertRaises(redis.ResponseError) as err:  # a read of every backend too
            c.dbsize()
        self.assertNotIn("done on", str(err.exception))

    def test_reads_fail_over_past_a_primary_that_refuses_them(self):
        # A server busy with a script answers every read -BUSY (one loading its data,
        # -LOADING): it did not run the read, and the other replica can.
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"busy:{i}" for i in range(60)]
        self.assertTrue(c.mset({k: k for k in keys}))
        key, (primary, _) = next((k, h) for k, h in zip(keys, self.holders(rl, keys)))
        on_primary = [k for k, h in zip(keys, self.holders(rl, keys)) if h[0] == primary]
        self.direct(primary).config_set("busy-reply-threshold", 100)
        script = threading.Thread(target=lambda: self.assertRaises(
            redis.RedisError, self.direct(primary).eval, "while true do end", 0))
        script.start()
        try:
            def busy():
                try:
                    self.direct(primary).ping()
                    return False
                except redis.RedisError as e:
                    return "BUSY" in str(e)
            wait_until(busy, timeout=10, what="the primary to be busy")
            failovers = metric_value(rl.admin_port, "ringleader_read_failovers_total")
            self.assertEqual(c.get(key), key.encode())
            self.assertEqual(c.mget(keys), [k.encode() for k in keys])
            self.assertEqual(c.exists(*on_primary), len(on_primary))
            self.assertGreaterEqual(metric_value(rl.admin_port, "ringleader_read_failovers_total"),
                                    failovers + 3)  # GET, and a part of MGET and of EXISTS
            self.assertGreaterEqual(metric_value(
                rl.admin_port, 'ringleader_backend_requests_total{backend="redis-%d",'
                'outcome="refused"}' % primary), 3)
        finally:
            self.direct(primary).script_kill()
            script.join(timeout=10)

    def test_a_refusal_after_a_miss_leaves_the_miss_as_the_answer(self):
        # As after a failure: the replica that refused said nothing of the key.
        rl = self.proxy(replicas=2, write="all", miss_failover=True)
        c = self.client(rl)
        keys = [f"busymiss:{i}" for i in range(60)]
        key, (_, replica) = next((k, h) for k, h in zip(keys, self.holders(rl, keys)))
        self.direct(replica).set(key, "only here")
        self.direct(replica).config_set("busy-reply-threshold", 100)
        script = threading.Thread(target=lambda: self.assertRaises(
            redis.RedisError, self.direct(replica).eval, "while true do end", 0))
        script.start()
        try:
            def busy():
                try:
                    self.direct(replica).ping()
                    return False
                except redis.RedisError as e:
                    return "BUSY" in str(e)
            wait_until(busy, timeout=10, what="the replica to be busy")
            self.assertIsNone(c.get(key))
        finally:
            self.direct(replica).script_kill()
            script.join(timeout=10)
        self.assertEqual(c.get(key), b"only here")

    def test_a_pipelined_whole_keyspace_read_leaves_failover_alone(self):
        # Only a later write of the same client stops a read from failing over; DBSIZE, SCAN
        # and INFO after it in a pipeline used to count as writes (their fragments go straight
        # to every backend) and failed the GET whose primary was gone.
        rl = self.proxy(replicas=2, write="all")
        c = self.client(rl)
        keys = [f"p:{i}" for i in range(60)]
        self.assertTrue(c.mset({k: k for k in keys}))
        key = next(k for k, h in zip(keys, self.holders(rl, keys)) if h[0] == 0)
        self.redises[0].stop()
        for then in (("DBSIZE",), ("SCAN", "0"), ("INFO", "keyspace")):
            p = c.pipeline(transaction=False)
            p.get(key)
            p.execute_command(*then)
            self.assertEqual(p.execute(raise_on_error=False)[0], key.encode(), then)

    def test_miss_failover_reads_past_an_empty_replica(self):
        plain = self.proxy(replicas=2, write="all", name="plain")
        rl = self.proxy(replicas=2, write="all", miss_failover=True)
        c, p = self.client(rl), self.client(plain)
        keys = [f"m:{i}" for i in range(40)]
        self.assertTrue(c.mset({k: k for k in keys}))
        # The primaries lose everything, as a restarted or newly joined backend would.
        for k, owners in zip(keys, self.holders(rl, keys)):
            self.direct(owners[0]).delete(k)
        for k in keys:
            self.assertEqual(c.get(k), k.encode())  # from the second replica
            self.assertIsNone(p.get(k))              # without miss_failover: the primary's miss
        self.assertEqual(metric_value(rl.admin_port, "ringleader_read_miss_failovers_total"),
                         len(keys))
        # A key no replica holds is a miss after asking every one of them.
        self.assertIsNone(c.get("nowhere"))
        # Other replies are answers: no second ask.
        self.assertEqual(c.hset("h", "f", "v"), 1)
        self.assertEqual(c.hget("h", "f"), b"v")
        self.assertEqual(c.llen("h-missing"), 0)
        self.assertEqual(metric_value(rl.admin_port, "ringleader_read_miss_failovers_total"),
                         len(keys) + 1)
        # An MGET part whose keys all miss on their primary asks the next replica too.
        self.assertEqual(c.mget(keys), [k.encode() for k in keys])
        self.assertEqual(p.mget(keys), [None] * len(keys))
        # A read never sees what its client wrote after it: with a write already sent behind
        # it, a read that would fail over to the replica the write reached takes the primary's
        # miss instead of the later value.
        pipe = c.pipeline(transaction=False)
        for k in keys[:10]:
            pipe.get(k).set(k, "later")
        self.assertEqual(pipe.execute()[::2], [None] * 10)
        self.assertEqual([c.get(k) for k in keys[:10]], [b"later"] * 10)

    def test_any_spreads_reads_over_the_replicas(self):
        rl = self.proxy(replicas=2, read="any")
        c = self.client(rl)
        c.set("hot", "x")
        served = self.served(c, "hot", self.holders(rl, ["hot"])[0], 200)
        self.assertEqual(sum(served), 200)
        for n in served:
            self.assertGreaterEqual(n, 50, served)

    def test_primary_reads_only_the_primary(self):
        rl = self.proxy(replicas=2, read="primary")
        c = self.client(rl)
        c.set("hot", "x")
        self.assertEqual(self.served(c, "hot", self.holders(rl, ["hot"])[0], 50), [50, 0])

    def test_nearest_reads_the_replica_in_the_instances_zone(self):
        zones = ["east", "west", "north"]
        probe = self.proxy(replicas=2, zones=zones, name="probe")
        owners = self.holders(probe, ["hot"])[0]
        near = owners[1]  # the second replica: nearest must beat the primary
        rl = self.proxy(replicas=2, read="nearest", zone=zones[near], zones=zones)
        c = self.client(rl)
        c.set("hot", "x")
        self.assertEqual(self.served(c, "hot", owners, 50), [0, 50])


def mc_command(port, line, data=None):
    """One memcached text command on a fresh connection; the reply up to END (retrievals and
    stats) or its one line (a meta value: its line and data block)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(line.encode() + b"\r\n" + (data + b"\r\n" if data is not None else b""))
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return reply
            reply += chunk
            if line.startswith(("get", "gets", "stats")):
                if reply.endswith(b"END\r\n") or reply.startswith((b"SERVER_ERROR", b"ERROR")):
                    return reply
            elif reply.startswith(b"VA ") and b"\r\n" in reply:  # a meta value: line and data
                header = reply.split(b"\r\n", 1)[0]
                if len(reply) >= len(header) + 2 + int(header.split(b" ")[1]) + 2:
                    return reply
            elif reply.endswith(b"\r\n"):
                return reply


class ReplicaAnswerNamingTest(unittest.TestCase):
    """A merged reply the proxy cannot use names the backend that sent it. When the primary
    is down a replica answers, and the error used to name the primary, which sent nothing."""

    def serve(self, conn, answer):
        """Plays a backend on `conn`: each RESP command read gets `answer(args)`."""
        buf = b""

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            head, buf = buf.split(b"\r\n", 1)
            return head

        def exactly(n):
            nonlocal buf
            while len(buf) < n + 2:
                data = conn.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            data, buf = buf[:n], buf[n + 2:]
            return data

        try:
            while True:
                count = int(line()[1:])
                args = [exactly(int(line()[1:])) for _ in range(count)]
                conn.sendall(answer(args))
        except (EOFError, OSError):
            pass

    def test_the_replica_that_answered_is_named(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(10)
        dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        dead.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        ports = [dead.getsockname()[1], listener.getsockname()[1]]

        def answer(args):
            # Keys "a..." (and "q...") are the dead backend's: the replica gets them only in
            # its place, and answers them wrongly (two items for one key; QUEUED for a write).
            # Keys "b..." are the replica's own, answered rightly; "q..." wrongly too.
            wrong = any(a[:1] in (b"a", b"q") for a in args[1:])
            if args[0].upper() == b"MGET":
                return b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n" if wrong else b"*1\r\n$1\r\nz\r\n"
            return b"+QUEUED\r\n" if wrong else b"+OK\r\n"

        def accept():
            try:
                conn, _ = listener.accept()
                with conn:
                    self.serve(conn, answer)
            except OSError:
                pass

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            with TempDir() as tmp, Ringleader(RINGLEADER, tmp, ports, proxy="workers = 1",
                                               ring="replicas = 2",
                                               extra=BACKEND + replication("one")) as rl:
                names = [f"{p}:{i}" for p in "abq" for i in range(100)]
                primaries = [h[0] for h in replica_backends(RINGLEADER, rl.config_path, names)]

                def key(prefix, primary):
                    return next(k for k, p in zip(names, primaries)
                                if k[0] == prefix and p == primary)
                a, b = key("a", "redis-0"), key("b", "redis-1")
                qa, qb = key("q", "redis-0"), key("q", "redis-1")
                c = redis.Redis(host="127.0.0.1", port=rl.port, socket_timeout=10)
                with self.assertRaises(redis.ResponseError) as err:
                    c.mget([a, b])
                self.assertEqual(str(err.exception), f"ringleader: backend redis-1 (127.0.0.1:"
                                 f"{ports[1]}): unexpected reply to a split request")
                with self.assertRaises(redis.ResponseError) as err:
                    c.mset({a: "1", b: "2"})
                self.assertTrue(str(err.exception).startswith(
                    "ringleader: redis-1 answered QUEUED (done on 1 of 2 backends: redis-1; "
                    "not on: redis-0)"), str(err.exception))
                # No part took it: the first part's reply is named, the replica's.
                with self.assertRaises(redis.ResponseError) as err:
                    c.mset({qa: "1", qb: "2"})
                self.assertEqual(str(err.exception), f"ringleader: backend redis-1 (127.0.0.1:"
                                 f"{ports[1]}): answered neither OK nor an error")
        finally:
            listener.close()
            dead.close()
            thread.join(timeout=15)


class MemcachedReplicationTest(unittest.TestCase):
    def setUp(self):
        self.tmp_ctx = TempDir()
        self.tmp = self.tmp_ctx.__enter__()
        self.mcs = [MemcachedServer(self.tmp).__enter__() for _ in range(3)]
        backends = [{"name": f"mc-{i}", "address": f"127.0.0.1:{m.port}"}
                    for i, m in enumerate(self.mcs)]
        self.rl = Ringleader(RINGLEADER, self.tmp, backends, proxy='protocol = "memcached"',
                             ring="replicas = 2",
                             extra=BACKEND + replication("all", "primary")).__enter__()

    def tearDown(self):
        self.rl.__exit__(None, None, None)
        for m in self.mcs:
            m.__exit__(None, None, None)
        self.tmp_ctx.__exit__(None, None, None)

    def holders(self, key):
        return [int(n.split("-")[1]) for n in replica_backends(RINGLEADER, self.rl.config_path,
                                                               [key])[0]]

    def test_sets_reach_both_replicas_and_gets_fail_over(self):
        keys = [f"m:{i}" for i in range(30)]
        for k in keys:
            self.assertEqual(mc_command(self.rl.port, f"set {k} 0 0 {len(k)}", k.encode()),
                             b"STORED\r\n")
        for k in keys:
            owners = self.holders(k)
            for i, m in enumerate(self.mcs):
                got = mc_command(m.port, f"get {k}")
                want = f"VALUE {k} 0 {len(k)}\r\n{k}\r\nEND\r\n".encode()
                self.assertEqual(got, want if i in owners else b"END\r\n", (k, i))
        self.mcs[0].stop()
        reply = mc_command(self.rl.port, "get " + " ".join(keys))
        for k in keys:
            self.assertIn(f"VALUE {k} 0 {len(k)}\r\n{k}\r\n".encode(), reply)
        stats = mc_command(self.rl.port, "stats")
        failovers = int(stats.split(b"STAT read_failovers ")[1].split(b"\r\n")[0])
        self.assertGreater(failovers, 0)

    def test_an_ms_too_large_for_the_primary_leaves_no_copy(self):
        # memcached unlinks the item when it cannot take an ms's value, whatever the mode. An
        # ms the primary decides alone (a mode, c, C) left the old value on the other replica,
        # and reads there still found it.
        big = b"x" * 1_100_000  # over memcached's 1 MB items, under proxy.max_request_bytes
        for flags in ("MR", "ME", "c", "C"):
            key = f"big:{flags}"
            self.assertEqual(mc_command(self.rl.port, f"set {key} 0 0 3", b"old"), b"STORED\r\n")
            if flags == "C":
                token = mc_command(self.rl.port, f"mg {key} c").split(b" c")[1].strip().decode()
                flags = "C" + token
            reply = mc_command(self.rl.port, f"ms {key} {len(big)} {flags}", big)
            self.assertEqual(reply, b"SERVER_ERROR object too large for cache\r\n", flags)
            for i in self.holders(key):
                self.assertEqual(mc_command(self.mcs[i].port, f"get {key}"), b"END\r\n",
                                 (flags, i))

    def test_gets_reads_the_primary_only(self):
        # A cas unique belongs to the server that gave it, and a cas goes to the primary: a
        # unique read from another replica could match a newer item there and let a stale cas
        # through. So gets and a meta get with c fail while the primary does not answer;
        # a plain get fails over.
        self.assertEqual(mc_command(self.rl.port, "set pc 0 0 1", b"a"), b"STORED\r\n")
        owners = self.holders("pc")
        self.mcs[owners[0]].stop()
        for line in ("gets pc", "mg pc c v", "gat 100 pc"):
            reply = mc_command(self.rl.port, line)
            self.assertTrue(reply.startswith(b"SERVER_ERROR ringleader: backend mc-%d "
                                             % owners[0]), (line, reply))
        self.assertEqual(mc_command(self.rl.port, "get pc"), b"VALUE pc 0 1\r\na\r\nEND\r\n")

    def test_miss_failover_for_gets(self):
        backends = [{"name": f"mc-{i}", "address": f"127.0.0.1:{m.port}"}
                    for i, m in enumerate(self.mcs)]
        rl = Ringleader(RINGLEADER, self.tmp, backends, proxy='protocol = "memcached"',
                        ring="replicas = 2", name="rl-miss",
                        extra=BACKEND + replication("all", "primary", True)).__enter__()
        try:
            keys = [f"g:{i}" for i in range(20)]
            for k in keys:
                mc_command(rl.port, f"set {k} 0 0 {len(k)}", k.encode())
                mc_command(self.mcs[self.holders(k)[0]].port, f"delete {k}")
            for k in keys:
                self.assertEqual(mc_command(rl.port, f"get {k}"),
                                 f"VALUE {k} 0 {len(k)}\r\n{k}\r\nEND\r\n".encode())
                self.assertEqual(mc_command(self.rl.port, f"get {k}"), b"END\r\n")
                # A meta get's miss (EN) fails over the same way.
                self.assertEqual(mc_command(rl.port, f"mg {k} v"),
                                 f"VA {len(k)}\r\n{k}\r\n".encode())
                self.assertEqual(mc_command(self.rl.port, f"mg {k} v"), b"EN\r\n")
        finally:
            rl.__exit__(None, None, None)

    def test_a_returned_cas_token_is_the_primarys(self):
        # ms and ma with c answer a cas token, which a later C compares on the primary. Under
        # write = "one" the copy acknowledged first answered, and a stalled primary made that
        # the other server's token: the compare then failed (EX) on a key nobody had changed.
        backends = [{"name": f"mc-{i}", "address": f"127.0.0.1:{m.port}"}
                    for i, m in enumerate(self.mcs)]
        rl = Ringleader(RINGLEADER, self.tmp, backends, proxy='protocol = "memcached"',
                        ring="replicas = 2", name="rl-one",
                        extra=BACKEND + replication("one", "primary")).__enter__()
        try:
            for key, line, data in (("ct", "ms ct 1 c", b"x"), ("cn", "ma cn N0 J5 c", None)):
                primary = self.mcs[self.holders(key)[0]]
                for _ in range(2):  # ma: created, then incremented
                    sigstop(primary.proc.pid)
                    try:
                        s = socket.create_connection(("127.0.0.1", rl.port), timeout=10)
                        s.sendall(line.encode() + b"\r\n" + (data + b"\r\n" if data else b""))
                        time.sleep(0.3)  # the other copy answers meanwhile
                    finally:
                        os.kill(primary.proc.pid, signal.SIGCONT)
                    reply = b""
                    while not reply.endswith(b"\r\n"):
                        reply += s.recv(1000)
                    s.close()
                    token = reply.split(b" c")[1].strip()
                    on_primary = mc_command(primary.port, f"mg {key} c")
                    self.assertEqual(on_primary, b"HD c" + token + b"\r\n", (line, reply))
                    # The token passes a compare through the proxy.
                    if data:
                        self.assertEqual(mc_command(rl.port, f"ms {key} 1 C{token.decode()}",
                                                    b"y"), b"HD\r\n")
                    else:
                        self.assertEqual(mc_command(rl.port, f"ma {key} C{token.decode()}"),
                                         b"HD\r\n")
        finally:
            rl.__exit__(None, None, None)

    def test_gat_moves_every_copys_ttl(self):
        # gat reads (and touches) the primary; the other copy gets the same exptime once the
        # read hit, so the copies expire together.
        # 100 s at first: short enough to tell from 1000, long enough to outlast a slow run.
        self.assertEqual(mc_command(self.rl.port, "set t 0 100 1", b"v"), b"STORED\r\n")
        for cmd in ("gat", "gats"):
            reply = mc_command(self.rl.port, f"{cmd} 1000 t")
            self.assertTrue(reply.startswith(b"VALUE t 0 1"), reply)
            for i in self.holders("t"):
                ttl = int(mc_command(self.mcs[i].port, "mg t t").split(b"t")[1])
                self.assertGreater(ttl, 900, (cmd, i))
        # A miss touches nothing.
        self.assertEqual(mc_command(self.rl.port, "gat 1000 t-absent"), b"END\r\n")
        for i in self.holders("t-absent"):
            self.assertEqual(mc_command(self.mcs[i].port, "mg t-absent t"), b"EN\r\n")

    def test_cas_applies_on_the_primary_and_drops_the_other_copy(self):
        self.assertEqual(mc_command(self.rl.port, "set c 0 0 1", b"a"), b"STORED\r\n")
        owners = self.holders("c")
        gets = mc_command(self.rl.port, "gets c")
        unique = gets.split(b"\r\n")[0].split(b" ")[4].decode()
        self.assertEqual(mc_command(self.rl.port, f"cas c 0 0 1 {unique}", b"b"), b"STORED\r\n")
        self.assertEqual(mc_command(self.mcs[owners[0]].port, "get c"),
                         b"VALUE c 0 1\r\nb\r\nEND\r\n")
        self.assertEqual(mc_command(self.mcs[owners[1]].port, "get c"), b"END\r\n")
        # A refused cas (EXISTS) leaves every copy as it was.
        self.assertEqual(mc_command(self.rl.port, "set c 0 0 1", b"z"), b"STORED\r\n")
        self.assertEqual(mc_command(self.rl.port, f"cas c 0 0 1 {unique}", b"c"), b"EXISTS\r\n")
        for i in owners:
            self.assertEqual(mc_command(self.mcs[i].port, "get c"), b"VALUE c 0 1\r\nz\r\nEND\r\n")
        # With the primary down a cas fails and the other replica keeps its copy: whether the
        # failure comes later (a refused connect) or at once (while reconnects back off).
        self.mcs[owners[0]].stop()
        for _ in range(3):
            self.assertTrue(mc_command(self.rl.port, f"cas c 0 0 1 {unique}", b"d")
                            .startswith(b"SERVER_ERROR ringleader: "))
            self.assertEqual(mc_command(self.mcs[owners[1]].port, "get c"),
                             b"VALUE c 0 1\r\nz\r\nEND\r\n")

    def copies(self, key):
        """What each backend of the key's replica set holds (get replies), primary first."""
        return [mc_command(self.mcs[i].port, f"get {key}") for i in self.holders(key)]

    def test_add_and_replace_are_decided_by_the_primary(self):
        """add on copies that drifted apart (the primary lost the item, the other kept it):
        the primary stores it and the other copy is brought to the same item; a second add is
        refused everywhere. ms in mode E and replace likewise."""
        for key, add in (("a", "add a 3 0 5"), ("m", "ms m 5 ME F3")):
            mc_command(self.mcs[self.holders(key)[1]].port, f"set {key} 0 0 5", b"stale")
            self.assertIn(mc_command(self.rl.port, add, b"first"), (b"STORED\r\n", b"HD\r\n"))
            first = b"VALUE %s 3 5\r\nfirst\r\nEND\r\n" % key.encode()
            self.assertEqual(self.copies(key), [first, first], add)
        self.assertEqual(mc_command(self.rl.port, "add a 0 0 6", b"second"), b"NOT_STORED\r\n")
        self.assertEqual(self.copies("a"), [b"VALUE a 3 5\r\nfirst\r\nEND\r\n"] * 2)
        # replace: only the primary holds the item; the replaced item reaches both copies.
        mc_command(self.mcs[self.holders("r")[0]].port, "set r 0 0 3", b"old")
        self.assertEqual(mc_command(self.rl.port, "replace r 0 0 3", b"new"), b"STORED\r\n")
        self.assertEqual(self.copies("r"), [b"VALUE r 0 3\r\nnew\r\nEND\r\n"] * 2)

if __name__ == "__main__":
    run_unittests(globals())
