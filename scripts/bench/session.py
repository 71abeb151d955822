# SPDX-License-Identifier: GPL-2.0
"""The measuring method: a part's records (Part), and the sessions of the workload parts
(Workload): per configuration and round, windows pre / off / on / post on one workload."""

import os
import time

import stats
from lib import SCHED_HOOKS, SWITCH_ARGS, die, has_line, rotated, say, usecs


class Part:
    """A part of the benchmark; the drivers (sched.py, ...) subclass it. Its records are the
    windows of its sessions (ops) and its programs' bpf_stats over them (prog_records), in
    the shapes stats.session_figures reads."""

    name = None
    head = None                # its section's heading in results.md, for kept sections
    configs = ()
    required = ()              # figures without which the part did not measure
    unit = ("usecs_per_op", lambda c, u: u / c)   # throughput key and rate of (count, µs)

    def __init__(self, ctx):
        self.ctx = ctx
        self.ops = []
        self.prog_records = []

    def check(self):
        """Dies when what the part needs is missing."""

    def prepare(self):
        """Before any part runs."""

    def run(self):
        raise NotImplementedError

    def cleanup(self):
        """Ends what the part started; safe to call at any time."""

    def figures(self, fig):
        stats.session_figures(self.ops, self.prog_records, {self.name: self.unit}, fig)

    def rows(self):
        """The table rows: (key, label, unit, decimals, target or "", noise key or "", rule)."""
        return []

    def notes(self):
        """What the table prints for figures not measured, with their verdict ("" for none):
        key -> (text, verdict)."""
        return {}

    def measure(self, rnd, cfg, phase, stats_on, window):
        """One measuring window of phase (pre, off, on, post); window() gives (count, µs,
        units of work). With bpf_stats on, the attacher's programs' deltas too."""
        ctx = self.ctx
        ctx.set_stats(stats_on)
        # A moment for the workload to get going, and for bpf_stats to be on everywhere.
        if phase == "pre" or stats_on:
            time.sleep(0.2)
        s0 = ctx.snapshot_progs() if stats_on else []
        t0 = usecs()
        count, wus, work = window()
        t1 = usecs()
        if ctx.att is not None and not ctx.att_alive():
            die(f"the {cfg} program exited during the window")
        s1 = ctx.snapshot_progs() if stats_on else []
        ctx.set_stats(0)
        self.ops.append((self.name, rnd, cfg, phase, count, wus))
        for (fd, name, hook), a, b in zip(ctx.progs, s0, s1):
            self.prog_records.append((self.name, rnd, cfg, name, hook, b[0] - a[0], b[1] - a[1],
                                      work, t1 - t0))

    def phase_rates(self, rnd, cfg):
        """The rates of the windows of one session, for the progress lines."""
        rate = self.unit[1]
        return {ph: (rate(c, u) if c > 0 and u > 0 else float("nan"))
                for p, r, cf, ph, c, u in self.ops if (r, cf) == (rnd, cfg)}


