#!/usr/bin/python3
"""The memcached data path end to end: real memcached servers, `ringleader serve`, real clients.

Every server listens on a free 127.0.0.1 port and is stopped when its test class ends.
Loads are bounded in count and time. What a key holds is always checked against the
memcached that `ringleader lookup` names as its owner, read directly.
"""
import base64
import contextlib
import os
import itertools
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

from pymemcache.client.base import Client

from harness import (MemcachedServer, metric_value, port_open, primary_backends, Ringleader,
                     TempDir, run_unittests, send_and_half_close, sigstop, wait_until,
                     with_random_traffic)

RINGLEADER = None


def lookup(config_path, keys):
    """Primary backend name of each key, from `ringleader lookup`."""
    return primary_backends(RINGLEADER, config_path, keys)


def b(text):
    """text as bytes (str is encoded as UTF-8)."""
    return text if isinstance(text, bytes) else text.encode()


def storage(cmd, key, value, flags=0, exptime=0, cas=None, noreply=False):
    """One storage request (set add replace append prepend cas) with its data block."""
    value = b(value)
    line = b"%s %s %d %d %d" % (b(cmd), b(key), flags, exptime, len(value))
    if cas is not None:
        line += b" %d" % cas
    if noreply:
        line += b" noreply"
    return line + b"\r\n" + value + b"\r\n"


def value_reply(items, with_cas=False):
    """The bytes memcached answers to a retrieval: items are (key, flags, value[, cas])."""
    out = []
    for item in items:
        key, flags, value = b(item[0]), item[1], b(item[2])
        header = b"VALUE %s %d %d" % (key, flags, len(value))
        if with_cas:
            header += b" %d" % item[3]
        out.append(header + b"\r\n" + value + b"\r\n")
    return b"".join(out) + b"END\r\n"


def raw_exchange(port, payload, timeout=5.0, until_close=False):
    """Sends bytes on a fresh socket; returns (what came back, whether the peer closed).

    Reading stops at close, or after a 0.5 s pause with nothing new; with until_close, only
    at close or once `timeout` has passed (for a reply the proxy closes after).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        chunks = []
        s.settimeout(timeout if until_close else 0.5)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                data = s.recv(65536)
                if not data:
                    return b"".join(chunks), True
                chunks.append(data)
        except socket.timeout:
            pass
        except ConnectionResetError:
            return b"".join(chunks), True
        return b"".join(chunks), False


class McConn:
    """A raw memcached text-protocol connection: send bytes, read replies line by line."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.pos = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError(f"connection closed; unread: {self.buf[self.pos:]!r}")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def line(self):
        """The next reply line, without its \\r\\n."""
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line
            self._fill()

    def exact(self, n):
        """The next n bytes, waiting for them."""
        while len(self.buf) - self.pos < n:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def take(self, n, timeout=10.0):
        """The next n bytes, or fewer when the peer closes or stays silent for timeout."""
        deadline = time.monotonic() + timeout
        old = self.sock.gettimeout()
        try:
            while len(self.buf) - self.pos < n and time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                self._fill()
        except (socket.timeout, ConnectionError):
            pass
        finally:
            self.sock.settimeout(old)
        data = self.buf[self.pos:self.pos + n]
        self.pos += len(data)
        return data

    def values(self):
        """One retrieval reply as [(key, flags, value, cas or None)], or its error line (bytes)."""
        items = []
        while True:
            line = self.line()
            if line == b"END":
                return items
            if not line.startswith(b"VALUE "):
                if items:
                    raise AssertionError(f"{line!r} after {len(items)} values of a retrieval reply")
                return line
            parts = line.split(b" ")
            if len(parts) not in (4, 5):
                raise AssertionError(f"malformed VALUE line {line!r}")
            data = self.exact(int(parts[3]) + 2)
            if data[-2:] != b"\r\n":
                raise AssertionError(f"data block of {parts[1]!r} ends in {data[-2:]!r}")
            items.append((parts[1], int(parts[2]), data[:-2],
                          int(parts[4]) if len(parts) == 5 else None))

    def command(self, data):
        """Sends one request and returns its one-line reply."""
        self.send(data)
        return self.line()

    def get(self, *keys, cmd=b"get"):
        """Sends one retrieval (get, gets, ...) and returns its reply, as values() does."""
        self.send(b"%s %s\r\n" % (cmd, b" ".join(b(k) for k in keys)))
        return self.values()

    def closed(self, timeout=5.0):
        """True when the peer closes with nothing more sent; False when it stays open."""
        if len(self.buf) > self.pos:
            raise AssertionError(f"unexpected bytes {self.buf[self.pos:]!r}")
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(old)
        if data:
            raise AssertionError(f"unexpected bytes {data!r}")
        return True


def backend_items(port, keys, chunk=100):
    """{key: (flags, value, cas)} of the keys a memcached holds, read with `gets`."""
    found = {}
    with McConn(port) as conn:
        keys = [b(k) for k in keys]
        for i in range(0, len(keys), chunk):
            reply = conn.get(*keys[i:i + chunk], cmd=b"gets")
            if isinstance(reply, bytes):
                raise AssertionError(f"memcached on {port} answered {reply!r}")
            for key, flags, value, cas in reply:
                found[key] = (flags, value, cas)
    return found


def backend_ttl(port, key):
    """Seconds a memcached keeps the key (-1: no expiry), or None when it does not hold it."""
    with McConn(port) as conn:
        line = conn.command(b"mg %s t\r\n" % b(key))
    if line == b"EN":
        return None
    match = re.fullmatch(rb"HD t(-?\d+)", line)
    if not match:
        raise AssertionError(f"mg {key} answered {line!r}")
    return int(match.group(1))


class McClusterCase(unittest.TestCase):
    """Three memcached servers (mc-0, mc-1, mc-2) behind one ringleader."""
    proxy_extra = ""
    extra = ""
    memcached_args = ()
    backends = 3

    @classmethod
    def setUpClass(cls):
        cls.stack = contextlib.ExitStack()
        try:
            cls.tmp = cls.stack.enter_context(TempDir())
            cls.mcs = [cls.stack.enter_context(MemcachedServer(cls.tmp,
                                                               extra_args=cls.memcached_args))
                       for _ in range(cls.backends)]
            cls.names = {f"mc-{i}": m for i, m in enumerate(cls.mcs)}
            proxy = 'protocol = "memcached"\n' + cls.proxy_extra
            cls.rl = cls.stack.enter_context(Ringleader(
                RINGLEADER, cls.tmp,
                [{"name": name, "address": f"127.0.0.1:{m.port}"} for name, m in cls.names.items()],
                proxy=proxy, extra=cls.extra))
        except BaseException:
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def conn(self):
        c = McConn(self.rl.port)
        self.addCleanup(c.close)
        return c

    def client(self, **kw):
        c = Client(("127.0.0.1", self.rl.port), connect_timeout=5, timeout=10, **kw)
        self.addCleanup(c.close)
        return c

    def owner(self, key):
        return lookup(self.rl.config_path, [key])[0]

    def keys_per_backend(self, prefix, per_backend):
        """per_backend keys owned by each backend: {name: [keys]}."""
        candidates = [f"{prefix}:{i}" for i in range(60 * per_backend)]
        by_owner = {name: [] for name in self.names}
        for k, o in zip(candidates, lookup(self.rl.config_path, candidates)):
            if len(by_owner[o]) < per_backend:
                by_owner[o].append(k)
        for name, ks in by_owner.items():
            self.assertEqual(len(ks), per_backend, f"too few keys owned by {name}")
        return by_owner

    def holders(self, key):
        """Names of the backends that hold key, read directly."""
        return [name for name, m in self.names.items() if b(key) in backend_items(m.port, [key])]

    def assert_stored(self, key, flags, value):
        """The key's owner holds (flags, value) and no other backend holds the key."""
        owner = self.owner(key)
        got = backend_items(self.names[owner].port, [key]).get(b(key))
        self.assertIsNotNone(got, f"{key} missing on its owner {owner}")
        self.assertEqual(got[:2], (flags, b(value)), f"{key} on {owner}")
        self.assertEqual(self.holders(key), [owner], f"{key} held by the wrong backends")

    def assert_absent(self, key):
        self.assertEqual(self.holders(key), [], f"{key} is stored somewhere")

    def assert_works(self, conn, key):
        """conn still gets correct replies (the key was set to its own name earlier)."""
        self.assertEqual(conn.get(key), [(b(key), 0, b(key), None)])


