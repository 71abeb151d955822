# SPDX-License-Identifier: GPL-2.0
"""The sched part: `perf bench sched pipe`, two processes ping-ponging over pipes (context
switches), under baseline, empty, tracer and tracked (kvmtrace-bpf -p of the bench's two
processes) and, when measured (BENCH_SCHED_SWITCH, lib.Bench.probe_tracer), tracer_switch and
tracked_switch: the same with --counters task-clock, which makes kvmtrace-bpf hook sched_switch
where its defaults leave it and read the kernel's per-task counters by a task iterator once per
interval; and, where installed, bpftrace running tests/bench/peer.bt, the peer whose time in
its programs the tracked configurations' is held against. A window's throughput: loops per second, from the kernel's count of write() calls
of the bench's parent (/proc/PID/io syscw: one per loop); the bench runs for the whole session.
A session measures every program of the attacher that runs (bpf_stats): for kvmtrace-bpf its
hooks', its task iterator's, its sampler's.

Pinned to one CPU (the default), both processes take turns on it: every loop is exactly two
context switches and one wakeup, all on the critical path (the worst case for a scheduler
tracer), and the bench does not flip between same-CPU and cross-CPU ping-pong from one window
to the next, which on a small virtual machine changes its speed by tens of percent.
The peers part (peers.py) runs this workload too."""

import os
import signal
import time

from lib import PEER_BT, ROOT, SWITCH_ARGS, TRACER_READY, TARGET_BPF_SHARE as SHARE
from lib import TARGET_RATIO as RATIO, TARGET_SLOWDOWN as SLOW
from lib import bpftrace_attached, child_of, die, have, head, is_number, output, proc_io, usecs
from session import Workload

LOOPS = 1000000000  # never reached: the bench is stopped after its session
CALIB_LOOPS = 100000
CONFIGS = ("baseline", "empty", "tracer", "tracked")
SWITCH_CONFIGS = ("tracer_switch", "tracked_switch")
ITER = "kt_task_iter"
NOT_HOOKED = "not attached (task iterator)"
NOT_ITER = "not attached (sched_switch hooked)"
PEER = "bpftrace"
BPFTRACE = "< bpftrace's minimal script"


