#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Overhead benchmark of kvmtrace-bpf (make bench): scripts/bench/bench.py OUTPUT_DIR

OUTPUT_DIR is the build folder with kvmtrace-bpf and bench/ (the helpers of tests/bench). Needs
root. Python 3 with its standard library only. One driver per part, each beside this file:
  sched    sched.py    `perf bench sched pipe` (context switches)
  net      net.py      iperf3 through a bridge into a pretend VMM's tap
  disk     disk.py     fio, 4k random direct I/O
  sampler  sampler.py  the cost of kvmtrace-bpf's perf_event sampler at its default rate
  peers    peers.py    the pipe bench under kvmtrace-bpf and the tools it replaces
  kvm      kvm.py      the cost of each way of counting VM exits (bench/kvm-modes.md)
  scale    scale.py    the loader at -i 1 with 200 real VMs of the test bed (bench/scale.md)
with what they share in lib.py (processes, cleanup, bpf_stats, the attached programs) and
session.py (the sessions: the method), the statistics in stats.py (tested by test_stats.py)
and the results in report.py.

The workload parts (sched, net, disk) measure their workload under configurations, in rounds,
the order rotated each round (session.Workload):
  baseline  nothing attached (sched only: an A/A check of the method, its "slowdown" is noise)
  empty     empty tp_btf programs on the hooks kvmtrace-bpf attaches (tests/bench/empty.bpf.c)
  tracer    kvmtrace-bpf attached, the workload not tracked
  tracked   kvmtrace-bpf tracking the workload
and, sched only, both modes of kvmtrace-bpf's scheduler figures: with its defaults, where
nothing needs a program at context switches (no kvm hooks, no --counters counted, a kernel
that keeps run delay), it leaves sched_switch alone and reads the kernel's per-task counters
by a task iterator (kt_task_iter) once per interval; so, when the defaults do that,
  tracer_switch   tracer, with --counters task-clock (a software counter): sched_switch hooked
  tracked_switch  tracked, the same
(BENCH_SCHED_SWITCH: auto, the default, as just said; 1 always; 0 never; the peers part then
adds kvmtrace_switch) and report, as medians over the rounds:
  - each program's cost per run from kernel.bpf_stats_enabled (run_time_ns / run_cnt),
    and the ratio of kvmtrace-bpf's handler to the empty program on the same hook ("not
    attached (task iterator)" where sched_switch was left alone: no cost per switch; "not
    attached (device counters)" where it reads the taps' own counters, rtnetlink, instead of
    a program per packet on net_dev_start_xmit and netif_receive_skb);
  - sched: the time in kvmtrace-bpf's programs per bench loop, every program of the tracer
    that ran (its hooks', the task iterator's, the sampler's), and the iterator's own cost;
  - the workload's slowdown with the programs attached versus without.
Targets (issue 14: handler <= 1.2x the empty program, time in kvmtrace-bpf's programs <= 0.1%
of a bench loop not tracked and below bpftrace's minimal script tracked, slowdown <= 1% (the peers part: <= 2%, issue 7),
sampler <= 0.5% of one CPU) are reported, not asserted: exit 0 when it measured, non-zero only
when it could not measure.

One session = one configuration in one round, on one workload:
  pre   window, nothing attached
        attach, wait until attached (and, tracked, until the workload is tracked), settle
        until SETTLE s after the attach began
  off   window, bpf_stats off: the slowdown a user sees
  on    window, bpf_stats on: the cost per run (bpf_stats itself adds ~20 ns to every run)
        detach
  post  window, nothing attached
The slowdown of a session compares "off" with the mean of "pre" and "post", a few seconds
apart on the same workload, which cancels the drift of a shared or virtual machine. A
wall-clock slowdown's verdict is "inconclusive" when the noise (the change between the two
detached windows of a session) is at least the target.