class CommandsTest(McClusterCase):
    def test_storage_commands_land_on_the_owner(self):
        c = self.conn()
        self.assertEqual(c.command(storage("set", "st:a", "abc", flags=7)), b"STORED")
        self.assertEqual(c.command(storage("add", "st:a", "x")), b"NOT_STORED")
        self.assertEqual(c.command(storage("add", "st:b", "bb", flags=1)), b"STORED")
        self.assertEqual(c.command(storage("replace", "st:none", "x")), b"NOT_STORED")
        self.assertEqual(c.command(storage("replace", "st:b", "BBB", flags=2)), b"STORED")
        self.assertEqual(c.command(storage("append", "st:a", "de", flags=99)), b"STORED")
        self.assertEqual(c.command(storage("prepend", "st:a", "zz")), b"STORED")
        self.assertEqual(c.command(storage("append", "st:none", "x")), b"NOT_STORED")
        self.assertEqual(c.command(storage("prepend", "st:none", "x")), b"NOT_STORED")
        self.assert_stored("st:a", 7, "zzabcde")  # append/prepend keep the flags
        self.assert_stored("st:b", 2, "BBB")
        self.assert_absent("st:none")
        self.assertEqual(c.get("st:a"), [(b"st:a", 7, b"zzabcde", None)])

    def test_cas_accepts_the_unique_from_gets_and_refuses_a_stale_one(self):
        c = self.conn()
        self.assertEqual(c.command(storage("set", "cas:k", "one", flags=3)), b"STORED")
        [(key, flags, value, unique)] = c.get("cas:k", cmd=b"gets")
        self.assertEqual((key, flags, value), (b"cas:k", 3, b"one"))
        owner = self.names[self.owner("cas:k")]
        self.assertEqual(backend_items(owner.port, ["cas:k"])[b"cas:k"][2], unique,
                         "the cas unique is the owning memcached's")
        self.assertEqual(c.command(storage("cas", "cas:k", "two", flags=4, cas=unique)), b"STORED")
        self.assertEqual(c.command(storage("cas", "cas:k", "three", cas=unique)), b"EXISTS")
        self.assertEqual(c.command(storage("cas", "cas:none", "x", cas=unique)), b"NOT_FOUND")
        self.assert_stored("cas:k", 4, "two")
        self.assert_absent("cas:none")

    def test_retrievals_return_hits_in_the_clients_key_order(self):
        by_owner = self.keys_per_backend("order", 2)
        k = [key for ks in by_owner.values() for key in ks]  # two keys on each backend
        c = self.conn()
        for i, key in enumerate(k):
            self.assertEqual(c.command(storage("set", key, f"value-{i}", flags=i)), b"STORED")
        asked = [k[3], "order:missing", k[0], k[5], k[3], k[1], "order:missing2", k[4], k[2]]
        hits = [(key, k.index(key), f"value-{k.index(key)}") for key in asked if key in k]
        for get in (b"get", b"bget"):  # bget: memcached's other name for get
            c.send(b"%s %s\r\n" % (get, b" ".join(b(key) for key in asked)))
            self.assertEqual(c.take(len(value_reply(hits))), value_reply(hits))
        # gets: the same order, with each owner's cas unique
        direct = {}
        for name, m in self.names.items():
            direct.update(backend_items(m.port, by_owner[name]))
        c.send(b"gets %s\r\n" % b" ".join(b(key) for key in asked))
        expected = value_reply([h + (direct[b(h[0])][2],) for h in hits], with_cas=True)
        self.assertEqual(c.take(len(expected)), expected)
        # gat/gats: the same replies, and each owner now expires the keys
        c.send(b"gat 500 %s\r\n" % b" ".join(b(key) for key in asked))
        self.assertEqual(c.take(len(value_reply(hits))), value_reply(hits))
        for key in k:
            self.assertIn(backend_ttl(self.names[self.owner(key)].port, key), range(490, 501), key)
        c.send(b"gats 700 %s\r\n" % b" ".join(b(key) for key in asked))
        self.assertEqual(c.take(len(expected)), expected)
        for key in k:
            self.assertIn(backend_ttl(self.names[self.owner(key)].port, key), range(690, 701), key)
        self.assertEqual(c.get("order:missing", "order:missing2"), [])
        self.assertEqual(c.get(k[0]), [(b(k[0]), 0, b"value-0", None)])

    def test_a_gat_that_expires_what_it_touches_misses_a_key_asked_again(self):
        # memcached touches each key as it reads it: after a touch that expires the item (a
        # negative exptime, or an absolute time already past) the same key asked again is
        # gone. A memcached read directly shows it; the proxy, which asks each key once,
        # answers the repeats alike.
        keys = [ks[0] for ks in self.keys_per_backend("expiring", 1).values()][:2]
        asked = [keys[0], keys[1], keys[0], keys[1]]
        c = self.conn()
        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        # memcached keeps the low 32 bits of the time it read: 4294967295 is -1, 9999999999 a
        # time in 2014, -2147483649 one in 2038.
        for exptime, once in ((b"-1", True), (b"2592001", True), (b"100", False),
                              (b"4294967295", True), (b"2147483648", True),
                              (b"9999999999", True), (b"-2147483649", False)):
            for i, key in enumerate(keys):
                self.assertEqual(c.command(storage("set", key, f"v{i}")), b"STORED")
            self.assertEqual(direct.command(storage("set", "expiring:d", "d")), b"STORED")
            direct.send(b"gat %s expiring:d expiring:d\r\n" % exptime)
            want = value_reply([("expiring:d", 0, "d")] * (1 if once else 2))
            self.assertEqual(direct.take(len(want)), want, exptime)
            hits = [(key, 0, f"v{keys.index(key)}") for key in (asked[:2] if once else asked)]
            c.send(b"gat %s %s\r\n" % (exptime, b" ".join(b(k) for k in asked)))
            self.assertEqual(c.take(len(value_reply(hits))), value_reply(hits), exptime)

    def test_delete_incr_decr_touch(self):
        c = self.conn()
        port = self.names[self.owner("num:n")].port
        self.assertEqual(c.command(storage("set", "num:n", "10")), b"STORED")
        self.assertEqual(c.command(b"incr num:n 5\r\n"), b"15")
        self.assertEqual(int(backend_items(port, ["num:n"])[b"num:n"][1]), 15)
        self.assertEqual(c.command(b"decr num:n 100\r\n"), b"0")
        self.assertEqual(int(backend_items(port, ["num:n"])[b"num:n"][1]), 0)
        self.assertEqual(c.command(b"incr num:none 1\r\n"), b"NOT_FOUND")
        self.assertEqual(c.command(b"decr num:none 1\r\n"), b"NOT_FOUND")
        self.assertEqual(c.command(storage("set", "num:max", str(2 ** 64 - 1))), b"STORED")
        self.assertEqual(c.command(b"incr num:max 1\r\n"), b"0")
        self.assertEqual(c.command(storage("set", "num:text", "abc")), b"STORED")
        self.assertEqual(c.command(b"incr num:text 1\r\n"),
                         b"CLIENT_ERROR cannot increment or decrement non-numeric value")
        self.assertEqual(c.command(b"touch num:n 300\r\n"), b"TOUCHED")
        self.assertIn(backend_ttl(port, "num:n"), range(290, 301))
        self.assertEqual(c.command(b"touch num:none 300\r\n"), b"NOT_FOUND")
        self.assertEqual(c.command(b"delete num:n\r\n"), b"DELETED")
        self.assertEqual(c.command(b"delete num:n\r\n"), b"NOT_FOUND")
        self.assert_absent("num:n")
        self.assert_absent("num:none")
        self.assert_stored("num:text", 0, "abc")

    def test_noreply_requests_get_no_reply(self):
        c = self.conn()
        self.assertEqual(c.command(storage("set", "nr:cas", "c")), b"STORED")
        [(_, _, _, unique)] = c.get("nr:cas", cmd=b"gets")
        c.send(storage("set", "nr:a", "a", flags=5, noreply=True)
               + storage("add", "nr:a", "not stored", noreply=True)
               + storage("add", "nr:b", "b", noreply=True)
               + storage("replace", "nr:b", "B", noreply=True)
               + storage("replace", "nr:none", "x", noreply=True)
               + storage("append", "nr:a", ">", noreply=True)
               + storage("prepend", "nr:a", "<", noreply=True)
               + storage("cas", "nr:cas", "C", cas=unique, noreply=True)
               + storage("cas", "nr:cas", "stale", cas=unique, noreply=True)
               + storage("set", "nr:n", "7", noreply=True)
               + b"incr nr:n 10 noreply\r\ndecr nr:n 2 noreply\r\nincr nr:none 1 noreply\r\n"
               + b"touch nr:a 400 noreply\r\ntouch nr:none 400 noreply\r\n"
               # "noreply" where the delta or the exptime goes: an error, silent as well.
               + b"incr nr:n noreply\r\ndecr nr:n noreply\r\ntouch nr:a noreply\r\n"
               + b"delete nr:b noreply\r\ndelete nr:none noreply\r\n"
               + b"get nr:a nr:b nr:cas nr:n nr:none\r\nversion\r\n")
        expected = value_reply([("nr:a", 5, "<a>"), ("nr:cas", 0, "C"), ("nr:n", 0, "15")])
        self.assertEqual(c.take(len(expected)), expected)
        self.assertTrue(c.line().startswith(b"VERSION "))
        self.assert_stored("nr:a", 5, "<a>")
        self.assertIn(backend_ttl(self.names[self.owner("nr:a")].port, "nr:a"), range(390, 401))
        self.assert_absent("nr:b")
        self.assert_absent("nr:none")
        self.assert_stored("nr:cas", 0, "C")
        self.assertEqual(c.command(b"version\r\n")[:8], b"VERSION ")
        self.assertFalse(c.closed(timeout=0.3), "the connection stays open, with nothing more sent")

    def test_version_verbosity_and_quit_are_answered_by_the_proxy(self):
        c = self.conn()
        self.assertRegex(c.command(b"version\r\n"), rb"^VERSION \S+$")
        self.assertEqual(c.command(b"verbosity 1\r\n"), b"OK")
        self.assertEqual(c.command(b"verbosity 0\r\n"), b"OK")
        self.assertEqual(c.command(storage("set", "quit:k", "v")), b"STORED")
        reply, closed = raw_exchange(self.rl.port, b"quit\r\n", until_close=True)
        self.assertEqual((reply, closed), (b"", True))
        # Requests before quit are answered; those after it are neither run nor answered.
        reply, closed = raw_exchange(self.rl.port, b"get quit:k\r\nquit\r\nget quit:k\r\n"
                                     + storage("set", "quit:after", "v"), until_close=True)
        self.assertEqual((reply, closed, self.holders("quit:after")),
                         (value_reply([("quit:k", 0, "v")]), True, []),
                         "(reply, connection closed, backends holding the key set after quit)")
        self.assertEqual(c.get("quit:k"), [(b"quit:k", 0, b"v", None)])

    def test_flush_all_reaches_every_backend(self):
        by_owner = self.keys_per_backend("flush", 5)
        keys = [k for ks in by_owner.values() for k in ks]
        c = self.conn()

        def fill():
            for k in keys:
                self.assertEqual(c.command(storage("set", k, k)), b"STORED")

        def held():
            return {name: sorted(backend_items(m.port, keys)) for name, m in self.names.items()}

        everywhere = {name: sorted(b(k) for k in ks) for name, ks in by_owner.items()}
        nowhere = {name: [] for name in self.names}
        fill()
        self.assertEqual(held(), everywhere)
        self.assertEqual(c.command(b"flush_all 100\r\n"), b"OK")
        self.assertEqual(held(), everywhere, "flush_all 100 flushed at once: the delay was lost")
        self.assertEqual(c.command(b"flush_all\r\n"), b"OK")  # also cancels the delayed flush
        self.assertEqual(held(), nowhere)
        fill()
        self.assertEqual(c.command(b"flush_all 0\r\n"), b"OK")
        self.assertEqual(held(), nowhere)
        fill()
        c.send(b"flush_all noreply\r\nversion\r\n")
        self.assertTrue(c.line().startswith(b"VERSION "), "flush_all noreply answered")
        wait_until(lambda: held() == nowhere, timeout=5, what="flush_all noreply on every backend")
        fill()
        c.send(b"flush_all 0 noreply\r\nversion\r\n")
        self.assertTrue(c.line().startswith(b"VERSION "), "flush_all 0 noreply answered")
        wait_until(lambda: held() == nowhere, timeout=5,
                   what="flush_all 0 noreply on every backend")

    def test_unknown_command_is_an_error_and_the_connection_goes_on(self):
        c = self.conn()
        self.assertEqual(c.command(storage("set", "unk:k", "unk:k")), b"STORED")
        for line in [b"bogus", b"bogus with args", b"sett unk:k 0 0 1", b"gett unk:k"]:
            self.assertEqual(c.command(line + b"\r\n"), b"ERROR", line)
            self.assert_works(c, "unk:k")

    def test_unsupported_commands_are_refused_by_name(self):
        c = self.conn()
        other = self.conn()
        self.assertEqual(c.command(storage("set", "uns:k", "uns:k")), b"STORED")
        problems = []
        for line in [b"stats items", b"stats slabs", b"stats detail dump", b"slabs automove 1", b"slabs reassign 1 2", b"lru_crawler crawl all",
                     b"lru_crawler metadump all", b"watch", b"watch fetchers", b"shutdown",
                     b"shutdown graceful"]:
            name = line.split(b" ")[0]
            c.send(line + b"\r\nversion\r\n")
            reply = c.line()
            if not (reply.startswith(b"CLIENT_ERROR ") and name in reply):
                problems.append(f"{line!r} answered {reply!r}")
                for _ in range(10000):  # the rest of that reply, up to the version
                    if c.line().startswith(b"VERSION "):
                        break
            else:
                self.assertTrue(c.line().startswith(b"VERSION "), f"after {line!r}")
            self.assert_works(c, "uns:k")
        self.assertEqual(problems, [])
        self.assert_works(other, "uns:k")
        # A plain `stats` is the proxy's own figures, in memcached's format.
        c.send(b"stats\r\n")
        stats = {}
        for _ in range(100):
            line = c.line()
            if line == b"END":
                break
            self.assertTrue(line.startswith(b"STAT "), line)
            _, name, value = line.split(b" ", 2)
            stats[name] = value
        # major.minor.micro first, as libmemcached parses it, then the proxy's own version.
        self.assertRegex(stats[b"version"], rb"^\d+\.\d+\.\d+-ringleader-\S+$")
        self.assertGreaterEqual(int(stats[b"curr_connections"]), 2)
        self.assertGreater(int(stats[b"cmd_total"]), 20)
        self.assertEqual(int(stats[b"ring_backends"]), 3)
        for name, m in self.names.items():
            self.assertTrue(port_open(m.port), f"{name} went down")
            self.assertIsNone(m.proc.poll(), f"{name} exited")
        self.assert_stored("uns:k", 0, "uns:k")

    def test_bad_arguments_are_client_errors_and_the_connection_goes_on(self):
        c = self.conn()
        other = self.conn()
        long_key = "l" * 251
        self.assertEqual(c.command(storage("set", "bad:k", "bad:k")), b"STORED")
        problems = []
        for line in [b"incr bad:k notanumber", b"decr bad:k notanumber", b"incr bad:k -1",
                     b"touch bad:k soon", b"gat notanumber bad:k",
                     b"gats notanumber bad:k", b"get " + b(long_key),
                     b"get bad:k " + b(long_key) + b" bad:k", b"gets " + b(long_key),
                     b"delete " + b(long_key), b"incr " + b(long_key) + b" 1",
                     b"decr " + b(long_key) + b" 1", b"touch " + b(long_key) + b" 10",
                     b"gat 10 " + b(long_key)]:
            reply = c.command(line + b"\r\n")
            if not reply.startswith(b"CLIENT_ERROR "):
                problems.append(f"{line[:60]!r} answered {reply!r}")
            self.assert_works(c, "bad:k")
        # A retrieval without keys, and a line too short for its command, get memcached's own
        # answer (1.6: get and gets say ERROR, as to any word count a command does not take;
        # gat and gats, which have their exptime, find nothing), checked against one.
        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        for line in [b"get", b"gets", b"gat 10", b"gats 10", b"incr bad:k", b"decr bad:k",
                     b"incr", b"touch bad:k", b"touch", b"delete"]:
            reply = c.command(line + b"\r\n")
            expected = direct.command(line + b"\r\n")
            self.assertIn(expected, (b"ERROR", b"END"))
            if reply != expected:
                problems.append(f"{line!r} answered {reply!r}, memcached {expected!r}")
            self.assert_works(c, "bad:k")
        self.assertEqual(problems, [])
        self.assert_works(other, "bad:k")
        self.assert_stored("bad:k", 0, "bad:k")  # the bad incr/decr/touch changed nothing
        self.assertEqual(backend_ttl(self.names[self.owner("bad:k")].port, "bad:k"), -1)

    def test_numbers_with_a_plus_sign_are_read_as_memcached_reads_them(self):
        # memcached reads numbers with strtol/strtoull, which take a leading '+'. The same
        # lines go to the proxy and to a memcached directly, with their own keys.
        def run(conn, prefix):
            k, n = prefix + ":k", prefix + ":n"
            replies = []
            for request in [b"set %s +5 +0 +3\r\nabc" % b(k), b"set %s 0 0 +1\r\n7" % b(n),
                            b"incr %s +5" % b(n), b"decr %s +2" % b(n),
                            b"touch %s +100" % b(n), b"incr %s +-1" % b(n),
                            b"touch %s +-1" % b(n), b"incr %s +" % b(n), b"verbosity +0",
                            b"ms %s +2 T+0\r\nhi" % b(k), b"append %s 0 0 +1\r\nz" % b(k)]:
                conn.send(request + b"\r\n")
                replies.append(conn.line())
            conn.send(b"gat +100 %s %s\r\n" % (b(k), b(n)))
            replies.append(conn.values())
            return [r.replace(b(prefix), b"P") if isinstance(r, bytes) else
                    [(key.replace(b(prefix), b"P"), *rest[:2]) for key, *rest in r]
                    for r in replies]

        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        expected = run(direct, "plusd")
        self.assertEqual(expected[2:4], [b"12", b"10"])  # the reference read the '+' forms
        self.assertEqual(run(self.conn(), "plusp"), expected)

    def test_extra_words_and_silent_errors_as_memcached_has_them(self):
        # memcached ignores one word after a command's arguments that is not "noreply", and
        # a delete with a bad time and noreply fails silently. The same pipeline goes to the
        # proxy and to a memcached directly (own keys each); mn marks its end.
        def run(conn, prefix):
            k, k2, n = (b(prefix + s) for s in (":k", ":k2", ":n"))
            conn.send(b"".join(line + b"\r\n" for line in [
                b"set %s 0 0 1 xyz\r\nb" % k, b"add %s 0 0 1 xyz\r\nb" % k2,
                b"cas %s 0 0 1 5 xyz\r\nb" % k, b"set %s 0 0 1\r\n5" % n,
                b"incr %s 1 xyz" % n, b"decr %s 2 xyz" % n, b"touch %s 10 xyz" % k,
                b"delete %s 10 noreply" % k, b"delete %s x noreply" % k, b"delete %s 10" % k,
                b"delete %s 0 xyz" % k, b"verbosity 1 xyz", b"get %s %s" % (k, k2),
                b"flush_all xyz", b"flush_all 0 xyz noreply", b"flush_all 0 xyz",
                b"get %s" % k, b"mn"]))
            lines = []
            while not lines or lines[-1] != b"MN":
                lines.append(conn.line().replace(b(prefix), b"P"))
            return lines

        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        expected = run(direct, "xtrd")
        self.assertIn(b"VALUE P:k 0 1", expected)  # the reference stored it, word and all
        self.assertEqual(run(self.conn(), "xtrp"), expected)

    def test_a_nul_in_a_line_cannot_shift_anyones_replies(self):
        # memcached would read "set nul:k\0 ..." as "set nul:k" and run the data block as a
        # command: two replies for one request on a backend connection shared by all clients.
        c = self.conn()
        other = self.conn()
        self.assertEqual(other.command(storage("set", "nul:still", "nul:still")), b"STORED")
        for payload in [b"set nul:k\0 0 0 17\r\nget nul:still    \r\n",
                        b"get nul:still\0x\r\n", b"incr nul:k\0 1\r\n"]:
            c.send(payload + b"version\r\n")
            self.assertEqual(c.line(), b"CLIENT_ERROR bad command line format", payload)
            self.assertTrue(c.line().startswith(b"VERSION "), payload)
            for _ in range(20):  # every client's next replies are still its own
                self.assert_works(other, "nul:still")
                self.assert_works(c, "nul:still")
        self.assert_absent("nul:k")

    def test_long_and_padded_lines_reach_memcached_within_its_line_limit(self):
        # memcached drops a connection that sends over 2048 bytes without a newline (get and
        # gets excepted); that connection is shared by every client of the proxy. On loopback
        # it sees a line whole unless it is longer than its 16 KiB read buffer, hence the sizes.
        c = self.conn()
        other = self.conn()
        self.assertEqual(other.command(storage("set", "pad:still", "pad:still")), b"STORED")
        keys = [f"pad:a-rather-long-key-name-{i:04d}" for i in range(2000)]
        c.send(b"".join(storage("set", k, k, noreply=True) for k in keys) + b"version\r\n")
        self.assertTrue(c.line().startswith(b"VERSION "))
        connects = metric_value(self.rl.admin_port, "ringleader_backend_connects_total")
        c.send(b"gat 300 " + b" ".join(b(k) for k in keys) + b"\r\n")
        got = []
        while True:
            line = c.line()
            if line == b"END":
                break
            self.assertTrue(line.startswith(b"VALUE "), line)
            _, key, _, size = line.split(b" ")
            got.append((key, c.exact(int(size) + 2)[:-2]))
        self.assertEqual(got, [(b(k), b(k)) for k in keys])
        c.send(b"touch pad:still" + b" " * 12000 + b"600\r\n")  # under 16 KiB: memcached reads it
        self.assertEqual(c.line(), b"TOUCHED")
        for _ in range(20):
            self.assert_works(other, "pad:still")
        self.assertGreater(backend_ttl(self.names[self.owner("pad:still")].port, "pad:still"), 0)
        # No backend dropped a connection: every one is still the first the proxy made.
        self.assertEqual(metric_value(self.rl.admin_port, "ringleader_backend_connects_total"),
                         connects)

    def test_key_length_limit(self):
        c = self.conn()
        other = self.conn()
        self.assertEqual(other.command(storage("set", "len:k", "len:k")), b"STORED")
        longest = "m" * 250
        self.assertEqual(c.command(storage("set", longest, "fits")), b"STORED")
        self.assertEqual(c.get(longest), [(b(longest), 0, b"fits", None)])
        self.assert_stored(longest, 0, "fits")
        too_long = "m" * 251
        for request in [storage("set", too_long, "v"), storage("add", too_long, "v\r\n"),
                        storage("cas", too_long, "v", cas=1), storage("append", too_long, "")]:
            reply = c.command(request)
            self.assertTrue(reply.startswith(b"CLIENT_ERROR "),
                            f"{request[:20]!r} answered {reply!r}")
            self.assert_works(c, "len:k")  # the data block was read and dropped
        # With noreply the refusal is silent, as memcached's own error lines are.
        c.send(storage("set", too_long, "v", noreply=True) + b"version\r\n")
        self.assertTrue(c.line().startswith(b"VERSION "))
        self.assert_works(c, "len:k")
        self.assert_works(other, "len:k")


