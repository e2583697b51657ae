"""Helpers for integration tests: free loopback ports and real server processes.

Every process started here listens on 127.0.0.1 only and is stopped by its context
manager, also when the test fails. Waiting is by polling with a deadline, never by a
fixed sleep.
"""
import argparse
import functools
import json
import os
import random
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request


_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed
    out before: nothing listens on a port until its server starts, so two calls in a row could
    otherwise get the same port, and the second server would find the first on it."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no loopback port left that was not handed out already")


def random_traffic(port, make_stream, seconds, seed):
    """One client's random traffic until `seconds` have passed: connection after connection,
    each sending make_stream(rng) in random pieces, reading now and then, and closing or
    vanishing with a reset at random. Returns how many connections it made. A proxy closing
    on it (what a proxy does with bad input) ends that connection, nothing more."""
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    connections = 0
    while time.monotonic() < deadline:
        stream = make_stream(rng)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(0.2)
                pos = 0
                while pos < len(stream) and time.monotonic() < deadline:
                    n = rng.choice([1, 7, 100, len(stream)])
                    s.sendall(stream[pos:pos + n])
                    pos += n
                    if rng.random() < 0.3:
                        try:
                            if not s.recv(65536):
                                break  # closed by the proxy
                        except socket.timeout:
                            pass
                if rng.random() < 0.3:  # vanish with a reset, replies unread
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connections += 1
        except OSError:
            pass
    return connections


def with_random_traffic(port, make_stream, good_client, seconds=6, clients=8):
    """Runs `clients` random_traffic() clients against `port` and good_client(deadline) side by
    side for `seconds`; returns how many connections the random clients made."""
    deadline = time.monotonic() + seconds
    counts = [0] * clients

    def random_client(seed):
        counts[seed] = random_traffic(port, make_stream, seconds, seed)

    threads = [threading.Thread(target=random_client, args=(seed,)) for seed in range(clients)]
    threads.append(threading.Thread(target=good_client, args=(deadline,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    return sum(counts)


def send_and_half_close(port, payload, timeout=5.0):
    """Sends `payload` on a fresh connection, closes the sending side (shutdown SHUT_WR) and
    returns everything that comes back until the other side closes (bounded by `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk


@functools.lru_cache(maxsize=None)
def sanitized(binary):
    """Whether `binary` runs under a sanitizer's allocator (ASan, TSan) instead of glibc's."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return "libasan" in out or "libtsan" in out


def time_bound(binary, seconds):
    """A latency bound the product promises for its release build, widened 3x for a build
    under a sanitizer, which runs several times slower: the bound is still checked there,
    against what that build can do, instead of failing on the sanitizer's own cost."""
    return seconds * 3 if sanitized(binary) else seconds


def sigstop(pid):
    """Stops process `pid` (SIGSTOP) and returns once every thread of it is stopped: the
    signal takes effect asynchronously, thread by thread, and a thread still running (a
    ringleader worker, when the main thread already shows stopped) could still handle a
    request sent at once."""
    os.kill(pid, signal.SIGSTOP)

    def stopped():
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "T":
                        return False
            except FileNotFoundError:
                pass  # a thread that ended meanwhile
        return True
    wait_until(stopped, timeout=5, what=f"process {pid} to stop")


def wait_until(predicate, timeout=10.0, what="condition"):
    """Polls predicate() until it returns truthy; raises TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ConnectionError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def unix_socket_open(path):
    """Whether something accepts connections on the Unix-domain socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(path) == 0


def tcp_timers(local_port=None, remote_port=None):
    """The kernel's timer on each established IPv4 TCP socket with that local and/or remote
    port, from /proc/net/tcp: a list of (local port, remote port, timer, seconds left), timer
    0 for none, 1 retransmit, 2 keepalive, 4 zero-window probe."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote, state, timer = fields[1], fields[2], fields[3], fields[5]
            lport, rport = int(local.split(":")[1], 16), int(remote.split(":")[1], 16)
            if state != "01" or local_port not in (None, lport) or remote_port not in (None, rport):
                continue
            kind, when = timer.split(":")
            found.append((lport, rport, int(kind, 16), int(when, 16) / ticks))
    return found


def listens_on(pid, port):
    """Whether process `pid` holds a socket listening on IPv4 TCP `port` (any local address;
    the servers here bind 127.0.0.1): a server that lost its port to another process (a
    free_port() race with a test running alongside) must not be mistaken for one that
    started."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return False
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


def raise_open_file_limit(need):
    """Raises this process's soft open-file limit (children inherit it) to at least `need`;
    False when the hard limit does not allow that many."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return True
    if hard != resource.RLIM_INFINITY and hard < need:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return True


def status_bytes(pid, field):
    """A size field of /proc/PID/status ("VmRSS", "VmHWM", ...), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class Process:
    """A child process stopped (SIGTERM, then SIGKILL) when the context exits."""

    def __init__(self, argv, log_path, cwd=None):
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.cwd)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc):
        self.stop()
        self.log.close()
        self.check_log()

    SANITIZER_MARKERS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:",
                         b"WARNING: ThreadSanitizer")

    def check_log(self):
        """Fails when a sanitizer reported anything in the process's output."""
        with open(self.log_path, "rb") as f:
            text = f.read()
        for marker in self.SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError(f"{self.argv[0]} reported a sanitizer error:\n"
                                     + text.decode(errors="replace")[-4000:])

    def tail(self, n=20):
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")


