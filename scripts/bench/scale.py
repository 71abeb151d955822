# SPDX-License-Identifier: GPL-2.0
"""The scale part: kvmtrace-bpf at -i 1 on a host of many real VMs, the test bed's own VMM
(tests/vm/ktvmm, one vCPU each, a hlt exit to user space and a 100 ms pause after each: mostly
idle, as most of a cloud host's VMs are). What it costs the host per interval: the loader's CPU
(its process's utime + stime over the window, the drain and its BPF task iterator included),
its resident memory, the CPU of one interval's work (the tracer's own tracer_cpu_ns of
@host.csv), its BPF programs' time (tracer_bpf_ns, bpf_stats on during the window), and
whether every VM had its rows. The window opens once every VM has its vCPU rows: a VM this idle
shows its vCPU thread only when a tick falls in its guest time, up to a minute after start, and
the files made meanwhile are start-up, not what each interval costs. Writes its own section,
bench/scale.md (in BENCH_RESULTS_DIR), and prints it; results.{md,json} do not hold it.
Knobs: BENCH_SCALE_VMS (200), BENCH_SCALE_SECONDS (30)."""

import csv
import os
import shutil
import signal
import subprocess
import tempfile
import time

from lib import DEVNULL, STATS_SYSCTL, die, say
from session import Part

# Targets of issue 14 for the loader at -i 1 with 200 VMs.
TARGET_CPU_PCT = 0.2
TARGET_RSS_MIB = 32
TARGET_DRAIN_MS = 10
# The longest wait for every VM's vCPU rows before the window opens anyway.
SETTLE_MAX_S = 180


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def host_rows(folder, since):
    """The @host.csv rows whose epoch_s is at or after since."""
    try:
        with open(os.path.join(folder, "@host.csv"), newline="") as f:
            return [r for r in csv.DictReader(f) if float(r["epoch_s"]) >= since]
    except (OSError, ValueError, KeyError):
        return []


def vms_with_rows(folder, pids, kind=""):
    """How many of the VMs have a CSV file of that kind ("" the VM's, ".vcpu" its vCPUs')."""
    names = set(os.listdir(folder))
    return sum(f"ktvmm-{pid}{kind}.csv" in names for pid in pids)