class Workload(Part):
    """A part that measures one workload under its configurations (sched, net, disk):
      baseline  nothing attached (an A/A check of the method: its "slowdown" is noise)
      empty     empty tp_btf programs on the hooks kvmtrace-bpf attaches (tests/bench/empty.bpf.c)
      tracer    kvmtrace-bpf attached, the workload not tracked
      tracked   kvmtrace-bpf tracking the workload
      tracer_switch, tracked_switch  where a driver lists them (sched): those two with
                SWITCH_ARGS, which make kvmtrace-bpf hook sched_switch where its defaults leave it
    in rounds, the order rotated each round. A driver gives the workload: start(cfg), window(),
    stop(), tracked() and its hooks (the first one tells that a program attached, unless
    ready() says otherwise). With all_programs, a session measures every program of the
    attacher that runs, not only those on the hooks."""

    hooks = ()
    unit_label = "usecs/op"
    all_programs = False

    def __init__(self, ctx):
        super().__init__(ctx)
        self.linked = {}   # configuration -> the hooks its attacher was linked to, per session

    @staticmethod
    def is_tracer(cfg):
        return cfg.startswith(("tracer", "tracked"))

    def ready(self, cfg):
        """The hook whose link tells that the attacher of cfg has attached."""
        return self.hooks[0]

    def hooked(self, cfg, hook):
        """Whether the attacher of cfg was linked to hook: True or False when it was in every
        session or in none, None when not measured or when the sessions differ."""
        seen = {hook in h for h in self.linked.get(cfg, [])}
        return seen.pop() if len(seen) == 1 else None

    def rounds(self):
        raise NotImplementedError

    def setup(self):
        pass

    def teardown(self):
        pass

    def start(self, cfg):
        raise NotImplementedError

    def window(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def tracked(self):
        """kvmtrace-bpf's extra arguments to track the workload, the CSV column a row of it
        must fill ("": any row) and the PIDs it must write rows for."""
        raise NotImplementedError

    def cleanup(self):
        self.stop()
        self.teardown()

    def run(self):
        self.setup()
        width = max(8, *map(len, self.configs))
        for rnd in range(1, self.rounds() + 1):
            for cfg in rotated(self.configs, rnd):
                self.session(cfg, rnd)
                v = self.phase_rates(rnd, cfg)
                say(f"{self.name} round {rnd} {cfg:<{width}} {self.unit_label}: pre {v.get('pre', 0):.2f}, "
                    f"attached {v.get('off', 0):.2f} (bpf_stats on {v.get('on', 0):.2f}), "
                    f"post {v.get('post', 0):.2f}")
        self.teardown()

    def empty_hooks(self):
        """The hooks of this part that kvmtrace-bpf attaches on this kernel, and its
        scheduler hooks, which every workload also runs."""
        want = dict.fromkeys(SCHED_HOOKS + tuple(self.hooks))
        return [h for h in want if h in self.ctx.tracer_hooks]

    def attach(self, cfg, folder):
        ctx = self.ctx
        if cfg == "empty":
            ctx.attach([ctx.helper("empty_loader")] + self.empty_hooks(), "loader.err", cfg,
                       self.hooks, self.ready(cfg), out="loader.out", every=self.all_programs)
            if not has_line(ctx.path("loader.out"), "ready"):
                die("empty_loader attached but did not say ready")
        elif self.is_tracer(cfg):
            os.makedirs(folder, exist_ok=True)
            extra, col, pids = self.tracked() if cfg.startswith("tracked") else ([], "", [])
            if cfg.endswith("_switch"):
                extra = list(SWITCH_ARGS) + extra
            ctx.attach([ctx.tracer, "-q", "-o", folder, "-i", "1"] + extra, "tracer.err", cfg,
                       self.hooks, self.ready(cfg), every=self.all_programs)
            ctx.wait_started(folder)
            if cfg.startswith("tracked"):
                ctx.wait_tracked(folder, col, pids)

    def session(self, cfg, rnd):
        """One configuration in one round: a window detached (pre), attach (the tracer: until
        it wrote its first row, tracked: and one for the workload) and settle until SETTLE s
        after the attach began, a window with bpf_stats off (the slowdown a user sees), one with bpf_stats on
        (the cost per run; bpf_stats itself adds ~20 ns to every run), detach, a window
        detached (post)."""
        ctx = self.ctx
        folder = ctx.path(f"out-{self.name}-{cfg}-{rnd}")
        ctx.progs = []
        self.start(cfg)
        self.measure(rnd, cfg, "pre", 0, self.window)
        t_attach = usecs()
        self.attach(cfg, folder)
        ctx.settle(t_attach)
        # All of its programs by now, not only the first one seen attached.
        if ctx.att is not None:
            if not ctx.find_programs(self.hooks, self.ready(cfg), self.all_programs):
                die(f"the {cfg} program has no program on {self.ready(cfg)} any more")
            self.linked.setdefault(cfg, []).append(frozenset(ctx.all_hooks))
        self.measure(rnd, cfg, "off", 0, self.window)
        self.measure(rnd, cfg, "on", 1, self.window)
        ctx.stop_attacher()
        time.sleep(0.3)
        self.measure(rnd, cfg, "post", 0, self.window)
        self.stop()
        if cfg == "tracer":
            ctx.count_discovered(folder)