class MalformedStorageTest(McClusterCase):
    def test_malformed_storage_headers_close_only_that_client(self):
        other = self.conn()
        self.assertEqual(other.command(storage("set", "mf:still", "mf:still")), b"STORED")
        py = self.client(default_noreply=False)
        self.assertEqual(py.get("mf:still"), b"mf:still")
        problems = []
        for payload in [b"set mf:k 0 0 notanumber\r\n", b"set mf:k 0 0 -1\r\n",
                        b"add mf:k 0 0 1x\r\n", b"append mf:k 0 0 z\r\n",
                        b"set mf:k 0 0 4294967295\r\n"]:
            reply, closed = raw_exchange(self.rl.port, payload, until_close=True)
            if not (reply.startswith(b"CLIENT_ERROR ") and reply.endswith(b"\r\n")
                    and reply.count(b"\r\n") == 1):
                problems.append(f"{payload!r} answered {reply!r}")
            if not closed:
                problems.append(f"{payload!r}: the connection stays open")
            self.assert_works(other, "mf:still")
        self.assertEqual(problems, [])
        self.assert_absent("mf:k")
        self.assertEqual(py.get("mf:still"), b"mf:still")

    def test_bad_header_fields_with_a_readable_length_keep_the_connection(self):
        # The data block can still be told from the next request: it is read and dropped, the
        # client gets one error line, and its next request is answered.
        c = self.conn()
        for payload, answer in [
                (b"set mf:r notaflag 0 1\r\nv\r\n", b"CLIENT_ERROR bad command line format"),
                (b"set mf:r 0 soon 1\r\nv\r\n", b"CLIENT_ERROR bad command line format"),
                (b"set mf:r -1 0 1\r\nv\r\n", b"CLIENT_ERROR bad command line format"),
                (b"cas mf:r 0 0 1\r\nv\r\n", b"ERROR"),  # a word count cas does not take
                (b"cas mf:r 0 0 1 notacas\r\nv\r\n", b"CLIENT_ERROR bad command line format"),
                # Lengths as memcached reads them (the low 32 bits of a long): stored.
                (b"set mf:w 0 0 -0\r\n\r\n", b"STORED"),
                (b"set mf:w 0 0 4294967297\r\nv\r\n", b"STORED"),
                (b"set mf:w -18446744073709551615 0 1\r\nv\r\n", b"STORED"),
                (b"set mf:r -9223372036854775808 0 1\r\nv\r\n",
                 b"CLIENT_ERROR bad command line format")]:
            c.send(payload + b"version\r\n")
            self.assertEqual(c.line(), answer, payload)
            self.assertTrue(c.line().startswith(b"VERSION "), payload)
        self.assert_absent("mf:r")

    def test_bad_data_chunk_closes_only_that_client(self):
        other = self.conn()
        self.assertEqual(other.command(storage("set", "mf:still", "mf:still")), b"STORED")
        for payload in [b"set mf:chunk 0 0 3\r\nabcde\r\n", b"set mf:chunk 0 0 3\r\nabc\nX",
                        b"add mf:chunk 0 0 0\r\nXY", b"cas mf:chunk 0 0 1 1\r\nvv\r\n"]:
            reply, closed = raw_exchange(self.rl.port, payload, until_close=True)
            self.assertEqual(reply, b"CLIENT_ERROR bad data chunk\r\n", payload)
            self.assertTrue(closed, f"{payload!r}: the connection stays open")
            self.assert_works(other, "mf:still")
        # Replies to the requests before the bad one still arrive, in order.
        reply, closed = raw_exchange(self.rl.port,
                                     storage("set", "mf:pre", "v") + b"get mf:still\r\n"
                                     + b"set mf:chunk 0 0 3\r\nabcde\r\nget mf:still\r\n",
                                     until_close=True)
        self.assertEqual(reply, b"STORED\r\n" + value_reply([("mf:still", 0, "mf:still")])
                         + b"CLIENT_ERROR bad data chunk\r\n")
        self.assertTrue(closed)
        self.assert_absent("mf:chunk")
        self.assert_stored("mf:pre", 0, "v")
        self.assert_works(other, "mf:still")
        # With noreply the error is silent, as memcached's is: the line would otherwise read
        # as the answer to the get behind it. The client sees the close.
        reply, closed = raw_exchange(self.rl.port,
                                     b"set mf:chunk 0 0 3 noreply\r\nabcde\r\nget mf:still\r\n",
                                     until_close=True)
        self.assertEqual(reply, b"")
        self.assertTrue(closed)
        self.assert_absent("mf:chunk")

    def test_a_binary_protocol_client_is_told_and_closed(self):
        # Three binary VERSION requests: nothing in them ends a text line, so the client
        # waited for ever for a binary reply.
        version = bytes([0x80, 0x0b]) + bytes(22)
        started = time.monotonic()
        reply, closed = raw_exchange(self.rl.port, version * 3, until_close=True)
        self.assertEqual(reply, b"CLIENT_ERROR ringleader speaks memcached's text protocol only, "
                                b"not the binary one\r\n")
        self.assertTrue(closed)
        self.assertLess(time.monotonic() - started, 2)  # closed, not left to time out
        other = self.conn()
        self.assertEqual(other.command(storage("set", "mf:binary", "mf:binary")), b"STORED")
        self.assert_works(other, "mf:binary")
        # Only first on a connection: later a 0x80 begins an unknown command, as with memcached.
        reply, closed = raw_exchange(self.rl.port,
                                     b"set mf:b 0 0 1\r\nx\r\n\x80junk\r\nget mf:b\r\n")
        self.assertEqual(reply, b"STORED\r\nERROR\r\nVALUE mf:b 0 1\r\nx\r\nEND\r\n")
        self.assertFalse(closed)


