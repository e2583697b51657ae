#!/usr/bin/python3
"""Unix-domain sockets: `ringleader serve` with `proxy.listen = "unix:/path"` and backends at
`unix:/path` addresses, against real redis-servers and memcacheds (their `unixsocket` and
`-s`), real clients (redis-py, redis-cli, pymemcache) and every socket under the test's own
temporary directory."""
import os
import signal
import socket
import stat
import subprocess
import time
import unittest

import redis
from pymemcache.client.base import Client

from harness import (MemcachedServer, Process, RedisServer, Ringleader, TempDir, admin_http,
                     free_port, primary_backends, run_unittests, time_bound, unix_socket_open,
                     wait_until)

# Never eject: a stopped backend's keys keep failing with its own error.
BACKEND = "[backend]\nfailure_limit = 0\nconnect_timeout_ms = 300\ntimeout_ms = 2000\n"


class UnixMemcached(Process):
    """memcached on a Unix-domain socket only (`-s` turns its TCP listener off)."""

    def __init__(self, workdir, name):
        self.path = os.path.join(workdir, f"{name}.sock")
        argv = ["/usr/bin/memcached", "-s", self.path, "-a", "0700", "-m", "64", "-t", "1"]
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        super().__init__(argv, os.path.join(workdir, f"{name}.log"))

    def __enter__(self):
        super().__enter__()
        wait_until(lambda: self.proc.poll() is not None or unix_socket_open(self.path),
                   what=f"memcached on {self.path}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"memcached exited:\n{self.tail()}")
        return self


class RedisOverUnixSocketsTest(unittest.TestCase):
    """Two redis-servers reached over their Unix sockets and one over TCP, behind a proxy that
    listens on a Unix socket."""

    def setUp(self):
        # Cleanups run last in, first out: proxies, then servers, then the directory.
        self.tmp = self.enterContext(TempDir())
        self.redises = [self.enterContext(RedisServer(
            self.tmp, unixsocket=os.path.join(self.tmp, f"r{i}.sock"))) for i in range(2)]
        self.redises.append(self.enterContext(RedisServer(self.tmp)))
        wait_until(lambda: all(unix_socket_open(r.unixsocket) for r in self.redises[:2]),
                   what="redis Unix sockets")
        self.backends = [{"name": "redis-0", "address": f"unix:{self.redises[0].unixsocket}"},
                         {"name": "redis-1", "address": f"unix:{self.redises[1].unixsocket}"},
                         {"name": "redis-2", "address": f"127.0.0.1:{self.redises[2].port}"}]
        self.socket_path = os.path.join(self.tmp, "ringleader.sock")

    def proxy(self, name="rl", mode="0640", start=True):
        rl = Ringleader(RINGLEADER, self.tmp, self.backends, name=name,
                        proxy=f'unix_socket_mode = "{mode}"', extra=BACKEND,
                        unix_path=self.socket_path)
        return self.enterContext(rl) if start else rl

    def direct(self, i):
        r = self.redises[i]
        if r.unixsocket:
            return redis.Redis(unix_socket_path=r.unixsocket, socket_timeout=10)
        return redis.Redis(host="127.0.0.1", port=r.port, socket_timeout=10)

    def serve_and_fail(self, rl):
        """Runs `serve` on rl's config, expecting it to refuse to start; its output."""
        run = subprocess.run([RINGLEADER, "serve", "-c", rl.config_path], capture_output=True,
                             text=True, timeout=time_bound(RINGLEADER, 20))
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        return run.stdout + run.stderr

    def test_keys_are_served_and_land_on_their_backends(self):
        rl = self.proxy()
        client = redis.Redis(unix_socket_path=rl.unix_path, socket_timeout=10)
        keys = [f"key:{i}" for i in range(300)]
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.set(k, f"value of {k}")
        self.assertTrue(all(pipe.execute()))
        self.assertEqual(client.mget(keys), [f"value of {k}".encode() for k in keys])
        owners = primary_backends(RINGLEADER, rl.config_path, keys)
        self.assertEqual(set(owners), {"redis-0", "redis-1", "redis-2"})
        direct = [self.direct(i) for i in range(3)]
        for k, owner in zip(keys, owners):
            for i, d in enumerate(direct):
                held = d.get(k)
                if owner == f"redis-{i}":
                    self.assertEqual(held, f"value of {k}".encode(), k)
                else:
                    self.assertIsNone(held, f"{k} found on redis-{i}, owned by {owner}")
        self.assertEqual(client.dbsize(), len(keys))

    def test_redis_cli_and_client_info(self):
        rl = self.proxy()

        def cli(*args):
            return subprocess.run(["redis-cli", "-s", rl.unix_path, *args], capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()

        self.assertEqual(cli("PING"), "PONG")
        self.assertEqual(cli("SET", "cli-key", "cli-value"), "OK")
        self.assertEqual(cli("GET", "cli-key"), "cli-value")
        # As Redis reports a Unix-socket client: the socket's path, port 0, for both ends.
        info = redis.Redis(unix_socket_path=rl.unix_path, socket_timeout=10).client_info()
        self.assertEqual(info["addr"], f"{rl.unix_path}:0")
        self.assertEqual(info["laddr"], f"{rl.unix_path}:0")

    def test_socket_file_has_the_configured_mode_and_goes_at_exit(self):
        rl = self.proxy(mode="0640")
        st = os.stat(rl.unix_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        rl.__exit__(None, None, None)  # SIGTERM: drains and stops (its cleanup then does nothing)
        self.assertFalse(os.path.exists(rl.unix_path))
        # Another mode, set whatever the umask.
        old = os.umask(0o077)
        try:
            rl = self.proxy(name="rl2", mode="0666")
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(rl.unix_path).st_mode), 0o666)

    def test_draining_refuses_new_clients_and_answers_the_held_request(self):
        rl = self.proxy()
        keys = [f"d{i}" for i in range(50)]
        key = next(k for k, owner in zip(keys, primary_backends(RINGLEADER, rl.config_path, keys))
                   if owner == "redis-0")
        redis.Redis(unix_socket_path=rl.unix_path, socket_timeout=10).set(key, "held")
        self.direct(0).client_pause(1500)  # the GET below waits for it (timeout_ms 2000)
        held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        held.settimeout(10)
        held.connect(rl.unix_path)
        held.sendall(f"GET {key}\r\n".encode())
        time.sleep(0.3)  # parsed and sent to the paused backend
        rl.proc.send_signal(signal.SIGTERM)

        def refused():
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect(rl.unix_path)
                return False
            except (ConnectionRefusedError, FileNotFoundError):
                return True

        # Refused while the held request is still being waited for, not only at exit.
        wait_until(refused, timeout=1, what="new connections refused during the drain")
        self.assertIsNone(rl.proc.poll())
        self.assertEqual(held.recv(100), b"$4\r\nheld\r\n")
        held.close()
        self.assertEqual(rl.proc.wait(timeout=10), 0)
        self.assertFalse(os.path.exists(rl.unix_path))

    def test_a_stale_socket_file_is_replaced_and_a_live_one_refused(self):
        rl = self.proxy()
        os.kill(rl.proc.pid, signal.SIGKILL)
        rl.proc.wait(timeout=10)
        self.assertTrue(os.path.exists(self.socket_path))  # left behind, nobody accepts on it
        self.assertFalse(unix_socket_open(self.socket_path))
        second = self.proxy(name="rl2")
        client = redis.Redis(unix_socket_path=second.unix_path, socket_timeout=10)
        self.assertTrue(client.set("after-restart", "1"))
        # A third instance on the same path must not take over the second's clients.
        out = self.serve_and_fail(self.proxy(name="rl3", start=False))
        self.assertIn(f"cannot listen on unix:{self.socket_path}: another process listens there",
                      out)
        self.assertEqual(client.get("after-restart"), b"1")
        self.assertTrue(os.path.exists(self.socket_path))
        # `check` of the config the live instance serves passes (before a SIGHUP, say): it
        # looks at the path's place, it does not try to take it.
        run = subprocess.run([RINGLEADER, "check", "-c", second.config_path], capture_output=True,
                             text=True, timeout=time_bound(RINGLEADER, 20))
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_a_path_that_is_not_a_socket_is_refused_and_left_alone(self):
        with open(self.socket_path, "w") as f:
            f.write("not a socket")
        out = self.serve_and_fail(self.proxy(start=False))
        self.assertIn(f"cannot listen on unix:{self.socket_path}: the path exists and is not a "
                      "socket", out)
        with open(self.socket_path) as f:
            self.assertEqual(f.read(), "not a socket")

    def test_a_stopped_unix_backend_fails_only_its_keys(self):
        rl = self.proxy()
        client = redis.Redis(unix_socket_path=rl.unix_path, socket_timeout=10)
        keys = [f"k{i}" for i in range(60)]
        owners = primary_backends(RINGLEADER, rl.config_path, keys)
        for k in keys:
            client.set(k, k)
        self.redises[0].__exit__(None, None, None)  # redis-server removes its socket file
        self.assertFalse(os.path.exists(self.backends[0]["address"][len("unix:"):]))
        for k, owner in zip(keys, owners):
            if owner == "redis-0":
                with self.assertRaises(redis.ResponseError) as e:
                    client.get(k)
                self.assertIn(f"backend redis-0 ({self.backends[0]['address']})", str(e.exception))
                self.assertIn("no such file or directory", str(e.exception))
            else:
                self.assertEqual(client.get(k), k.encode())


    def test_a_backend_path_that_reaches_the_proxys_own_socket_is_refused(self):
        # Another spelling of the proxy's own socket (a symlink; /var/run for /run) passes
        # the config check, which compares text. The connection shows it: its requests get an
        # error saying so at once, where they used to loop back into the proxy until they
        # timed out. The other backends' keys keep working.
        link = os.path.join(self.tmp, "link.sock")
        os.symlink(self.socket_path, link)
        self.backends[0] = {"name": "self", "address": f"unix:{link}"}
        rl = self.proxy()
        client = redis.Redis(unix_socket_path=rl.unix_path, socket_timeout=10)
        keys = [f"loop:{i}" for i in range(60)]
        owners = primary_backends(RINGLEADER, rl.config_path, keys)
        own = next(k for k, o in zip(keys, owners) if o == "self")
        other = next(k for k, o in zip(keys, owners) if o == "redis-2")
        for _ in range(2):  # the first connect, then the backoff that follows it
            started = time.monotonic()
            with self.assertRaises(redis.ResponseError) as e:
                client.set(own, "v")
            self.assertLess(time.monotonic() - started, 1.0)
            self.assertIn(f"backend self (unix:{link}): ", str(e.exception))
            self.assertIn("reached this instance's own proxy.listen "
                          f"(unix:{self.socket_path})", str(e.exception))
        self.assertTrue(client.set(other, "v"))
        self.assertEqual(client.get(other), b"v")


class MemcachedOverUnixSocketsTest(unittest.TestCase):
    """Two memcacheds on Unix sockets only, behind a memcached proxy on a Unix socket."""

    def test_keys_are_served_and_land_on_their_backends(self):
        with TempDir() as tmp:
            servers = [UnixMemcached(tmp, f"mc{i}").__enter__() for i in range(2)]
            try:
                backends = [{"name": f"mc-{i}", "address": f"unix:{s.path}"}
                            for i, s in enumerate(servers)]
                with Ringleader(RINGLEADER, tmp, backends, proxy='protocol = "memcached"',
                                extra=BACKEND, unix_path=os.path.join(tmp, "rl.sock")) as rl:
                    client = Client(rl.unix_path, timeout=10, connect_timeout=10)
                    keys = [f"mkey:{i}" for i in range(100)]
                    for k in keys:
                        self.assertTrue(client.set(k, f"v-{k}".encode(), noreply=False))
                    got = client.get_many(keys)
                    self.assertEqual(got, {k: f"v-{k}".encode() for k in keys})
                    owners = primary_backends(RINGLEADER, rl.config_path, keys)
                    self.assertEqual(set(owners), {"mc-0", "mc-1"})
                    direct = [Client(s.path, timeout=10) for s in servers]
                    for k, owner in zip(keys, owners):
                        for i, d in enumerate(direct):
                            held = d.get(k)
                            self.assertEqual(held, f"v-{k}".encode() if owner == f"mc-{i}"
                                             else None, k)
                    for c in direct + [client]:
                        c.close()
            finally:
                for s in servers:
                    s.__exit__(None, None, None)


class AdminAddsAUnixBackendTest(unittest.TestCase):
    """A one-instance Raft group: POST /backends takes a unix: address and serves it at once;
    a malformed one is a 400 that says which forms are accepted."""

    def test_post_backends_with_a_unix_address(self):
        with TempDir() as tmp:
            first = RedisServer(tmp).__enter__()
            added = RedisServer(tmp, unixsocket=os.path.join(tmp, "added.sock")).__enter__()
            try:
                wait_until(lambda: unix_socket_open(added.unixsocket), what="redis Unix socket")
                raft = free_port()
                membership = ('[membership]\nmode = "raft"\nnode_id = "p1"\n'
                              f'listen = "127.0.0.1:{raft}"\npeers = ["p1@127.0.0.1:{raft}"]\n'
                              f'data_dir = "{os.path.join(tmp, "data")}"\n')
                with Ringleader(RINGLEADER, tmp, [{"name": "tcp", "address":
                                                   f"127.0.0.1:{first.port}"}],
                                extra=BACKEND + membership) as rl:
                    wait_until(lambda: admin_http("GET", rl.admin_port, "/ring")[0] == 200,
                               timeout=time_bound(RINGLEADER, 15), what="the seeded ring")
                    status, body = admin_http("POST", rl.admin_port, "/backends",
                                              {"name": "bad", "address": "unix:relative.sock"})
                    self.assertEqual(status, 400, body)
                    self.assertIn("or a Unix socket, e.g. \"unix:/run/redis/redis.sock\"",
                                  body["error"])
                    status, body = admin_http("POST", rl.admin_port, "/backends",
                                              {"name": "unix", "address":
                                               f"unix:{added.unixsocket}"})
                    self.assertEqual(status, 200, body)
                    self.assertEqual(body["backend"]["address"], f"unix:{added.unixsocket}")
                    client = redis.Redis(host="127.0.0.1", port=rl.port, socket_timeout=10)
                    keys = [f"a{i}" for i in range(100)]
                    for k in keys:
                        self.assertTrue(client.set(k, k))
                    direct = redis.Redis(unix_socket_path=added.unixsocket, socket_timeout=10)
                    # The group's ring places the keys (the file's backends were its seed).
                    on_unix = {k for k in keys
                               if admin_http("GET", rl.admin_port, "/ring/lookup?key=" + k)[1]
                               ["replicas"][0] == "unix"}
                    self.assertGreater(len(on_unix), 10)
                    self.assertEqual({k for k in keys if direct.get(k) == k.encode()}, on_unix)
                    self.assertEqual(direct.dbsize(), len(on_unix))
            finally:
                added.__exit__(None, None, None)
                first.__exit__(None, None, None)


if __name__ == "__main__":
    run_unittests(globals())
