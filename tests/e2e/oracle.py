#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Independent oracles for the end-to-end tests, and the comparisons against kvmtrace-bpf's CSVs.

sample: records, every few ms, each process's on-CPU and run-queue ns summed over its threads
        (/proc/PID/task/*/schedstat; /proc/PID/schedstat alone is the main thread's only),
        with the wall-clock time, until stopped.
check-cpu: compares the CSV's cpu_total_ns (and run_delay_ns) summed over rows with the
        oracle's delta over exactly the rows' window, interpolating between samples.
"""
import argparse
import bisect
import csv
import glob
import os
import signal
import sys
import time


def schedstat(pid):
    on_cpu = delay = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                fields = f.read().split()
        except OSError:
            continue  # a thread that just exited
        on_cpu += int(fields[0])
        delay += int(fields[1])
    return on_cpu, delay


def sample(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(args.out, "w") as out:
        # Stops by itself once every process is gone, so a failed test leaves nothing behind.
        while not stop and any(os.path.exists(f"/proc/{pid}") for pid in args.pid):
            for pid in args.pid:
                t = time.time()
                on_cpu, delay = schedstat(pid)
                out.write(f"{t:.6f} {pid} {on_cpu} {delay}\n")
            out.flush()
            time.sleep(args.period)


def load_samples(path, pid):
    times, on_cpu, delay = [], [], []
    with open(path) as f:
        for line in f:
            t, p, c, d = line.split()
            if int(p) == pid and int(c) > 0:
                times.append(float(t))
                on_cpu.append(int(c))
                delay.append(int(d))
    return times, on_cpu, delay


def interpolate(times, values, t):
    i = bisect.bisect_left(times, t)
    if i == 0 or i == len(times):
        raise SystemExit(f"oracle: no samples around t={t:.3f} "
                         f"(samples cover {times[0]:.3f}..{times[-1]:.3f})")
    t0, t1 = times[i - 1], times[i]
    v0, v1 = values[i - 1], values[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def load_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check_cpu(args):
    rows = load_rows(args.csv)
    if len(rows) <= args.skip:
        print(f"check-cpu: {args.csv} has {len(rows)} rows, need more than {args.skip}")
        return 1
    times, on_cpu, delay = load_samples(args.samples, args.pid)
    # The window of rows [skip:] starts where row skip-1 ended.
    start = float(rows[args.skip - 1]["epoch_s"]) if args.skip else \
        float(rows[0]["epoch_s"]) - float(rows[0]["interval_s"])
    end = float(rows[-1]["epoch_s"])
    status = 0
    for column, values, tol in (("cpu_total_ns", on_cpu, args.tol),
                                ("run_delay_ns", delay, args.delay_tol)):
        if tol is None:
            continue
        traced = sum(int(r[column]) for r in rows[args.skip:])
        oracle = interpolate(times, values, end) - interpolate(times, values, start)
        err = abs(traced - oracle) / oracle if oracle else float("inf")
        verdict = "ok" if err <= tol else "OUT OF TOLERANCE"
        print(f"check-cpu: {column} over {end - start:.3f} s: traced {traced} ns, "
              f"schedstat {oracle:.0f} ns, error {100 * err:.2f}% (tolerance "
              f"{100 * tol:.1f}%): {verdict}")
        if err > tol:
            status = 1
    return status


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--pid", type=int, action="append", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--period", type=float, default=0.01)
    c = sub.add_parser("check-cpu")
    c.add_argument("--csv", required=True)
    c.add_argument("--samples", required=True)
    c.add_argument("--pid", type=int, required=True)
    c.add_argument("--skip", type=int, default=1)
    c.add_argument("--tol", type=float, default=0.02)
    c.add_argument("--delay-tol", type=float, default=None)
    args = p.parse_args()
    if args.cmd == "sample":
        sample(args)
        return 0
    return check_cpu(args)


if __name__ == "__main__":
    sys.exit(main())