class MalformedLinesTest(McClusterCase):
    """Lines without a data block that memcached refuses get its own answer through the proxy,
    silence included: each is sent to a memcached directly and through ringleader, followed
    by mn, and everything up to MN must match."""

    LINES = [b"incr k", b"incr k 1 noreply extra", b"incr", b"incr ml:k 1 x", b"decr ml:k",
             b"decr ml:k 1 2 3", b"delete", b"delete ml:k 0", b"delete ml:k 5",
             b"delete ml:k 0 noreply", b"delete ml:k 5 noreply", b"delete ml:k 0 noreply extra",
             b"delete ml:k x y", b"delete ml:k x y z", b"delete ml:k noreply", b"touch ml:k",
             b"touch ml:k 5 noreply extra", b"touch ml:k 5 x", b"touch ml:k soon", b"get",
             b"gets", b"gat", b"mg", b"md", b"ma", b"me", b"mg ml:k q q", b"mg ml:k Tx",
             b"mg ml:k !", b"md ml:k !", b"ma ml:k MX", b"verbosity", b"verbosity 1 2 3",
             # keys over 250 bytes, in every command
             b"get " + b"k" * 251, b"gets ml:k " + b"k" * 251, b"gat 1 " + b"k" * 251,
             b"delete " + b"k" * 251, b"incr " + b"k" * 251 + b" 1", b"touch " + b"k" * 251 + b" 1",
             b"mg " + b"k" * 251 + b" v", b"md " + b"k" * 251,
             # 20 words: worded differently for mg
             b"mg ml:k" + b" T1" * 18, b"md ml:k" + b" T1" * 18, b"ma ml:k" + b" T1" * 18,
             # "-0" is 0 to memcached
             b"incr ml:n -0", b"decr ml:n -0", b"incr ml:n +2", b"incr ml:n -1",
             # strtoull's negation modulo 2^64: -18446744073709551615 is 1
             b"incr ml:n -18446744073709551615", b"decr ml:n -9223372036854775808",
             b"verbosity -18446744073709551615", b"touch ml:n -18446744073709551615",
             # storage lines without a length word: no data block to memcached either
             b"set ml:k 0 0", b"set ml:k", b"set", b"cas ml:k", b"replace ml:k 0 0",
             b"prepend ml:k", b"ms ml:k"]

    def answers(self, conn, line):
        conn.send(line + b"\r\nmn\r\n")
        got = []
        while (reply := conn.line()) != b"MN":
            got.append(reply)
        return got

    def test_answers_match_memcached(self):
        # A memcached that does not hold ml:n for the proxy: the counter lines run on two items.
        direct = McConn(next(m for name, m in self.names.items() if name != self.owner("ml:n")).port)
        self.addCleanup(direct.close)
        proxied = self.conn()
        for conn in (direct, proxied):
            self.assertEqual(conn.command(storage("set", "ml:n", "5")), b"STORED")
        differ = [(line, self.answers(direct, line), self.answers(proxied, line))
                  for line in self.LINES]
        self.assertEqual([d for d in differ if d[1] != d[2]], [])

    def test_flags_are_read_as_memcached_reads_them(self):
        # 2^32 and more keep their low 32 bits; "-0" is 0; "+5" is 5; "-1" is refused.
        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        proxied = self.conn()
        for flags in (b"4294967296", b"18446744073709551615", b"-0", b"+5", b"-1"):
            line = b"set ml:f %s 0 1\r\nx\r\n" % flags
            answers = []
            for conn in (direct, proxied):
                answer = conn.command(line)
                if answer == b"STORED":
                    answers.append((answer, conn.get("ml:f")))
                else:
                    answers.append((answer, None))
                    conn.send(b"mn\r\n")  # memcached runs the block as a command; skip it
                    while conn.line() != b"MN":
                        pass
            self.assertEqual(answers[1], answers[0], flags)


class LongLinesTest(McClusterCase):
    """memcached resets a connection whose line passes 2048 bytes (get and gets aside): a
    client's long line must not reach it, where it failed every request on the shared
    connection and, repeated, ejected the backend."""

    def test_lines_memcached_would_reset_on_never_reach_it(self):
        key = "long:k"
        other = self.conn()
        self.assertEqual(other.command(storage("set", key, key)), b"STORED")
        c = self.conn()
        # Over memcached's 2048 bytes, under the 16 KiB it reads at once.
        zeros = b"0" * 12000
        junk = b"y" * 12000
        for line, answer in [
                (b"set %s %s0 0 1\r\nx\r\n" % (b(key), zeros), b"CLIENT_ERROR bad command line format"),
                (b"set %s 0 %s0 1\r\nx\r\n" % (b(key), zeros), b"CLIENT_ERROR bad command line format"),
                (b"touch %s %s0\r\n" % (b(key), zeros), b"CLIENT_ERROR bad command line format"),
                (b"incr long:n %s1\r\n" % zeros, b"CLIENT_ERROR bad command line format"),
                (b"gat %s0 %s\r\n" % (zeros, b(key)), b"CLIENT_ERROR bad command line format"),
                (b"gat %s0 %s long:other\r\n" % (zeros, b(key)),
                 b"CLIENT_ERROR bad command line format"),
                # The one word memcached ignores is left out, and the rest goes on.
                (b"touch %s 0 %s\r\n" % (b(key), junk), b"TOUCHED"),
                (b"set long:m 0 0 1 %s\r\nm\r\n" % junk, b"STORED")]:
            for _ in range(3):  # failure_limit times: none of it may count against mc
                c.send(line)
                self.assertEqual(c.line(), answer, line[:40])
            self.assert_works(c, key)
            self.assert_works(other, key)
        self.assertEqual(c.get("long:m"), [(b"long:m", 0, b"m", None)])
        self.assertEqual(metric_value(self.rl.admin_port, "ringleader_backend_ejections_total"
                                      '{backend="%s"}' % self.owner(key)), 0)

    def test_a_line_over_16_KiB_gets_an_error_and_the_client_is_closed(self):
        # memcached never answers such a line (it reads 16 KiB at a time and closes a
        # connection whose full read holds no newline); the proxy holds no more of it either.
        key = "long:k2"
        other = self.conn()
        self.assertEqual(other.command(storage("set", key, key)), b"STORED")
        refused = (b"CLIENT_ERROR ringleader: command line longer than 16384 bytes (only get, "
                   b"gets, gat, gats and bget lines may be)")
        for line in [b"set %s 0 0 1 %s\r\nx\r\n" % (b(key), b"y" * 20000),
                     b"touch %s %s" % (b(key), b"0" * 20000)]:  # no newline yet
            c = self.conn()
            c.send(line)
            self.assertEqual(c.line(), refused, line[:40])
            self.assertTrue(c.closed(), "the connection is closed")
            self.assert_works(other, key)
        # A get of more than 16 KiB of keys is read whole, as memcached reads it.
        keys = [key] + [f"long:missing:{i}" for i in range(2000)]
        self.assertEqual(other.get(*keys), [(b(key), 0, b(key), None)])
        self.assertEqual(metric_value(self.rl.admin_port, "ringleader_backend_ejections_total"
                                      '{backend="%s"}' % self.owner(key)), 0)


