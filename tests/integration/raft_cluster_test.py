#!/usr/bin/python3
"""Three (or four) `ringleader serve` instances in raft mode over four redis-servers, all on
127.0.0.1: one ring epoch everywhere, failover, minorities, restarts, learners, and routing
while membership changes commit. Every wait is bounded."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

import redis

from harness import (Process, RedisServer, TempDir, admin_http, free_port, metric_value,
                     port_open, run_unittests, sanitized, sigstop, time_bound, wait_until)

RINGLEADER = None


def election_ms():
    """The instances' election timeout: short, so failovers are quick to test, and longer for
    a build under a sanitizer, whose stalls on a loaded runner must not pass for a dead leader."""
    return 1000 if sanitized(RINGLEADER) else 400


http = admin_http

# Texts of 503 answers that say a change was not proposed (no leader yet, or one that lost
# leadership first): asking again cannot apply it twice.
NOT_PROPOSED = ("no leader known", "not proposed", "lost leadership before proposing",
                "which is not the leader")


def change(method, port, path, body=None, timeout=15):
    """(status, body) of a membership change through the admin API. A 503 saying it was not
    proposed is asked again for up to `timeout` s: on two loaded cores an instance can stall
    past an election timeout, and an election then runs while the change arrives. An answer
    whose outcome is unknown (proposed, then the leader lost) is returned as it is."""
    deadline = time.monotonic() + timeout
    while True:
        status, reply = http(method, port, path, body)
        retry = (status == 503 and isinstance(reply, dict)
                 and any(text in reply.get("error", "") for text in NOT_PROPOSED))
        if not retry or time.monotonic() > deadline:
            return status, reply
        time.sleep(0.2)


class Node:
    """One ringleader instance in raft mode; restartable with the same data_dir."""

    def __init__(self, tmp, node_id, peers, backends, join=False, secret="cluster-secret"):
        self.id = node_id
        self.tmp = tmp
        self.port, self.admin, self.raft = free_port(), free_port(), peers[node_id]
        self.config = os.path.join(tmp, f"{node_id}.toml")
        lines = ["[proxy]", f'listen = "127.0.0.1:{self.port}"', "workers = 1", "",
                 "[admin]", f'listen = "127.0.0.1:{self.admin}"', "",
                 "[backend]", "timeout_ms = 2000", "",
                 "[membership]", 'mode = "raft"', f'node_id = "{node_id}"',
                 f'listen = "127.0.0.1:{self.raft}"',
                 "peers = [" + ", ".join(f'"{i}@127.0.0.1:{p}"' for i, p in peers.items()) + "]",
                 f'data_dir = "{os.path.join(tmp, "data-" + node_id)}"',
                 f"election_timeout_ms = {election_ms()}", f"heartbeat_ms = {election_ms() // 10}",
                 f'secret = "{secret}"',
                 f"join = {'true' if join else 'false'}", ""]
        for name, port in backends:
            lines += ["[[backends]]", f'name = "{name}"', f'address = "127.0.0.1:{port}"', ""]
        with open(self.config, "w") as f:
            f.write("\n".join(lines))
        self.proc = None
        self.runs = 0

    def start(self):
        self.runs += 1
        self.proc = Process([RINGLEADER, "serve", "-c", self.config],
                            os.path.join(self.tmp, f"{self.id}-{self.runs}.log"))
        self.proc.__enter__()
        wait_until(lambda: self.proc.proc.poll() is not None or port_open(self.admin),
                   what=f"{self.id} admin port")
        if self.proc.proc.poll() is not None:
            raise RuntimeError(f"{self.id} exited:\n{self.proc.tail()}")
        return self

    def stop(self):
        if self.proc:
            self.proc.__exit__(None, None, None)
            self.proc = None

    def kill(self):
        self.proc.proc.kill()  # SIGKILL: no goodbye
        self.proc.proc.wait()
        self.proc.log.close()
        self.proc = None

    def signal(self, signum):
        self.proc.proc.send_signal(signum)

    def cluster(self):
        return http("GET", self.admin, "/cluster", timeout=3)[1]

    def ring(self):
        return http("GET", self.admin, "/ring", timeout=3)[1]


class Cluster:
    def __init__(self, tmp, size=3, backends=None):
        self.tmp = tmp
        ids = [f"p{i + 1}" for i in range(size)]
        self.peers = {i: free_port() for i in ids}
        self.backends = backends
        self.nodes = {i: Node(tmp, i, self.peers, backends) for i in ids}

    def __enter__(self):
        # A with statement runs __exit__ only once __enter__ has returned: on a failure here
        # the instances already started are stopped before the error goes on.
        try:
            for n in self.nodes.values():
                n.start()
            self.wait_leader()
            self.wait_converged()
        except BaseException as e:
            # The instances' logs go with the test's directory: the error carries their ends.
            logs = "".join(f"\n--- {n.id} log:\n{n.proc.tail(40)}" for n in self.nodes.values()
                           if n.proc)
            self.__exit__(*sys.exc_info())
            if not isinstance(e, Exception):
                raise
            raise RuntimeError(f"the cluster did not come up: {e!r}{logs}") from e
        return self

    def __exit__(self, *exc):
        for n in self.nodes.values():
            if n.proc and n.proc.proc.poll() is None:
                try:
                    n.signal(signal.SIGCONT)
                except ProcessLookupError:
                    pass
            n.stop()

    def up(self):
        return [n for n in self.nodes.values() if n.proc]

    def leader(self, among=None):
        for n in among or self.up():
            try:
                c = n.cluster()
            except OSError:
                continue
            if c and c.get("role") == "leader":
                return n
        return None

    def wait_leader(self, among=None, timeout=10):
        return wait_until(lambda: self.leader(among), timeout=timeout, what="a leader")

    def wait_converged(self, timeout=10):
        def same():
            rings = [n.ring() for n in self.up()]
            return (all(r["epoch"] == rings[0]["epoch"] and r["epoch"] > 0 for r in rings)
                    and all(r["backends"] == rings[0]["backends"] for r in rings))
        wait_until(same, timeout=timeout, what="the same ring on every instance")
        return self.up()[0].ring()

    def add_joiner(self, node_id, **node_args):
        """Starts a new instance with join = true and asks the leader to add it as a learner;
        returns the node and the leader's (status, body)."""
        peers = dict(self.peers)
        peers[node_id] = free_port()
        node = Node(self.tmp, node_id, peers, self.backends, join=True, **node_args)
        node.start()
        self.nodes[node_id] = node
        answer = change("POST", self.wait_leader().admin, "/cluster/peers",
                        {"id": node_id, "address": f"127.0.0.1:{peers[node_id]}"})
        return node, answer

    def follower(self):
        leader = self.wait_leader()
        return next(n for n in self.up() if n is not leader)

    def remove_peer(self, node_id, timeout=15):
        """Asks the leader to remove a voter; returns its (status, body). A refusal because a
        remaining voter has not been heard within an election timeout is asked again: a leader
        elected a moment ago has not yet heard every peer, and on two loaded cores a peer can
        miss a heartbeat. Nothing is proposed when it refuses, so asking again is safe (as for
        the 503s change() asks again)."""
        answer = None

        def settled():
            nonlocal answer
            answer = change("DELETE", self.wait_leader().admin, f"/cluster/peers/{node_id}")
            status, body = answer
            return not (status == 409 and isinstance(body, dict)
                        and "reachable" in body.get("error", ""))

        try:
            wait_until(settled, timeout=timeout, what=f"the leader to take the removal of {node_id}")
        except TimeoutError:
            pass  # the last answer is the caller's to check
        return answer or (None, f"no answer about removing {node_id} within {timeout} s")


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp_ctx = TempDir()
        cls.tmp = cls.tmp_ctx.__enter__()
        cls.redises = [RedisServer(cls.tmp).__enter__() for _ in range(4)]
        cls.seed = [(f"r{i}", r.port) for i, r in enumerate(cls.redises[:3])]

    @classmethod
    def tearDownClass(cls):
        for r in cls.redises:
            r.__exit__(None, None, None)
        cls.tmp_ctx.__exit__(None, None, None)

    def setUp(self):
        for r in self.redises:
            redis.Redis(port=r.port).flushall()
        self.dir = os.path.join(self.tmp, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.dir)

    def test_a_backend_added_on_a_follower_reaches_every_instance_within_a_second(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            follower = cl.follower()
            start = time.monotonic()
            status, body = change("POST", follower.admin, "/backends",
                                  {"name": "r3", "address": f"127.0.0.1:{self.redises[3].port}"})
            self.assertEqual(status, 200, body)
            epoch = body["epoch"]
            self.assertEqual(follower.ring()["epoch"], epoch)  # answered after applying here
            ring = cl.wait_converged(timeout=10)
            elapsed = time.monotonic() - start
            self.assertLess(elapsed, time_bound(RINGLEADER, 1.0))
            self.assertEqual(ring["epoch"], epoch)
            self.assertEqual([b["name"] for b in ring["backends"]], ["r0", "r1", "r2", "r3"])
            # A retry that changes nothing is answered with the epoch it leaves as it was.
            for _ in range(2):
                status, body = change("PATCH", follower.admin, "/backends/r3", {"weight": 1})
                self.assertEqual((status, body["epoch"]), (200, epoch), body)
            # Bodies are checked as strictly as a config file: nothing is half-understood.
            for method, path, bad, why in (
                    ("PATCH", "/ring", {"hash_tag": "{"}, "two printable ASCII"),
                    ("PATCH", "/ring", {"hash_tag": "\u00e9"}, "two printable ASCII"),
                    ("POST", "/cluster/peers", {"id": "p9", "address": "127.0.0.1:1", "x": 1},
                     'unknown field "x"'),
                    ("POST", "/cluster/peers",
                     {"id": "p9", "promote": True, "address": "127.0.0.1:1"},
                     'unknown field "address"')):
                status, body = http(method, follower.admin, path, bad)
                self.assertEqual(status, 400, body)
                self.assertIn(why, body["error"])
            self.assertEqual(follower.ring()["epoch"], epoch)
            # Traffic through any instance reaches the new backend.
            c = redis.Redis(port=cl.nodes["p1"].port, socket_timeout=5)
            for i in range(300):
                c.set(f"new:{i}", i)
            self.assertGreater(redis.Redis(port=self.redises[3].port).dbsize(), 0)
            self.assertIn('backend="r3"', http("GET", follower.admin, "/metrics")[1])
            # Removed again: its series leave the scrape with it.
            status, body = change("DELETE", follower.admin, "/backends/r3")
            self.assertEqual(status, 200, body)
            cl.wait_converged()
            self.assertNotIn('backend="r3"', http("GET", follower.admin, "/metrics")[1])
            print(f"\n  add backend on a follower: applied everywhere in {elapsed * 1000:.0f} ms",
                  file=sys.stderr)

    def test_killing_the_leader(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            times = []
            for trial in range(3):
                old = cl.wait_leader()
                epoch = cl.wait_converged()["epoch"]
                applied = max(n.cluster()["applied_index"] for n in cl.up())
                killed_at = time.monotonic()
                old.kill()
                survivors = [n for n in cl.nodes.values() if n is not old and n.proc]
                new = cl.wait_leader(among=survivors, timeout=15)
                times.append(time.monotonic() - killed_at)
                self.assertIsNot(new, old)
                # The new term's first entry (a no-op) is applied and leaves the ring's epoch.
                wait_until(lambda: new.cluster()["applied_index"] > applied, timeout=15,
                           what="the new leader's first entry applied")
                self.assertEqual([n.ring()["epoch"] for n in survivors], [epoch] * 2)
                status, body = change("PATCH", new.admin, "/backends/r1", {"weight": trial + 2})
                self.assertEqual(status, 200, body)
                if trial == 0:
                    self.check_peer_link_metrics(new, old, survivors)
                    # The logs say who leads now: an operator reading them after a failover
                    # sees the election, not only the 503s it caused.
                    term = new.cluster()["term"]
                    other = next(n for n in survivors if n is not new)
                    wait_until(lambda: f"membership {new.id}: leader for term {term}"
                               in new.proc.tail(200), timeout=5, what="the election logged")
                    wait_until(lambda: f"membership {other.id}: {new.id} leads (term {term})"
                               in other.proc.tail(200), timeout=5, what="the new leader logged")
                old.start()  # restarts from its data dir and catches up
                cl.wait_converged(timeout=10)
                if trial == 0:
                    wait_until(lambda: metric_value(
                        new.admin, f'ringleader_raft_peer_connected{{peer="{old.id}"}}') == 1,
                        timeout=10, what="the link to the restarted instance to count as up")
                self.assertEqual(old.ring()["backends"][1]["weight"], trial + 2)
            print(f"\n  leader failover: {', '.join(f'{t * 1000:.0f}' for t in times)} ms",
                  file=sys.stderr)
            self.assertLess(max(times), time_bound(RINGLEADER, 2.0))

    def check_peer_link_metrics(self, leader, dead, survivors):
        """The new leader's metrics show its link to the killed instance down, to the other
        survivor up and caught up, and count its failed reconnections."""
        other = next(n for n in survivors if n is not leader)

        def m(series):
            return metric_value(leader.admin, series)
        wait_until(lambda: m(f'ringleader_raft_peer_connected{{peer="{dead.id}"}}') == 0,
                   timeout=10, what="the link to the killed instance to count as down")
        wait_until(lambda: (m('ringleader_raft_peer_connects_total{result="failed"}') or 0) > 0,
                   timeout=10, what="a failed reconnection to be counted")
        self.assertEqual(m(f'ringleader_raft_peer_connected{{peer="{other.id}"}}'), 1)
        commit = m("ringleader_raft_commit_index")
        wait_until(lambda: m(f'ringleader_raft_peer_match_index{{peer="{other.id}"}}') >= commit,
                   timeout=10, what="the other survivor's match index to reach the commit")
        self.assertLess(m(f'ringleader_raft_peer_match_index{{peer="{dead.id}"}}'), commit)
        self.assertLess(m(f'ringleader_raft_peer_last_contact_seconds{{peer="{other.id}"}}'), 5)
        self.assertGreater(m("ringleader_raft_frames_sent_total"), 0)
        self.assertGreater(m("ringleader_raft_frames_received_total"), 0)
        self.assertIsNotNone(m('ringleader_raft_frames_dropped_total{reason="expired"}'))

    def test_a_minority_cannot_commit_and_reports_itself_stale(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            c = redis.Redis(port=cl.nodes["p1"].port, socket_timeout=5)
            c.set("before", "1")
            lonely = cl.nodes["p1"]
            others = [cl.nodes["p2"], cl.nodes["p3"]]
            # One instance stopped: the other two are a majority and still commit.
            sigstop(others[1].proc.proc.pid)
            try:
                leader = cl.wait_leader(among=[lonely, others[0]])
                status, body = change("PATCH", leader.admin, "/backends/r0", {"zone": "a"})
                self.assertEqual(status, 200, body)
            finally:
                others[1].signal(signal.SIGCONT)
            cl.wait_converged()
            # Two stopped: p1 alone is a minority.
            for n in others:
                sigstop(n.proc.proc.pid)
            try:
                epoch = lonely.ring()["epoch"]
                status, body = http("PATCH", lonely.admin, "/backends/r0", {"zone": "b"},
                                    timeout=30)
                self.assertEqual(status, 503, body)
                self.assertIn("may still be applied", body["error"])
                self.assertEqual(lonely.ring()["epoch"], epoch)
                wait_until(lambda: http("GET", lonely.admin, "/readyz")[0] == 503, timeout=15,
                           what="the minority to report itself stale")
                self.assertTrue(http("GET", lonely.admin, "/readyz")[1]["stale"])
                _, metrics = admin_http("GET", lonely.admin, "/metrics")
                self.assertIn("ringleader_membership_stale 1", metrics)
                # It keeps serving with its last ring.
                self.assertEqual(c.get("before"), b"1")
                c.set("during", "2")
                self.assertEqual(c.get("during"), b"2")
            finally:
                for n in others:
                    n.signal(signal.SIGCONT)
            # The refused change's outcome was unknown, not negative: if p1 led, its log
            # entry may commit once the majority is back. Either way every instance agrees.
            ring = cl.wait_converged(timeout=10)
            self.assertIn(ring["backends"][0]["zone"], ("a", "b"))
            wait_until(lambda: http("GET", lonely.admin, "/readyz")[0] == 200, timeout=10,
                       what="the healed instance to be ready again")

    def test_an_add_asked_again_without_a_quorum_is_a_503_not_a_refusal(self):
        # The backend is there exactly as asked, but a leader without its followers cannot
        # confirm it has the latest state: the answer is to ask again (503), not the final
        # refusal (409) it used to be, which a client retrying a lost answer takes as failure.
        with Cluster(self.dir, backends=self.seed) as cl:
            leader = cl.wait_leader()
            asked = {"name": "r0", "address": f"127.0.0.1:{self.seed[0][1]}"}
            status, body = change("POST", leader.admin, "/backends", asked)
            self.assertEqual((status, body.get("unchanged")), (200, True), body)
            others = [n for n in cl.up() if n is not leader]
            for n in others:
                sigstop(n.proc.proc.pid)
            try:
                status, body = http("POST", leader.admin, "/backends", asked, timeout=30)
                self.assertEqual(status, 503, body)
                self.assertIn("whether it is the backend asked for could not be checked",
                              body["error"])
            finally:
                for n in others:
                    n.signal(signal.SIGCONT)
            cl.wait_converged()
            status, body = change("POST", cl.wait_leader().admin, "/backends", asked)
            self.assertEqual((status, body.get("unchanged")), (200, True), body)

    def test_raft_metrics_cover_the_dashboard(self):
        dashboard = os.path.join(os.path.dirname(__file__), "..", "..", "dashboards",
                                 "ringleader.json")
        with open(dashboard) as f:
            exprs = [t["expr"] for p in json.load(f)["panels"] for t in p["targets"]]
        wanted = {n for e in exprs for n in re.findall(r"ringleader_(?:raft|membership)_[a-z_]+", e)}
        self.assertTrue(wanted)
        with Cluster(self.dir, backends=self.seed) as cl:
            _, text = admin_http("GET", cl.wait_leader().admin, "/metrics")
            exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
                       if line and not line.startswith("#")}
            self.assertEqual(wanted - exposed, set())
            self.assertIn('ringleader_raft_role{role="leader"} 1', text)

    def test_restarting_every_instance_recovers_the_membership(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            leader = cl.wait_leader()
            # A name no backend can have is a bad request, said so, before anything is
            # proposed (a 409 about a malformed command field before).
            long_name = "x" * 300
            for method, path, body in [("POST", f"/backends/{long_name}/drain", None),
                                       ("POST", f"/backends/{long_name}/undrain", None),
                                       ("DELETE", f"/backends/{long_name}", None),
                                       ("PATCH", f"/backends/{long_name}", {"weight": 2}),
                                       ("DELETE", "/backends/bad%20name", None)]:
                status, body = change(method, leader.admin, path, body)
                self.assertEqual(status, 400, (method, path, body))
                self.assertIn("no backend can be named", body["error"])
            self.assertEqual(change("POST", leader.admin, "/backends/r2/drain")[0], 200)
            before = cl.wait_converged()
            for n in cl.nodes.values():
                n.stop()
            for n in cl.nodes.values():
                n.start()
            cl.wait_leader()
            after = cl.wait_converged()
            self.assertEqual(after["backends"], before["backends"])
            self.assertEqual(after["epoch"], before["epoch"])  # elections leave the ring as it was
            self.assertEqual(after["backends"][2]["state"], "draining")

    def test_a_restarted_instance_is_ready_only_once_it_has_caught_up(self):
        # After a restart an instance routes with the ring in its data_dir, which may miss
        # changes made while it was down: /readyz says so until the leader confirmed what it
        # must apply.
        with Cluster(self.dir, backends=self.seed) as cl:
            leader = cl.wait_leader()
            for n in cl.up():
                wait_until(lambda: http("GET", n.admin, "/readyz")[0] == 200, timeout=15,
                           what=f"{n.id} ready")
            follower = cl.follower()
            follower.stop()
            status, body = change("PATCH", leader.admin, "/backends/r1", {"weight": 7})
            self.assertEqual(status, 200, body)
            others = [n for n in cl.up() if n is not follower]
            for n in others:
                sigstop(n.proc.proc.pid)
            try:
                follower.start()
                wait_until(lambda: follower.ring()["epoch"] > 0, timeout=15,
                           what="the ring recovered from data_dir")
                status, body = http("GET", follower.admin, "/readyz")
                self.assertEqual(status, 503, body)
                self.assertTrue(body.get("catching_up"), body)
                self.assertIn("no leader heard from since this instance started", body["error"])
                self.assertFalse(follower.cluster()["caught_up"])
                self.assertEqual(follower.ring()["backends"][1]["weight"], 1)
            finally:
                for n in others:
                    n.signal(signal.SIGCONT)
            wait_until(lambda: http("GET", follower.admin, "/readyz")[0] == 200, timeout=10,
                       what="the restarted instance to be ready")
            # Ready means caught up: the change made while it was down is in its ring.
            self.assertEqual(follower.ring()["backends"][1]["weight"], 7)
            self.assertTrue(follower.cluster()["caught_up"])
            self.assertIn("caught up with the leader", follower.proc.tail(50))

    def test_a_follower_restarted_with_lost_data_catches_up(self):
        # Raft assumes what a peer acknowledged survives. A follower whose data_dir was
        # restored from an older copy, or wiped, breaks that: the leader must notice, say so,
        # and replicate to it again rather than wait for it forever.
        with Cluster(self.dir, backends=self.seed) as cl:
            follower = cl.follower()
            data = os.path.join(self.dir, "data-" + follower.id)
            follower.stop()
            shutil.copytree(data, data + ".old")
            follower.start()
            for weight in (2, 3):
                status, body = change("PATCH", cl.wait_leader().admin, "/backends/r1",
                                      {"weight": weight})
                self.assertEqual(status, 200, body)
            epoch = cl.wait_converged()["epoch"]

            def losses():
                return sum(metric_value(n.admin, "ringleader_raft_peer_log_losses_total") or 0
                           for n in cl.up())

            for what in ("an older copy", "nothing"):
                follower.kill()
                shutil.rmtree(data)
                if what == "an older copy":
                    shutil.copytree(data + ".old", data)
                before = losses()
                follower.start()
                ring = cl.wait_converged(timeout=15)
                self.assertEqual(ring["epoch"], epoch, what)
                self.assertEqual(follower.ring()["backends"][1]["weight"], 3, what)
                wait_until(lambda: losses() > before, timeout=15, what="the loss counted")
            logs = "".join(n.proc.tail(200) for n in cl.up() if n is not follower)
            self.assertIn(f"peer {follower.id} lost log entries it had acknowledged", logs)

    def test_a_data_dir_from_another_group_is_reported_diverged(self):
        # Two groups with the same node ids; group B changes leaders twice, so its later
        # entries carry higher terms than group A's at the same indexes.
        dir_b = os.path.join(self.dir, "b")
        os.makedirs(dir_b)
        with Cluster(dir_b, backends=self.seed) as b:
            for weight in (2, 3):
                leader = b.wait_leader()
                status, body = change("PATCH", leader.admin, "/backends/r1", {"weight": weight})
                self.assertEqual(status, 200, body)
                leader.stop()  # hands leadership over
                b.wait_leader()
                leader.start()
            b.wait_converged()
        with Cluster(self.dir, backends=self.seed) as a:
            for weight in range(2, 12):
                status, body = change("PATCH", a.wait_leader().admin, "/backends/r2",
                                      {"weight": weight})
                self.assertEqual(status, 200, body)
            a.wait_converged()
            for n in a.up():
                self.assertEqual(http("GET", n.admin, "/readyz")[0], 200)
            p3 = a.nodes["p3"]
            p3.stop()
            shutil.rmtree(os.path.join(self.dir, "data-p3"))
            shutil.copytree(os.path.join(dir_b, "data-p3"), os.path.join(self.dir, "data-p3"))
            p3.start()

            def diverged():
                return [n for n in a.up()
                        if (metric_value(n.admin, "ringleader_raft_committed_conflicts_total")
                            or 0) > 0]

            reporters = wait_until(diverged, timeout=15, what="an instance reporting divergence")
            for n in reporters:
                status, body = http("GET", n.admin, "/readyz")
                self.assertEqual(status, 503, body)
                self.assertTrue(body["diverged"], body)
                self.assertIn("wipe its data_dir", body["error"])
                self.assertTrue(n.cluster()["diverged"])
                self.assertIn("disagrees with log entry", n.proc.tail(200))

    def test_founders_started_with_different_peer_lists_refuse_each_other(self):
        # p3's membership.peers also lists a p4: its group is not p1's and p2's.
        cl = Cluster(self.dir, backends=self.seed)
        wrong = dict(cl.peers, p4=free_port())
        cl.nodes["p3"] = Node(self.dir, "p3", wrong, self.seed)
        p1, p2, p3 = cl.nodes["p1"], cl.nodes["p2"], cl.nodes["p3"]
        try:
            for n in (p1, p2, p3):
                n.start()
            cl.wait_leader(among=[p1, p2])

            def refused(node, peer):
                return {f["id"]: f["founders"] for f in node.cluster()["foreign_peers"]}.get(peer)
            wait_until(lambda: refused(p1, "p3") and refused(p2, "p3") and refused(p3, "p1")
                       and refused(p3, "p2"), timeout=10, what="both sides to refuse the other")
            self.assertEqual(refused(p1, "p3"), ["p1", "p2", "p3", "p4"])
            self.assertEqual(refused(p3, "p2"), ["p1", "p2", "p3"])
            self.assertEqual(p1.cluster()["founders"], ["p1", "p2", "p3"])
            self.assertEqual(p3.cluster()["founders"], ["p1", "p2", "p3", "p4"])
            self.assertGreater(metric_value(
                p1.admin, 'ringleader_raft_frames_rejected_total{reason="group"}'), 0)
            self.assertIn("refused peer p3: its group was bootstrapped with voters "
                          "[p1,p2,p3,p4], this node's with [p1,p2,p3]", p1.proc.tail(200))
            out = subprocess.run([RINGLEADER, "ctl", "--admin", f"127.0.0.1:{p1.admin}",
                                  "cluster", "status"], capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertRegex(out.stdout, r"refused: bootstrapped with other founders.*\n.*\n"
                                         r"p3 +p1, p2, p3, p4")
            # p1 and p2 serve and change the membership; p3 took none of it.
            status, body = change("PATCH", cl.wait_leader(among=[p1, p2]).admin, "/backends/r1",
                                  {"weight": 4})
            self.assertEqual(status, 200, body)
            wait_until(lambda: p1.ring()["epoch"] == p2.ring()["epoch"] >= body["epoch"],
                       timeout=15, what="p1 and p2 on the change")
            self.assertEqual(p3.cluster()["commit_index"], 0)
            self.assertEqual(p3.ring()["backends"], [])
            self.assertEqual(http("GET", p3.admin, "/readyz")[0], 503)

            # The fix: p3 restarted with an empty data_dir and the group's peer list.
            p3.stop()
            shutil.rmtree(os.path.join(self.dir, "data-p3"))
            cl.nodes["p3"] = p3 = Node(self.dir, "p3", cl.peers, self.seed)
            p3.start()
            ring = cl.wait_converged(timeout=10)
            self.assertEqual({b["name"]: b["weight"] for b in ring["backends"]}["r1"], 4)
            self.assertEqual(p3.cluster()["foreign_peers"], [])
        finally:
            cl.__exit__(None, None, None)

    def test_a_removal_that_would_leave_no_reachable_quorum_is_refused(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            leader = cl.wait_leader()
            down, healthy = [n for n in cl.nodes.values() if n is not leader]
            down.kill()
            # Two election timeouts without a word from it, as the leader counts them.
            wait_until(lambda: next(p["last_contact_ms"] for p in leader.cluster()["peers"]
                                    if p["id"] == down.id) > 2.5 * election_ms(),
                       timeout=15, what=f"{down.id} silent for two election timeouts")
            status, body = http("DELETE", leader.admin, f"/cluster/peers/{healthy.id}")
            self.assertEqual(status, 409, body)
            self.assertIn(f"until {down.id} answered", body["error"])
            # Nothing changed: the group still commits, and the dead voter can be removed.
            status, body = change("PATCH", leader.admin, "/backends/r1", {"weight": 5})
            self.assertEqual(status, 200, body)
            status, body = change("DELETE", leader.admin, f"/cluster/peers/{down.id}")
            self.assertEqual(status, 200, body)
            members = [p["id"] for p in leader.cluster()["peers"] if p["suffrage"] != "none"]
            self.assertEqual(members, [healthy.id])

    def test_a_data_dir_serves_one_instance_of_one_node(self):
        def serve(config_text):
            path = os.path.join(self.dir, "again.toml")
            with open(path, "w") as f:
                f.write(config_text)
            return subprocess.run([RINGLEADER, "serve", "-c", path], capture_output=True,
                                  text=True, timeout=20)

        def with_free_ports(text, node):
            # Another client and admin port, so only the data_dir is shared.
            for port in (node.port, node.admin):
                text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
            return text

        with Cluster(self.dir, backends=self.seed) as cl:
            p1, p2 = cl.nodes["p1"], cl.nodes["p2"]
            with open(p1.config) as f:
                p1_text = f.read()
            # p1 is running: a second process with its config is refused, p1 goes on.
            run = serve(with_free_ports(p1_text, p1))
            self.assertEqual(run.returncode, 1, run.stderr)
            self.assertIn("in use by another running instance", run.stderr)
            self.assertEqual(p1.cluster()["node_id"], "p1")
            # p1 stopped: p2's config pointing at p1's data_dir is refused too.
            p1.stop()
            p2.stop()
            with open(p2.config) as f:
                p2_text = f.read()
            p2_text = p2_text.replace(os.path.join(self.dir, "data-p2"),
                                      os.path.join(self.dir, "data-p1"))
            run = serve(p2_text)
            self.assertEqual(run.returncode, 1, run.stderr)
            self.assertIn('holds the Raft state of node "p1", not of "p2"', run.stderr)
            p1.start()
            p2.start()
            cl.wait_converged()

    def test_a_learner_joins_is_promoted_and_another_member_leaves(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            p4, (status, body) = cl.add_joiner("p4")
            self.assertEqual(status, 200, body)
            leader = cl.wait_leader()
            cl.wait_converged(timeout=10)
            self.assertEqual(p4.cluster()["role"], "learner")
            epoch = leader.ring()["epoch"]
            run = subprocess.run([RINGLEADER, "ctl", "--admin", f"127.0.0.1:{leader.admin}",
                                  "--json", "peers", "promote", "p4"],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(run.returncode, 0, run.stderr)
            body = json.loads(run.stdout)
            # A peer change answers with its log index and leaves the ring's epoch as it was.
            self.assertEqual(set(body), {"peer", "index"})
            self.assertGreater(body["index"], epoch)
            self.assertEqual(leader.ring()["epoch"], epoch)
            wait_until(lambda: p4.cluster()["role"] in ("follower", "leader"), timeout=10,
                       what="p4 to become a voter")
            victim = next(n for n in cl.nodes.values() if n.id != "p4" and n is not cl.wait_leader())
            status, body = cl.remove_peer(victim.id)
            self.assertEqual(status, 200, body)
            # The removed instance learns it: not ready, and says why.
            wait_until(lambda: http("GET", victim.admin, "/readyz")[1].get("removed"), timeout=15,
                       what="the removed instance to know it was removed")
            status, ready = http("GET", victim.admin, "/readyz")
            self.assertEqual(status, 503, ready)
            self.assertIn(f"removed from the membership group at log index {body['index']}",
                          ready["error"])
            self.assertTrue(victim.cluster()["removed"])
            self.assertIn("removed from the group", victim.proc.tail(50))
            # A change asked of it is refused for good, not a 503 to retry.
            status, refused = http("POST", victim.admin, "/backends/r0/drain")
            self.assertEqual(status, 409, refused)
            self.assertIn("this instance was removed from the group", refused["error"])
            status, refused = http("PATCH", victim.admin, "/ring", {"vnodes": 77})
            self.assertEqual(status, 409, refused)
            self.assertIn("this instance was removed from the group", refused["error"])
            # Also an add of a backend it has exactly as asked (which, asked of a member that
            # cannot confirm it, is a 503 to ask again).
            status, refused = http("POST", victim.admin, "/backends",
                                   {"name": "r0", "address": f"127.0.0.1:{self.seed[0][1]}"})
            self.assertEqual(status, 409, refused)
            self.assertIn("this instance was removed from the group", refused["error"])
            victim.stop()
            leader = cl.wait_leader()
            status, body = change("PATCH", leader.admin, "/backends/r0", {"weight": 3})
            self.assertEqual(status, 200, body)
            ring = cl.wait_converged()
            self.assertEqual(ring["backends"][0]["weight"], 3)

    def test_peers_added_at_runtime_reach_each_other_once_the_founders_are_gone(self):
        # p4 and p5 each list only the founders and themselves: they learn each other's
        # address from the configuration, which records the address a peer was added with.
        with Cluster(self.dir, backends=self.seed) as cl:
            for new in ("p4", "p5"):
                node, (status, body) = cl.add_joiner(new)
                self.assertEqual(status, 200, body)

                def promoted():
                    status, body = http("POST", cl.wait_leader().admin, "/cluster/peers",
                                        {"id": new, "promote": True})
                    return status == 200 or None

                wait_until(promoted, timeout=20, what=f"{new} promoted")
            for founder in ("p1", "p2", "p3"):
                status, body = cl.remove_peer(founder)
                self.assertEqual(status, 200, body)
                wait_until(lambda: cl.nodes[founder].cluster().get("removed"), timeout=10,
                           what=f"{founder} to know it was removed")
                cl.nodes[founder].stop()
            p4, p5 = cl.nodes["p4"], cl.nodes["p5"]
            peers = {p["id"]: p for p in p4.cluster()["peers"]}
            self.assertEqual(peers["p5"]["address"], f"127.0.0.1:{p5.raft}")
            self.assertEqual(peers["p5"]["suffrage"], "voter")
            for restart in (False, True):
                if restart:  # their config files still name only the founders and themselves
                    p4.stop()
                    p5.stop()
                    p4.start()
                    p5.start()
                leader = cl.wait_leader(timeout=15)
                status, body = change("PATCH", leader.admin, "/backends/r1", {"weight": 5 + restart})
                self.assertEqual(status, 200, body)
                ring = cl.wait_converged()
                self.assertEqual(ring["backends"][1]["weight"], 5 + restart)

    def test_a_joiner_whose_file_does_not_list_the_leader_catches_up(self):
        # Its file names itself and one founder that is not the leader. The leader's Hello
        # comes from an id outside the group as the joiner knows it, and teaches no address
        # then; once the joiner takes the leader's entries it takes the address that Hello gave,
        # or it could never answer them.
        with Cluster(self.dir, backends=self.seed) as cl:
            leader = cl.wait_leader()
            listed = cl.follower()
            peers = {listed.id: cl.peers[listed.id], "p4": free_port()}
            p4 = Node(self.dir, "p4", peers, self.seed, join=True).start()
            cl.nodes["p4"] = p4
            status, body = change("POST", leader.admin, "/cluster/peers",
                                  {"id": "p4", "address": f"127.0.0.1:{peers['p4']}"})
            self.assertEqual(status, 200, body)
            wait_until(lambda: p4.cluster()["applied_index"] >= body["index"], timeout=15,
                       what="p4 to catch up")
            cl.wait_converged()

            def promoted():
                status, _ = http("POST", cl.wait_leader().admin, "/cluster/peers",
                                 {"id": "p4", "promote": True})
                return status == 200 or None

            wait_until(promoted, timeout=20, what="p4 promoted")

    def test_an_instance_added_again_reports_only_its_real_removals(self):
        # p4 is added, removed, and added again from an empty data_dir: catching up, it replays
        # its first removal (the log comes 64 entries at a time, and 80 changes lie between),
        # which must not pass for its removal; the second removal must.
        with Cluster(self.dir, backends=self.seed) as cl:
            p4, (status, body) = cl.add_joiner("p4")
            self.assertEqual(status, 200, body)
            status, body = cl.remove_peer("p4")
            self.assertEqual(status, 200, body)
            wait_until(lambda: p4.cluster().get("removed"), timeout=15, what="p4 removed")
            p4.stop()
            shutil.rmtree(os.path.join(self.dir, "data-p4"))
            for i in range(80):
                status, body = change("PATCH", cl.wait_leader().admin, "/backends/r0",
                                      {"weight": 2 + i % 2})
                self.assertEqual(status, 200, body)
            p4.start()
            status, body = change("POST", cl.wait_leader().admin, "/cluster/peers",
                                  {"id": "p4", "address": f"127.0.0.1:{p4.raft}"})
            self.assertEqual(status, 200, body)
            wait_until(lambda: p4.cluster()["applied_index"] >= body["index"], timeout=15,
                       what="p4 to catch up")
            self.assertFalse(p4.cluster().get("removed"))
            self.assertNotIn("removed from the group", p4.proc.tail(200))
            status, body = cl.remove_peer("p4")
            self.assertEqual(status, 200, body)
            wait_until(lambda: p4.cluster().get("removed"), timeout=15, what="p4 removed again")
            self.assertIn(f"removed from the group by the configuration at index {body['index']}",
                          p4.proc.tail(200))

    def test_admin_changes_are_checked_whole_and_reach_every_instance(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            follower = cl.follower()
            epoch = cl.wait_converged()["epoch"]

            def refused(method, path, body, status, text):
                got, reply = http(method, follower.admin, path, body)
                self.assertEqual(got, status, (path, body, reply))
                self.assertIn(text, reply["error"])

            # Bad requests change nothing, not even the parts of them that were fine.
            refused("POST", "/backends", {"name": "r9", "address": "127.0.0.1:1", "wieght": 2},
                    400, 'unknown field "wieght"')
            refused("POST", "/backends", {"name": "r9", "address": "127.0.0.1:1", "zone": "z" * 300},
                    400, "longer than 255 bytes")
            host = ".".join(["h" * 62] * 4)[:253]  # the longest host name
            refused("POST", "/backends", {"name": "r9", "address": host + ":6379"}, 400,
                    '"address" is longer than 255 bytes')
            refused("PATCH", "/backends/r0", {"weight": 7, "zone": "z" * 300}, 400, "zone")
            refused("PATCH", "/backends/r0", {"weight": 7, "state": "asleep"}, 400, '"state"')
            refused("PATCH", "/ring", {"replicas": 99}, 400, "replicas")
            refused("PATCH", "/ring", {"algorithm": "ketama"}, 400, "ketama")
            refused("PATCH", "/ring", {"algorithm": "rendezvous"}, 400,
                    '"algorithm": unknown value "rendezvous"')
            refused("PATCH", "/ring", {"colour": "blue"}, 400, 'unknown field "colour"')
            refused("PATCH", "/ring", {"algorithm": "maglev", "balance_factor": 1.5}, 400,
                    "not supported with algorithm \"maglev\"")
            # Fine on its own, not with the 3 backends there are (a config file's [ring] is
            # held to its [[backends]] the same way).
            refused("PATCH", "/ring", {"replicas": 4}, 409, "more than the 3 backends")
            # Held to a config file's rules: a table of a few slots can leave a light backend
            # no slot (so no keys), and a factor above 1e6 never binds.
            for size in (2, 7, 1021):
                refused("PATCH", "/ring", {"algorithm": "maglev", "maglev_table_size": size}, 400,
                        f"a prime in [1031, 16777216], got {size}")
            refused("PATCH", "/ring", {"algorithm": "maglev", "maglev_table_size": 1032}, 400,
                    "not prime")
            refused("PATCH", "/ring", {"balance_factor": 1e7}, 400, "in [1, 1e6]")
            refused("PATCH", "/ring", {"balance_factor": 0.5}, 400, "in [1, 1e6]")
            refused("POST", "/cluster/peers", {"id": "bad id/x", "address": "127.0.0.1:1"}, 400,
                    '"id"')
            # A refusal by the state is 409 whatever the names in it say.
            refused("DELETE", "/backends/leader-timeout", None, 409, "unknown backend")
            # localhost and 127.0.0.1 are one server: a key's replicas would land on it twice.
            r0_port = self.seed[0][1]
            for spelling in ["localhost", "0.0.0.0"]:  # a wildcard connects to loopback
                refused("POST", "/backends", {"name": "r9", "address": f"{spelling}:{r0_port}"},
                        409, f'is the server of backend "r0" (127.0.0.1:{r0_port})')
            # A backend at the instance's own proxy address: its keys' requests would loop.
            for host in ["127.0.0.1", "localhost"]:
                refused("POST", "/backends", {"name": "r9", "address": f"{host}:{follower.port}"},
                        409, "own proxy.listen")
            # Nor at its admin or Raft listener, or another peer's: none answers a backend's
            # protocol, and its keys' requests would only time out.
            other = next(n for n in cl.up() if n is not follower)
            for port, what in [(follower.admin, "own admin.listen"),
                               (follower.raft, "own membership.listen"),
                               (other.raft, f"is peer {other.id}'s membership listener")]:
                refused("POST", "/backends", {"name": "r9", "address": f"127.0.0.1:{port}"}, 409,
                        what)
            for member in cl.nodes.values():  # the leader's own address among them
                for host in ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"]:
                    refused("POST", "/cluster/peers",
                            {"id": "p9", "address": f"{host}:{cl.peers[member.id]}"}, 409,
                            f"already used by peer {member.id}")
            # Nor the instance's own proxy or admin listener: the group would dial it for good.
            for port, what in [(follower.port, "own proxy.listen"),
                               (follower.admin, "own admin.listen")]:
                refused("POST", "/cluster/peers", {"id": "p9", "address": f"127.0.0.1:{port}"},
                        400, what)
            # An id no peer can have is a bad request, whatever the membership holds.
            for bad in ["x" * 3000, "%FF", "a%20b"]:
                refused("DELETE", f"/cluster/peers/{bad}", None, 400, "no peer can have the id")
            # Peers are reached by numeric address: a name is a bad request, not a refusal.
            refused("POST", "/cluster/peers", {"id": "p9", "address": "example.com:7000"}, 400,
                    "numeric IP or localhost")
            # Asking again for an add that took effect (its first answer lost) is a 200 that
            # changes nothing; the same name with anything else different is still refused.
            status, body = change("POST", follower.admin, "/backends",
                                  {"name": "r0", "address": f"127.0.0.1:{r0_port}"})
            self.assertEqual(status, 200, body)
            self.assertEqual((body["unchanged"], body["epoch"], body["backend"]["state"]),
                             (True, epoch, "active"))
            refused("POST", "/backends", {"name": "r0", "address": f"127.0.0.1:{r0_port}",
                                          "weight": 2}, 409, 'backend "r0" already exists')
            refused("POST", "/backends", {"name": "r0", "address": f"127.0.0.1:{r0_port}",
                                          "zone": "b"}, 409, 'backend "r0" already exists')
            self.assertEqual(cl.wait_converged()["epoch"], epoch)
            self.assertEqual(cl.wait_converged()["backends"][0]["weight"], 1)

            # Several fields in one PATCH; a drained backend made active again.
            status, body = change("PATCH", follower.admin, "/backends/r0",
                                  {"weight": 3, "zone": "a", "state": "draining"})
            self.assertEqual(status, 200, body)
            r0 = cl.wait_converged()["backends"][0]
            self.assertEqual((r0["weight"], r0["zone"], r0["state"]), (3, "a", "draining"))
            status, body = change("POST", follower.admin, "/backends/r0/undrain")
            self.assertEqual(status, 200, body)
            self.assertEqual(cl.wait_converged()["backends"][0]["state"], "active")

            # Down one by one, but never every one: the last would fail every request.
            for name in ("r0", "r1"):
                status, body = change("PATCH", follower.admin, f"/backends/{name}",
                                      {"state": "down"})
                self.assertEqual(status, 200, body)
            refused("PATCH", "/backends/r2", {"state": "down"}, 409,
                    "every backend would be down")
            # Several fields are one change: refused whole when one of them is, the weight
            # and zone before the state included.
            epoch = cl.wait_converged()["epoch"]
            refused("PATCH", "/backends/r2", {"weight": 5, "zone": "zz", "state": "down"}, 409,
                    "every backend would be down")
            ring = cl.wait_converged()
            self.assertEqual((ring["epoch"], ring["backends"][2]["weight"],
                              ring["backends"][2]["zone"]), (epoch, 1, ""))
            for name in ("r0", "r1"):
                status, body = change("POST", follower.admin, f"/backends/{name}/undrain")
                self.assertEqual(status, 200, body)
            self.assertEqual([b["state"] for b in cl.wait_converged()["backends"]],
                             ["active"] * 3)

            # Ring parameters change on every instance; fields not named keep their values.
            status, body = change("PATCH", follower.admin, "/ring", {"replicas": 2})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["ring"]["replicas"], 2)
            out = subprocess.run([RINGLEADER, "ctl", "--admin", f"127.0.0.1:{follower.admin}",
                                  "ring", "set", "vnodes=100"],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            ring = cl.wait_converged()
            self.assertEqual((ring["replicas"], ring["vnodes"]), (2, 100))
            for n in cl.up():
                status, found = http("GET", n.admin, "/ring/lookup?key=k1")
                self.assertEqual(len(found["replicas"]), 2, found)
            c = redis.Redis(port=cl.nodes["p1"].port, socket_timeout=5)
            c.set("two-copies", "v")  # write = "one": the second copy may land just after

            def copies():
                return [redis.Redis(port=r.port).get("two-copies") for r in self.redises[:3]]
            wait_until(lambda: copies().count(b"v") == 2, timeout=15, what="two copies")
            self.assertEqual(copies().count(b"v"), 2)

            # A removal may leave fewer backends than ring.replicas (each key is then on all
            # there are): every instance says so, and says when the copies are back.
            status, body = change("PATCH", follower.admin, "/ring", {"replicas": 3})
            self.assertEqual(status, 200, body)
            status, body = change("DELETE", follower.admin, "/backends/r2")
            self.assertEqual(status, 200, body)
            for n in cl.up():
                wait_until(lambda: "ring.replicas = 3 but only 2 backends that are not down"
                           in n.proc.tail(400), timeout=10, what=f"{n.id}'s warning")
            status, body = change("POST", follower.admin, "/backends",
                                  {"name": "r2", "address": f"127.0.0.1:{self.seed[2][1]}"})
            self.assertEqual(status, 200, body)
            for n in cl.up():
                wait_until(lambda: "every key has its ring.replicas = 3 copies again"
                           in n.proc.tail(400), timeout=10, what=f"{n.id}'s all-clear")

    def test_a_peer_with_another_secret_is_named_in_the_log_and_counted(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            p4, (status, body) = cl.add_joiner("p4", secret="not-the-secret")
            self.assertEqual(status, 200, body)
            leader = cl.wait_leader()

            def rejected(node):
                return metric_value(node.admin,
                                    'ringleader_raft_frames_rejected_total{reason="bad_mac"}') or 0
            wait_until(lambda: rejected(leader) > 0 and rejected(p4) > 0, timeout=10,
                       what="frames with the wrong secret to be counted on both sides")
            wait_until(lambda: "fail authentication" in leader.proc.tail(200), timeout=15,
                       what="the leader's warning")
            # Named on both sides: by its peers entry on a connection it dialled, by the name
            # in the peer's hello on one it accepted.
            def warning(node):
                return next(line for line in node.proc.tail(200).splitlines()
                            if "fail authentication" in line)
            self.assertRegex(warning(leader), r"frames from (peer p4 \(|.* says it is peer p4 )")
            self.assertRegex(warning(p4), r"frames from (peer p[123] \(|.* says it is peer p[123] )")
            self.assertEqual(p4.ring()["backends"], [])  # it never got the membership

    def test_routing_stays_correct_while_changes_commit(self):
        with Cluster(self.dir, backends=self.seed) as cl:
            errors, done = [], {"n": 0}
            stop = threading.Event()

            def load(node):
                c = redis.Redis(port=node.port, socket_timeout=10)
                deadline = time.monotonic() + 40
                i = 0
                while not stop.is_set() and time.monotonic() < deadline and i < 30000:
                    k = f"load:{node.id}:{i}"
                    try:
                        c.set(k, i)
                        v = c.get(k)
                        if v is not None and v != str(i).encode():
                            errors.append(f"{k}: {v!r}")
                        done["n"] += 1
                    except redis.RedisError as e:
                        errors.append(f"{k}: {e}")
                    i += 1
            threads = [threading.Thread(target=load, args=(n,)) for n in cl.nodes.values()]
            for t in threads:
                t.start()
            try:
                wait_until(lambda: done["n"] > 300, timeout=20, what="load")
                leader = cl.wait_leader()
                changes = [("POST", "/backends", {"name": "r3", "address": f"127.0.0.1:{self.redises[3].port}"}),
                           ("PATCH", "/backends/r3", {"weight": 2}),
                           ("POST", "/backends/r0/drain", None),
                           ("PATCH", "/backends/r1", {"zone": "z1"})]
                for method, path, body in changes:
                    status, reply = change(method, cl.follower().admin, path, body)
                    self.assertEqual(status, 200, (path, reply))
                    n = done["n"]
                    wait_until(lambda: done["n"] > n + 100, timeout=20, what="load to go on")
                del leader
            finally:
                stop.set()
                for t in threads:
                    t.join(timeout=60)
            self.assertEqual(errors, [])
            cl.wait_converged()


if __name__ == "__main__":
    run_unittests(globals())
