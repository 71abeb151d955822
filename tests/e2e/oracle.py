#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Independent oracles for the end-to-end tests, and the comparisons against kvmtrace-bpf's CSVs.

sample: records, every few ms, each process's on-CPU and run-queue ns summed over its threads,
        exited ones included (/proc/PID/task/*/schedstat; /proc/PID/schedstat alone is the main
        thread's only), with the wall-clock time, until stopped.
        Lines: "TIME PID ON_CPU_NS RUN_DELAY_NS".
sample-domstats: the same from libvirt: each active domain's cpu.time (the cgroup's exact ns),
        as `virsh domstats --cpu-total` gives it. Lines: "TIME DOMAIN CPU_TIME_NS".
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


def schedstat(pid, last_seen):
    """On-CPU and run-delay ns of pid's threads, those that exited included: a thread that is
    gone keeps the last values read (it loses at most one sampling period of its life)."""
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                fields = f.read().split()
        except OSError:
            continue  # a thread that just exited
        last_seen[path] = (int(fields[0]), int(fields[1]))
    return sum(v[0] for v in last_seen.values()), sum(v[1] for v in last_seen.values())


def sample(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(args.out, "w") as out:
        # Stops by itself once every process is gone, so a failed test leaves nothing behind.
        last_seen = {pid: {} for pid in args.pid}
        while not stop and any(os.path.exists(f"/proc/{pid}") for pid in args.pid):
            for pid in args.pid:
                t = time.time()
                on_cpu, delay = schedstat(pid, last_seen[pid])
                out.write(f"{t:.6f} {pid} {on_cpu} {delay}\n")
            out.flush()
            time.sleep(args.period)


def sample_domstats(args):
    # One open connection: a reading then takes a few ms, so its time is known closely.
    import libvirt
    conn = libvirt.openReadOnly(args.uri)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(args.out, "w") as out:
        while not stop:
            before = time.time()
            stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_CPU_TOTAL,
                                           libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
            # The reading happened somewhere in the call: stamp it with the middle.
            t = (before + time.time()) / 2
            for dom, values in stats:
                if "cpu.time" in values:
                    name = dom.name().replace(" ", "%20")
                    out.write(f"{t:.6f} {name} {values['cpu.time']}\n")
            out.flush()
            time.sleep(args.period)


def load_samples(path, key):
    """Times and value columns of one key's samples (a PID or a domain name)."""
    times, columns = [], []
    with open(path) as f:
        for line in f:
            t, k, *values = line.split()
            if k.replace("%20", " ") != key or int(values[0]) == 0:
                continue
            times.append(float(t))
            columns.append([int(v) for v in values])
    return times, list(zip(*columns))


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
    times, columns = load_samples(args.samples, args.key)
    if not times:
        print(f"check-cpu: no samples of {args.key} in {args.samples}")
        return 1
    # The window of rows [skip:] starts where row skip-1 ended.
    start = float(rows[args.skip - 1]["epoch_s"]) if args.skip else \
        float(rows[0]["epoch_s"]) - float(rows[0]["interval_s"])
    end = float(rows[-1]["epoch_s"])
    status = 0
    checks = [("cpu_total_ns", 0, args.tol), ("run_delay_ns", 1, args.delay_tol)]
    for column, index, tol in checks:
        if tol is None or index >= len(columns):
            continue
        values = columns[index]
        traced = sum(int(r[column]) for r in rows[args.skip:])
        oracle = interpolate(times, values, end) - interpolate(times, values, start)
        err = abs(traced - oracle) / oracle if oracle else float("inf")
        # An oracle that counts in clock ticks cannot be more exact than its resolution.
        within = err <= tol or abs(traced - oracle) <= args.resolution_ns
        print(f"check-cpu: {args.key} {column} over {end - start:.3f} s: traced {traced} ns, "
              f"oracle {oracle:.0f} ns, error {100 * err:.2f}% (tolerance {100 * tol:.1f}% "
              f"or {args.resolution_ns / 1e6:.0f} ms): {'ok' if within else 'OUT OF TOLERANCE'}")
        if not within:
            status = 1
    return status


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--pid", type=int, action="append", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--period", type=float, default=0.01)
    d = sub.add_parser("sample-domstats")
    d.add_argument("--out", required=True)
    d.add_argument("--uri", default="qemu:///system")
    d.add_argument("--period", type=float, default=0.02)
    c = sub.add_parser("check-cpu")
    c.add_argument("--csv", required=True)
    c.add_argument("--samples", required=True)
    c.add_argument("--key", required=True, help="the PID or domain name sampled")
    c.add_argument("--skip", type=int, default=1)
    c.add_argument("--tol", type=float, default=0.02)
    c.add_argument("--delay-tol", type=float, default=None)
    c.add_argument("--resolution-ns", type=int, default=0,
                   help="the oracle's own resolution over a delta (e.g. two clock ticks)")
    args = p.parse_args()
    if args.cmd == "sample":
        sample(args)
    elif args.cmd == "sample-domstats":
        sample_domstats(args)
    else:
        return check_cpu(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
