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
  end to end    the rate of a loop pinned to BENCH_SAMPLER_CPU, tracked, for
                BENCH_SAMPLER_TRIAL s, with kvmtrace-bpf at its default rate (on), at
                --sample-hz 0 (off), and at --sample-hz 0 beside tests/bench/empty_loader
                --sample, an empty program on the same events at the same rate (empty), in
                BENCH_SAMPLER_TRIALS rounds (order rotated each round); the rate counts only
                the time the loop ran (tests/bench/spin.c), so that other tasks on a shared
                machine do not swamp the figure; the slowdown counts the timer interrupt
                behind each sample too, which bpf_stats cannot see, and is read against the
                change between consecutive trials of one configuration"""

import json
import os
import re
import shutil
import subprocess
import time

import stats
from lib import PROG_TYPE_PERF_EVENT, ROOT, TARGET_SAMPLER, DEVNULL, csv_rows, die, fdinfo, have
from lib import head, is_number, output, rotated, say, usecs, wait_ready
from session import Part

WINDOWS = 4                  # bpf_stats windows in each half of the program-time measure
SPIN_PLAIN = "kt-bench-spin"  # the loop under a name discovery ignores
SPIN_VMM = "qemu-system-bench"  # and under a VMM's name
SPIN_CUT_DESC = 8            # SPIN_CUT of tests/bench/spin.c, for the results' text


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
                "sampler.e2e_slowdown_pct.on", "sampler.e2e_noise_pct")

    def __init__(self, ctx):
        super().__init__(ctx)
        self.hz = ""
        self.prog = ""
        self.prog_id = None
        self.kernel_pct = None
        self.spins = []
        self.empty = None
        self.windows = []   # (phase, run_time_ns, run_cnt, µs)
        self.trials = []    # (trial, cfg, rate, wall rate, % not running)

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
        """WINDOWS windows of the program-time measure."""
        t0, c0, u0 = self.snapshot()
        for _ in range(WINDOWS):
            time.sleep(float(self.win))
            t, c, u = self.snapshot()
            if not self.ctx.att_alive():
                die("kvmtrace-bpf exited during the window")
            self.windows.append((phase, t - t0, c - c0, u - u0))
            t0, c0, u0 = t, c, u

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

    def start_empty_sampler(self):
        """The floor of the sampler: an empty program on the same events, at the same rate."""
        ctx = self.ctx
        self.empty = ctx.spawn([ctx.helper("empty_loader"), "--sample", self.hz],
                               out="empty-sampler.out", err="empty-sampler.err")
        if not wait_ready(self.empty, ctx.path("empty-sampler.out"), "the empty sampler exited",
                          600, 0.05, ctx.path("empty-sampler.err")):
            die("the empty sampler did not start within 30 s")

    def trial(self, cfg, t):
        """One end-to-end trial of cfg: kvmtrace-bpf at its default rate (on), at
        --sample-hz 0 (off), or at --sample-hz 0 beside the empty sampler (empty)."""
        ctx = self.ctx
        hz = self.hz if cfg == "on" else "0"
        folder = ctx.path(f"out-sampler-{cfg}-{t}")
        self.start_tracer(hz, folder, cfg)
        if cfg == "on" and self.prog_id is None:
            die(f"kvmtrace-bpf --sample-hz {hz} runs no sampler: {head(ctx.path('tracer.err'), 800)}")
        if cfg != "on" and self.prog_id is not None:
            die("kvmtrace-bpf --sample-hz 0 runs a sampler")
        if cfg == "empty":
            self.start_empty_sampler()
        # Running for a second already: it has written rows.
        time.sleep(0.3)
        loop = self.start_spin(ctx.k.sampler_cpu, SPIN_VMM, ctx.k.text["SAMPLER_TRIAL"], out="spin.out")
        loop.wait()
        self.stop_spins()
        # Rounds per second while it ran, and of its whole run; % of the run it did not run.
        try:
            with open(ctx.path("spin.out")) as f:
                figs = (f.readline().split() + ["", "", ""])[:3]
        except OSError:
            figs = ["", "", ""]
        if not all(is_number(x) for x in figs):
            die(f"the loop gave no rate: {head(ctx.path('spin.err'), 300)}")
        if not ctx.att_alive():
            die("kvmtrace-bpf exited during the trial")
        if cfg == "empty":
            if self.empty.poll() is not None:
                die("the empty sampler exited during the trial")
            ctx.stop(self.empty)
            self.empty = None
        ctx.stop_attacher()
        # Tracked in every configuration, so that only the sampler differs.
        if csv_rows(folder, loop.pid) < 1:
            die(f"kvmtrace-bpf did not track the loop (PID {loop.pid})")
        rate, wall, off = figs
        self.trials.append((t, cfg, float(rate), float(wall), float(off)))
        say(f"sampler trial {t} {cfg}: {rate} rounds/s while running, {wall} overall, {off}% not running")

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
        stats.sampler_figures(self.windows, self.trials, self.ctx.ncpu, int(self.hz or 0), fig)

    def method(self):
        k = self.ctx.k
        return {"program": self.prog, "sample_hz": int(self.hz), "stats_windows_per_phase": WINDOWS,
                "stats_window_s": float(self.win), "tracked_loop_kernel_pct": self.kernel_pct,
                "e2e_cpu": json_value(k.sampler_cpu), "e2e_rounds": k.sampler_trials,
                "e2e_trial_s": json_value(k.text["SAMPLER_TRIAL"]), "configurations": list(self.configs)}

    def title(self):
        return "## Sampler: kvmtrace-bpf's perf_event program at its default rate"

    def section(self, rep):
        k, hz, pct = self.ctx.k, self.hz, self.kernel_pct if self.kernel_pct is not None else "?"
        return [
            f"`{self.prog}`, run by a cpu-clock event on every CPU at kvmtrace-bpf's default",
            f"`--sample-hz {hz}`; workload tests/bench/spin, a CPU-bound loop. Program time:",
            f"`kvmtrace-bpf -q -i 1 --counters none` with bpf_stats on, {WINDOWS} windows of",
            f"{self.win} s with a loop pinned to each CPU that it does not track ({SPIN_PLAIN}),",
            f"then {WINDOWS} with a loop pinned to each CPU started as {SPIN_VMM}, which",
            f"discovery tracks, spending {pct}% of its time in read() of /dev/zero, so that",
            "its kernel samples take the binary search of kernel text and the stack walk; from the",
            "program's run_cnt and run_time_ns (`bpftool prog show -j`) per window, % of one CPU =",
            "runs per second and CPU × ns per run / 10⁹ × 100; median and min–max over the windows.",
            f"End to end: a tracked loop pinned to CPU {k.sampler_cpu} for {k.text['SAMPLER_TRIAL']} s, with",
            f"kvmtrace-bpf (`-q -i 1 --counters none`) at `--sample-hz {hz}` (on), at",
            "`--sample-hz 0` (off), and at `--sample-hz 0` beside `tests/bench/empty_loader --sample`,",
            "an empty program on the same cpu-clock events at the same rate (empty: the timer interrupt",
            f"and the call into BPF, what any sampler costs); {k.text['SAMPLER_TRIALS']} rounds of the three, the",
            "order rotated each round; slowdown = 1 − rate / rate off of the same round; median and",
            "min–max over the rounds.",
            f"A rate is the loop's rounds per second while it ran: rounds over {SPIN_CUT_DESC} times the",
            "median round, in which it lost its CPU to another task or to the hypervisor, are left",
            "out (the whole runs' slowdown is shown too). It counts what bpf_stats cannot see, the",
            "timer interrupt that runs the program. Its verdict is given only when the median is",
            "farther from the target than the noise (median change between consecutive trials of",
            "one configuration), \"inconclusive\" otherwise.",
            "",
        ] + rep.table(self.rows())

    def rows(self):
        cpu, hz = self.ctx.k.sampler_cpu, self.hz or "?"
        pct = self.kernel_pct if self.kernel_pct is not None else "?"
        prog = self.prog or "kt_sample"
        return [
            ("sampler.cpu_pct.untracked", "program time, % of one CPU: a loop on every CPU, not tracked", "%", 3, TARGET_SAMPLER),
            ("sampler.cpu_pct.tracked", f"program time, % of one CPU: a tracked loop on every CPU, {pct}% of its time in system calls", "%", 3, TARGET_SAMPLER),
            ("sampler.e2e_slowdown_pct.on", f"end to end: slowdown of a tracked loop on CPU {cpu} while it runs, --sample-hz {hz} vs 0 (program, timer interrupt, user space)", "%", 2, TARGET_SAMPLER, "sampler.e2e_noise_pct", "margin"),
            ("sampler.e2e_slowdown_pct.empty", f"end to end: slowdown, --sample-hz 0 and an empty program on cpu-clock at {hz} Hz (floor of any sampler)", "%", 2),
            ("sampler.e2e_excess_pct", f"end to end: slowdown, --sample-hz {hz} vs the empty program (kvmtrace-bpf's own share)", "%", 2),
            ("sampler.e2e_noise_pct", "noise: change between consecutive trials of one configuration, absolute", "%", 2),
            ("sampler.e2e_us_per_sample.on", f"end to end: cost per sample (slowdown ÷ {hz} Hz)", "µs", 1),
            ("sampler.e2e_us_per_sample.empty", "end to end: cost per sample of the empty program", "µs", 1),
            ("sampler.e2e_wall_slowdown_pct.on", "end to end, whole runs (time the loop did not run included)", "%", 2),
            ("sampler.e2e_off_cpu_pct", "time the loop did not run (other tasks, the hypervisor), all trials", "%", 1),
            ("sampler.hits_per_s_per_cpu.untracked", "sampler runs per second and CPU, loops not tracked", "Hz", 0),
            ("sampler.hits_per_s_per_cpu.tracked", "sampler runs per second and CPU, tracked loops", "Hz", 0),
            ("sampler.ns_per_hit.untracked", f"{prog}, mean per run, loops not tracked", "ns/run", 0),
            ("sampler.ns_per_hit.tracked", f"{prog}, mean per run, tracked loops", "ns/run", 0),
            ("sampler.e2e_rate.off", "the loop while it runs, kvmtrace-bpf --sample-hz 0", "rounds/s", 0),
            ("sampler.e2e_rate.empty", "the loop while it runs, --sample-hz 0 and the empty program", "rounds/s", 0),
            ("sampler.e2e_rate.on", f"the loop while it runs, kvmtrace-bpf --sample-hz {hz}", "rounds/s", 0),
        ]