class LimitsTest(McClusterCase):
    proxy_extra = "max_request_bytes = 65536"

    def test_a_data_block_over_max_request_bytes_is_refused_and_skipped(self):
        # As memcached does: the error, the block dropped unread, and the connection goes on.
        other = self.conn()
        self.assertEqual(other.command(storage("set", "lim:still", "lim:still")), b"STORED")
        c = self.conn()
        for cmd in ["set", "add", "append"]:
            big = storage(cmd, "lim:big", os.urandom(100000))
            c.send(big[:70000])  # the refusal comes before the block is all in
            self.assertEqual(c.line(), b"SERVER_ERROR object too large for cache", cmd)
            c.send(big[70000:] + b"version\r\n")
            self.assertTrue(c.line().startswith(b"VERSION "), cmd)
            self.assert_works(c, "lim:still")
            self.assert_works(other, "lim:still")
        c.send(storage("set", "lim:big", b"x" * 100000, noreply=True) + b"version\r\n")
        self.assertTrue(c.line().startswith(b"VERSION "), "noreply refusal answered")
        self.assert_absent("lim:big")
        # A refused set leaves no old value behind, as memcached unlinks it.
        self.assertEqual(c.command(storage("set", "lim:old", "old")), b"STORED")
        c.send(storage("set", "lim:old", b"y" * 100000))
        self.assertEqual(c.line(), b"SERVER_ERROR object too large for cache")
        self.assertEqual(c.get("lim:old"), [])
        self.assert_absent("lim:old")

    def test_an_oversized_ms_is_refused_as_memcached_refuses_it(self):
        # memcached checks an ms line's flags before it sizes the item: a line it refuses
        # leaves the key alone; one it takes is "too large" and unlinks the key. For each
        # line, the proxy's answer and what becomes of the key match memcached's own, asked
        # directly with a block over its 1 MB item size.
        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        c = self.conn()
        opaque = b"O" + b"a" * 32
        for flags in [b"T5", b"F3 MS", b"q", b"Tx", b"F-1", b"J-1", b"MX", b"MEE", b"q q", b"S5",
                      opaque, b"Tx MEE", b"MX Tx", b"b", b"b Tx"]:
            answers = []
            for conn, size in [(direct, 1100000), (c, 70000)]:
                self.assertEqual(conn.command(storage("set", "lim:ms", "old")), b"STORED")
                conn.send(b"ms lim:ms %d %s\r\n%s\r\n" % (size, flags, b"z" * size))
                answer = conn.line()
                conn.send(b"mg lim:ms v\r\n")
                kept = conn.line() == b"VA 3"
                if kept:
                    self.assertEqual(conn.line(), b"old")
                answers.append((answer, kept))
            self.assertEqual(answers[1], answers[0], flags)
            self.assertEqual(answers[0][1], not answers[0][0].startswith(b"SERVER_ERROR"), flags)

    def test_requests_under_the_limit_pass(self):
        c = self.conn()
        value = os.urandom(60000)
        self.assertEqual(c.command(storage("set", "lim:ok", value)), b"STORED")
        self.assertEqual(c.get("lim:ok"), [(b"lim:ok", 0, value, None)])
        self.assert_stored("lim:ok", 0, value)


class MetaCommandsTest(McClusterCase):
    """mg ms md ma me mn through the proxy to real memcacheds: routed by key (base64 keys by
    their bytes), quiet mode as memcached answers it, mn answered in order."""

    def meta_value(self, c):
        """One meta reply: (header line, data or None)."""
        line = c.line()
        if not line.startswith(b"VA "):
            return line, None
        data = c.exact(int(line.split(b" ")[1]) + 2)
        self.assertEqual(data[-2:], b"\r\n")
        return line, data[:-2]

    def test_meta_commands_reach_the_keys_owner(self):
        c = self.conn()
        keys = self.keys_per_backend("meta", 2)  # keys on every backend
        for name, ks in keys.items():
            for k in ks:
                value = os.urandom(20)
                c.send(b"ms %s %d F7 T0\r\n%s\r\n" % (b(k), len(value), value))
                self.assertEqual(c.line(), b"HD")
                self.assert_stored(k, 7, value)  # on its owner only, seen by a classic get
                c.send(b"mg %s v f k O42\r\n" % b(k))
                self.assertEqual(self.meta_value(c), (b"VA 20 f7 k%s O42" % b(k), value))
                self.assertEqual(c.get(k), [(b(k), 7, value, None)])
        k = keys["mc-1"][0]
        c.send(b"me %s\r\n" % b(k))
        self.assertTrue(c.line().startswith(b"ME %s " % b(k)))
        self.assertEqual(c.command(b"md %s\r\n" % b(k)), b"HD")
        self.assert_absent(k)
        c.send(b"ma meta:n N0 J5 v\r\n")
        self.assertEqual(self.meta_value(c), (b"VA 1", b"5"))
        c.send(b"ma meta:n D10 v\r\n")
        self.assertEqual(self.meta_value(c), (b"VA 2", b"15"))
        self.assertEqual(c.command(b"incr meta:n 1\r\n"), b"16")  # the same item

    def test_base64_keys_live_where_their_bytes_do(self):
        c = self.conn()
        for key in [b"meta:b64", b"\x00\x01binary\xff", b"sp ace"]:
            encoded = base64.b64encode(key)
            c.send(b"ms %s 2 b\r\nhi\r\n" % encoded)
            self.assertEqual(c.line(), b"HD")
            c.send(b"mg %s b v k\r\n" % encoded)
            self.assertEqual(self.meta_value(c), (b"VA 2 k%s b" % encoded, b"hi"))
            if b" " not in key and b"\x00" not in key:
                self.assertEqual(c.get(key.decode()), [(key, 0, b"hi", None)])
                self.assertEqual(self.holders(key.decode()), [self.owner(key.decode())])
        # A key that is no base64 gets memcached's own words, which differ by command.
        direct = McConn(self.mcs[0].port)
        self.addCleanup(direct.close)
        for line in [b"mg ba*d b v", b"md a b", b"md a b q", b"ma a b", b"me a b"]:
            self.assertEqual(c.command(line + b"\r\n"), direct.command(line + b"\r\n"), line)
        self.assertEqual(c.command(b"mg ba*d b v\r\n"), b"CLIENT_ERROR error decoding key")

    def test_quiet_mode_pipelines_as_with_memcached(self):
        keys = self.keys_per_backend("quiet", 1)
        a, b_, c_ = (ks[0] for ks in keys.values())
        conn = self.conn()
        for k in (a, b_, c_):
            self.assertEqual(conn.command(storage("set", k, k)), b"STORED")
        # Hits and errors are heard; misses (mg) and successes (ms, md) are not; mn ends it.
        conn.send(b"mg %s v q k\r\nmg quiet:missing v q k\r\nms %s 1 q\r\nx\r\n"
                  b"md quiet:missing q\r\nmg %s v q O9\r\nmd %s q\r\nmn\r\n"
                  % (b(a), b(b_), b(c_), b(a)))
        self.assertEqual(self.meta_value(conn), (b"VA %d k%s" % (len(a), b(a)), b(a)))
        self.assertEqual(conn.line(), b"NF")
        self.assertEqual(self.meta_value(conn), (b"VA %d O9" % len(c_), b(c_)))
        self.assertEqual(conn.line(), b"MN")
        self.assert_stored(b_, 0, b"x")
        self.assert_absent(a)
        # What memcached would misread never reaches it: "q1" is quiet mode too, and an ms of
        # 20 words would have memcached run its data block as a command.
        conn.send(b"mg quiet:missing v q1\r\nms quiet:m 9" + b" T0" * 17 + b"\r\nflush_all\r\n"
                  b"mg %s v\r\nmn\r\n" % b(b_))
        self.assertEqual(conn.line(), b"CLIENT_ERROR options flags too long")  # memcached's
        self.assertEqual(self.meta_value(conn), (b"VA 1", b"x"))
        self.assertEqual(conn.line(), b"MN")
        # A repeated q is refused, as any repeated flag: the proxy does not hide it.
        conn.send(b"mg quiet:missing v q q\r\nmd quiet:missing q1 q\r\nmn\r\n")
        self.assertEqual(conn.line(), b"CLIENT_ERROR duplicate flag")
        self.assertEqual(conn.line(), b"CLIENT_ERROR invalid or duplicate flag")
        self.assertEqual(conn.line(), b"MN")

    def test_meta_cas_with_the_token_mg_gave(self):
        c = self.conn()
        c.send(b"ms meta:cas 3\r\nold\r\n")
        self.assertEqual(c.line(), b"HD")
        c.send(b"mg meta:cas c v\r\n")
        header, _ = self.meta_value(c)
        token = header.split(b" c")[1]
        c.send(b"ms meta:cas 3 C%s\r\nnew\r\n" % token)
        self.assertEqual(c.line(), b"HD")
        c.send(b"ms meta:cas 3 C%s\r\nbad\r\n" % token)
        self.assertEqual(c.line(), b"EX")
        self.assert_stored("meta:cas", 0, b"new")


