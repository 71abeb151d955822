# SPDX-License-Identifier: GPL-2.0
"""The peers part (issue 7): the pipe bench of the sched part, in BENCH_PEERS_ROUNDS rounds
(order rotated) of sessions pre / off / post, without bpf_stats, with nothing attached (none: an
A/A check), kvmtrace-bpf tracking the bench's two processes (kvmtrace; kvmtrace0 the same at
--sample-hz 0, its scheduler programs alone; kvmtrace_switch, when the sched part's second mode
is measured (BENCH_SCHED_SWITCH), the same with --counters task-clock, which hooks sched_switch
where the defaults read the kernel's per-task counters by a task iterator), `perf stat -p` of
them with software events (perfstat: the seed tracker's method), `perf record -a -g` at perf's
default rate (perfrecord: the paper's method; perf kvm record needs /dev/kvm) and bpftrace
running tests/bench/peer.bt (bpftrace; left out, and said so, when not installed); each tool's
median slowdown and its ratio to kvmtrace-bpf's. The table says, of each kvmtrace-bpf
configuration, whether it hooked sched_switch."""

import os
import re
import time

import stats
from lib import PEER_BT, SWITCH_ARGS, TRACER_READY, TARGET_PEERS_SLOWDOWN as SLOW
from lib import bpftrace_attached, die, have, rotated, say, usecs
from session import Part
from sched import Sched

TOOLS = ("perfstat", "perfrecord", "bpftrace")  # the tools beside kvmtrace-bpf


