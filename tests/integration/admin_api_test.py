#!/usr/bin/python3
"""The admin HTTP API, metrics and SIGHUP reload against a running `ringleader serve`,
with real redis-servers, promtool and a real Prometheus server (all on 127.0.0.1)."""
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.parse
import urllib.request

import redis

from harness import (Process, RedisServer, Ringleader, TempDir, admin_http, free_port,
                     metric_value, port_open, run_unittests, wait_until)

RINGLEADER = None


http = admin_http


def offline_lookup(config_path, key):
    """(hash, replica names) from `ringleader lookup`."""
    out = subprocess.run([RINGLEADER, "lookup", "-c", config_path, key], capture_output=True,
                         check=True).stdout.decode()
    fields = out.rstrip("\n").split("\t")
    return int(fields[1]), fields[2].split(",")


def lookup(config_path, key):
    return offline_lookup(config_path, key)[1]


@contextlib.contextmanager
def redis_servers(tmp, count):
    """`count` redis-servers, stopped when the block ends."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(RedisServer(tmp)) for _ in range(count)]


def socket_listening_silently():
    """A loopback socket that listens and never accepts: the kernel completes connections to
    it, and what is sent there is never answered."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def rewrite(path, text):
    """Replaces the config file at `path` with `text` (for a SIGHUP to read)."""
    with open(path, "w") as f:
        f.write(text)


class BackgroundLoad:
    """Three threads, each calling step(worker, i, client) for i = 0, 1, ... with its own
    redis-py client on `port`, until the block ends, 40 s pass or 20,000 steps are done."""

    def __init__(self, port, step, threads=3):
        self.port, self.step, self.steps = port, step, 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(w,)) for w in range(threads)]

    def _run(self, worker):
        c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)
        deadline = time.monotonic() + 40
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline and i < 20000:
            self.step(worker, i, c)
            self.steps += 1
            i += 1

    def wait_for(self, more, what="load"):
        """Returns once `more` further steps are done."""
        target = self.steps + more
        wait_until(lambda: self.steps >= target, timeout=20, what=what)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


class AdminCase(unittest.TestCase):
    token = ""

    @classmethod
    def setUpClass(cls):
        cls.tmp_ctx = TempDir()
        cls.tmp = cls.tmp_ctx.__enter__()
        cls.redises = [RedisServer(cls.tmp).__enter__() for _ in range(3)]
        backends = [{"name": f"redis-{i}", "address": f"127.0.0.1:{r.port}", "zone": f"z{i}"}
                    for i, r in enumerate(cls.redises)]
        cls.rl = Ringleader(RINGLEADER, cls.tmp, backends, ring="replicas = 2",
                            # write = "all": an acknowledged write is on every replica, which
                            # the lookup tests read directly.
                            extra='\n[replication]\nwrite = "all"\n\n[log]\nlevel = "info"\n')
        # The harness writes an [admin] table; add the token to it when the test wants one.
        if cls.token:
            with open(cls.rl.config_path) as f:
                text = f.read()
            text = text.replace("[admin]\n", f'[admin]\ntoken = "{cls.token}"\n', 1)
            with open(cls.rl.config_path, "w") as f:
                f.write(text)
        cls.rl.__enter__()
        wait_until(lambda: port_open(cls.rl.admin_port), what="admin port")

    @classmethod
    def tearDownClass(cls):
        cls.rl.__exit__(None, None, None)
        for r in cls.redises:
            r.__exit__(None, None, None)
        cls.tmp_ctx.__exit__(None, None, None)

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.rl.port, socket_timeout=10)