Results: bench/results.md (markdown tables) and bench/results.json, with the date and
machine. A run of some parts (BENCH_PARTS) keeps the other parts' sections and figures from
the earlier results, each section with the date of its run.
Knobs (environment): BENCH_PARTS ("sched net disk sampler peers kvm scale"), BENCH_ROUNDS (sched, 6),
BENCH_NET_ROUNDS (6), BENCH_DISK_ROUNDS (6), BENCH_PEERS_ROUNDS (4), BENCH_WINDOW (seconds, 2;
whole seconds for iperf3), BENCH_SETTLE (seconds, 1), BENCH_CPUS (the taskset CPU list of
the workloads, or "all"; default: the last CPU), BENCH_DISK_DIR (where fio's temporary
folder goes, /var/tmp: a file system on a block device), BENCH_SAMPLER_SECONDS (20),
BENCH_SAMPLER_TRIALS (20), BENCH_SAMPLER_TRIAL (seconds, 3), BENCH_SAMPLER_CPU (0),
BENCH_PEERS_TRACER_ARGS (more kvmtrace-bpf options for the peers part, e.g. "--sample-hz 99";
none by default: the defaults are what is compared), BENCH_SCHED_SWITCH (auto, 1 or 0: the
sched part's tracer_switch and tracked_switch and the peers part's kvmtrace_switch, see above;
auto: only when kvmtrace-bpf's defaults leave sched_switch alone), BENCH_RESULTS_DIR (bench/
of the repository).
"""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree, root-owned at that

import lib  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402
from disk import Disk  # noqa: E402
from kvm import Kvm  # noqa: E402
from scale import Scale  # noqa: E402
from lib import RESULT_PARTS, STATS_SYSCTL, die, have, say  # noqa: E402
from net import Net  # noqa: E402
from peers import Peers  # noqa: E402
from sampler import Sampler  # noqa: E402
from sched import Sched  # noqa: E402

DRIVERS = {"sched": Sched, "net": Net, "disk": Disk, "sampler": Sampler, "peers": Peers, "kvm": Kvm,
           "scale": Scale}


def loadavg():
    return " ".join(report.read("/proc/loadavg").split()[:3])


def estimate(ctx):
    """Seconds the run should take."""
    k, parts = ctx.k, ctx.parts
    w, s = k.window, k.settle
    t = 3
    # The second mode of the scheduler figures, unless told not to (the probe decides).
    switch = k.text["SCHED_SWITCH"] != "0"
    if "sched" in parts:
        t += k.rounds * (6 if switch else 4) * (4 * (w + 0.2) + s + 2.2)
    if "net" in parts:
        t += k.net_rounds * 3 * (4 * (k.net_time + 0.3) + s + 2.5) + 2
    if "disk" in parts:
        t += k.disk_rounds * 3 * (4 * (w + 0.2) + s + 2.5) + w + 2
    if "sampler" in parts:
        t += k.sampler_seconds + 2 * s + 5 + 3 * k.sampler_trials * (k.sampler_trial + 2.5)
    if "peers" in parts:
        t += k.peers_rounds * (len(parts["peers"].configs) + switch) * (3 * (w + 0.2) + s + 2.5)
    if "kvm" in parts:
        t += 5
    if "scale" in parts:
        t += parts["scale"].seconds + 20 + 60  # ~60 s for the VMs to settle
    return int(t)


def check(ctx):
    k = ctx.k
    if os.geteuid() != 0:
        die("needs root (bpf, perf, network namespaces and kernel.bpf_stats_enabled)")
    for p in k.parts:
        if p not in DRIVERS:
            die(f"BENCH_PARTS: unknown part '{p}' ({', '.join(DRIVERS)})")
    if not k.parts:
        die("BENCH_PARTS is empty")
    if any(p in RESULT_PARTS for p in k.parts):
        if not os.access(ctx.tracer, os.X_OK):
            die(f"no {ctx.tracer}: run make")
        if not os.access(ctx.helper("empty_loader"), os.X_OK):
            die(f"no {ctx.helper('empty_loader')}: run make bench-tools")
        if not have("bpftool"):
            die("no bpftool")
        if not os.access(STATS_SYSCTL, os.W_OK):
            die(f"no writable {STATS_SYSCTL}")
        if not os.access("/proc/self/io", os.R_OK):
            die("no /proc/PID/io (CONFIG_TASK_IO_ACCOUNTING)")
    k.check()
    for p in ctx.parts.values():
        p.check()
    if k.cpus:
        if not have("taskset"):
            die("BENCH_CPUS needs taskset (util-linux)")
        if subprocess.run(["taskset", "-c", k.cpus, "true"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            die(f"BENCH_CPUS='{k.cpus}' is no usable CPU list")


def measure(ctx):
    """Runs the parts with results, then writes the results."""
    k = ctx.k
    runs = {n: p for n, p in ctx.parts.items() if n in RESULT_PARTS}
    load_start = loadavg()
    begin = time.monotonic()
    say(f"parts: {' '.join(k.parts)}; sched {k.rounds} rounds, net {k.net_rounds}, disk {k.disk_rounds}, "
        f"peers {k.peers_rounds}; {k.text['WINDOW']} s windows{', on CPU ' + k.cpus if k.cpus else ''}; "
        f"sampler {k.text['SAMPLER_SECONDS']} s and {k.sampler_trials} x 3 trials of "
        f"{k.text['SAMPLER_TRIAL']} s (about {estimate(ctx)} s)")
    ctx.set_stats(0)
    ctx.probe_tracer("sched" in runs or "peers" in runs)
    for p in runs.values():
        p.prepare()
    for name, p in runs.items():
        start = time.monotonic()
        p.run()
        ctx.elapsed[name] = int(time.monotonic() - start)
        say(f"{name}: {ctx.elapsed[name]} s")
    with open(STATS_SYSCTL, "w") as f:
        f.write(ctx.stats_old + "\n")
    fig = stats.Figures()
    for p in runs.values():
        p.figures(fig)
        stats.add_intervals(fig, p.rows())
    figures = fig.summaries()
    for name in RESULT_PARTS:
        for key in runs[name].required if name in runs else ():
            if key not in figures:
                die(f"no measurement for {key}")
    info = {
        "parts": list(runs), "part_elapsed": ctx.elapsed, "elapsed": int(time.monotonic() - begin),
        "load_start": load_start, "load_end": loadavg(),
        "discovered": max(ctx.discovered, default=0),
        "discovered_names": ", ".join(sorted(ctx.discovered_names)[:10]),
    }
    heads = {n: d.head for n, d in DRIVERS.items() if d.head}
    report.Report(ctx, runs, figures, info, heads).write()


def main(argv):
    if len(argv) != 2 or not argv[1]:
        print(f"usage: {argv[0]} OUTPUT_DIR  (the build folder with kvmtrace-bpf and bench/)",
              file=sys.stderr)
        return 2
    ctx = lib.Bench(argv[1], os.environ)
    for name in ctx.k.parts:
        if name in DRIVERS:
            ctx.parts[name] = DRIVERS[name](ctx)
    for sig, code in ((signal.SIGHUP, 129), (signal.SIGINT, 130), (signal.SIGTERM, 143)):
        signal.signal(sig, lambda *_, code=code: sys.exit(code))
    try:
        check(ctx)
        ctx.begin()
        if any(p in RESULT_PARTS for p in ctx.parts):
            measure(ctx)
        for name in ("kvm", "scale"):
            if name in ctx.parts:
                ctx.parts[name].run()
    finally:
        ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