class Sched(Workload):
    name = "sched"
    head = "## Scheduler"
    configs = CONFIGS
    hooks = ("sched_switch", "sched_wakeup")
    all_programs = True

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

    def ready(self, cfg):
        # kvmtrace-bpf hooks sched_switch in one mode only; bpftrace links no program.
        if cfg == PEER:
            return None
        return TRACER_READY if self.is_tracer(cfg) else self.hooks[0]

    def attach(self, cfg, folder):
        if cfg != PEER:
            super().attach(cfg, folder)
            return
        os.makedirs(folder, exist_ok=True)
        out = f"{folder}/bpftrace.out"
        self.ctx.attach(["bpftrace", PEER_BT], "bpftrace.err", cfg, out=out)
        self.ctx.wait_at_work(cfg, lambda: bpftrace_attached(out), "bpftrace.err")

    def empty_hooks(self):
        """sched_switch in every mode, the floor of any scheduler tracer and of kvmtrace-bpf's
        switch-hooked mode; sched_wakeup where kvmtrace-bpf attaches it."""
        ctx = self.ctx
        return ["sched_switch"] + [h for h in ("sched_wakeup",) if h in ctx.tracer_hooks + ctx.switch_hooks]

    @property
    def required(self):
        """The figures without which the part did not measure: the slowdowns and, of each
        configuration whose tracer hooked sched_switch, its ratio to the empty program."""
        keys = [f"slowdown_pct.{c}" for c in self.configs if self.is_tracer(c)] + ["usecs_per_op.detached"]
        return keys + [f"ratio.{c}.sched_switch" for c in self.configs
                       if self.is_tracer(c) and self.hooked(c, "sched_switch") is not False]

    def prepare(self):
        if self.ctx.switch_configs:
            self.configs = CONFIGS + SWITCH_CONFIGS
        # The peer of the tracked configurations, measured alike; without it, a floor stands in.
        if have("bpftrace"):
            self.configs += (PEER,)
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
        ctx = self.ctx
        out = {"bench": "perf bench sched pipe", "rounds": ctx.k.rounds,
               "configurations": list(self.configs),
               "sched_switch_hooked": {c: self.hooked(c, "sched_switch") for c in self.configs if self.is_tracer(c)},
               "scheduler_figures": {"defaults": ctx.sched_source},
               "switch_configs": ctx.k.text["SCHED_SWITCH"]}
        if ctx.switch_configs:
            out["scheduler_figures"][" ".join(SWITCH_ARGS)] = ctx.switch_source
            out["switch_args"] = list(SWITCH_ARGS)
        return out

    def title(self):
        return "## Scheduler: `perf bench sched pipe`"

    def ran(self, cfg):
        """kvmtrace-bpf's programs that ran in cfg's windows, by name."""
        return sorted({r[3] for r in self.prog_records if r[2] == cfg and r[6] > 0})

    def section(self, rep):
        ctx, k = self.ctx, self.ctx.k
        switch = " ".join(SWITCH_ARGS)
        if ctx.switch_configs:
            second = [f"With `{switch}` (a software counter, counted per tracked thread at its switches;",
                      f"configurations {', '.join(SWITCH_CONFIGS)}): \"{ctx.switch_source or '?'}\"."]
        elif k.text["SCHED_SWITCH"] == "0":
            second = [f"The mode with `{switch}` was not measured (BENCH_SCHED_SWITCH=0)."]
        elif "sched_switch" in ctx.tracer_hooks:
            second = ["Its defaults hook sched_switch here: no second mode to measure."]
        else:
            second = [f"With `{switch}` it does not hook sched_switch either (\"{ctx.switch_source or '?'}\"):",
                      "no second mode to measure."]
        ran = [f"{c}: {', '.join(self.ran(c)) or 'none'}" for c in self.configs if self.is_tracer(c)]
        return [
            f"perf {rep.versions['perf']}, processes mode, {self.ctx.pin_desc}; {k.text['ROUNDS']} "
            f"rounds of {', '.join(self.configs)}.",
            f"perf's own figure: {rep.f2(self.perf_self, 3)} µs/loop for {CALIB_LOOPS} loops, nothing "
            f"attached (windowed: {rep.f2(rep.med('usecs_per_op.detached'), 3)}).",
            f"kvmtrace-bpf's scheduler figures here, with its defaults (tracer, tracked): \"{ctx.sched_source or '?'}\".",
        ] + second + [
            f"Where sched_switch is not attached, its rows say \"{NOT_HOOKED}\": no program runs",
            f"at context switches, which meets the target per context switch (≤ {RATIO}× the empty program);",
            f"the iterator's own cost is in the {ITER} rows (one run per task visited, and a closing run per",
            "pass; one pass per interval, `-i 1`). The time in kvmtrace-bpf's programs per bench loop sums",
            "every program of the tracer that ran in the window (bpf_stats), across all CPUs, over the",
            f"window's time; its targets: ≤ {SHARE}% with the bench not tracked (not a VM); tracked, below",
        ] + self.peer_rule() + [
            "The programs that ran: " + "; ".join(ran) + ".",
            "",
        ] + rep.table(self.rows())

    def peer_rule(self):
        """How the tracked rows are held against bpftrace's minimal script."""
        if PEER in self.configs:
            return [f"bpftrace's minimal script (`bpftrace {os.path.relpath(PEER_BT, ROOT)}`, configuration",
                    f"{PEER}, measured alike): \"yes\" when every round of kvmtrace-bpf is below every",
                    "round of bpftrace, \"no\" when every round is above, \"inconclusive\" when they overlap."]
        return ["bpftrace's minimal script, not installed here, whose program on sched_switch costs at",
                "least the empty one there: \"yes\" when at most the empty programs' time per loop,",
                "\"inconclusive\" above it (bpftrace's own time is not measured)."]

    def notes(self):
        """The rows of sched_switch in a configuration whose tracer left it alone (met: no
        program at context switches), and of the iterator in one that hooked it."""
        out = {}
        for c in (c for c in self.configs if self.is_tracer(c)):
            hooked = self.hooked(c, "sched_switch")
            if hooked is False:
                out[f"ratio.{c}.sched_switch"] = (NOT_HOOKED, "yes")
                for key in (f"excess_ns.{c}.sched_switch", f"ns_per_run.{c}.kt_sched_switch"):
                    out[key] = (NOT_HOOKED, "")
            elif hooked:
                for key in (f"ns_per_run.{c}.{ITER}", f"runs_per_s.{c}.{ITER}"):
                    out[key] = (NOT_ITER, "")
        return out

    def rows(self):
        modes = [(("tracer", "tracked"), "kvmtrace-bpf")]
        if SWITCH_CONFIGS[0] in self.configs:
            modes.append((SWITCH_CONFIGS, f"kvmtrace-bpf {' '.join(SWITCH_ARGS)} (sched_switch hooked)"))

        def both(row):
            """row(c, m, t) of tracer and tracked, then (when measured) of tracer_switch and
            tracked_switch: c the configuration, m what is attached, t how the bench is."""
            return [row(c, m, t) for cfgs, m in modes for c, t in zip(cfgs, ("not tracked", "tracked (-p)"))]

        def share(c):
            """The target of the time in the programs: the issue's for a bench that is not a
            VM; tracked, below bpftrace's minimal script (at least the empty program)."""
            if c.startswith("tracer"):
                return (SHARE,)
            if PEER in self.configs:
                return (BPFTRACE, "", f"peer:bpf_share_pct.{PEER}")
            return (BPFTRACE, "", "floor:bpf_share_pct.empty")

        iters = (("tracer", "not tracked"), ("tracked", "tracked (-p)"))
        return both(lambda c, m, t: (
            f"ratio.{c}.sched_switch", f"kt_sched_switch vs empty program, ns/run ratio, {m}, bench {t}", "×", 2, RATIO)
        ) + [
            ("ratio.tracer.sched_wakeup", "kt_sched_wakeup vs empty program, ns/run ratio, bench not tracked", "×", 2, RATIO),
            ("ratio.tracked.sched_wakeup", "kt_sched_wakeup vs empty program, ns/run ratio, bench tracked (-p)", "×", 2, RATIO),
        ] + both(lambda c, m, t: (
            f"slowdown_pct.{c}", f"bench slowdown, {m} attached, bench {t}", "%", 2, SLOW, "noise_pct")
        ) + both(lambda c, m, t: (
            f"bpf_share_pct.{c}", f"time in the programs of {m} per bench loop (all that ran; bpf_stats: "
            f"an estimate of the slowdown), bench {t}", "%", 3) + share(c)
        ) + [
        ] + self.peer_rows() + [
            ("slowdown_pct.empty", "bench slowdown, empty programs attached (floor of any tp_btf tracer)", "%", 2),
            ("slowdown_pct.baseline", "bench \"slowdown\", nothing attached (A/A: the noise of the method)", "%", 2),
            ("noise_pct", "noise: change between the two detached windows of a session, absolute", "%", 2),
            ("drift_pct", "drift: change from the pre to the post window of a session, signed", "%", 2),
        ] + both(lambda c, m, t: (
            f"slowdown_stats_pct.{c}", f"bench slowdown, {m}, bench {t}, bpf_stats on", "%", 2)
        ) + [
            ("bpf_share_pct.empty", "time in the empty programs per bench loop (bpf_stats)", "%", 3),
            ("ns_per_run.empty.empty_switch", "empty program on sched_switch", "ns/run", 1),
        ] + both(lambda c, m, t: (
            f"ns_per_run.{c}.kt_sched_switch", f"kt_sched_switch, {m}, bench {t}", "ns/run", 1)
        ) + [
            (f"ns_per_run.{c}.{ITER}", f"{ITER}, per run (a task visited), kvmtrace-bpf, bench {t}", "ns/run", 1)
            for c, t in iters
        ] + [
            (f"runs_per_s.{c}.{ITER}", f"{ITER} runs per second (the host's tasks, a pass per interval), "
             f"kvmtrace-bpf, bench {t}", "runs/s", 0)
            for c, t in iters
        ] + [
            ("ns_per_run.empty.empty_wakeup", "empty program on sched_wakeup", "ns/run", 1),
            ("ns_per_run.tracer.kt_sched_wakeup", "kt_sched_wakeup, bench not tracked", "ns/run", 1),
            ("ns_per_run.tracked.kt_sched_wakeup", "kt_sched_wakeup, bench tracked", "ns/run", 1),
        ] + both(lambda c, m, t: (
            f"excess_ns.{c}.sched_switch", f"kt_sched_switch minus empty program, {m}, bench {t}", "ns/run", 1)
        ) + [
            ("excess_ns.tracer.sched_wakeup", "kt_sched_wakeup minus empty program, bench not tracked", "ns/run", 1),
            ("excess_ns.tracked.sched_wakeup", "kt_sched_wakeup minus empty program, bench tracked", "ns/run", 1),
            ("runs_per_op.empty.empty_switch", "sched_switch runs per bench loop (all CPUs, all tasks)", "runs", 2),
            ("runs_per_op.tracer.kt_sched_wakeup", "sched_wakeup runs per bench loop (all CPUs, all tasks)", "runs", 2),
            ("usecs_per_op.detached", "bench, nothing attached (pre and post windows)", "µs/loop", 3),
            ("usecs_per_op.empty", "bench, empty programs attached", "µs/loop", 3),
        ] + both(lambda c, m, t: (
            f"usecs_per_op.{c}", f"bench, {m} attached, bench {t}", "µs/loop", 3)
        )

    def peer_rows(self):
        if PEER not in self.configs:
            return []
        return [
            (f"bpf_share_pct.{PEER}", "time in the programs of bpftrace's minimal script per bench loop "
             "(all that ran; bpf_stats)", "%", 3),
            (f"ns_per_run.{PEER}.sched_switch", "bpftrace's program on sched_switch (a tracepoint "
             "program, as bpftrace attaches it)", "ns/run", 1),
            (f"slowdown_pct.{PEER}", "bench slowdown, bpftrace's minimal script attached", "%", 2),
        ]
