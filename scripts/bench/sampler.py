# SPDX-License-Identifier: GPL-2.0
"""The sampler part: the cost of the perf_event program kvmtrace-bpf runs at --sample-hz on
every CPU (its workload: tests/bench/spin, a CPU-bound loop), two ways:
  program time  kvmtrace-bpf -q -i 1 --counters none at its default rate, bpf_stats on, for
                BENCH_SAMPLER_SECONDS: the first half with a loop on every CPU that it does
                not track, the second half with a loop on every CPU that it tracks (started
                as qemu-system-bench, found by discovery) and that spends about a third of
                its time in system calls, so that its kernel samples take the costliest
                path (the binary search of kernel text and the stack walk); per window of
                the program's run_cnt and run_time_ns (bpftool prog show -j): hits per second
                and CPU, ns per hit, and their product, the share of one CPU
  end to end    the share of BENCH_SAMPLER_CPU's time lost to interrupts (tests/bench/spin -g:
                gaps between two clock reads of 300 ns to 200 µs in which it was not switched
                out), tracked, for BENCH_SAMPLER_TRIAL s, with kvmtrace-bpf at its defaults
                (on: the rate it chose under --overhead-budget, read from its @host.csv), at
                --sample-hz 0 (off), and at --sample-hz 0 beside tests/bench/empty_loader
                --sample, an empty program on the same events at the rate kvmtrace-bpf chose
                (empty), in BENCH_SAMPLER_TRIALS rounds (order rotated each round); cost = on -
                off of a round times the CPUs (every CPU is sampled), with the median's 95%
                interval; it counts the timer interrupt behind each sample, which bpf_stats
                cannot see, and does not take kvmtrace-bpf's word for it: its own estimate
                (sampler_cost_ns) is shown beside. Other tasks' turns, which on a shared machine
                are many and uneven, are left out, and so is the loop's speed, which the load
                changes far more than the sampler does"""

import csv
import json
import os
import re
import shutil
import subprocess
import time

import stats
from lib import PROG_TYPE_PERF_EVENT, ROOT, STATS_SYSCTL, TARGET_SAMPLER, DEVNULL, csv_rows, die, fdinfo
from lib import have, head, is_number, output, rotated, say, usecs, wait_ready
from session import Part

WINDOWS = 4                  # bpf_stats windows in each half of the program-time measure
SPIN_PLAIN = "kt-bench-spin"  # the loop under a name discovery ignores
SPIN_VMM = "qemu-system-bench"  # and under a VMM's name
GAP_MIN_NS, GAP_MAX_NS = 300, 200000  # the gaps tests/bench/spin.c -g counts, for the text


def default_hz(help_text):
    """The rate kvmtrace-bpf samples at when not told, from its --help: the "(default N" in
    the lines from --sample-hz to the next option."""
    inside = False
    for line in help_text.splitlines():
        if not inside and "--sample-hz" not in line:
            continue
        m = re.match(r".*\(default ([0-9]+)", line)
        if m:
            return m.group(1)
        inside = not (inside and re.match(r" *-", line))
    return ""