class Scale(Part):
    name = "scale"

    def __init__(self, ctx):
        super().__init__(ctx)
        env = os.environ
        self.nr_vms = int(env.get("BENCH_SCALE_VMS", "200"))
        self.seconds = float(env.get("BENCH_SCALE_SECONDS", "30"))
        self.ktvmm = os.path.join(ctx.out, "tests", "ktvmm")
        self.vms = []
        self.tracer = None
        self.folder = None

    def check(self):
        if not os.access(self.ktvmm, os.X_OK):
            die(f"no {self.ktvmm}: run make unit")
        if not os.access("/dev/kvm", os.W_OK):
            die("no writable /dev/kvm: the scale part runs the test bed's VMM")
        if not 1 <= self.nr_vms <= 1000 or self.seconds < 5:
            die("BENCH_SCALE_VMS is 1 to 1000, BENCH_SCALE_SECONDS at least 5")

    def cleanup(self):
        if self.tracer and self.tracer.poll() is None:
            self.tracer.kill()
            self.tracer.wait()
        for p in self.vms:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.vms = []
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def start_vms(self):
        for _ in range(self.nr_vms):
            self.vms.append(subprocess.Popen(
                [self.ktvmm, "--vcpus", "1", "--exit", "hlt", "--pause-ms", "100"],
                stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL))
        time.sleep(2)
        gone = [p.pid for p in self.vms if p.poll() is not None]
        if gone:
            die(f"{len(gone)} of {self.nr_vms} test bed VMMs ended at once (KVM limits?)")

    def start_tracer(self):
        self.folder = tempfile.mkdtemp(prefix="kvmtrace-bench-scale.", dir="/tmp")
        self.tracer = subprocess.Popen(
            [self.ctx.tracer, "-q", "-i", "1", "-o", self.folder, "--libvirt-uri", "none"],
            stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        for _ in range(300):
            if len(host_rows(self.folder, 0)) >= 2:
                return
            if self.tracer.poll() is not None:
                die("kvmtrace-bpf ended at start-up")
            time.sleep(0.1)
        die("kvmtrace-bpf wrote no row in 30 s")

    def pids(self):
        return [p.pid for p in self.vms]

    def settle(self):
        """Seconds until every VM has its vCPU rows, at most SETTLE_MAX_S."""
        t0 = time.time()
        while (time.time() - t0 < SETTLE_MAX_S and
               vms_with_rows(self.folder, self.pids(), ".vcpu") < self.nr_vms):
            if self.tracer.poll() is not None:
                die("kvmtrace-bpf ended while the VMs settled")
            time.sleep(1)
        return time.time() - t0

    def run(self):
        out = self.ctx.results_file("scale.md")
        say(f"scale: {self.nr_vms} VMs, {self.seconds:.0f} s at -i 1")
        self.start_vms()
        self.start_tracer()
        pid = self.tracer.pid
        settled = self.settle()
        self.ctx.set_stats(1)
        time.sleep(2)
        t0, cpu0 = time.time(), proc_cpu_s(pid)
        time.sleep(self.seconds)
        t1, cpu1 = time.time(), proc_cpu_s(pid)
        rss, hwm = proc_status_kib(pid, "VmRSS"), proc_status_kib(pid, "VmHWM")
        with open(STATS_SYSCTL, "w") as f:
            f.write(self.ctx.stats_old + "\n")
        rows = host_rows(self.folder, t0)
        tracked = vms_with_rows(self.folder, self.pids())
        vcpus = vms_with_rows(self.folder, self.pids(), ".vcpu")
        self.tracer.send_signal(signal.SIGINT)
        self.tracer.wait(timeout=30)
        self.write(out, {
            "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "window": t1 - t0,
            "rss": rss / 1024, "hwm": hwm / 1024, "rows": rows, "tracked": tracked,
            "vcpus": vcpus, "settled": settled,
        })
        self.cleanup()

    def write(self, path, m):
        cpu_ms = sorted(int(r["tracer_cpu_ns"]) / 1e6 for r in m["rows"] if r["tracer_cpu_ns"])
        bpf_ms = sorted(int(r["tracer_bpf_ns"]) / 1e6 for r in m["rows"] if r["tracer_bpf_ns"])

        def spread(v):
            if not v:
                return "not measured", ""
            return f"{sum(v) / len(v):.2f}", f"{v[0]:.2f} – {v[-1]:.2f}"

        def met(value, target):
            return "yes" if value <= target else "no"

        cpu_mean, cpu_range = spread(cpu_ms)
        bpf_mean, bpf_range = spread(bpf_ms)
        drain_met = met(float(cpu_mean), TARGET_DRAIN_MS) if cpu_ms else ""
        lines = [
            "# kvmtrace-bpf at scale",
            "",
            "Written by `make bench` (scripts/bench/scale.py); do not edit by hand.",
            "",
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"kernel {os.uname().release}. {self.nr_vms} test bed VMMs (tests/vm/ktvmm, one vCPU,"
            " a hlt exit to user space and a 100 ms pause after each), "
            f"`kvmtrace-bpf -q -i 1` at its defaults, a {m['window']:.0f} s window opened "
            f"{m['settled']:.0f} s after the first rows (when every VM had its vCPU rows, at "
            f"most {SETTLE_MAX_S} s) and 2 s of settling, bpf_stats on.",
            "",
            "| figure | measured | rows min–max | target | met |",
            "| --- | ---: | ---: | ---: | --- |",
            f"| VMs with rows | {m['tracked']} of {self.nr_vms} | | all | "
            f"{'yes' if m['tracked'] == self.nr_vms else 'no'} |",
            f"| VMs with vCPU rows | {m['vcpus']} of {self.nr_vms} | | all | "
            f"{'yes' if m['vcpus'] == self.nr_vms else 'no'} |",
            f"| loader CPU (its process over the window), % of one CPU | {m['cpu_pct']:.3f} | |"
            f" ≤ {TARGET_CPU_PCT} | {met(m['cpu_pct'], TARGET_CPU_PCT)} |",
            f"| resident memory at the end / peak, MiB | {m['rss']:.1f} / {m['hwm']:.1f} | | "
            f"≤ {TARGET_RSS_MIB} | {met(m['hwm'], TARGET_RSS_MIB)} |",
            f"| loader CPU per interval (tracer_cpu_ns: drain, record, sinks), ms | {cpu_mean} |"
            f" {cpu_range} | ≤ {TARGET_DRAIN_MS} | {drain_met} |",
            f"| its BPF programs per interval (tracer_bpf_ns), ms | {bpf_mean} | {bpf_range} | "
            "| |",
            "",
        ]
        text = "\n".join(lines)
        with open(path, "w") as f:
            f.write(text)
        print(text)

    def figures(self, fig):
        pass
