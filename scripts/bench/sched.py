# SPDX-License-Identifier: GPL-2.0
"""The sched part: `perf bench sched pipe`, two processes ping-ponging over pipes (context
switches), under baseline, empty, tracer and tracked (kvmtrace-bpf -p of the bench's two
processes). A window's throughput: loops per second, from the kernel's count of write() calls
of the bench's parent (/proc/PID/io syscw: one per loop); the bench runs for the whole session.

Pinned to one CPU (the default), both processes take turns on it: every loop is exactly two
context switches and one wakeup, all on the critical path (the worst case for a scheduler
tracer), and the bench does not flip between same-CPU and cross-CPU ping-pong from one window
to the next, which on a small virtual machine changes its speed by tens of percent.
The peers part (peers.py) runs this workload too."""

import os
import signal
import time

from lib import TARGET_RATIO as RATIO, TARGET_SLOWDOWN as SLOW
from lib import child_of, die, have, head, is_number, output, proc_io, usecs
from session import Workload

LOOPS = 1000000000  # never reached: the bench is stopped after its session
CALIB_LOOPS = 100000


class Sched(Workload):
    name = "sched"
    head = "## Scheduler"
    configs = ("baseline", "empty", "tracer", "tracked")
    hooks = ("sched_switch", "sched_wakeup")
    required = ("slowdown_pct.tracer", "slowdown_pct.tracked", "ratio.tracer.sched_switch",
                "ratio.tracked.sched_switch", "usecs_per_op.detached")

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bench = None
        self.child = None
        self.perf_self = None

    def rounds(self):
        return self.ctx.k.rounds

    def check(self):
        if not have("perf"):
            die("no perf: install linux-perf")

    def prepare(self):
        # perf's own figure for a short fixed-loop run, to check the windowed measurement against.
        out = output(self.ctx.pin + ["perf", "bench", "sched", "pipe", "-l", str(CALIB_LOOPS)])
        figs = [line.split()[0] for line in out.splitlines() if "usecs/op" in line]
        if not figs or not is_number(figs[0]):
            die(f"perf bench sched pipe -l {CALIB_LOOPS} gave no usecs/op")
        self.perf_self = float(figs[0])

    def loops(self):
        """Loops done so far: the parent writes once per loop."""
        n = proc_io(self.bench.pid, "syscw")
        if n is None:
            die(f"the bench (PID {self.bench.pid}) is gone")
        return n

    def start(self, cfg=None):
        ctx = self.ctx
        # taskset execs perf: the PID is perf's either way.
        self.bench = ctx.spawn(["perf", "bench", "sched", "pipe", "-l", str(LOOPS)],
                               err="perf.err", pin=True)
        for _ in range(200):
            self.child = child_of(self.bench.pid)
            if self.child or self.bench.poll() is not None:
                break
            time.sleep(0.02)
        if not self.child:
            die(f"perf bench sched pipe did not start: {head(ctx.path('perf.err'))}")
        # Running once its loop count moves.
        first = self.loops()
        for _ in range(200):
            time.sleep(0.02)
            if self.loops() > first:
                return
        die("perf bench sched pipe makes no progress")

    def window(self):
        n0, t0 = self.loops(), usecs()
        time.sleep(self.ctx.k.window)
        n1 = self.loops()
        return n1 - n0, usecs() - t0, n1 - n0

    def stop(self):
        # The child survives its parent: end it first, by its PID.
        if self.child:
            try:
                os.kill(self.child, signal.SIGKILL)
            except OSError:
                pass
        if self.bench:
            self.ctx.stop(self.bench, signal.SIGKILL)
        self.bench = self.child = None

    def tracked(self):
        pids = [self.bench.pid, self.child]
        return ["-p", str(pids[0]), "-p", str(pids[1])], "", pids

    def method(self):
        return {"bench": "perf bench sched pipe", "rounds": self.ctx.k.rounds,
                "configurations": list(self.configs)}

    def title(self):
        return "## Scheduler: `perf bench sched pipe`"

    def section(self, rep):
        k = self.ctx.k
        return [
            f"perf {rep.versions['perf']}, processes mode, {self.ctx.pin_desc}; {k.text['ROUNDS']} "
            f"rounds of {', '.join(self.configs)}.",
            f"perf's own figure: {rep.f2(self.perf_self, 3)} µs/loop for {CALIB_LOOPS} loops, nothing "
            f"attached (windowed: {rep.f2(rep.med('usecs_per_op.detached'), 3)}).",
            "",
        ] + rep.table(self.rows())

    def rows(self):
        return [
            ("ratio.tracer.sched_switch", "kt_sched_switch vs empty program, ns/run ratio, bench not tracked", "×", 2, RATIO),
            ("ratio.tracked.sched_switch", "kt_sched_switch vs empty program, ns/run ratio, bench tracked (-p)", "×", 2, RATIO),
            ("ratio.tracer.sched_wakeup", "kt_sched_wakeup vs empty program, ns/run ratio, bench not tracked", "×", 2, RATIO),
            ("ratio.tracked.sched_wakeup", "kt_sched_wakeup vs empty program, ns/run ratio, bench tracked (-p)", "×", 2, RATIO),
            ("slowdown_pct.tracer", "bench slowdown, kvmtrace-bpf attached, bench not tracked", "%", 2, SLOW, "noise_pct"),
            ("slowdown_pct.tracked", "bench slowdown, kvmtrace-bpf tracking the bench (-p)", "%", 2, SLOW, "noise_pct"),
            ("bpf_share_pct.tracer", "slowdown estimated from bpf_stats: time in kvmtrace-bpf's programs per bench loop, not tracked", "%", 2, SLOW),
            ("bpf_share_pct.tracked", "slowdown estimated from bpf_stats: time in kvmtrace-bpf's programs per bench loop, tracked", "%", 2, SLOW),
            ("slowdown_pct.empty", "bench slowdown, empty programs attached (floor of any tp_btf tracer)", "%", 2),
            ("slowdown_pct.baseline", "bench \"slowdown\", nothing attached (A/A: the noise of the method)", "%", 2),
            ("noise_pct", "noise: change between the two detached windows of a session, absolute", "%", 2),
            ("drift_pct", "drift: change from the pre to the post window of a session, signed", "%", 2),
            ("slowdown_stats_pct.tracer", "bench slowdown, not tracked, bpf_stats on", "%", 2),
            ("slowdown_stats_pct.tracked", "bench slowdown, tracked, bpf_stats on", "%", 2),
            ("bpf_share_pct.empty", "time in the empty programs per bench loop (bpf_stats)", "%", 2),
            ("ns_per_run.empty.empty_switch", "empty program on sched_switch", "ns/run", 1),
            ("ns_per_run.tracer.kt_sched_switch", "kt_sched_switch, bench not tracked", "ns/run", 1),
            ("ns_per_run.tracked.kt_sched_switch", "kt_sched_switch, bench tracked", "ns/run", 1),
            ("ns_per_run.empty.empty_wakeup", "empty program on sched_wakeup", "ns/run", 1),
            ("ns_per_run.tracer.kt_sched_wakeup", "kt_sched_wakeup, bench not tracked", "ns/run", 1),
            ("ns_per_run.tracked.kt_sched_wakeup", "kt_sched_wakeup, bench tracked", "ns/run", 1),
            ("excess_ns.tracer.sched_switch", "kt_sched_switch minus empty program, bench not tracked", "ns/run", 1),
            ("excess_ns.tracked.sched_switch", "kt_sched_switch minus empty program, bench tracked", "ns/run", 1),
            ("excess_ns.tracer.sched_wakeup", "kt_sched_wakeup minus empty program, bench not tracked", "ns/run", 1),
            ("excess_ns.tracked.sched_wakeup", "kt_sched_wakeup minus empty program, bench tracked", "ns/run", 1),
            ("runs_per_op.tracer.kt_sched_switch", "sched_switch runs per bench loop (all CPUs, all tasks)", "runs", 2),
            ("runs_per_op.tracer.kt_sched_wakeup", "sched_wakeup runs per bench loop (all CPUs, all tasks)", "runs", 2),
            ("usecs_per_op.detached", "bench, nothing attached (pre and post windows)", "µs/loop", 3),
            ("usecs_per_op.empty", "bench, empty programs attached", "µs/loop", 3),
            ("usecs_per_op.tracer", "bench, kvmtrace-bpf attached, not tracked", "µs/loop", 3),
            ("usecs_per_op.tracked", "bench, kvmtrace-bpf tracking the bench", "µs/loop", 3),
        ]