def stats_on():
    """Whether bpf_stats is on now."""
    try:
        with open(STATS_SYSCTL) as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def json_value(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


class Sampler(Part):
    name = "sampler"
    head = "## Sampler"
    configs = ("on", "off", "empty")
    required = ("sampler.cpu_pct.untracked", "sampler.cpu_pct.tracked",
                "sampler.e2e_cpu_pct.on", "sampler.e2e_margin_pct", "sampler.own_cpu_pct")

    def __init__(self, ctx):
        super().__init__(ctx)
        self.hz = ""
        self.prog = ""
        self.prog_id = None
        self.kernel_pct = None
        self.spins = []
        self.empty = None
        self.rate = None    # the sampler's rate kvmtrace-bpf chose in its latest trial "on"
        self.interval = None  # the 95% interval of the median cost end to end
        self.windows = []   # (phase, run_time_ns, run_cnt, µs)
        self.trials = []    # stats.sampler_figures' records of the end-to-end trials

    @property
    def win(self):
        """Seconds of each bpf_stats window, as the results print them."""
        return f"{self.ctx.k.sampler_seconds / 2 / WINDOWS:.3f}"

    def check(self):
        ctx = self.ctx
        if not have("taskset"):
            die("the sampler part needs taskset (util-linux)")
        for h in ("spin", "empty_loader"):
            if not os.access(ctx.helper(h), os.X_OK):
                die(f"no {ctx.helper(h)}: run make bench-tools")
        cpu = ctx.k.sampler_cpu
        if subprocess.run(["taskset", "-c", cpu, "true"], stdin=DEVNULL, stdout=DEVNULL,
                          stderr=DEVNULL).returncode:
            die(f"BENCH_SAMPLER_CPU='{cpu}' is no usable CPU")
        self.hz = default_hz(output([ctx.tracer, "--help"]))
        if not self.hz:
            try:
                with open(os.path.join(ROOT, "user", "cli.h")) as f:
                    for line in f:
                        w = line.split()
                        if len(w) > 2 and w[:2] == ["#define", "CLI_DEFAULT_SAMPLE_HZ"]:
                            self.hz = w[2]
                            break
            except OSError:
                pass
        if not re.fullmatch(r"[1-9][0-9]*", self.hz):
            die(f"cannot read the default sampling rate from {ctx.tracer} --help")
        if stats.median_interval([0] * ctx.k.sampler_trials) is None:
            die(f"BENCH_SAMPLER_TRIALS={ctx.k.sampler_trials} rounds give no 95% interval of a median: "
                "6 at least")

    # --- the processes ----------------------------------------------------------------

    def start_spin(self, cpu, name, *args, out=None):
        """The loop on CPU cpu as name; taskset execs it: discovery sees the exec of a
        VMM's name."""
        p = self.ctx.spawn(["taskset", "-c", str(cpu), self.ctx.path("bin", name)] + list(args),
                           out=out, err="spin.err", append=True)
        self.spins.append(p)
        return p

    def stop_spins(self):
        for p in self.spins:
            self.ctx.stop(p)
        self.spins = []

    def start_tracer(self, hz, folder, cfg):
        """kvmtrace-bpf at rate hz ("": its default), once it has written its first rows, by
        when it has opened all it opens; finds its sampler program, if any."""
        ctx = self.ctx
        rate = ["--sample-hz", hz] if hz else []
        os.makedirs(folder, exist_ok=True)
        ctx.attach([ctx.tracer, "-q", "-i", "1", "-o", folder, "--counters", "none"] + rate,
                   "tracer.err", cfg)
        for _ in range(600):
            if any(self.has_row(os.path.join(folder, n)) for n in os.listdir(folder) if n.endswith(".csv")):
                break
            if not ctx.att_alive():
                die(f"kvmtrace-bpf exited: {head(ctx.path('tracer.err'), 800)}")
            time.sleep(0.05)
        else:
            die("kvmtrace-bpf wrote no row within 30 s")
        self.prog_id = None
        pid = ctx.att.pid
        try:
            fds = sorted(os.listdir(f"/proc/{pid}/fdinfo"))
        except OSError:
            fds = []
        for fd in fds:
            info = fdinfo(pid, fd)
            if info.get("prog_type") == PROG_TYPE_PERF_EVENT and info.get("prog_id"):
                self.prog_id = info["prog_id"]
                break
        if self.prog_id is None:
            return
        try:
            name = json.loads(output(["bpftool", "prog", "show", "id", self.prog_id, "-j"])).get("name", "")
        except ValueError:
            name = ""
        if not name.startswith("kt_sample"):
            die(f"kvmtrace-bpf's perf_event program is {name or 'unnamed'}, not kt_sample*")
        self.prog = name

    @staticmethod
    def has_row(path):
        try:
            with open(path) as f:
                return len(f.readlines()) >= 2
        except OSError:
            return False

    def snapshot(self):
        """The sampler's (run_time_ns, run_cnt) from bpftool, and the time of the reading (µs)."""
        t0 = usecs()
        r = subprocess.run(["bpftool", "prog", "show", "id", self.prog_id, "-j"], stdin=DEVNULL,
                           capture_output=True, text=True)
        us = (t0 + usecs()) // 2
        if r.returncode:
            die(f"bpftool cannot show the sampler (program {self.prog_id})")
        # bpftool leaves both out while the program has no time.
        prog = json.loads(r.stdout or "{}")
        return int(prog.get("run_time_ns", 0)), int(prog.get("run_cnt", 0)), us

    def stats_windows(self, phase):
        """WINDOWS windows of the program-time measure. bpf_stats is one switch for the whole
        host, which another program (another engineer's test) may turn off meanwhile: a window
        that ends with it off counted nothing, or part of its runs, and is measured again."""
        done = lost = 0
        while done < WINDOWS:
            self.ctx.set_stats(1)
            t0, c0, u0 = self.snapshot()
            time.sleep(float(self.win))
            t, c, u = self.snapshot()
            if not self.ctx.att_alive():
                die("kvmtrace-bpf exited during the window")
            if stats_on():
                self.windows.append((phase, t - t0, c - c0, u - u0))
                done += 1
                continue
            lost += 1
            say(f"sampler: bpf_stats was turned off during a window ({phase}), by another program: again")
            if lost > WINDOWS:
                die(f"another program keeps turning bpf_stats off ({STATS_SYSCTL})")

    def spin_times(self):
        """Clock ticks the loops spent in user space and in the kernel."""
        utime = stime = 0
        for p in self.spins:
            try:
                with open(f"/proc/{p.pid}/stat") as f:
                    fields = f.read().rsplit(") ", 1)[1].split()
            except (OSError, IndexError):
                die(f"the loop (PID {p.pid}) is gone")
            # The fields after the command's closing parenthesis; utime and stime are 12 and 13.
            utime += int(fields[11])
            stime += int(fields[12])
        return utime, stime

    # --- the two measures -------------------------------------------------------------

    def program_time(self):
        """Program time at the default rate: loops not tracked, then tracked VMM-named loops
        that make system calls."""
        ctx = self.ctx
        folder = ctx.path("out-sampler-stats")
        for cpu in range(ctx.ncpu):
            self.start_spin(cpu, SPIN_PLAIN, "0")
        self.start_tracer("", folder, "sampler")
        if self.prog_id is None:
            die(f"kvmtrace-bpf runs no sampler at its default rate: {head(ctx.path('tracer.err'), 800)}")
        ctx.set_stats(1)
        time.sleep(ctx.k.settle)
        self.stats_windows("untracked")
        ctx.count_discovered(folder)
        self.stop_spins()
        for cpu in range(ctx.ncpu):
            self.start_spin(cpu, SPIN_VMM, "-k", "0")
        ctx.wait_tracked(folder, "", [p.pid for p in self.spins])
        time.sleep(ctx.k.settle)
        u0, s0 = self.spin_times()
        self.stats_windows("tracked")
        u1, s1 = self.spin_times()
        ctx.set_stats(0)
        u, s = u1 - u0, s1 - s0
        self.kernel_pct = int(f"{100 * s / (u + s):.0f}") if u + s > 0 else None
        ctx.stop_attacher()
        self.stop_spins()

    def start_empty_sampler(self, hz):
        """The floor of the sampler: an empty program on the same events, at rate hz."""
        ctx = self.ctx
        self.empty = ctx.spawn([ctx.helper("empty_loader"), "--sample", str(hz)],
                               out="empty-sampler.out", err="empty-sampler.err")
        if not wait_ready(self.empty, ctx.path("empty-sampler.out"), "the empty sampler exited",
                          600, 0.05, ctx.path("empty-sampler.err")):
            die("the empty sampler did not start within 30 s")

    def own_figures(self, folder):
        """kvmtrace-bpf's own account of its sampler from its @host.csv: the median over its
        intervals of sampler_hz, of sampler_cost_ns as % of one CPU and of sampler_cost_ns per
        sample (ns; None when it has no cost). The last row, of a part interval cut short by
        the exit, weighs as much as the others: a median does not mind it."""
        hz, pct, per = [], [], []
        try:
            with open(os.path.join(folder, "@host.csv")) as f:
                rows = list(csv.DictReader(f))
        except OSError:
            rows = []
        for r in rows:
            try:
                rate, iv = int(r["sampler_hz"]), float(r["interval_s"])
            except (KeyError, ValueError):
                continue
            if rate <= 0 or iv <= 0:
                continue
            hz.append(rate)
            if is_number(r.get("sampler_cost_ns") or ""):
                cost = float(r["sampler_cost_ns"])
                pct.append(100 * cost / (iv * 1e9))
                per.append(cost / (rate * self.ctx.ncpu * iv))
        if not hz:
            die(f"kvmtrace-bpf's {folder}/@host.csv gives no sampler_hz")
        return (int(stats.median(hz)), stats.median(pct) if pct else None,
                stats.median(per) if per else None)

    def trial(self, cfg, t):
        """One end-to-end trial of cfg: kvmtrace-bpf at its defaults (on), at --sample-hz 0
        (off), or at --sample-hz 0 beside the empty sampler at the rate kvmtrace-bpf chose in
        its latest run at its defaults (empty); meanwhile the clock loop of spin -g on the CPU,
        tracked as a VMM's thread in every configuration, so that only the sampler differs."""
        ctx = self.ctx
        folder = ctx.path(f"out-sampler-{cfg}-{t}")
        self.start_tracer("" if cfg == "on" else "0", folder, cfg)
        if cfg == "on" and self.prog_id is None:
            die(f"kvmtrace-bpf at its defaults runs no sampler: {head(ctx.path('tracer.err'), 800)}")
        if cfg != "on" and self.prog_id is not None:
            die("kvmtrace-bpf --sample-hz 0 runs a sampler")
        if cfg == "empty":
            # Round 1 starts with on (configs), so that every empty trial has a rate.
            self.start_empty_sampler(self.rate)
        # Running for a second already: it has written rows.
        time.sleep(0.3)
        loop = self.start_spin(ctx.k.sampler_cpu, SPIN_VMM, "-g", ctx.k.text["SAMPLER_TRIAL"],
                               out="spin.out")
        loop.wait()
        self.stop_spins()
        try:
            with open(ctx.path("spin.out")) as f:
                figs = (f.readline().split() + ["", "", ""])[:3]
        except OSError:
            figs = ["", "", ""]
        if not all(is_number(x) for x in figs):
            die(f"the clock loop gave no figures: {head(ctx.path('spin.err'), 300)}")
        if not ctx.att_alive():
            die("kvmtrace-bpf exited during the trial")
        if cfg == "empty":
            if self.empty.poll() is not None:
                die("the empty sampler exited during the trial")
            ctx.stop(self.empty)
            self.empty = None
        ctx.stop_attacher()
        if csv_rows(folder, loop.pid) < 1:
            die(f"kvmtrace-bpf did not track the loop (PID {loop.pid})")
        hz, own_pct, own_ns = self.own_figures(folder) if cfg == "on" else (0, None, None)
        if cfg == "on":
            self.rate = hz
        lost, irqs, away = (float(x) for x in figs)
        self.trials.append((t, cfg, lost, irqs, away, self.rate if cfg == "empty" else hz,
                            own_pct, own_ns))
        say(f"sampler trial {t} {cfg}: {lost:.4f}% of CPU {ctx.k.sampler_cpu}'s time lost to "
            f"{irqs:.0f} interrupts/s, {away:.1f}% away" + (f"; sampler at {hz} Hz" if hz else ""))

    def run(self):
        ctx = self.ctx
        os.makedirs(ctx.path("bin"), exist_ok=True)
        try:
            for name in (SPIN_PLAIN, SPIN_VMM):
                shutil.copy(ctx.helper("spin"), ctx.path("bin", name))
        except OSError:
            die(f"cannot copy {ctx.helper('spin')}")
        self.program_time()
        say(f"sampler: {self.prog}, program time measured; end to end on CPU {ctx.k.sampler_cpu}")
        for t in range(1, ctx.k.sampler_trials + 1):
            for cfg in rotated(self.configs, t):
                self.trial(cfg, t)

    def cleanup(self):
        self.stop_spins()
        self.ctx.stop(self.empty)
        self.empty = None

    # --- figures and report -----------------------------------------------------------

    def figures(self, fig):
        self.interval = stats.sampler_figures(self.windows, self.trials, self.ctx.ncpu,
                                              float(TARGET_SAMPLER), fig)

    def method(self):
        k = self.ctx.k
        return {"program": self.prog, "sample_hz": int(self.hz), "stats_windows_per_phase": WINDOWS,
                "stats_window_s": float(self.win), "tracked_loop_kernel_pct": self.kernel_pct,
                "e2e_cpu": json_value(k.sampler_cpu), "e2e_rounds": k.sampler_trials,
                "e2e_trial_s": json_value(k.text["SAMPLER_TRIAL"]), "configurations": list(self.configs),
                "e2e_gap_ns": [GAP_MIN_NS, GAP_MAX_NS],
                "e2e_cpu_pct_interval95": list(self.interval) if self.interval else None}

    def title(self):
        return "## Sampler: kvmtrace-bpf's perf_event program at its default rate"

    def section(self, rep):
        k, hz, pct = self.ctx.k, self.hz, self.kernel_pct if self.kernel_pct is not None else "?"
        cpu, n = k.sampler_cpu, self.ctx.ncpu
        return [
            f"`{self.prog}`, run by a cpu-clock event on every CPU at kvmtrace-bpf's default",
            f"`--sample-hz {hz}` or lower under `--overhead-budget`. Program time:",
            f"`kvmtrace-bpf -q -i 1 --counters none` with bpf_stats on, {WINDOWS} windows of",
            f"{self.win} s with a loop pinned to each CPU that it does not track ({SPIN_PLAIN}),",
            f"then {WINDOWS} with a loop pinned to each CPU started as {SPIN_VMM}, which",
            f"discovery tracks, spending {pct}% of its time in read() of /dev/zero, so that",
            "its kernel samples take the binary search of kernel text and the stack walk; from the",
            "program's run_cnt and run_time_ns (`bpftool prog show -j`) per window, % of one CPU =",
            "runs per second and CPU × ns per run / 10⁹ × 100; median and min–max over the windows.",
            f"End to end, independent of kvmtrace-bpf's own estimate: `tests/bench/spin -g`, pinned to",
            f"CPU {cpu} and tracked (started as {SPIN_VMM}), reads CLOCK_MONOTONIC for",
            f"{k.text['SAMPLER_TRIAL']} s and counts the gaps between two reads longer than {GAP_MIN_NS} ns and",
            f"shorter than {GAP_MAX_NS // 1000} µs in which it was not switched out (getrusage): interrupts, the",
            "sampler's timer interrupt and program among them; its lost share is their time over the",
            "time it ran (longer gaps and other tasks' turns, \"away\", are left out: they say nothing",
            f"of the sampler). With kvmtrace-bpf (`-q -i 1 --counters none`) at its defaults (on), at",
            "`--sample-hz 0` (off), and at `--sample-hz 0` beside `tests/bench/empty_loader --sample`",
            "at the rate kvmtrace-bpf chose in its latest trial on (empty: the timer interrupt and the",
            f"call into BPF, what any sampler costs); {k.sampler_trials} rounds of the three, the order",
            f"rotated each round. Cost = lost share on − off of the same round × {n} CPUs (every CPU is",
            f"sampled), % of one CPU; per sample = lost share on − off ÷ the rate. Median and min–max",
            "over the rounds, and the median's distribution-free 95% interval (order statistics); the",
            "verdict is \"inconclusive\" when that interval holds the target. kvmtrace-bpf's own figures",
            "are the medians over its intervals of `sampler_cost_ns` (@host.csv; its start-up measure,",
            "and its program's time from bpf_stats when on) per interval and per sample.",
            "",
        ] + rep.table(self.rows())

    def rows(self):
        cpu, hz, n = self.ctx.k.sampler_cpu, self.hz or "?", self.ctx.ncpu
        pct = self.kernel_pct if self.kernel_pct is not None else "?"
        prog = self.prog or "kt_sample"
        iv = f"{self.interval[0]:.3f} – {self.interval[1]:.3f}" if self.interval else "n/a"
        return [
            ("sampler.cpu_pct.untracked", "program time, % of one CPU: a loop on every CPU, not tracked", "%", 3, TARGET_SAMPLER),
            ("sampler.cpu_pct.tracked", f"program time, % of one CPU: a tracked loop on every CPU, {pct}% of its time in system calls", "%", 3, TARGET_SAMPLER),
            ("sampler.e2e_cpu_pct.on", f"end to end, % of one CPU: CPU {cpu}'s time lost to interrupts, defaults − --sample-hz 0, × {n} CPUs (95% interval of the median {iv})", "%", 3, TARGET_SAMPLER, "sampler.e2e_margin_pct", "margin"),
            ("sampler.e2e_margin_pct", "that interval's half on the target's side (inconclusive when it reaches the target)", "%", 3),
            ("sampler.own_cpu_pct", "kvmtrace-bpf's own figure, % of one CPU (sampler_cost_ns per interval)", "%", 3),
            ("sampler.e2e_cpu_pct.empty", "end to end, the empty program at the same rate instead (the floor of any sampler)", "%", 3),
            ("sampler.e2e_excess_pct", "end to end, kvmtrace-bpf − the empty program (its program and what else it adds)", "%", 3),
            ("sampler.e2e_us_per_sample.on", "cost per sample, end to end (lost share ÷ rate)", "µs", 2),
            ("sampler.own_us_per_sample", "cost per sample, kvmtrace-bpf's own estimate (sampler_cost_ns ÷ samples)", "µs", 2),
            ("sampler.e2e_us_per_sample.empty", "cost per sample of the empty program, end to end", "µs", 2),
            ("sampler.hz.on", f"the rate kvmtrace-bpf chose under --overhead-budget (asked: {hz})", "Hz", 0),
            ("sampler.e2e_irq_per_s.on", f"interrupts per second on CPU {cpu}, defaults − --sample-hz 0 (about the rate: the gaps are its samples)", "Hz", 0),
            ("sampler.e2e_irq_per_s.empty", "the same, the empty program − --sample-hz 0", "Hz", 0),
            ("sampler.e2e_lost_pct.off", f"CPU {cpu}'s time lost to interrupts, --sample-hz 0 (the machine's own)", "%", 3),
            ("sampler.e2e_lost_pct.on", f"CPU {cpu}'s time lost to interrupts, kvmtrace-bpf at its defaults", "%", 3),
            ("sampler.e2e_lost_pct.empty", f"CPU {cpu}'s time lost to interrupts, the empty program", "%", 3),
            ("sampler.e2e_away_pct", "time the loop did not run (other tasks, the hypervisor), all trials", "%", 1),
            ("sampler.hits_per_s_per_cpu.untracked", "sampler runs per second and CPU, loops not tracked", "Hz", 0),
            ("sampler.hits_per_s_per_cpu.tracked", "sampler runs per second and CPU, tracked loops", "Hz", 0),
            ("sampler.ns_per_hit.untracked", f"{prog}, mean per run, loops not tracked", "ns/run", 0),
            ("sampler.ns_per_hit.tracked", f"{prog}, mean per run, tracked loops", "ns/run", 0),
        ]