class EndpointsTest(AdminCase):
    def test_health_and_readiness(self):
        self.assertEqual(http("GET", self.rl.admin_port, "/healthz")[0], 200)
        status, body = http("GET", self.rl.admin_port, "/readyz")
        self.assertEqual(status, 200)
        self.assertTrue(body["ready"])

    def test_ring(self):
        status, ring = http("GET", self.rl.admin_port, "/ring")
        self.assertEqual(status, 200)
        self.assertEqual(ring["epoch"], 0)
        self.assertEqual(ring["algorithm"], "vnode")
        self.assertEqual(ring["replicas"], 2)
        names = [b["name"] for b in ring["backends"]]
        self.assertEqual(names, ["redis-0", "redis-1", "redis-2"])
        for b, r in zip(ring["backends"], self.redises):
            self.assertEqual(b["address"], f"127.0.0.1:{r.port}")
            self.assertEqual(b["weight"], 1)
            self.assertEqual(b["state"], "active")
            self.assertIn(b["zone"], ("z0", "z1", "z2"))
        self.assertAlmostEqual(sum(b["share"] for b in ring["backends"]), 1.0, places=9)

    def test_lookup_agrees_with_the_offline_lookup_and_the_data(self):
        c = self.client()
        for key in ["user:1", "user:{42}:name", "a b/c?d&e"]:
            status, body = http("GET", self.rl.admin_port,
                                "/ring/lookup?key=" + urllib.parse.quote(key))
            self.assertEqual(status, 200)
            self.assertEqual(body["key"], key)
            self.assertEqual(body["epoch"], 0)
            offline_hash, offline_replicas = offline_lookup(self.rl.config_path, key)
            self.assertEqual(body["replicas"], offline_replicas)
            # The hash as a number, and as a decimal string for consumers whose numbers are
            # doubles (jq, JavaScript), which round hashes above 2^53.
            self.assertEqual(body["hash"], offline_hash)
            self.assertEqual(body["hash_str"], str(offline_hash))
            self.assertEqual(len(body["replicas"]), 2)
            c.set(key, "x")
            primary = self.redises[int(body["replicas"][0].split("-")[1])]
            self.assertEqual(redis.Redis(port=primary.port).get(key), b"x")
        self.assertEqual(http("GET", self.rl.admin_port, "/ring/lookup")[0], 400)

    def test_the_offline_lookup_prints_each_key_on_one_line_escaped(self):
        # A key with a TAB, a newline, a CR, a backslash and ESC: one line, three columns, the
        # key escaped, its hash and replicas those of the key itself.
        key = "a\tb\nc\rd\\e\x1b[0m"
        out = subprocess.run([RINGLEADER, "lookup", "-c", self.rl.config_path, key, "plain"],
                             capture_output=True, check=True).stdout.decode()
        lines = out.split("\n")
        self.assertEqual(lines[-1], "")
        self.assertEqual(len(lines), 3, out)
        fields = lines[0].split("\t")
        self.assertEqual(len(fields), 3, out)
        self.assertEqual(fields[0], "a\\tb\\nc\\rd\\\\e\\x1b[0m")
        self.assertTrue(lines[1].startswith("plain\t"))
        _, body = http("GET", self.rl.admin_port, "/ring/lookup?key=" + urllib.parse.quote(key))
        self.assertEqual(int(fields[1]), body["hash"])
        self.assertEqual(fields[2].split(","), body["replicas"])

    def test_the_offline_lookup_escapes_bytes_that_are_not_utf8(self):
        # A byte outside UTF-8 and a C1 control are escaped, UTF-8 text is not: the line is text
        # a terminal or a log shipper takes, and unescaping it gives the key back.
        key = b"\xff\xc2\x9bk\xc3\xa9"
        out = subprocess.run([RINGLEADER, "lookup", "-c", self.rl.config_path, key],
                             capture_output=True, check=True).stdout
        fields = out.decode("utf-8").rstrip("\n").split("\t")
        self.assertEqual(fields[0], "\\xff\\xc2\\x9bké")
        _, body = http("GET", self.rl.admin_port, "/ring/lookup?key=" + urllib.parse.quote(key))
        self.assertEqual(int(fields[1]), body["hash"])

    def test_writes_reach_every_replica_that_lookup_names(self):
        # replicas = 2: a write lands on both backends /ring/lookup names, and only there.
        c = self.client()
        for i in range(30):
            key = f"copies:{i}"
            c.set(key, f"v{i}")
            status, body = http("GET", self.rl.admin_port,
                                "/ring/lookup?key=" + urllib.parse.quote(key))
            self.assertEqual(status, 200)
            holders = {int(name.split("-")[1]) for name in body["replicas"]}
            for index, r in enumerate(self.redises):
                direct = redis.Redis(port=r.port).get(key)
                self.assertEqual(direct, f"v{i}".encode() if index in holders else None,
                                 (key, index, body["replicas"]))
        out = subprocess.run([RINGLEADER, "check", "-c", self.rl.config_path],
                             capture_output=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn(b"note:", out.stderr)

    def test_cluster_in_static_mode(self):
        status, body = http("GET", self.rl.admin_port, "/cluster")
        self.assertEqual(status, 200)
        self.assertEqual(body["role"], "static")
        # Every field raft mode has, so that one reader serves both kinds of instance.
        for field in ("node_id", "term", "leader", "commit_index", "applied_index", "epoch",
                      "stale", "caught_up", "removed", "diverged", "elections", "listen",
                      "founders", "foreign_peers", "peers"):
            self.assertIn(field, body)
        self.assertEqual((body["caught_up"], body["removed"], body["diverged"], body["listen"]),
                         (True, False, False, None))

    def test_mutations_are_refused_in_static_mode(self):
        for method, path, body in [("POST", "/backends", {"name": "x", "address": "127.0.0.1:1"}),
                                   ("DELETE", "/backends/redis-0", None),
                                   ("PATCH", "/backends/redis-0", {"weight": 2}),
                                   ("POST", "/backends/redis-0/drain", None)]:
            status, reply = http(method, self.rl.admin_port, path, body)
            self.assertEqual(status, 409, (method, path, reply))
            self.assertIn("SIGHUP", reply["error"])

    def test_unknown_paths_and_methods(self):
        status, body = http("GET", self.rl.admin_port, "/nope")
        self.assertEqual(status, 404)
        self.assertIn("error", body)
        self.assertEqual(http("DELETE", self.rl.admin_port, "/ring")[0], 405)

    def test_metrics_pass_promtool_and_move_with_traffic(self):
        c = self.client()

        def count():
            return metric_value(self.rl.admin_port,
                                'ringleader_requests_total{command="set",outcome="ok"}') or 0.0
        before = count()
        for i in range(50):
            c.set(f"m:{i}", i)
        self.assertEqual(count(), before + 50)
        status, text = http("GET", self.rl.admin_port, "/metrics")
        check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                               capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        for name in ("ringleader_request_duration_seconds_bucket", "ringleader_backend_up",
                     "ringleader_backend_connections", "ringleader_ring_epoch",
                     "ringleader_client_connections", "ringleader_backend_key_space_share",
                     "ringleader_backend_request_duration_seconds_count",
                     "ringleader_heap_trims_total", "ringleader_heap_returned_bytes_total",
                     "ringleader_heap_in_use_bytes"):
            self.assertIn(name, text)


class CtlTest(AdminCase):
    def ctl(self, *args, token=None):
        env = dict(os.environ)
        if token:
            env["RINGLEADER_ADMIN_TOKEN"] = token
        return subprocess.run([RINGLEADER, "ctl", "--admin", f"127.0.0.1:{self.rl.admin_port}",
                               *args], capture_output=True, text=True, timeout=20, env=env)

    def test_ring_table_and_json(self):
        out = self.ctl("ring")
        self.assertEqual(out.returncode, 0, out.stderr)
        for i in range(3):
            self.assertIn(f"redis-{i}", out.stdout)
        out = self.ctl("--json", "ring")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), http("GET", self.rl.admin_port, "/ring")[1])

    def test_lookup_status_health(self):
        out = self.ctl("lookup", "user:7")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(lookup(self.rl.config_path, "user:7")[0], out.stdout)
        out = self.ctl("cluster", "status")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("static", out.stdout)
        self.assertEqual(self.ctl("health").returncode, 0)
        self.assertEqual(self.ctl("ready").returncode, 0)
        out = self.ctl("metrics")
        self.assertIn("ringleader_ring_epoch", out.stdout)

    def test_refused_change_and_unreachable_server(self):
        out = self.ctl("backends", "drain", "redis-0")
        self.assertEqual(out.returncode, 1)
        self.assertIn("static", out.stdout + out.stderr)
        dead = subprocess.run([RINGLEADER, "ctl", "--admin", f"127.0.0.1:{free_port()}", "ring"],
                              capture_output=True, text=True, timeout=20)
        self.assertEqual(dead.returncode, 3)
        self.assertEqual(self.ctl("frobnicate").returncode, 2)


