#!/usr/bin/python3
"""The end-to-end benchmarks in bench/e2e, run small: each starts its real servers and
proxies, measures, and prints the table the README quotes, so a change that breaks a script
(or a placement the script relies on) fails here and not on the day the figures are redone.
Also the host pause watcher the twemproxy comparison uses, checked against a watcher that is
stopped on purpose (from inside, a stopped process and a stopped machine look the same)."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

from harness import run_unittests, wait_until

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "e2e")
sys.path.insert(0, BENCH)
from host_pauses import HostPauses, Pause, describe, merge  # noqa: E402


def bench(script, *args, timeout=300):
    """Runs bench/e2e/<script> with this ringleader and `args`; its stdout."""
    done = subprocess.run([sys.executable, os.path.join(BENCH, script), "--ringleader",
                           RINGLEADER, *args],  # noqa: F821 (set by run_unittests)
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{script} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                             f"{done.stderr[-3000:]}")
    return done.stdout


class PauseMergeTest(unittest.TestCase):
    def test_overlapping_gaps_are_one_pause_over_their_union(self):
        gaps = [(1, 10.02, 0.1), (0, 10.0, 0.1), (0, 12.0, 0.05)]
        pauses = merge(gaps)
        self.assertEqual([(p.start, p.cpus) for p in pauses], [(10.0, 2), (12.0, 1)])
        self.assertAlmostEqual(pauses[0].length, 0.12)
        self.assertAlmostEqual(pauses[1].length, 0.05)

    def test_gaps_apart_stay_apart(self):
        self.assertEqual([p.start for p in merge([(0, 1.0, 0.1), (0, 1.2, 0.1)])], [1.0, 1.2])

    def test_describe(self):
        self.assertEqual(describe([], 2), "")
        self.assertEqual(describe([Pause(1.0, 0.101, 2), Pause(3.0, 0.02, 1)], 2),
                         "host paused twice, longest 101 ms (on 2 of 2 CPUs)")


class HostPausesTest(unittest.TestCase):
    def test_a_stopped_watcher_reports_its_pause_within_the_window(self):
        with HostPauses(threshold=0.02) as watch:
            pid = watch.watcher_pids()[0]
            before = time.monotonic()
            time.sleep(0.05)
            stopped = time.monotonic()
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.15)
            os.kill(pid, signal.SIGCONT)
            wait_until(lambda: any(p.length >= 0.14 for p in
                                   watch.between(stopped, time.monotonic())),
                       what="the watcher to report its 150 ms stop", timeout=10)
            pause = max(watch.between(stopped, time.monotonic()), key=lambda p: p.length)
            self.assertGreaterEqual(pause.start, stopped - 0.01)
            self.assertLess(pause.length, 1.0)
            # A window that ended before the stop does not see it.
            self.assertNotIn(pause, watch.between(before, stopped - 0.01))

    def test_watchers_end_with_the_watch(self):
        with HostPauses() as watch:
            pids = watch.watcher_pids()
            self.assertEqual(len(pids), len(os.sched_getaffinity(0)))
        for pid in pids:
            self.assertFalse(os.path.exists(f"/proc/{pid}/status") and
                             "State:\tZ" not in open(f"/proc/{pid}/status").read(),
                             f"watcher {pid} still runs")


class BenchScriptsTest(unittest.TestCase):
    RATIO = re.compile(r"^\s+ratio\s+(\d+\.\d+)x", re.M)

    def test_vs_twemproxy_redis(self):
        out = bench("vs_twemproxy.py", "--requests", "5000", "--pipelined-requests", "20000",
                    "--rounds", "1")
        for test in ("SET -P 1", "GET -P 1", "SET -P 16", "GET -P 16"):
            for proxy in ("twemproxy", "ringleader"):
                row = re.search(rf"(?m)^{test}\s+{proxy}\s+(.*)$", out)
                self.assertIsNotNone(row, out)
                # req/s, p50, p99, proxy cpu, servers cpu, wakeups, client cpu, total cpu
                rps, _, _, cpu, servers, _, client, total = map(float, row.group(1).split())
                self.assertGreater(rps, 0)
                self.assertGreater(client, 0, row.group(0))
                # One round: the total is the sum of the three, each rounded to 0.001.
                self.assertAlmostEqual(total, cpu + servers + client, delta=0.003)
        ratios = [float(r) for r in self.RATIO.findall(out)]
        self.assertEqual(len(ratios), 4)
        self.assertTrue(all(r > 0 for r in ratios), out)
        self.assertRegex(out, r"host pauses of 10 ms or more during the runs: twemproxy .*; "
                              r"ringleader ")

    def test_vs_twemproxy_memcached(self):
        out = bench("vs_twemproxy.py", "--protocol", "memcached", "--requests", "2000",
                    "--rounds", "1", "--pause-threshold-ms", "0")
        for test in ("MIXED", "MGET10"):
            self.assertRegex(out, rf"(?m)^{test}\s+ringleader\s+\d+\s")
        self.assertEqual(len(self.RATIO.findall(out)), 2)
        self.assertNotIn("host pauses", out)

    def test_big_reply_fairness(self):
        out = bench("big_reply_fairness.py", "--rounds", "1", "--value-bytes", "65536",
                    "--pipeline", "20", "--transfers", "1")
        for proxy in ("twemproxy", "ringleader"):
            self.assertRegex(out, rf"(?m)^\| {proxy} \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$")

    def test_flood_fairness(self):
        out = bench("flood_fairness.py", "--rounds", "1", "--clients", "50", "--pipeline", "50",
                    "--requests", "50000")
        for proxy in ("twemproxy", "ringleader"):
            self.assertRegex(out, rf"(?m)^\| {proxy} \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \|$")

    def test_idle_clients(self):
        out = bench("idle_clients.py", "--clients", "100", "--value-bytes", "1024",
                    "--settle", "1")
        for proxy in ("twemproxy", "ringleader"):
            self.assertRegex(out, rf"(?m)^{proxy}\s+[\d.]+\s+-?[\d.]+\s+-?[\d.]+\s+-?[\d.]+$")

    def test_rebalance_misses_meets_its_prediction(self):
        out = bench("rebalance_misses.py", "--keys", "2000")
        rows = re.findall(r"(?m)^(replicas = .*?)\s{2,}(add a 5th backend|then remove one)\s+"
                          r"([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%$", out)
        self.assertEqual(len(rows), 6, out)
        for setting, change, primary_none, set_none, missed in rows:
            # Without failover a read misses exactly when the key's new primary has no copy;
            # with it, when its whole new replica set has none.
            expected = set_none if "miss_failover" in setting else primary_none
            self.assertEqual(missed, expected, f"{setting}, {change}")

    def test_replication_cost(self):
        out = bench("replication_cost.py", "--requests", "20000", "--rounds", "1")
        for test in ("SET", "GET"):
            for setting in ("R=1", "R=2 one", "R=2 all", "R=3 quorum"):
                self.assertRegex(out, rf"(?m)^{test}\s+{setting}\s+\d+\s")

    def test_raft_membership(self):
        out = bench("raft_membership.py", "--changes", "20", "--kills", "2",
                    "--spread-changes", "10")
        self.assertRegex(out, r"commit latency over 20 changes .*: p50 [\d.]+ ms, p99 [\d.]+ ms")
        self.assertRegex(out, r"followers serving the new epoch, .* over 10 changes")
        self.assertRegex(out, r"leader failover over 2 kill -9: median \d+ ms")


if __name__ == "__main__":
    run_unittests(globals())