class ServerOnPort(Process):
    """A server listening on one loopback port. Started, it is up once it holds the listening
    socket itself. One that exits at its first start on a port free_port() chose (taken
    meanwhile by a process outside this one) starts again on another; a port given, or one
    already started on, is kept."""

    def __init__(self, workdir, port, name):
        self.workdir = workdir
        self.name = name
        self.port_given = port is not None
        self.port = port or free_port()
        super().__init__(self.server_argv(), os.path.join(workdir, f"{name}-{self.port}.log"))

    def server_argv(self):
        raise NotImplementedError

    def __enter__(self):
        for attempt in range(5):
            super().__enter__()
            try:
                wait_until(lambda: self.proc.poll() is not None
                           or listens_on(self.proc.pid, self.port),
                           what=f"{self.name} on {self.port}")
            except BaseException:
                self.__exit__(None, None, None)  # stopped, its log closed
                raise
            if self.proc.poll() is None:
                self.port_given = True  # restarts keep it: clients know it now
                return self
            self.log.close()
            if self.port_given or attempt == 4:
                break
            self.port = free_port()
            self.argv = self.server_argv()
            self.log_path = os.path.join(self.workdir, f"{self.name}-{self.port}.log")
        with open(self.log_path, errors="replace") as f:  # the last attempt's
            raise AssertionError(f"{self.name} on {self.port} exited at start:\n{f.read()[-2000:]}")