class CtlAgainstAWrongServerTest(unittest.TestCase):
    """ctl reports answers the admin API would never give (another server on the port, a
    proxy in between, a broken build) instead of taking them for success."""

    def answered_by(self, answer, *args):
        """Runs ctl against a server that answers every request with `answer` and then keeps
        the connection open; returns (exit code, stderr, seconds taken)."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(10)
        stop = threading.Event()

        def serve():
            try:
                conn, _ = listener.accept()
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        more = conn.recv(65536)
                        if not more:
                            return
                        data += more
                    conn.sendall(answer)
                    stop.wait(10)  # never closes first: ctl must know when it has read enough
            except OSError:
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            began = time.monotonic()
            out = subprocess.run([RINGLEADER, "ctl", "--timeout", "5", "--admin",
                                  f"127.0.0.1:{listener.getsockname()[1]}", *args],
                                 capture_output=True, text=True, timeout=20)
            return out.returncode, out.stderr, time.monotonic() - began
        finally:
            stop.set()
            listener.close()
            thread.join(timeout=15)

    def test_wrong_answers_are_errors(self):
        cases = [
            # A Content-Length past 64 bits used to read as "no length": exit 0 at once.
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
             ("ring",), 1, "malformed Content-Length"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}", ("ring",), 1,
             "malformed Content-Length"),
            # A 200 whose body is no JSON object was printed as it was, or not at all, exit 0.
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"a\":", ("ring",), 1,
             "is not a JSON object"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", ("ring",), 1,
             "is not a JSON object"),
            # ... and for a change, whether it applied is not known.
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
             ("backends", "drain", "r0"), 4, "the change may still be applied"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x1b[2J", ("ring",), 1,
             "not a JSON object: ?[2J"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
             ("ring",), 1, "two different Content-Length"),
            # Said at once, not after the timeout as an answer cut short.
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
             ("ring",), 1, "Transfer-Encoding"),
        ]
        for answer, args, code, text in cases:
            status, err, took = self.answered_by(answer, *args)
            self.assertEqual(status, code, (answer, err))
            self.assertIn(text, err, answer)
            self.assertLess(took, 4, (answer, err))

    def test_an_interim_answer_alone_is_no_answer(self):
        # Only a 100 Continue, then the close: whether the change applied is unknown (exit 4),
        # as when the connection closes before any answer.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(10)

        def serve():
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            out = subprocess.run([RINGLEADER, "ctl", "--timeout", "5", "--admin",
                                  f"127.0.0.1:{listener.getsockname()[1]}", "backends", "drain",
                                  "r0"], capture_output=True, text=True, timeout=20)
        finally:
            listener.close()
            thread.join(timeout=15)
        self.assertEqual(out.returncode, 4, out.stderr)
        self.assertIn("closed before any answer", out.stderr)

    def test_an_interim_answer_is_read_past(self):
        # A 100 Continue before the answer used to be taken for the answer itself.
        status, err, took = self.answered_by(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n"
            b"{\"status\":\"ok\"}", "health")
        self.assertEqual(status, 0, err)
        self.assertLess(took, 4, err)


class TokenTest(AdminCase):
    token = "t0ken"

    def test_mutations_need_the_token_reads_do_not(self):
        port = self.rl.admin_port
        self.assertEqual(http("GET", port, "/ring")[0], 200)
        self.assertEqual(http("GET", port, "/metrics")[0], 200)
        status, body = http("DELETE", port, "/backends/redis-0")
        self.assertEqual(status, 401)
        self.assertIn("error", body)
        self.assertEqual(http("DELETE", port, "/backends/redis-0", token="wrong")[0], 401)
        # With the right token the request reaches the membership: static mode refuses it.
        self.assertEqual(http("DELETE", port, "/backends/redis-0", token="t0ken")[0], 409)


class StartupRulesTest(unittest.TestCase):
    def test_refuses_a_non_loopback_admin_address_without_a_token(self):
        with TempDir() as tmp:
            with RedisServer(tmp) as r:
                rl = Ringleader(RINGLEADER, tmp, [r.port])
                with open(rl.config_path) as f:
                    text = f.read()
                text = text.replace(f'listen = "127.0.0.1:{rl.admin_port}"',
                                    f'listen = "0.0.0.0:{rl.admin_port}"')
                with open(rl.config_path, "w") as f:
                    f.write(text)
                proc = subprocess.run([RINGLEADER, "serve", "-c", rl.config_path],
                                      capture_output=True, timeout=20)
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn(b"token", proc.stderr + proc.stdout)


class ReloadTest(unittest.TestCase):
    def test_sighup_publishes_new_backends_without_failing_a_request(self):
        with TempDir() as tmp, redis_servers(tmp, 4) as redises:
            rl = Ringleader(RINGLEADER, tmp, [r.port for r in redises[:3]])
            errors, misses = [], []

            def set_then_get(worker, i, c):
                k = f"reload:{worker}:{i}"
                try:
                    c.set(k, i)
                    value = c.get(k)
                    if value is None:
                        # The reload moved the key between the SET and the GET: a miss, not a
                        # failure. Checked below: only moved keys.
                        misses.append(k)
                    elif value != str(i).encode():
                        errors.append(f"{k}: wrong value {value!r}")
                except redis.RedisError as e:
                    errors.append(f"{k}: {e}")

            with rl, BackgroundLoad(rl.port, set_then_get) as load:
                load.wait_for(500)
                with open(rl.config_path, "a") as f:
                    f.write(f'\n[[backends]]\nname = "redis-3"\n'
                            f'address = "127.0.0.1:{redises[3].port}"\n')
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: len(http("GET", rl.admin_port, "/ring")[1]["backends"]) == 4,
                           timeout=10, what="the reloaded ring")
                load.wait_for(500, "load after reload")
            self.assertEqual(errors, [])
            for k in misses:
                self.assertEqual(lookup(rl.config_path, k)[0], "redis-3",
                                 f"{k} missed but did not move to the new backend")
            self.assertLess(len(misses), 10)
            self.assertGreater(redis.Redis(port=redises[3].port).dbsize(), 0,
                               "the new backend got no keys")

    EJECTED = 'ringleader_backend_ejections_total{backend="comes-and-goes"}'

    @contextlib.contextmanager
    def a_backend_that_comes_and_goes(self):
        """A ringleader over a live backend, "stays", and a dead one, "comes-and-goes", ejected
        after its first failed request; yields (ringleader, remove, add_back): SIGHUP reloads
        that take it out of the ring and put it back, each waiting until /ring shows it."""
        with TempDir() as tmp, redis_servers(tmp, 1) as redises:
            rl = Ringleader(RINGLEADER, tmp, [
                {"name": "stays", "address": f"127.0.0.1:{redises[0].port}"},
                {"name": "comes-and-goes", "address": f"127.0.0.1:{free_port()}"}],
                extra="[backend]\nfailure_limit = 1\nretry_timeout_ms = 600000\n")
            with rl:
                with open(rl.config_path) as f:
                    both = f.read()
                key = next(k for k in (f"k:{i}" for i in range(200))
                           if lookup(rl.config_path, k)[0] == "comes-and-goes")
                with self.assertRaises(redis.RedisError):
                    redis.Redis(port=rl.port, socket_timeout=10).get(key)
                wait_until(lambda: metric_value(rl.admin_port, self.EJECTED) == 1, timeout=10,
                           what="the ejection")

                def reload(text, backends, what):
                    rewrite(rl.config_path, text)
                    rl.proc.send_signal(signal.SIGHUP)
                    wait_until(lambda: len(http("GET", rl.admin_port, "/ring")[1]["backends"])
                               == backends, timeout=10, what=what)

                only_stays = both[:both.index("[[backends]]", both.index("[[backends]]") + 1)]
                yield (rl, lambda: reload(only_stays, 1, "the removal"),
                       lambda: reload(both, 2, "the return"))

    def test_a_removed_backends_statistics_are_forgotten(self):
        # Names that come and go (a pod's per deploy) must not pile up: once a backend left the
        # ring and its pools closed, its statistics go (requests, failures, ejections), and
        # the name added again is a new series counting from zero.
        failed = 'ringleader_backend_requests_total{backend="comes-and-goes",outcome="failed"}'
        with self.a_backend_that_comes_and_goes() as (rl, remove, add_back):
            self.assertGreater(metric_value(rl.admin_port, failed), 0)
            remove()
            wait_until(lambda: metric_value(rl.admin_port, failed) is None, timeout=10,
                       what="the removed backend's series to end")
            # A scrape forgets what no pool holds any more; the idle pools close as soon as
            # the workers take the new ring, well within the second.
            time.sleep(1)
            metric_value(rl.admin_port, failed)
            add_back()
            self.assertEqual(metric_value(rl.admin_port, failed), 0)
            self.assertEqual(metric_value(rl.admin_port, self.EJECTED), 0)

    def test_a_removed_backends_ejections_are_forgotten_at_once(self):
        # Removed and added back with no scrape between: its ejection count starts from zero.
        with self.a_backend_that_comes_and_goes() as (rl, remove, add_back):
            remove()
            add_back()
            self.assertEqual(metric_value(rl.admin_port, self.EJECTED), 0)

    def test_sighup_readdressing_an_ejected_backend_readmits_it(self):
        # An ejection is of a server: a reload that points the backend at another address
        # ends it, rather than leaving the new server out until retry_timeout_ms.
        with TempDir() as tmp, redis_servers(tmp, 2) as redises:
            dead = free_port()
            rl = Ringleader(RINGLEADER, tmp, [
                {"name": "live", "address": f"127.0.0.1:{redises[0].port}"},
                {"name": "moved", "address": f"127.0.0.1:{dead}"}],
                extra="[backend]\nfailure_limit = 1\nretry_timeout_ms = 600000\n")
            with rl:
                key = next(k for k in (f"mv:{i}" for i in range(200))
                           if lookup(rl.config_path, k)[0] == "moved")
                c = redis.Redis(port=rl.port, socket_timeout=10)
                with self.assertRaises(redis.RedisError):
                    c.get(key)

                def ejected():
                    return {b["name"]: b["ejected"]
                            for b in http("GET", rl.admin_port, "/ring")[1]["backends"]}

                wait_until(lambda: ejected()["moved"], timeout=10, what="the ejection")
                with open(rl.config_path) as f:
                    text = f.read()
                with open(rl.config_path, "w") as f:
                    f.write(text.replace(f"127.0.0.1:{dead}", f"127.0.0.1:{redises[1].port}"))
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: not ejected()["moved"], timeout=10, what="the readmission")
                # The old address could not be reached; nothing is known of the new one yet.
                wait_until(lambda: metric_value(
                    rl.admin_port, 'ringleader_backend_up{backend="moved"}') == 1, timeout=10,
                    what="the moved backend no longer reported unreachable")
                self.assertTrue(c.set(key, "here"))
                self.assertEqual(redis.Redis(port=redises[1].port).get(key), b"here")

    def test_failures_at_an_old_address_do_not_eject_the_backend_at_its_new_one(self):
        # A request in flight when a reload re-points its backend fails at the old address;
        # that is no reason to take the backend out at the new one.
        with TempDir() as tmp, redis_servers(tmp, 2) as redises, \
                contextlib.closing(socket_listening_silently()) as silent:
            rl = Ringleader(RINGLEADER, tmp, [
                {"name": "live", "address": f"127.0.0.1:{redises[0].port}"},
                {"name": "moved", "address": f"127.0.0.1:{silent.getsockname()[1]}"}],
                proxy="workers = 1",
                extra="[backend]\ntimeout_ms = 1500\nfailure_limit = 1\n"
                      "retry_timeout_ms = 600000\n")
            with rl:
                key = next(k for k in (f"mv:{i}" for i in range(200))
                           if lookup(rl.config_path, k)[0] == "moved")
                outcome = []

                def stuck_get():
                    try:
                        outcome.append(redis.Redis(port=rl.port, socket_timeout=10).get(key))
                    except redis.RedisError as e:
                        outcome.append(e)

                t = threading.Thread(target=stuck_get)
                t.start()
                wait_until(lambda: metric_value(
                    rl.admin_port, 'ringleader_backend_connections{backend="moved"}'),
                    timeout=10, what="the request to reach the silent server")
                with open(rl.config_path) as f:
                    text = f.read()
                rewrite(rl.config_path, text.replace(f"127.0.0.1:{silent.getsockname()[1]}",
                                                     f"127.0.0.1:{redises[1].port}"))
                rl.proc.send_signal(signal.SIGHUP)
                t.join(timeout=15)
                self.assertIn("timeout", str(outcome[0]))
                time.sleep(0.3)  # the ejection the failure asked for would be applied by now
                ring = http("GET", rl.admin_port, "/ring")[1]
                self.assertEqual({b["name"]: b["ejected"] for b in ring["backends"]},
                                 {"live": False, "moved": False})
                c = redis.Redis(port=rl.port, socket_timeout=10)
                self.assertTrue(c.set(key, "here"))
                self.assertEqual(redis.Redis(port=redises[1].port).get(key), b"here")

    def test_sighup_refuses_a_backend_at_the_running_listen_address(self):
        # proxy.listen takes a restart to change, so the file's new listen is not the one in
        # force: a backend at the running address would have its requests come back in.
        with TempDir() as tmp, RedisServer(tmp) as r0:
            rl = Ringleader(RINGLEADER, tmp, [r0.port])
            with open(rl.config_path) as f:
                original = f.read()
            with rl:
                rewrite(rl.config_path,
                        original.replace(f'listen = "127.0.0.1:{rl.port}"',
                                         f'listen = "127.0.0.1:{free_port()}"', 1)
                        + f'\n[[backends]]\nname = "self"\naddress = "localhost:{rl.port}"\n')
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: "new ring rejected" in rl.tail(50), timeout=10,
                           what="the refusal")
                self.assertIn(f"backend self (localhost:{rl.port}) is this instance's own "
                              f"proxy.listen (127.0.0.1:{rl.port})", rl.tail(50))
                ring = http("GET", rl.admin_port, "/ring")[1]
                self.assertEqual([b["name"] for b in ring["backends"]], ["redis-0"])
                c = redis.Redis(port=rl.port, socket_timeout=10)
                for i in range(50):
                    self.assertTrue(c.set(f"self:{i}", i))

    def test_sighup_adding_backends_raises_the_open_file_limit(self):
        # The limit is raised toward what the ring needs at start, and again when a reload
        # grows the ring: the new backends' connections must not fail with EMFILE.
        with TempDir() as tmp, redis_servers(tmp, 2) as redises:
            rl = Ringleader(RINGLEADER, tmp, [redises[0].port],
                            proxy="workers = 8\nmax_clients = 100",
                            extra="[backend]\nconnections = 64\n")
            with rl:
                # Enough for 100 clients and 8 workers x 64 connections to one backend, not
                # to two.
                _, hard = resource.prlimit(rl.proc.pid, resource.RLIMIT_NOFILE)
                self.assertGreater(hard, 2000)
                resource.prlimit(rl.proc.pid, resource.RLIMIT_NOFILE, (1000, hard))
                with open(rl.config_path, "a") as f:
                    f.write(f'\n[[backends]]\nname = "redis-1"\n'
                            f'address = "127.0.0.1:{redises[1].port}"\n')
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: len(http("GET", rl.admin_port, "/ring")[1]["backends"]) == 2,
                           timeout=10, what="the reloaded ring")
                raised, _ = resource.prlimit(rl.proc.pid, resource.RLIMIT_NOFILE)
                self.assertGreaterEqual(raised, 100 + 2 * 512)
                self.assertIn("open-file limit raised", rl.tail(50))

    def test_sighup_growing_the_ring_past_the_open_file_limit_admits_fewer_clients(self):
        # What the limit cannot hold once the new backends' connections are counted is
        # refused with the max_clients error, not closed without a word when accept() fails.
        with TempDir() as tmp, redis_servers(tmp, 2) as redises:
            rl = Ringleader(RINGLEADER, tmp, [redises[0].port],
                            proxy="workers = 1\nmax_clients = 100",
                            extra="[backend]\nconnections = 64\n")
            with open(rl.config_path) as f:
                one = f.read()
            two = one + (f'\n[[backends]]\nname = "redis-1"\n'
                         f'address = "127.0.0.1:{redises[1].port}"\n')
            with rl:
                # 100 clients and 64 connections to one backend fit in 458 descriptors (with
                # the worker's and the process's reserves); to two backends, 66 clients do.
                resource.prlimit(rl.proc.pid, resource.RLIMIT_NOFILE, (458, 458))
                rewrite(rl.config_path, two)
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: "at most 66 clients are admitted" in rl.tail(50), timeout=10,
                           what="the warning")

                def admitted():
                    conns, refused = [], 0
                    try:
                        for _ in range(101):
                            s = socket.create_connection(("127.0.0.1", rl.port), timeout=10)
                            conns.append(s)
                            s.sendall(b"PING\r\n")
                            reply = s.recv(100)
                            if reply == b"-ERR max number of clients reached\r\n":
                                refused += 1
                            else:
                                self.assertEqual(reply, b"+PONG\r\n")
                    finally:
                        for s in conns:
                            s.close()
                    return 101 - refused

                def no_clients():
                    wait_until(lambda: metric_value(rl.admin_port,
                                                    "ringleader_client_connections") == 0,
                               timeout=10, what="the clients gone")

                self.assertEqual(admitted(), 66)
                no_clients()
                info = redis.Redis(port=rl.port, socket_timeout=10).info("clients")
                self.assertEqual(info["maxclients"], 66)
                rewrite(rl.config_path, one)
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: "holds proxy.max_clients = 100 clients again" in rl.tail(50),
                           timeout=10, what="the limit to hold every client again")
                no_clients()
                self.assertEqual(admitted(), 100)

    def test_sighup_removing_backends_lets_their_requests_in_flight_finish(self):
        # Pipelined writes under load while SIGHUP takes two of four backends out and puts
        # them back: requests already sent to a backend that leaves are answered by it, not
        # failed ("shutting down"); later ones go to the keys' new owners.
        with TempDir() as tmp, redis_servers(tmp, 4) as redises:
            rl = Ringleader(RINGLEADER, tmp, [r.port for r in redises])
            errors = []

            def pipelined_sets(worker, batch, c):
                pipe = c.pipeline(transaction=False)
                for i in range(50):
                    pipe.set(f"hup:{worker}:{batch}:{i}", i)
                errors.extend(str(reply) for reply in pipe.execute(raise_on_error=False)
                              if isinstance(reply, Exception))

            with rl, BackgroundLoad(rl.port, pipelined_sets) as load:
                with open(rl.config_path) as f:
                    full = f.read()
                reduced = "[[backends]]".join(full.split("[[backends]]")[:3])  # two backends
                for text in [reduced, full, reduced, full]:
                    load.wait_for(20)
                    with open(rl.config_path, "w") as f:
                        f.write(text)
                    rl.proc.send_signal(signal.SIGHUP)
                    wanted = text.count("[[backends]]")
                    wait_until(lambda: len(http("GET", rl.admin_port, "/ring")[1]["backends"])
                               == wanted, timeout=10, what="the reloaded ring")
                load.wait_for(20, "load after")
            self.assertEqual(errors[:5], [])

    def test_sighup_takes_a_new_admin_token_and_names_what_needs_a_restart(self):
        with TempDir() as tmp, RedisServer(tmp) as r:
            rl = Ringleader(RINGLEADER, tmp, [r.port])
            with open(rl.config_path) as f:
                original = f.read()

            rewrite(rl.config_path, original.replace("[admin]\n", '[admin]\ntoken = "old"\n', 1))
            with rl:
                def status(token):
                    return http("POST", rl.admin_port, "/backends/redis-0/drain", token=token)[0]
                self.assertEqual(status("old"), 409)  # accepted, refused by static mode
                rewrite(rl.config_path, original.replace("[admin]\n", '[admin]\ntoken = "new"\n', 1)
                        .replace("[proxy]\n", "[proxy]\nmax_clients = 77\n", 1)
                        + '\n[backend]\ntimeout_ms = 1234\n')
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: status("new") == 409, timeout=10, what="the new token")
                self.assertEqual(status("old"), 401)
                wait_until(lambda: "need a restart" in rl.tail(50), timeout=10, what="the warning")
                self.assertIn("changes in [proxy], [backend] need a restart", rl.tail(50))
                # A token that comes with a new admin.listen waits for the restart with it.
                rewrite(rl.config_path,
                        original.replace("[admin]\n", '[admin]\ntoken = "newer"\n', 1)
                        .replace(f'listen = "127.0.0.1:{rl.admin_port}"',
                                 f'listen = "127.0.0.1:{free_port()}"'))
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: "admin.token not changed" in rl.tail(50), timeout=10,
                           what="the token warning")
                self.assertEqual(status("new"), 409)
                self.assertEqual(status("newer"), 401)


    def test_reloads_are_counted_and_say_what_changed(self):
        with TempDir() as tmp, RedisServer(tmp) as r0, RedisServer(tmp) as r1:
            rl = Ringleader(RINGLEADER, tmp, [r0.port])
            with open(rl.config_path) as f:
                original = f.read()

            def metric(series):
                return metric_value(rl.admin_port, series)

            with rl:
                self.assertEqual(metric("ringleader_config_last_reload_successful"), 1)
                started = metric("ringleader_config_last_reload_success_timestamp_seconds")
                self.assertAlmostEqual(started, time.time(), delta=60)
                rewrite(rl.config_path, original + "\n[ring\n")  # not TOML
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: metric('ringleader_config_reloads_total{result="error"}') == 1,
                           timeout=10, what="the refused reload counted")
                self.assertEqual(metric("ringleader_config_last_reload_successful"), 0)
                self.assertEqual(
                    metric("ringleader_config_last_reload_success_timestamp_seconds"), started)
                time.sleep(0.01)
                rewrite(rl.config_path, original
                        + f'\n[[backends]]\nname = "added"\naddress = "127.0.0.1:{r1.port}"\n')
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: metric('ringleader_config_reloads_total{result="ok"}') == 1,
                           timeout=10, what="the reload counted")
                self.assertEqual(metric("ringleader_config_last_reload_successful"), 1)
                self.assertGreater(
                    metric("ringleader_config_last_reload_success_timestamp_seconds"), started)
                self.assertIn("published a new ring: 2 backends (added added)", rl.tail(20))
                epoch = http("GET", rl.admin_port, "/ring")[1]["epoch"]
                # The same backends in another order place every key as before.
                first = original.index("[[backends]]")
                rewrite(rl.config_path,
                        original[:first] + f'[[backends]]\nname = "added"\n'
                        f'address = "127.0.0.1:{r1.port}"\n\n' + original[first:])
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: metric('ringleader_config_reloads_total{result="ok"}') == 2,
                           timeout=10, what="the reload counted")
                self.assertIn("SIGHUP: [[backends]] and [ring] unchanged", rl.tail(5))
                self.assertEqual(http("GET", rl.admin_port, "/ring")[1]["epoch"], epoch)
                # A reload is told what its new ring makes of the settings, as a start is.
                rewrite(rl.config_path, original.replace("[ring]\n", "[ring]\nreplicas = 2\n", 1)
                        + f'\n[[backends]]\nname = "added"\naddress = "127.0.0.1:{r1.port}"\n'
                        'state = "down"\n')
                rl.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: metric('ringleader_config_reloads_total{result="ok"}') == 3,
                           timeout=10, what="the reload counted")
                self.assertIn("SIGHUP: ring.replicas = 2 but only 1 backends that are not down",
                              rl.tail(5))

class PrometheusScrapeTest(unittest.TestCase):
    def test_a_real_prometheus_scrapes_ringleader(self):
        prometheus = shutil.which("prometheus")
        self.assertIsNotNone(prometheus, "prometheus is not installed (scripts/deps.sh installs it)")
        with TempDir() as tmp:
            with RedisServer(tmp) as r, Ringleader(RINGLEADER, tmp, [r.port]) as rl:
                c = redis.Redis(host="127.0.0.1", port=rl.port, socket_timeout=5)
                for i in range(20):
                    c.set(f"p:{i}", i)
                prom_port = free_port()
                conf = os.path.join(tmp, "prometheus.yml")
                with open(conf, "w") as f:
                    f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                            "scrape_configs:\n  - job_name: ringleader\n    static_configs:\n"
                            f"      - targets: ['127.0.0.1:{rl.admin_port}']\n")
                argv = [prometheus, f"--config.file={conf}",
                        f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                        f"--web.listen-address=127.0.0.1:{prom_port}"]
                with Process(argv, os.path.join(tmp, "prometheus.log")):
                    def query(q):
                        url = (f"http://127.0.0.1:{prom_port}/api/v1/query?query="
                               + urllib.parse.quote(q))
                        with urllib.request.urlopen(url, timeout=5) as resp:
                            data = json.loads(resp.read())
                        result = data["data"]["result"]
                        return float(result[0]["value"][1]) if result else None

                    wait_until(lambda: query('up{job="ringleader"}') == 1, timeout=60,
                               what="prometheus to scrape ringleader")
                    wait_until(lambda: (query('sum(ringleader_requests_total{command="set"})') or 0)
                               >= 20, timeout=30, what="the request counter in prometheus")

                    # Every panel of the Grafana dashboard is valid PromQL over metrics that
                    # a real scrape has.
                    dashboard = os.path.join(os.path.dirname(__file__), "..", "..", "dashboards",
                                             "ringleader.json")
                    with open(dashboard) as f:
                        panels = json.load(f)["panels"]
                    _, scrape = http("GET", rl.admin_port, "/metrics")
                    exposed = {line.split("{")[0].split(" ")[0] for line in scrape.splitlines()
                               if line and not line.startswith("#")}
                    self.assertGreaterEqual(len(panels), 8)
                    for panel in panels:
                        for target in panel["targets"]:
                            expr = target["expr"].replace("$instance", ".*")
                            for name in re.findall(r"ringleader_[a-z_]+", expr):
                                # Raft metrics exist in raft mode only (this one is static).
                                if name.startswith(("ringleader_raft_", "ringleader_membership_")):
                                    continue
                                self.assertIn(name, exposed, f"{panel['title']}: {name}")
                            url = (f"http://127.0.0.1:{prom_port}/api/v1/query?query="
                                   + urllib.parse.quote(expr))
                            with urllib.request.urlopen(url, timeout=5) as resp:
                                self.assertEqual(json.loads(resp.read())["status"], "success",
                                                 f"{panel['title']}: {expr}")


if __name__ == "__main__":
    run_unittests(globals())
