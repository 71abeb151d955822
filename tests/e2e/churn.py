#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""VMs that come and go (issue 15): starts the test bed's VMM (tests/vm/ktvmm) again and again
with a random exit kind and vCPU count, kills each with SIGKILL after a random time, and reaps
it with wait4, whose rusage is the oracle of its whole life's CPU time.

    churn.py KTVMM SECONDS OUT [--vms N] [--seed S]

Keeps about N VMMs alive for SECONDS, then kills the rest, each once it has lived MIN_LIFE.
Writes OUT: one line per VMM, "PID CPU_NS VCPUS STATUS START" (user + system time from wait4,
its vCPUs, wait4's status: a VMM that ended before its SIGKILL says why it may have made no VM;
and when it was started, Unix time in seconds). Stops by itself.
"""
import argparse
import os
import random
import signal
import subprocess
import time

MIN_LIFE = 1.0  # s: the shortest life of a VMM, found by the scan within 2 intervals of -i 0.2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ktvmm")
    p.add_argument("seconds", type=float)
    p.add_argument("out")
    p.add_argument("--vms", type=int, default=4)
    p.add_argument("--seed", type=int, default=15)
    args = p.parse_args()
    rnd = random.Random(args.seed)
    end = time.monotonic() + args.seconds
    alive = {}          # pid -> (Popen, when to kill, not before, vCPUs, wall clock at its start)
    done = []
    kinds = ["hypercall", "io", "none", "hlt"]

    def reap(pid, vcpus, start):
        _, status, ru = os.wait4(pid, 0)
        done.append((pid, round((ru.ru_utime + ru.ru_stime) * 1e9), vcpus, status, start))

    while time.monotonic() < end or alive:
        now = time.monotonic()
        for pid, (proc, kill_at, min_end, vcpus, start) in list(alive.items()):
            # At the end the rest go too, but none before MIN_LIFE: one started just then
            # would end before a scan could find it.
            if now >= kill_at or (now >= end and now >= min_end):
                proc.send_signal(signal.SIGKILL)
                reap(pid, vcpus, start)
                del alive[pid]
        while now < end and len(alive) < args.vms:
            kind, vcpus = rnd.choice(kinds), rnd.randint(1, 2)
            start = time.time()
            proc = subprocess.Popen([args.ktvmm, "--vcpus", str(vcpus),
                                     "--exit", kind, "--loop", str(rnd.choice([100, 2000]))],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            alive[proc.pid] = (proc, now + rnd.uniform(MIN_LIFE, 8.0), now + MIN_LIFE, vcpus,
                               start)
        time.sleep(0.05)
    with open(args.out, "w") as f:
        for pid, ns, vcpus, status, start in done:
            f.write(f"{pid} {ns} {vcpus} {status} {start:.3f}\n")


if __name__ == "__main__":
    main()