class RedisServer(ServerOnPort):
    """redis-server on a free loopback port, no persistence; with `unixsocket` (a path), also
    on that Unix-domain socket."""

    def __init__(self, workdir, port=None, password=None, unixsocket=None, host="127.0.0.1"):
        self.password = password
        self.unixsocket = unixsocket
        self.host = host
        super().__init__(workdir, port, "redis")

    def server_argv(self):
        argv = [shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port", str(self.port), "--bind", self.host, "--save", "",
                "--appendonly", "no", "--dir", self.workdir, "--daemonize", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.unixsocket:
            argv += ["--unixsocket", self.unixsocket, "--unixsocketperm", "700"]
        return argv


class MemcachedServer(ServerOnPort):
    """memcached on a free loopback port (TCP only, 64 MB, one thread).

    extra_args: further memcached options, e.g. ("-I", "2m") for items up to 2 MB.
    """

    def __init__(self, workdir, port=None, extra_args=()):
        self.extra_args = list(extra_args)
        super().__init__(workdir, port, "memcached")

    def server_argv(self):
        argv = [shutil.which("memcached") or "/usr/bin/memcached",
                "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "64", "-t", "1"]
        if os.geteuid() == 0:
            argv += ["-u", "root"]  # memcached refuses to run as root without -u
        return argv + self.extra_args


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="ringleader-it-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


class Ringleader(Process):
    """`ringleader serve` over the given backends, on a free loopback port.

    extra: TOML text appended to the generated config (tables other than [proxy],
    [ring] and [[backends]]); proxy: extra lines for [proxy]; ring: extra lines for [ring];
    unix_path: listen on that Unix-domain socket instead of a port (`port` is then None).
    """

    def __init__(self, binary, workdir, backends, proxy="", ring="", extra="", name="rl",
                 unix_path=None):
        self.unix_path = unix_path
        self.port = None if unix_path else free_port()
        self.admin_port = free_port()
        self.config_path = os.path.join(workdir, f"{name}.toml")
        workers = "" if "workers" in proxy else "workers = 2"
        listen = f"unix:{unix_path}" if unix_path else f"127.0.0.1:{self.port}"
        lines = ["[proxy]", f'listen = "{listen}"', workers, proxy, "",
                 "[admin]", f'listen = "127.0.0.1:{self.admin_port}"', "",
                 "[ring]", ring, ""]
        for i, b in enumerate(backends):
            if isinstance(b, int):
                b = {"name": f"redis-{i}", "address": f"127.0.0.1:{b}"}
            lines += ["[[backends]]"] + [f'{k} = {v!r}'.replace("'", '"') if isinstance(v, str)
                                         else f"{k} = {v}" for k, v in b.items()] + [""]
        lines.append(extra)
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        super().__init__([binary, "serve", "-c", self.config_path],
                         os.path.join(workdir, f"{name}.log"))

    def __enter__(self):
        super().__enter__()
        try:
            # Both ports: the admin API listens once the proxy's listeners are up, so another
            # process already on the data port cannot pass for this one.
            wait_until(lambda: self.proc.poll() is not None
                       or (self.listening() and port_open(self.admin_port)),
                       what=f"ringleader on {self.unix_path or self.port}")
        except TimeoutError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            raise RuntimeError(f"ringleader exited with {self.proc.returncode}:\n{self.tail()}")
        return self

    def listening(self):
        return unix_socket_open(self.unix_path) if self.unix_path else port_open(self.port)


def admin_http(method, port, path, body=None, token=None, timeout=10):
    """(status, parsed JSON or text) of one request to an admin API on 127.0.0.1."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
    if "json" in ctype:
        return status, json.loads(raw or b"null")
    return status, raw.decode()


def metric_value(port, series):
    """The value of one exposed series (name plus labels exactly as printed, e.g.
    'ringleader_requests_total{command="set",outcome="ok"}') on the admin API at port, or None
    when the scrape does not have it."""
    status, text = admin_http("GET", port, "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def replica_backends(binary, config_path, keys):
    """Replica set of each key (str or bytes), primary first, as lists of backend names, from
    `ringleader lookup --stdin`."""
    data = b"\n".join(k if isinstance(k, bytes) else k.encode() for k in keys) + b"\n"
    out = subprocess.run([binary, "lookup", "-c", config_path, "--stdin"], input=data,
                         capture_output=True, check=True).stdout
    return [line.split(b"\t")[2].decode().split(",") for line in out.rstrip(b"\n").split(b"\n")]


def primary_backends(binary, config_path, keys):
    """Primary backend name of each key (str or bytes)."""
    return [replicas[0] for replicas in replica_backends(binary, config_path, keys)]


def run_unittests(module_globals):
    """Entry point of a test module: takes --ringleader PATH (stored in the module's
    RINGLEADER), passes the other arguments to unittest (test names, -k ...)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--ringleader", required=True)
    args, rest = parser.parse_known_args()
    module_globals["RINGLEADER"] = os.path.abspath(args.ringleader)
    unittest.main(module=module_globals["__name__"], argv=[sys.argv[0], "-v"] + rest)