class ReplyLimitTest(McClusterCase):
    """backend.max_reply_bytes: an oversized reply is dropped as it streams in; its request gets
    a SERVER_ERROR, and the requests around it on the same backend connection their replies."""
    proxy_extra = "workers = 1\nmax_request_bytes = 4194304"
    extra = "[backend]\nmax_reply_bytes = 1048576"
    memcached_args = ("-I", "2m")

    def test_oversized_replies_are_errors_and_the_connection_stays_in_step(self):
        c = self.conn()
        values = {f"{{r}}{i}": os.urandom(600000) for i in range(3)}  # {r}: one backend
        for key, value in values.items():
            self.assertEqual(c.command(storage("set", key, value)), b"STORED")
        too_large = metric_value(self.rl.admin_port, "ringleader_backend_replies_too_large_total")
        owner = self.owner("{r}0")
        reply, closed = raw_exchange(self.rl.port, b"get {r}0\r\nget {r}0 {r}1\r\nget {r}2\r\n"
                                     b"gets {r}1 {r}2\r\nget {r}1\r\n", timeout=10)
        limit_error = (b"SERVER_ERROR ringleader: backend %s (127.0.0.1:%d): reply larger than "
                       b"backend.max_reply_bytes (1048576 bytes), dropped\r\n"
                       % (owner.encode(), self.names[owner].port))
        self.assertFalse(closed)
        self.assertEqual(reply, value_reply([("{r}0", 0, values["{r}0"])]) + limit_error
                         + value_reply([("{r}2", 0, values["{r}2"])]) + limit_error
                         + value_reply([("{r}1", 0, values["{r}1"])]))
        self.assertEqual(metric_value(self.rl.admin_port, "ringleader_backend_replies_too_large_total"),
                         too_large + 2)

    def test_a_split_gets_replies_share_one_limit(self):
        """get of keys on two backends: each reply fits backend.max_reply_bytes, both together
        do not, so the get gets a SERVER_ERROR; replies that fit together are served."""
        c = self.conn()
        keys = self.keys_per_backend("split", 1)
        a, b2 = [ks[0] for ks in keys.values()][:2]
        for key in (a, b2):
            self.assertEqual(c.command(storage("set", key, b"v" * 600000)), b"STORED")
        reply, closed = raw_exchange(self.rl.port, f"get {a} {b2}\r\nget {a}\r\n".encode(),
                                     timeout=10)
        self.assertFalse(closed)
        self.assertRegex(reply.split(b"\r\n")[0],
                         rb"^SERVER_ERROR ringleader: backend mc-\d \(127.0.0.1:\d+\): reply "
                         rb"together with the request's other replies larger than "
                         rb"backend.max_reply_bytes \(1048576 bytes\), dropped$")
        self.assertTrue(reply.endswith(value_reply([(a, 0, b"v" * 600000)])))
        self.assertEqual(c.command(storage("set", b2, b"w" * 400000)), b"STORED")
        reply, _ = raw_exchange(self.rl.port, f"get {a} {b2}\r\n".encode(), timeout=10)
        self.assertEqual(reply, value_reply([(a, 0, b"v" * 600000), (b2, 0, b"w" * 400000)]))


