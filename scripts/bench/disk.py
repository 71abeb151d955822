# SPDX-License-Identifier: GPL-2.0
"""The disk part: fio, 4k random reads and writes with direct I/O on a file in a temporary
folder (BENCH_DISK_DIR, /var/tmp: a file system on a block device), under empty, tracer and
tracked (kvmtrace-bpf -p of the fio job process doing the I/O). A window's throughput: I/Os
per second, from the kernel's count of pread()/pwrite() calls of fio's job process
(/proc/PID/io syscr + syscw: one per I/O with the psync engine), since the job must run for
the whole session to be tracked; fio's own figure (JSON) of a detached run is reported beside
it as a check."""

import json
import os
import shutil
import signal
import tempfile
import time

from lib import TARGET_RATIO as RATIO, TARGET_SLOWDOWN as SLOW
from lib import child_of, die, have, head, output, proc_io, usecs
from session import Workload

FIO_SIZE = "256M"
FIO_BS = "4k"


class Disk(Workload):
    name = "disk"
    head = "## Disk"
    configs = ("empty", "tracer", "tracked")
    hooks = ("block_bio_queue", "block_rq_complete")
    required = ("disk.slowdown_pct.tracer", "disk.slowdown_pct.tracked",
                "disk.ratio.tracer.block_bio_queue", "disk.ratio.tracked.block_bio_queue",
                "disk.iops.detached")
    unit = ("iops", lambda c, u: c * 1e6 / u)
    unit_label = "IOPS"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.dir = None
        self.source = self.fstype = ""
        self.fio = self.worker = None
        self.fio_self = None
        self.job = []

    def rounds(self):
        return self.ctx.k.disk_rounds

    def check(self):
        if not have("fio"):
            die("no fio: install fio")
        if not have("findmnt"):
            die("no findmnt: install util-linux")

    def setup(self):
        ctx, parent = self.ctx, self.ctx.k.text["DISK_DIR"]
        try:
            os.makedirs(parent, exist_ok=True)
            self.dir = tempfile.mkdtemp(prefix="kvmtrace-bench-disk.", dir=parent)
        except OSError:
            die(f"cannot create a folder in {parent} (BENCH_DISK_DIR)")
        mnt = output(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", self.dir]).split(None, 1)
        self.source, self.fstype = (mnt + ["", ""])[0], (mnt + ["", ""])[1].strip()
        fs = f"{self.fstype} on {self.source or '?'}"
        if self.fstype in ("tmpfs", "ramfs", "devtmpfs", ""):
            die(f"{parent} is {fs}, not on a block device: set BENCH_DISK_DIR")
        self.job = ["--name=kt-bench", f"--filename={self.dir}/kt-bench.fio", f"--size={FIO_SIZE}",
                    "--direct=1", "--ioengine=psync", "--rw=randrw", "--rwmixread=50",
                    f"--bs={FIO_BS}", "--time_based"]
        # fio's own figure, nothing attached; it also lays the file out.
        p = ctx.spawn(["fio"] + self.job + [f"--runtime={ctx.k.text['WINDOW']}", "--output-format=json"],
                      out="fio-self.json", err="fio-self.err", pin=True)
        if p.wait():
            die(f"fio failed on {fs}: {head(ctx.path('fio-self.err'))}")
        ctx.stop(p)
        try:
            with open(ctx.path("fio-self.json")) as f:
                jobs = json.load(f)["jobs"]
            total = sum(j[d]["iops"] for j in jobs for d in ("read", "write"))
        except (OSError, ValueError, KeyError, TypeError):
            total = 0
        if total <= 0:
            die(f"fio gave no IOPS: {head(ctx.path('fio-self.json'), 300)}")
        self.fio_self = float(f"{total:.6g}")

    def ios(self):
        """I/Os so far of the job process: one pread() or pwrite() each."""
        n = proc_io(self.worker, "syscr", "syscw")
        if n is None:
            die(f"fio's job process (PID {self.worker}) is gone")
        return n

    def start(self, cfg):
        ctx = self.ctx
        self.fio = ctx.spawn(["fio"] + self.job + ["--runtime=3600", "--output-format=json"],
                             out="fio.json", err="fio.err", pin=True)
        # fio forks the job process that does the I/O.
        for _ in range(500):
            self.worker = child_of(self.fio.pid)
            if self.worker or self.fio.poll() is not None:
                break
            time.sleep(0.02)
        if not self.worker:
            die(f"fio did not start its job: {head(ctx.path('fio.err'))}")
        first = self.ios()
        for _ in range(250):
            time.sleep(0.02)
            if self.ios() > first:
                return
        die("fio makes no progress")

    def window(self):
        n0, t0 = self.ios(), usecs()
        time.sleep(self.ctx.k.window)
        n1 = self.ios()
        return n1 - n0, usecs() - t0, n1 - n0

    def stop(self):
        # fio ends its job process when asked to stop; should it not, its job is ended by PID.
        self.ctx.stop(self.fio)
        if self.worker:
            try:
                with open(f"/proc/{self.worker}/comm") as f:
                    if f.read().strip() == "fio":
                        os.kill(self.worker, signal.SIGKILL)
            except OSError:
                pass
        self.fio = self.worker = None

    def tracked(self):
        return ["-p", str(self.worker)], "", [self.worker]

    def cleanup(self):
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def method(self):
        return {"bench": f"fio {FIO_BS} randrw 50/50 psync direct, one job, {FIO_SIZE} file",
                "filesystem": f"{self.fstype} on {self.source}", "rounds": self.ctx.k.disk_rounds,
                "configurations": list(self.configs)}

    def title(self):
        return "## Disk: fio, direct I/O"

    def section(self, rep):
        k, version = self.ctx.k, rep.versions["fio"]
        version = version[4:] if version.startswith("fio-") else version
        return [
            f"fio {version}, {FIO_BS} random reads and writes (50/50), psync, direct I/O, one job,",
            f"{self.ctx.pin_desc}, on a {FIO_SIZE} file in a temporary folder ({self.fstype} on {self.source}). IOPS per",
            "window from the kernel's count of the job process's pread/pwrite calls; fio's own figure",
            f"(JSON) for a {k.text['WINDOW']} s run of its own before the sessions, nothing attached:",
            f"{rep.f2(self.fio_self, 0)} IOPS (windowed, detached: {rep.f2(rep.med('disk.iops.detached'), 0)}). Not tracked: discovery, which",
            f"ignores fio. Tracked: `-p` of the job process. {k.text['DISK_ROUNDS']} rounds of {', '.join(self.configs)}.",
            "",
        ] + rep.table(self.rows())

    def rows(self):
        return [
            ("disk.ratio.tracer.block_bio_queue", "kt_bio_queue vs empty program, ns/run ratio, fio not tracked", "×", 2, RATIO),
            ("disk.ratio.tracer.block_rq_complete", "kt_rq_complete vs empty program, ns/run ratio, fio not tracked", "×", 2, RATIO),
            ("disk.ratio.tracked.block_bio_queue", "kt_bio_queue vs empty program, ns/run ratio, fio tracked (-p)", "×", 2, RATIO),
            ("disk.ratio.tracked.block_rq_complete", "kt_rq_complete vs empty program, ns/run ratio, fio tracked (-p)", "×", 2, RATIO),
            ("disk.slowdown_pct.tracer", "fio IOPS slowdown, kvmtrace-bpf attached, fio not tracked", "%", 2, SLOW, "disk.noise_pct"),
            ("disk.slowdown_pct.tracked", "fio IOPS slowdown, kvmtrace-bpf tracking fio's job process (-p)", "%", 2, SLOW, "disk.noise_pct"),
            ("disk.slowdown_pct.empty", "fio IOPS slowdown, empty programs attached (floor)", "%", 2),
            ("disk.noise_pct", "noise: change between the two detached windows of a session, absolute", "%", 2),
            ("disk.drift_pct", "drift: change from the pre to the post window of a session, signed", "%", 2),
            ("disk.slowdown_stats_pct.tracer", "fio slowdown, not tracked, bpf_stats on", "%", 2),
            ("disk.slowdown_stats_pct.tracked", "fio slowdown, tracked, bpf_stats on", "%", 2),
            ("disk.bpf_share_pct.tracer", "time in kt_bio_queue and kt_rq_complete, % of one CPU, not tracked", "%", 3),
            ("disk.bpf_share_pct.tracked", "time in kt_bio_queue and kt_rq_complete, % of one CPU, tracked", "%", 3),
            ("disk.ns_per_run.empty.empty_bio_queue", "empty program on block_bio_queue", "ns/run", 1),
            ("disk.ns_per_run.tracer.kt_bio_queue", "kt_bio_queue, fio not tracked", "ns/run", 1),
            ("disk.ns_per_run.tracked.kt_bio_queue", "kt_bio_queue, fio tracked", "ns/run", 1),
            ("disk.ns_per_run.empty.empty_rq_done", "empty program on block_rq_complete", "ns/run", 1),
            ("disk.ns_per_run.tracer.kt_rq_complete", "kt_rq_complete, fio not tracked", "ns/run", 1),
            ("disk.ns_per_run.tracked.kt_rq_complete", "kt_rq_complete, fio tracked", "ns/run", 1),
            ("disk.excess_ns.tracer.block_bio_queue", "kt_bio_queue minus empty program, fio not tracked", "ns/run", 1),
            ("disk.excess_ns.tracked.block_bio_queue", "kt_bio_queue minus empty program, fio tracked", "ns/run", 1),
            ("disk.excess_ns.tracer.block_rq_complete", "kt_rq_complete minus empty program, fio not tracked", "ns/run", 1),
            ("disk.excess_ns.tracked.block_rq_complete", "kt_rq_complete minus empty program, fio tracked", "ns/run", 1),
            ("disk.runs_per_op.tracer.kt_bio_queue", "block_bio_queue runs per fio I/O (all devices)", "runs", 2),
            ("disk.runs_per_op.tracer.kt_rq_complete", "block_rq_complete runs per fio I/O (all devices)", "runs", 2),
            ("disk.iops.detached", "fio, nothing attached (pre and post windows)", "IOPS", 0),
            ("disk.iops.empty", "fio, empty programs attached", "IOPS", 0),
            ("disk.iops.tracer", "fio, kvmtrace-bpf attached, not tracked", "IOPS", 0),
            ("disk.iops.tracked", "fio, kvmtrace-bpf tracking fio's job process", "IOPS", 0),
        ]