class Peers(Part):
    name = "peers"
    head = "## Peers"
    configs = ("none", "kvmtrace", "kvmtrace0") + TOOLS
    required = ("peers.slowdown_pct.none", "peers.slowdown_pct.kvmtrace",
                "peers.slowdown_pct.perfstat", "peers.slowdown_pct.perfrecord", "peers.noise_pct")

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bench = Sched(ctx)
        self.note = ""
        self.linked = {}   # kvmtrace-bpf's configuration -> whether it hooked sched_switch, per session
        args = ctx.k.text["PEERS_TRACER_ARGS"]
        self.labels = {
            "none": "nothing attached (A/A: the method's own error)",
            "kvmtrace": "kvmtrace-bpf -q -i 1 --libvirt-uri none -p (both bench processes)" + (f" {args}" if args else ""),
            "kvmtrace0": "the same with --sample-hz 0 (no component split: its scheduler programs alone)",
            "kvmtrace_switch": f"kvmtrace-bpf as above (sampler at its default rate), with {' '.join(SWITCH_ARGS)}",
            "perfstat": "perf stat -p (both) -e cpu-clock,task-clock,context-switches,page-faults -I 1000 (seed tracker)",
            "perfrecord": "perf record -a -g at perf's default rate (the paper's method; stand-in for perf kvm record)",
            "bpftrace": "bpftrace tests/bench/peer.bt (on-CPU time per pid from sched_switch, printed every second)",
        }

    def check(self):
        self.bench.check()
        if not os.access(PEER_BT, os.R_OK):
            die(f"no {PEER_BT}")
        # The part runs without bpftrace, leaving its configuration out and saying so.
        if not have("bpftrace"):
            self.configs = tuple(c for c in self.configs if c != "bpftrace")
            self.note = "bpftrace is not installed (apt-get install bpftrace): its configuration was left out."
            say(f"peers: {self.note}")

    def prepare(self):
        # After the tracer's probe: kvmtrace-bpf's second mode when the sched part measures it.
        if self.ctx.switch_configs and "kvmtrace_switch" not in self.configs:
            at = self.configs.index("kvmtrace0") + 1
            self.configs = self.configs[:at] + ("kvmtrace_switch",) + self.configs[at:]

    def mode(self, cfg):
        """Whether kvmtrace-bpf in cfg hooked sched_switch, as the table says it."""
        seen = set(self.linked.get(cfg, []))
        if len(seen) != 1:
            return "sched_switch hooked in some rounds only" if seen else ""
        return "sched_switch hooked" if seen.pop() else "sched_switch not attached: task iterator"

    def attach(self, cfg, folder):
        """Starts the peer tool of cfg on the running bench and returns once it is at work:
        kvmtrace-bpf once it wrote a row for both processes, perf stat once it printed its
        first interval, bpftrace once its probes are attached, perf record once it opened
        its events (its first samples are in its buffers; it writes them on its own)."""
        ctx, pids = self.ctx, [self.bench.bench.pid, self.bench.child]
        os.makedirs(folder, exist_ok=True)
        out = None
        if cfg == "none":
            return
        if cfg.startswith("kvmtrace"):
            extra = list(ctx.k.peers_tracer_args)
            # kvmtrace0: the scheduler programs alone, to tell their cost from the sampler's.
            if cfg == "kvmtrace0":
                extra += ["--sample-hz", "0"]
            if cfg == "kvmtrace_switch":
                extra += list(SWITCH_ARGS)
            ctx.attach([ctx.tracer, "-q", "-i", "1", "-o", folder, "--libvirt-uri", "none",
                        "-p", str(pids[0]), "-p", str(pids[1])] + extra, "tracer.err", cfg)
            ctx.wait_tracked(folder, "", pids)
            ctx.find_programs((), TRACER_READY)
            self.linked.setdefault(cfg, []).append("sched_switch" in ctx.all_hooks)
            return
        if cfg == "perfstat":
            # The seed tracker's method. No hardware events on a machine without a PMU.
            args = ["perf", "stat", "-p", f"{pids[0]},{pids[1]}", "-I", "1000", "-o",
                    f"{folder}/perf-stat.txt", "-e", "cpu-clock,task-clock,context-switches,page-faults"]
        elif cfg == "perfrecord":
            # The paper's method (perf kvm record needs /dev/kvm), at perf's default rate as the
            # paper and the seed tracker ran it (neither gives -F); -B: no build-id pass at exit,
            # which would run during the next window.
            args = ["perf", "record", "-a", "-g", "-B", "-o", f"{folder}/perf.data"]
        else:
            args, out = ["bpftrace", PEER_BT], f"{folder}/bpftrace.out"
        ctx.attach(args, "peer.err", cfg, out=out)
        ctx.wait_at_work(cfg, lambda: self.at_work(cfg, folder), "peer.err")

    @staticmethod
    def at_work(cfg, folder):
        if cfg == "bpftrace":
            return bpftrace_attached(f"{folder}/bpftrace.out")
        try:
            if cfg == "perfrecord":
                return os.path.getsize(f"{folder}/perf.data") > 0
            with open(f"{folder}/perf-stat.txt") as f:
                return "task-clock" in f.read()
        except OSError:
            return False

    def session(self, cfg, rnd):
        """One configuration in one round: windows pre, off (the tool at work) and post on
        one run of the bench, as the sched part's sessions but without bpf_stats."""
        ctx, window = self.ctx, self.bench.window
        self.bench.start()
        self.measure(rnd, cfg, "pre", 0, window)
        t_attach = usecs()
        self.attach(cfg, ctx.path(f"out-peers-{cfg}-{rnd}"))
        ctx.settle(t_attach)
        self.measure(rnd, cfg, "off", 0, window)
        ctx.stop_attacher()
        time.sleep(0.3)
        self.measure(rnd, cfg, "post", 0, window)
        self.bench.stop()

    def run(self):
        for rnd in range(1, self.ctx.k.peers_rounds + 1):
            for cfg in rotated(self.configs, rnd):
                self.session(cfg, rnd)
                v = self.phase_rates(rnd, cfg)
                say(f"peers round {rnd} {cfg:<10} usecs/op: pre {v.get('pre', 0):.2f}, "
                    f"attached {v.get('off', 0):.2f}, post {v.get('post', 0):.2f}")

    def cleanup(self):
        self.bench.cleanup()

    # --- figures and report -----------------------------------------------------------

    def slowdown(self, rep, cfg):
        return rep.med(f"peers.slowdown_pct.{cfg}")

    def verdict(self, rep):
        return stats.peers_verdict(self.slowdown(rep, "kvmtrace"), [self.slowdown(rep, t) for t in TOOLS],
                                   rep.med("peers.noise_pct"), float(SLOW))

    def ratios(self, rep):
        """Each tool's ratio to kvmtrace-bpf's slowdown, as a number or None."""
        out = {}
        for t in TOOLS:
            r = stats.peer_ratio(self.slowdown(rep, t), self.slowdown(rep, "kvmtrace"))
            m = re.fullmatch(r"(-?[0-9.]+)×", r)
            out[t] = float(m.group(1)) if m else None
        return out

    def method(self):
        return {"bench": "perf bench sched pipe", "rounds": self.ctx.k.peers_rounds,
                "configurations": list(self.configs),
                "sched_switch_hooked": {c: (v[0] if len(set(v)) == 1 else None) for c, v in self.linked.items()}}

    def summary_json(self, rep):
        return {"verdict_lowest_at_most_2pct": self.verdict(rep), "ratios_to_kvmtrace": self.ratios(rep),
                "note": self.note}

    def title(self):
        return "## Peers: kvmtrace-bpf and the tools it replaces, on one workload"

    def table(self, rep):
        lines = ["| configuration | slowdown, median | rounds min–max | ratio to kvmtrace-bpf |",
                 "| --- | ---: | ---: | ---: |"]
        shown = ("none", "kvmtrace", "kvmtrace0") + (("kvmtrace_switch",) if "kvmtrace_switch" in self.configs else ())
        for c in shown + TOOLS:
            key = f"peers.slowdown_pct.{c}"
            label = self.labels[c] + (f" ({self.mode(c)})" if self.mode(c) else "")
            if key not in rep.fig:
                lines.append(f"| {label} | not run | | |")
                continue
            med, lo, hi, _ = rep.fig[key]
            r = stats.peer_ratio(med, self.slowdown(rep, "kvmtrace"))
            r = {"none": "", "kvmtrace0": "", "kvmtrace": "1×"}.get(c, r)
            lines.append(f"| {label} | {rep.f2(med)}% | {rep.f2(lo)}% – {rep.f2(hi)}% | {r} |")
        med, lo, hi, _ = rep.fig.get("peers.noise_pct", (0, 0, 0, 0))
        lines.append("| noise: change between the detached windows of a session, absolute | "
                     f"{rep.f2(med)}% | {rep.f2(lo)}% – {rep.f2(hi)}% | |")
        return lines

    def section(self, rep):
        k = self.ctx.k
        kvm_met = stats.met(rep.med("peers.slowdown_pct.kvmtrace"), float(SLOW), rep.med("peers.noise_pct") or 0)
        return [
            f"perf {rep.versions['perf']}, `perf bench sched pipe`, {self.ctx.pin_desc} (the sched part's workload: every",
            f"loop is two context switches and a wakeup); per session a {k.text['WINDOW']} s window detached, the",
            "tool started and at work (kvmtrace-bpf: a row written for both processes; perf stat: its",
            "first interval; bpftrace: its probes attached; perf record: its file opened), settle until",
            f"{k.text['SETTLE']} s after the start, a window with the tool running, the tool stopped, a window",
            "detached; slowdown = 1 − loops per second with the tool / the mean of the detached windows;",
            f"{k.text['PEERS_ROUNDS']} rounds of {', '.join(self.configs)}, order rotated each round; medians",
            "over the rounds. No PMU on this machine: perf stat counts software events only",
            "(hardware ones are unsupported), perf record samples cpu-clock; `perf kvm record`",
            "needs /dev/kvm, absent here, so `perf record -a -g` stands in for it, at perf's default",
            f"rate ({rep.versions['perf_freq']} Hz here) as the paper and the seed tracker ran it (with -B: no build-id pass",
            "at exit, which would run during the next window).",
        ] + ([self.note] if self.note else []) + [""] + self.table(rep) + [
            "",
            f"Target \"kvmtrace-bpf the lowest, at ≤ {SLOW}%\": **{self.verdict(rep)}** (≤ {SLOW}%: {kvm_met}, by the rule of the other",
            "slowdowns: inconclusive when the noise is at least the target; the lowest: not met when a",
            "tool's median is below kvmtrace-bpf's by more than the noise, inconclusive when within it",
            "or when a tool's median is a speedup larger than the noise, which no tool can cause).",
        ]

    def rows(self):
        # For the JSON's verdicts: the md has its own table (above).
        return [("peers.slowdown_pct.kvmtrace", "peers: kvmtrace-bpf tracking the pipe bench", "%", 2, SLOW,
                 "peers.noise_pct")]
