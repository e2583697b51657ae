#!/usr/bin/python3
"""Host pauses: stretches of time in which this machine ran nothing that was due to run.

On a virtual machine the host can stop the guest's CPUs, all of them at once, for 100 ms at a
time on the VM the README's figures come from, and the guest's steal time need not show it.
Every request in flight then takes that much longer, whichever proxy it went through, so a
benchmark that wants to explain its slowest requests has to know when that happened.

HostPauses runs one watcher per CPU: a process pinned to it, at SCHED_FIFO priority when this
user may set it (then only the kernel's own non-preemptible stretches, well under a
millisecond, delay it), that sleeps 2 ms at a time and reports each sleep that took longer than
`threshold` seconds. Without SCHED_FIFO a watcher waits for its turn like any process, so its
gaps include the machine's own scheduling delays (`real_time` says which). Each watcher costs
its CPU about 500 short wakeups a second.

    with HostPauses() as watch:
        t0 = time.monotonic(); run(); t1 = time.monotonic()
        for pause in watch.between(t0, t1): ...   # Pause(start, length, cpus)

Run alone, it prints the pauses it sees:

    bench/e2e/host_pauses.py [--seconds 60] [--threshold-ms 10]
"""
import argparse
import collections
import os
import subprocess
import sys
import threading
import time

SLEEP = 0.002

# start: time.monotonic() when the pause began (the sleep that overran started no later);
# length in seconds; cpus: how many CPUs' watchers saw it (all of them: the whole machine).
Pause = collections.namedtuple("Pause", "start length cpus")


def merge(gaps):
    """Pauses from per-CPU gaps [(cpu, start, length)]: gaps that overlap in time are one
    pause, spanning their union, seen by the CPUs whose gaps it joined. Sorted by start."""
    pauses = []
    for cpu, start, length in sorted(gaps, key=lambda g: g[1]):
        end = start + length
        if pauses and start <= pauses[-1][1]:
            last = pauses[-1]
            last[1] = max(last[1], end)
            last[2].add(cpu)
        else:
            pauses.append([start, end, {cpu}])
    return [Pause(start, end - start, len(cpus)) for start, end, cpus in pauses]


class HostPauses:
    def __init__(self, threshold=0.010):
        self.threshold = threshold
        self.real_time = True
        self._gaps = []  # (cpu, start, length), appended by the reader threads
        self._lock = threading.Lock()
        self._watchers = []  # (cpu, Popen)
        self._readers = []

    def __enter__(self):
        cpus = sorted(os.sched_getaffinity(0))
        for cpu in cpus:
            proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--watch",
                                     str(cpu), str(self.threshold)],
                                    stdout=subprocess.PIPE, text=True)
            self._watchers.append((cpu, proc))
        try:
            for cpu, proc in self._watchers:
                hello = proc.stdout.readline().split()
                if not hello or hello[0] not in ("fifo", "normal"):
                    raise RuntimeError(f"host pause watcher for CPU {cpu} did not start")
                self.real_time = self.real_time and hello[0] == "fifo"
                reader = threading.Thread(target=self._read, args=(cpu, proc), daemon=True)
                reader.start()
                self._readers.append(reader)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for _, proc in self._watchers:
            proc.kill()
            proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)

    def watcher_pids(self):
        return [proc.pid for _, proc in self._watchers]

    def _read(self, cpu, proc):
        for line in proc.stdout:
            start, length = (float(x) for x in line.split())
            with self._lock:
                self._gaps.append((cpu, start, length))

    def between(self, t0, t1):
        """The pauses that overlap [t0, t1] (time.monotonic() values). A watcher reports a
        pause once it runs again, so ask after the stretch has ended."""
        with self._lock:
            gaps = list(self._gaps)
        return [p for p in merge(gaps) if p.start < t1 and p.start + p.length > t0]


def describe(pauses, cpus):
    """'' when there were none, else e.g. 'host paused twice, longest 101 ms (on 2 of 2
    CPUs)', with `cpus` the number of CPUs watched."""
    if not pauses:
        return ""
    longest = max(pauses, key=lambda p: p.length)
    times = {1: "once", 2: "twice"}.get(len(pauses), f"{len(pauses)} times")
    return (f"host paused {times}, longest {longest.length * 1000:.0f} ms "
            f"(on {longest.cpus} of {cpus} CPUs)")


def watch(cpu, threshold):
    """A watcher's loop: pin to `cpu`, take SCHED_FIFO if allowed, say which ('fifo' or
    'normal'), then print 'start length' for every sleep of SLEEP that overran threshold."""
    os.sched_setaffinity(0, {cpu})
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        print("fifo", flush=True)
    except PermissionError:
        print("normal", flush=True)
    before = time.monotonic()
    while True:
        time.sleep(SLEEP)
        now = time.monotonic()
        if now - before > threshold:
            print(f"{before:.6f} {now - before - SLEEP:.6f}", flush=True)
        before = now


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--watch":
        watch(int(sys.argv[2]), float(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description="print the host's pauses as they are seen")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threshold-ms", type=float, default=10)
    args = ap.parse_args()
    with HostPauses(args.threshold_ms / 1000) as pauses:
        started = time.monotonic()
        print(f"watching {len(pauses.watcher_pids())} CPUs for {args.seconds:.0f} s"
              f"{'' if pauses.real_time else ' (not real-time: delays include scheduling)'}",
              flush=True)
        seen = 0
        while time.monotonic() - started < args.seconds:
            time.sleep(min(1.0, args.seconds))
            found = pauses.between(started, time.monotonic())
            for p in found[seen:]:
                print(f"{p.start - started:8.3f} s: {p.length * 1000:.1f} ms on {p.cpus} of "
                      f"{len(pauses.watcher_pids())} CPUs", flush=True)
            seen = len(found)


if __name__ == "__main__":
    main()