class GarbageServer:
    """A TCP server on a free loopback port that answers every line it reads with a line no
    memcached sends."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            while not self.stopping:
                try:
                    data = conn.recv(65536)
                    if not data:
                        return
                    conn.sendall(b"\x00\x01garbage\r\n" * data.count(b"\n"))
                except OSError:
                    return

    def close(self):
        self.stopping = True
        self.sock.close()


class GarbageBackendTest(unittest.TestCase):
    """A backend that answers lines no memcached sends: its requests get a SERVER_ERROR naming
    it (the garbage used to reach clients as an answer, and a split get lost the other
    backend's hits), and the other backend's keys keep working."""

    def test_garbage_replies_are_errors_naming_the_backend(self):
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(TempDir())
            mc = stack.enter_context(MemcachedServer(tmp))
            garbage = GarbageServer()
            stack.callback(garbage.close)
            rl = stack.enter_context(Ringleader(
                RINGLEADER, tmp,
                [{"name": "good", "address": f"127.0.0.1:{mc.port}"},
                 {"name": "bad", "address": f"127.0.0.1:{garbage.port}"}],
                proxy='protocol = "memcached"', extra="[backend]\nfailure_limit = 0"))
            candidates = [f"g{i}" for i in range(60)]
            owners = dict(zip(candidates, lookup(rl.config_path, candidates)))
            good = next(k for k in candidates if owners[k] == "good")
            bad = next(k for k in candidates if owners[k] == "bad")
            c = McConn(rl.port)
            stack.callback(c.close)
            self.assertEqual(c.command(storage("set", good, "v")), b"STORED")
            reply = c.command(f"get {bad}\r\n".encode())
            self.assertTrue(reply.startswith(b"SERVER_ERROR ringleader: backend bad "), reply)
            self.assertIn(b"unexpected reply line", reply)
            reply = c.command(f"get {good} {bad}\r\n".encode())
            self.assertTrue(reply.startswith(b"SERVER_ERROR ringleader: backend bad "), reply)
            # The good backend's keys are served on the same connection, and in order.
            for _ in range(3):
                self.assertEqual(c.get(good), [(b(good), 0, b"v", None)])


class OutOfStepServer(GarbageServer):
    """Answers each get line with the items of its keys, but leaves END out after a key named
    "noend" and answers a key named "wrong" with an item for "other" (a broken server, or a
    stream shared by mistake)."""

    def serve(self, conn):
        with conn:
            data = b""
            while not self.stopping:
                try:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                    while b"\r\n" in data:
                        line, data = data.split(b"\r\n", 1)
                        words = line.split()
                        out = b""
                        for key in words[1:]:
                            name = b"other" if key == b"wrong" else key
                            out += b"VALUE %s 0 1\r\nx\r\n" % name
                        conn.sendall(out + (b"" if b"noend" in words else b"END\r\n"))
                except OSError:
                    return


class OutOfStepBackendTest(unittest.TestCase):
    """A get answered with an item it did not ask for fails the backend connection: a missing
    END had the framer take the next request's reply in, and every reply after it then went
    to the request before (a single-key get answered with another key's item, which only a
    split get used to notice)."""

    def test_items_not_asked_for_fail_the_connection(self):
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(TempDir())
            server = OutOfStepServer()
            stack.callback(server.close)
            rl = stack.enter_context(Ringleader(
                RINGLEADER, tmp, [{"name": "odd", "address": f"127.0.0.1:{server.port}"}],
                proxy='protocol = "memcached"\nworkers = 1',
                extra="[backend]\nfailure_limit = 0\n[log]\nlevel = \"error\""))
            c = McConn(rl.port)
            stack.callback(c.close)
            self.assertEqual(c.get("fine"), [(b"fine", 0, b"x", None)])
            reply = c.command(b"get wrong\r\n")
            self.assertEqual(reply, b"SERVER_ERROR ringleader: backend odd (127.0.0.1:%d): reply "
                             b"out of step with the requests: an item for key 'other' that the "
                             b"request did not ask for (or not then)" % server.port)
            fine = b"VALUE fine 0 1\r\nx\r\nEND\r\n"
            wait_until(lambda: raw_exchange(rl.port, b"get fine\r\n")[0] == fine, timeout=10,
                       what="the backend, once its connection is replaced")
            # The reply to "get noend" runs into the next one's: both get the error, and
            # neither gets the other's item.
            replies, _ = raw_exchange(rl.port, b"get noend\r\nget next\r\n", timeout=10)
            self.assertEqual(replies.count(b"SERVER_ERROR"), 2, replies)
            self.assertNotIn(b"VALUE", replies)
            self.assertIn(b"an item for key 'next'", replies)
            # A key asked twice is answered twice, in order: no error.
            twice = b"VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
            wait_until(lambda: raw_exchange(rl.port, b"get a b a\r\n")[0] == twice, timeout=10,
                       what="the backend, once its connection is replaced")


class StalledBackendTest(McClusterCase):
    """backend.timeout_ms: a memcached that stops answering (SIGSTOP) gives the requests for its
    keys a SERVER_ERROR naming it once the timeout has passed; the other backends answer
    meanwhile; it serves again once it runs again."""
    extra = "[backend]\ntimeout_ms = 300\nfailure_limit = 0"

    def test_a_stopped_memcached_times_out_only_its_keys(self):
        keys = self.keys_per_backend("stall", 2)
        c = self.conn()
        for ks in keys.values():
            for k in ks:
                self.assertEqual(c.command(storage("set", k, k)), b"STORED")
        stopped = self.names["mc-1"]
        sigstop(stopped.proc.pid)
        try:
            started = time.monotonic()
            reply = c.command(f"get {keys['mc-1'][0]}\r\n".encode())
            waited = time.monotonic() - started
            self.assertEqual(reply, b"SERVER_ERROR ringleader: backend mc-1 (127.0.0.1:%d): "
                             b"timeout after 300 ms" % stopped.port)
            self.assertGreaterEqual(waited, 0.29)
            for k in keys["mc-0"] + keys["mc-2"]:
                self.assert_works(c, k)
            self.assertEqual(metric_value(self.rl.admin_port, "ringleader_backend_timeouts_total"), 1)
        finally:
            os.kill(stopped.proc.pid, signal.SIGCONT)

        def answers():
            got = c.get(keys["mc-1"][1])
            return got == [(b(keys["mc-1"][1]), 0, b(keys["mc-1"][1]), None)]
        wait_until(answers, timeout=10, what="mc-1 to answer again")

class ValuesTest(McClusterCase):
    proxy_extra = "max_request_bytes = 4194304"
    memcached_args = ("-I", "2m")

    def test_binary_values_round_trip(self):
        c = self.conn()
        values = [b"", b"\r\n", b"a\r\nb", b"END\r\n", b"VALUE x 0 1\r\nx\r\nEND\r\n", b"\x00",
                  bytes(range(256)), bytes(range(255, -1, -1)) * 40, b"\r" * 100, b"\n" * 100]
        for i, value in enumerate(values):
            self.assertEqual(c.command(storage("set", f"bin:{i}", value, flags=i)), b"STORED")
        keys = [f"bin:{i}" for i in range(len(values))]
        self.assertEqual(c.get(*keys),
                         [(b(k), i, v, None) for i, (k, v) in enumerate(zip(keys, values))])
        for i, (k, v) in enumerate(zip(keys, values)):
            self.assert_stored(k, i, v)
        py = self.client()
        self.assertEqual(py.get_many(keys), {k: v for k, v in zip(keys, values)})

    def test_a_one_megabyte_value_round_trips(self):
        c = self.conn()
        big = os.urandom(1 << 20)
        self.assertEqual(c.command(storage("set", "big:1m", big, flags=42)), b"STORED")
        self.assertEqual(c.get("big:1m"), [(b"big:1m", 42, big, None)])
        self.assert_stored("big:1m", 42, big)
        self.assertEqual(c.command(storage("append", "big:1m", b"\r\n")), b"STORED")
        py = self.client(default_noreply=False)
        self.assertEqual(py.get("big:1m"), big + b"\r\n")
        other = os.urandom((1 << 20) + 12345)
        self.assertTrue(py.set("big:py", other))
        self.assertEqual(py.get_many(["big:py", "big:1m"]),
                         {"big:py": other, "big:1m": big + b"\r\n"})
        self.assert_stored("big:py", 0, other)

    def test_flags_and_exptime_pass_through(self):
        c = self.conn()
        for flags in [0, 1, 255, 65535, 65536, 2 ** 31, 2 ** 32 - 1]:
            key = f"fl:{flags}"
            self.assertEqual(c.command(storage("set", key, "v", flags=flags)), b"STORED")
            self.assertEqual(c.get(key), [(b(key), flags, b"v", None)])
            self.assert_stored(key, flags, "v")
        now = int(time.time())
        for key, exptime, ttl in [("ex:none", 0, range(-1, 0)), ("ex:rel", 1000, range(990, 1001)),
                                  ("ex:abs", now + 5000, range(4980, 5002))]:
            self.assertEqual(c.command(storage("set", key, "v", exptime=exptime)), b"STORED")
            self.assertIn(backend_ttl(self.names[self.owner(key)].port, key), ttl, key)
        self.assertEqual(c.command(storage("set", "ex:past", "v", exptime=-1)), b"STORED")
        self.assertEqual(c.get("ex:past"), [])
        self.assertIsNone(backend_ttl(self.names[self.owner("ex:past")].port, "ex:past"))


class PipelineTest(McClusterCase):
    def test_a_client_that_half_closes_gets_its_replies(self):
        got = send_and_half_close(
            self.rl.port, b"set halfclosed 0 0 1\r\n1\r\nget halfclosed\r\nversion\r\nget half")
        lines = got.split(b"\r\n")
        self.assertEqual(lines[:4], [b"STORED", b"VALUE halfclosed 0 1", b"1", b"END"], got)
        self.assertTrue(lines[4].startswith(b"VERSION "), got)
        self.assertEqual(lines[5:], [b""], got)

    def test_ten_thousand_pipelined_commands_in_order(self):
        keys = [f"pl:{i}" for i in range(300)]
        lookup_owner = dict(zip(keys, lookup(self.rl.config_path, keys)))
        self.assertEqual(set(lookup_owner.values()), set(self.names))
        model = {}  # key -> (flags, value) as memcached holds it
        payload, replies = [], []
        for i in range(10000):
            k = keys[(i * 7) % len(keys)]
            kind = i % 10
            if kind in (0, 5):
                v = f"value-{i}-" + "x" * (i % 50)
                model[k] = (i % 1000, v)
                payload.append(storage("set", k, v, flags=i % 1000))
                replies.append(b"STORED\r\n")
            elif kind in (1, 6):
                v = f"quiet-{i}"
                model[k] = (0, v)
                payload.append(storage("set", k, v, noreply=True))
            elif kind == 7:
                payload.append(b"delete %s noreply\r\n" % b(k))
                model.pop(k, None)
            elif kind == 9 and i % 100 == 9:
                payload.append(b"delete %s\r\n" % b(k))
                replies.append(b"DELETED\r\n" if model.pop(k, None) else b"NOT_FOUND\r\n")
            elif kind in (2, 4, 9):
                payload.append(b"get %s\r\n" % b(k))
                replies.append(value_reply([(k,) + model[k]] if k in model else []))
            else:
                asked = [k, keys[(i * 7 + 1) % len(keys)], keys[(i * 7 + 150) % len(keys)], k]
                payload.append(b"get %s\r\n" % b" ".join(b(a) for a in asked))
                replies.append(value_reply([(a,) + model[a] for a in asked if a in model]))
        payload, expected = b"".join(payload), b"".join(replies)
        got = bytearray()
        with socket.create_connection(("127.0.0.1", self.rl.port), timeout=30) as s:
            def read():
                deadline = time.monotonic() + 60
                try:
                    while len(got) < len(expected) and time.monotonic() < deadline:
                        data = s.recv(1 << 20)
                        if not data:
                            return
                        got.extend(data)
                except OSError:
                    pass
            reader = threading.Thread(target=read)
            reader.start()
            s.sendall(payload)
            reader.join(timeout=90)
            self.assertFalse(reader.is_alive(), "replies still coming after 90 s")
            s.settimeout(0.3)
            try:
                got.extend(s.recv(65536))
            except socket.timeout:
                pass
        if bytes(got) != expected:
            at = next((i for i, (x, y) in enumerate(zip(got, expected)) if x != y),
                      min(len(got), len(expected)))
            ends = itertools.accumulate(len(r) for r in replies)
            reply = next(i for i, end in enumerate(ends) if end > at) if at < len(expected) else "-"
            window = slice(max(0, at - 80), at + 80)
            self.fail(f"{len(got)} bytes back, {len(expected)} expected; first difference at byte "
                      f"{at} (reply {reply} of {len(replies)}): got {bytes(got[window])!r}, "
                      f"expected {expected[window]!r}")
        for name, m in self.names.items():
            held = {k: v[:2] for k, v in backend_items(m.port, keys).items()}
            self.assertEqual(held, {b(k): (f, b(v)) for k, (f, v) in model.items()
                                    if lookup_owner[k] == name}, f"keys held by {name}")

    def test_client_writing_one_byte_at_a_time(self):
        payload = (storage("set", "slow", "value", flags=9)
                   + storage("set", "slow2", "v\r\n2", noreply=True)
                   + b"get slow slow2 slow\r\nincr slow 1\r\ndelete slow2\r\nversion\r\n")
        expected = (b"STORED\r\n" + value_reply([("slow", 9, "value"), ("slow2", 0, "v\r\n2"),
                                                 ("slow", 9, "value")])
                    + b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                    + b"DELETED\r\n")
        with McConn(self.rl.port, timeout=10) as c:
            for byte in payload:
                c.send(bytes([byte]))
            self.assertEqual(c.take(len(expected)), expected)
            self.assertTrue(c.line().startswith(b"VERSION "))
        self.assert_stored("slow", 9, "value")
        self.assert_absent("slow2")


class PlainWritesPipelineTest(PipelineTest):
    """The pipeline tests with one write() per socket (proxy.io_uring = false)."""
    proxy_extra = "io_uring = false"


class ManyConnectionsPipelineTest(PipelineTest):
    """The pipeline tests with two connections per backend (as conf/memcached.toml has): a
    client's requests to a backend all take one of them, in the order they were sent."""
    extra = "[backend]\nconnections = 2"

    def test_a_backend_runs_one_clients_pipeline_in_order(self):
        for attempt in range(20):
            c = self.conn()
            c.send(b"set order 0 0 1\r\n0\r\n" + b"incr order 1\r\n" * 3 + b"get order\r\n")
            got = [c.line() for _ in range(4)] + [c.line(), c.line(), c.line()]
            self.assertEqual(got, [b"STORED", b"1", b"2", b"3", b"VALUE order 0 1", b"3", b"END"],
                             f"attempt {attempt}")


class SpreadTest(McClusterCase):
    def test_a_thousand_keys_land_on_their_owners_only(self):
        c = self.client(default_noreply=False)
        keys = [f"spread:{i}" for i in range(1000)]
        owners = dict(zip(keys, lookup(self.rl.config_path, keys)))
        self.assertEqual(set(owners.values()), set(self.names),
                         "keys should spread over every backend")
        self.assertEqual(c.set_many({k: f"v{i}" for i, k in enumerate(keys)}), [])
        self.assertEqual(c.get_many(keys + ["spread:missing"]),
                         {k: f"v{i}".encode() for i, k in enumerate(keys)})
        for name, m in self.names.items():
            held = backend_items(m.port, keys)
            self.assertEqual(sorted(held), sorted(b(k) for k in keys if owners[k] == name),
                             f"keys held by {name}")
            for k, (flags, value, _) in held.items():
                self.assertEqual(value, b"v%d" % keys.index(k.decode()), k)
        self.assertTrue(c.delete_many(keys[:500] + ["spread:missing"]))
        self.assertEqual(sorted(c.get_many(keys)), sorted(keys[500:]))
        self.assertTrue(c.delete_many(keys[500:]))
        for name, m in self.names.items():
            self.assertEqual(backend_items(m.port, keys), {}, f"keys left on {name}")

    def test_a_thousand_key_get_keeps_the_clients_order(self):
        keys = [f"big-get:{i}" for i in range(1000)]
        c = self.conn()
        payload = b"".join(storage("set", k, k * (i % 3), flags=i) for i, k in enumerate(keys)
                           if i % 10 != 3)  # every tenth key is a miss
        c.send(payload)
        for _ in range(900):
            self.assertEqual(c.line(), b"STORED")
        asked = keys[::-1] + keys[::7]
        hits = [(k, keys.index(k), k * (keys.index(k) % 3)) for k in asked
                if keys.index(k) % 10 != 3]
        c.send(b"get %s\r\n" % b" ".join(b(k) for k in asked))
        self.assertEqual(c.values(), [(b(k), f, b(v), None) for k, f, v in hits])
        c.send(b"gets %s\r\n" % b" ".join(b(k) for k in asked))
        reply = c.values()
        self.assertEqual([(k, f, v) for k, f, v, _ in reply], [(b(k), f, b(v)) for k, f, v in hits])
        self.assertTrue(all(cas is not None for *_, cas in reply))


def fuzz_stream(rng):
    """Random client bytes: mostly memcached commands with random keys, numbers and data blocks
    (some with the wrong length), some with a byte changed, some raw garbage. No flush_all: the
    good client's items must stay."""
    names = [b"get", b"gets", b"gat", b"set", b"add", b"append", b"cas", b"delete", b"incr",
             b"touch", b"version", b"verbosity", b"stats", b"mg", b"quit", b"nosuch", b"GET", b""]
    words = [b"fz:a", b"fz:b", b"{fz}c", b"0", b"1", b"-1", b"18446744073709551616", b"noreply",
             b"k" * 251, b"abc"]
    out = []
    for _ in range(rng.randint(1, 40)):
        name = rng.choice(names)
        line = b" ".join([name] + [rng.choice(words) for _ in range(rng.randint(0, 5))])
        if name in (b"set", b"add", b"append", b"cas") and rng.random() < 0.8:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 20)))
            size = len(data) if rng.random() < 0.9 else rng.randint(0, 40)
            line = b"%s fz:%d 0 0 %d%s\r\n%s" % (name, rng.randint(0, 9), size,
                                                  b" 1" if name == b"cas" else b"", data)
        req = line + b"\r\n" if rng.random() < 0.9 else bytes(rng.randrange(256) for _ in range(30))
        if rng.random() < 0.05:
            i = rng.randrange(len(req))
            req = req[:i] + bytes([rng.randrange(256)]) + req[i + 1:]
        out.append(req)
    return b"".join(out)


class RandomTrafficTest(McClusterCase):
    """Clients sending random, malformed and cut-off traffic, in random pieces, closing or
    resetting at random, while a well-behaved pymemcache client works: the proxy answers or
    closes each of them and the good client sees only right answers. Bounded: 6 s, 8 threads."""

    def test_random_traffic_disturbs_no_one_else(self):
        problems = []

        def good_client(deadline):
            c = Client(("127.0.0.1", self.rl.port), connect_timeout=5, timeout=10)
            i = 0
            try:
                while time.monotonic() < deadline:
                    key, value = f"good:{i % 50}", f"v{i}".encode()
                    try:
                        if c.set(key, value, noreply=False) is not True:
                            problems.append(("set", key))
                        if c.get(key) != value:
                            problems.append(("get", key))
                        got = c.get_many([key, "good:nothing"])
                        if got != {key: value}:
                            problems.append(("get_many", key, got))
                    except Exception as e:  # pymemcache raises several types
                        problems.append(("error", repr(e)))
                    i += 1
            finally:
                c.close()

        connections = with_random_traffic(self.rl.port, fuzz_stream, good_client)
        self.assertEqual(problems, [])
        self.assertGreater(connections, 50)
        self.assertGreater(metric_value(self.rl.admin_port, "ringleader_client_protocol_errors_total"), 10)
        self.assertTrue(self.conn().command(b"version\r\n").startswith(b"VERSION"))
        wait_until(lambda: metric_value(self.rl.admin_port, "ringleader_client_connections") <= 1,
                   what="the random clients to be closed")


class PymemcacheTest(McClusterCase):
    def test_pymemcache_works_unchanged(self):
        c = self.client(default_noreply=False)
        self.assertTrue(c.set("py:a", b"1"))
        self.assertEqual(c.get("py:a"), b"1")
        self.assertTrue(c.add("py:b", b"b"))
        self.assertFalse(c.add("py:b", b"x"))
        self.assertTrue(c.replace("py:b", b"B"))
        self.assertFalse(c.replace("py:none", b"x"))
        self.assertTrue(c.append("py:b", b">"))
        self.assertTrue(c.prepend("py:b", b"<"))
        self.assertEqual(c.get("py:b"), b"<B>")
        value, unique = c.gets("py:b")
        self.assertEqual(value, b"<B>")
        self.assertTrue(c.cas("py:b", b"new", unique))
        self.assertFalse(c.cas("py:b", b"stale", unique))
        self.assertIsNone(c.cas("py:none", b"x", unique))
        self.assertEqual(c.incr("py:a", 41), 42)
        self.assertEqual(c.decr("py:a", 2), 40)
        self.assertIsNone(c.incr("py:none", 1))
        self.assertIsNone(c.decr("py:none", 1))
        self.assertTrue(c.touch("py:a", 300))
        self.assertFalse(c.touch("py:none", 300))
        self.assertEqual(c.get_many(["py:a", "py:b", "py:none"]), {"py:a": b"40", "py:b": b"new"})
        self.assert_stored("py:a", 0, "40")
        self.assert_stored("py:b", 0, "new")
        self.assertIn(backend_ttl(self.names[self.owner("py:a")].port, "py:a"), range(290, 301))
        self.assertTrue(c.delete("py:a"))
        self.assertFalse(c.delete("py:a"))
        self.assert_absent("py:a")
        self.assertRegex(c.version(), rb"^\S+$")
        self.assertTrue(c.flush_all())
        self.assertEqual(c.get_many(["py:b"]), {})
        self.assert_absent("py:b")
        # The default client sends storage commands, delete and flush_all with noreply.
        d = self.client()
        d.set("py:nr", b"x")
        self.assertEqual(d.get("py:nr"), b"x")
        d.delete("py:nr")
        self.assertIsNone(d.get("py:nr"))
        d.set("py:nr", b"y")
        d.flush_all()
        wait_until(lambda: d.get("py:nr") is None, timeout=5, what="flush_all noreply")


class LibmemcachedToolsTest(McClusterCase):
    """libmemcached's own tools, unchanged, through ringleader."""

    def test_memccapable_ascii_suite_passes(self):
        # libmemcached's protocol checker: every ASCII test (it flushes the pool).
        out = subprocess.run(["memccapable", "-a", "-h", "127.0.0.1", "-p", str(self.rl.port),
                              "-t", "10"], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("All tests passed", out.stdout)
        self.assertNotIn("[FAIL]", out.stdout)

    def test_memaslap_verifies_every_value_it_reads(self):
        # 20,000 operations from 10 clients: 90% gets of 5 keys (split over the pool), 10% sets;
        # memaslap checks every value it gets back against what it stored.
        out = subprocess.run(["memcaslap", "-s", f"127.0.0.1:{self.rl.port}", "-T", "1",
                              "-c", "10", "-x", "20000", "-X", "32", "-d", "5", "-v", "1.0"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        counts = dict(re.findall(r"^(\w+): (\d+)$", out.stdout, re.M))
        self.assertEqual(int(counts["cmd_get"]) + int(counts["cmd_set"]), 20000, out.stdout)
        self.assertEqual(counts["verify_failed"], "0", out.stdout)
        self.assertEqual(counts["verify_misses"], "0", out.stdout)
        self.assertEqual(counts["get_misses"], "0", out.stdout)
        self.assertNotIn("CLIENT_ERROR", out.stdout + out.stderr)
        self.assertNotIn("SERVER_ERROR", out.stdout + out.stderr)


@contextlib.contextmanager
def proxy_over_memcacheds(extra, server_args):
    """A memcached per entry of server_args (its extra options), named mc-0, mc-1, ..., and
    a memcached ringleader over them with `extra` config; yields (memcacheds, ringleader)."""
    with TempDir() as tmp, contextlib.ExitStack() as stack:
        mcs = [stack.enter_context(MemcachedServer(tmp, extra_args=args)) for args in server_args]
        rl = stack.enter_context(Ringleader(
            RINGLEADER, tmp, [{"name": f"mc-{i}", "address": f"127.0.0.1:{m.port}"}
                              for i, m in enumerate(mcs)],
            proxy='protocol = "memcached"', extra=extra))
        yield mcs, rl


class BackendFailureTest(unittest.TestCase):
    def test_a_backend_at_its_connection_limit_fails_as_a_connection_and_is_ejected(self):
        # memcached at its connection limit (-c; with 12 its own descriptors use them all)
        # answers "ERROR Too many open connections" and closes. That line used to pass for
        # the first request's reply, and the connection's failure never counted.
        extra = "[backend]\nfailure_limit = 2\nretry_timeout_ms = 5000"
        with proxy_over_memcacheds(extra, [(), ("-c", "12"), ()]) as (mcs, rl):
            keys = [f"full:{i}" for i in range(60)]
            key = next(k for k, o in zip(keys, lookup(rl.config_path, keys)) if o == "mc-1")
            with McConn(rl.port) as conn:
                for _ in range(2):  # failure_limit connections, each refused
                    reply = conn.command(b"get " + b(key) + b"\r\n")
                    self.assertTrue(reply.startswith(b"SERVER_ERROR "), reply)
                    self.assertIn(b"backend mc-1", reply)
                    self.assertIn(b"Too many open connections", reply)
                    time.sleep(0.12)  # past the reconnect backoff
                self.assertEqual(metric_value(
                    rl.admin_port, 'ringleader_backend_ejections_total{backend="mc-1"}'), 1)
                self.assertEqual(conn.get(key), [])  # its keys go to the next backend meanwhile

    def test_dead_backend_fails_only_its_keys_under_load(self):
        extra = "[backend]\ntimeout_ms = 500\nconnect_timeout_ms = 200\nfailure_limit = 0"
        with proxy_over_memcacheds(extra, [()] * 3) as (mcs, rl):
            keys = [f"kill:{i}" for i in range(600)]
            owner = dict(zip(keys, lookup(rl.config_path, keys)))
            self.assertEqual(set(owner.values()), {"mc-0", "mc-1", "mc-2"})
            with McConn(rl.port) as seed:
                seed.send(b"".join(storage("set", k, "v") for k in keys))
                for k in keys:
                    self.assertEqual(seed.line(), b"STORED", k)
            killed = threading.Event()
            problems, counts = [], {"ok": 0, "failed": 0, "ok_after_kill": 0}
            progress = [0] * 4  # requests answered per worker
            lock = threading.Lock()

            def load(worker):
                try:
                    conn = McConn(rl.port, timeout=5)
                except OSError as e:
                    problems.append(f"connect: {e}")
                    return
                with conn:
                    deadline = time.monotonic() + 20
                    after_kill = 0
                    for i in range(50000):  # bounded in count and time; 400 after the kill
                        if time.monotonic() > deadline or after_kill >= 400:
                            break
                        k = keys[(worker * 7919 + i * 31) % len(keys)]
                        after = killed.is_set()
                        after_kill += after
                        try:
                            if i % 4 == 0:
                                reply = conn.command(storage("set", k, "v"))
                                ok = reply == b"STORED"
                            else:
                                reply = conn.get(k)
                                ok = reply == [(b(k), 0, b"v", None)]
                        except (OSError, ConnectionError, AssertionError) as e:
                            problems.append(f"client connection broke: {e!r}")
                            return
                        if ok:
                            with lock:
                                counts["ok"] += 1
                                if after:
                                    counts["ok_after_kill"] += 1
                        elif isinstance(reply, bytes) and reply.startswith(b"SERVER_ERROR "):
                            with lock:
                                counts["failed"] += 1
                            if owner[k] != "mc-1":
                                problems.append(f"{k} on {owner[k]} failed: {reply!r}")
                            elif b"mc-1" not in reply:
                                problems.append(f"error does not name the backend: {reply!r}")
                        else:
                            problems.append(f"{k} on {owner[k]}: unexpected reply {reply!r}")
                        progress[worker] = i + 1

            threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            wait_until(lambda: problems or min(progress) >= 300, timeout=20,
                       what="every worker under load")
            mcs[1].stop()  # mc-1 dies mid-load
            killed.set()
            for t in threads:
                t.join(timeout=60)
            self.assertFalse(any(t.is_alive() for t in threads), "load still running")
            self.assertEqual(problems, [])
            self.assertGreater(counts["failed"], 0, "no request hit the dead backend")
            self.assertGreater(counts["ok_after_kill"], 0, "nothing served after the kill")
            # A new client is served: its mc-1 keys fail by name, the others are intact.
            with McConn(rl.port) as c:
                for k in keys[:60]:
                    reply = c.get(k)
                    if owner[k] == "mc-1":
                        self.assertIsInstance(reply, bytes, k)
                        self.assertTrue(reply.startswith(b"SERVER_ERROR "), reply)
                        self.assertIn(b"mc-1", reply)
                    else:
                        self.assertEqual(reply, [(b(k), 0, b"v", None)], k)
                self.assertTrue(c.command(b"version\r\n").startswith(b"VERSION "))
            for i in (0, 2):
                held = backend_items(mcs[i].port, keys)
                self.assertEqual(sorted(held), sorted(b(k) for k in keys if owner[k] == f"mc-{i}"))


if __name__ == "__main__":
    run_unittests(globals())
