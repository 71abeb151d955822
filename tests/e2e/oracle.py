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
check-plug: compares the host file's host_power_w with what the plug emulator answered, interval
        by interval (its request log): a value when the plug gave one, empty after a fault.
check-split: the VMs' vm_power_w, the rest of the host and idle add up to host_power_w.
perf-stat: runs `perf stat -p PID -I MS -x,` (the seed tracker's method) until stopped and
        records each event's cumulative count with the wall-clock time of its reading.
        Lines: "TIME PID EVENT CUMULATIVE" (clocks in ns).
sample-guest: records, every few ms, the kernel's guest time (/proc/PID/task/TID/stat field 43,
        clock ticks) of each process (key PID) and of each of its threads (key tid:TID), exited
        threads included. Lines: "TIME KEY GUEST_NS".
from-ktvmm: turns the test VMM's --trace file into samples of one of its counters summed over
        its vCPUs (or of one vCPU). Lines: "TIME vm VALUE".
check-column: compares a CSV column summed over rows (those matching --where) with a sampled
        series' delta over exactly the rows' window.
check-counters: compares, row by row, the CSV's counter columns with the perf stat counts over
        exactly each row's window, interpolating between readings.
"""
import argparse
import bisect
import csv
import glob
import os
import signal
import subprocess
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


def sample_guest(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ns_per_tick = 1e9 / os.sysconf("SC_CLK_TCK")
    last_seen = {}
    with open(args.out, "w") as out:
        while not stop and any(os.path.exists(f"/proc/{pid}") for pid in args.pid):
            for pid in args.pid:
                t = time.time()
                for path in glob.glob(f"/proc/{pid}/task/*/stat"):
                    try:
                        with open(path) as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                    except (OSError, IndexError):
                        continue
                    # Field 43 of stat is the 41st after "pid (comm)".
                    last_seen[(pid, path.split("/")[4])] = int(fields[40]) * ns_per_tick
                total = sum(v for (p, _), v in last_seen.items() if p == pid)
                out.write(f"{t:.6f} {pid} {total:.0f}\n")
                for (p, tid), v in last_seen.items():
                    if p == pid:
                        out.write(f"{t:.6f} tid:{tid} {v:.0f}\n")
            out.flush()
            time.sleep(args.period)


def from_ktvmm(args):
    by_time = {}
    with open(args.trace) as f:
        for line in f:
            t, *pairs = line.split()
            values = dict(p.split("=", 1) for p in pairs)
            if args.vcpu is not None and values["vcpu"] != str(args.vcpu):
                continue
            # One reading stamps each vCPU a few us apart: group them by the millisecond.
            key = round(float(t), 3)
            by_time[key] = by_time.get(key, 0) + int(values[args.field])
    with open(args.out, "w") as out:
        for t in sorted(by_time):
            out.write(f"{t:.6f} vm {by_time[t]}\n")


def check_column(args):
    rows = [r for r in load_rows(args.csv)
            if all(r[k] == v for k, v in (w.split("=", 1) for w in args.where))]
    if len(rows) <= args.skip:
        print(f"check-column: {args.csv} has {len(rows)} matching rows, need more than {args.skip}")
        return 1
    times, columns = load_samples(args.samples, args.key, keep_zero=True)
    if not times:
        print(f"check-column: no samples of {args.key} in {args.samples}")
        return 1
    start, end = rows_window(rows, args.skip)
    traced = sum(int(r[args.column]) for r in rows[args.skip:])
    less = ""
    if args.less_exits:
        # Exits of these reasons in the same intervals, which the oracle cannot see.
        kept = {r["epoch_s"] for r in rows[args.skip:]}
        n = sum(int(r["count"]) for r in load_rows(args.less_exits)
                if r["epoch_s"] in kept and r["reason"] in args.reasons.split(","))
        traced -= n
        less = f" (less {n} of {args.reasons})"
    oracle = interpolate(times, columns[0], end) - interpolate(times, columns[0], start)
    err = abs(traced - oracle) / oracle if oracle else float("inf")
    within = err <= args.tol or abs(traced - oracle) <= args.resolution
    print(f"check-column: {args.key} {args.column} over {end - start:.3f} s: "
          f"traced {traced}{less}, oracle {oracle:.0f}, error {100 * err:.2f}% "
          f"(tolerance {100 * args.tol:.1f}% or {args.resolution}): "
          f"{'ok' if within else 'OUT OF TOLERANCE'}")
    return 0 if within else 1


def load_samples(path, key, keep_zero=False):
    """Times and value columns of one key's samples (a PID or a domain name)."""
    times, columns = [], []
    with open(path) as f:
        for line in f:
            t, k, *values = line.split()
            if k.replace("%20", " ") != key or (int(values[0]) == 0 and not keep_zero):
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


def rows_window(rows, skip):
    """The window of rows [skip:]: from where row skip-1 ended to the last row's end."""
    start = float(rows[skip - 1]["epoch_s"]) if skip else \
        float(rows[0]["epoch_s"]) - float(rows[0]["interval_s"])
    return start, float(rows[-1]["epoch_s"])


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
    start, end = rows_window(rows, args.skip)
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


def plug_watts(reply):
    """The wattage of a plug reply, or None for a fault (some of which are numbers: 401)."""
    if reply in ("401", "500"):
        return None
    try:
        return float(reply)
    except ValueError:
        return None


def check_plug(args):
    replies = []
    with open(args.log) as f:
        for line in f:
            fields = dict(x.split("=", 1) for x in line.split() if "=" in x)
            if fields.get("step", "-") != "-":
                replies.append((float(line.split()[1]), fields["reply"]))
    rows = load_rows(args.csv)
    bad, used = [], 0
    for r in rows:
        end = float(r["epoch_s"])
        start = end - float(r["interval_s"])
        # A reply logged just before the window may complete inside it.
        window = [v for t, v in replies if start - 0.5 < t <= end]
        if r["host_power_w"]:
            value = float(r["host_power_w"])
            numeric = [plug_watts(v) for v in window if plug_watts(v) is not None]
            if not any(abs(value - v) < 0.01 for v in numeric):
                bad.append(f"{r['timestamp']}: {value} W, the plug answered {window}")
            used += 1
        else:
            # Empty is right after a fault, or when no answer completed in the interval.
            inside = [v for t, v in replies if start <= t <= end - 0.3]
            answered = inside and all(plug_watts(v) is not None for v in inside)
            if args.all_valid or answered:
                bad.append(f"{r['timestamp']}: empty, the plug answered {window}")
    print(f"check-plug: {len(rows)} intervals, {used} with a power, {len(bad)} wrong")
    for b in bad:
        print("  " + b)
    return 1 if bad or not used else 0


def check_split(args):
    host = {r["timestamp"]: r for r in load_rows(os.path.join(args.folder, "@host.csv"))}
    vms = {}
    for path in glob.glob(os.path.join(args.folder, "*.csv")):
        name = os.path.basename(path)
        if name.startswith("@") or name.endswith((".vcpu.csv", ".exits.csv")):
            continue
        for r in load_rows(path):
            if r["vm_power_w"]:
                vms[r["timestamp"]] = vms.get(r["timestamp"], 0.0) + float(r["vm_power_w"])
    bad, checked = [], 0
    for stamp, h in host.items():
        if not h["host_power_w"]:
            continue
        total = vms.get(stamp, 0.0) + float(h["rest_w"]) + float(h["idle_w"])
        checked += 1
        if abs(total - float(h["host_power_w"])) > 0.1:
            bad.append(f"{stamp}: VMs {vms.get(stamp, 0.0):.3f} + rest {h['rest_w']} + idle "
                       f"{h['idle_w']} = {total:.3f}, host {h['host_power_w']}")
    print(f"check-split: {checked} intervals checked, {len(bad)} off by more than 0.1 W, "
          f"{len(vms)} with VM shares")
    for b in bad:
        print("  " + b)
    return 1 if bad or not checked or not vms else 0


def perf_stat(args):
    """perf prints each interval's counts as it reads them, stamped with the time since its own
    start; the wall-clock time of that start is the smallest gap between a line's arrival and
    its stamp (a line arrives a few microseconds after its reading, never before)."""
    cmd = ["perf", "stat", "-x,", "-I", str(args.interval_ms), "-e", args.events,
           "-p", str(args.pid)]
    perf = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, bufsize=1)
    signal.signal(signal.SIGTERM, lambda *_: perf.send_signal(signal.SIGINT))
    readings, total = [], {}
    for line in perf.stderr:
        now = time.time()
        f = line.strip().split(",")
        if len(f) < 4 or not f[0].strip().replace(".", "").isdigit():
            continue
        try:
            value = float(f[1])
        except ValueError:
            continue  # "<not counted>", "<not supported>"
        event = f[3]
        if f[2] == "msec":
            value *= 1e6
        total[event] = total.get(event, 0.0) + value
        readings.append((now, float(f[0]), event, total[event]))
    perf.wait()
    offset = min(now - stamp for now, stamp, _, _ in readings) if readings else 0.0
    with open(args.out, "w") as out:
        for _, stamp, event, value in readings:
            out.write(f"{stamp + offset:.6f} {args.pid} {event} {value:.0f}\n")


def check_counters(args):
    rows = load_rows(args.csv)[args.skip:]
    series = {}
    with open(args.samples) as f:
        for line in f:
            t, _, event, value = line.split()
            times, values = series.setdefault(event, ([], []))
            times.append(float(t))
            values.append(float(value))
    bad, checked = [], 0
    for pair in args.column:
        column, event = pair.split("=")
        if event not in series:
            bad.append(f"perf stat gave no {event}")
            continue
        times, values = series[event]
        for r in rows:
            end = float(r["epoch_s"])
            start = end - float(r["interval_s"])
            oracle = interpolate(times, values, end) - interpolate(times, values, start)
            traced = int(r[column])
            within = abs(traced - oracle) <= max(args.tol * oracle, args.floor)
            checked += 1
            print(f"check-counters: {r['timestamp']} {column} traced {traced}, perf stat "
                  f"{oracle:.0f}: {'ok' if within else 'OUT OF TOLERANCE'}")
            if not within:
                bad.append(column)
    return 1 if bad or not checked else 0


def add_pid_sampler(sub, name):
    """A subcommand that samples processes (--pid, repeated) into --out every --period s."""
    s = sub.add_parser(name)
    s.add_argument("--pid", type=int, action="append", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--period", type=float, default=0.01)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    add_pid_sampler(sub, "sample")
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
    k = sub.add_parser("check-plug")
    k.add_argument("--csv", required=True)
    k.add_argument("--log", required=True)
    k.add_argument("--all-valid", action="store_true")
    t = sub.add_parser("check-split")
    t.add_argument("--folder", required=True)
    q = sub.add_parser("perf-stat")
    q.add_argument("--pid", type=int, required=True)
    q.add_argument("--events", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--interval-ms", type=int, default=20)
    n = sub.add_parser("check-counters")
    n.add_argument("--csv", required=True)
    n.add_argument("--samples", required=True)
    n.add_argument("--column", action="append", required=True, help="CSV_COLUMN=PERF_EVENT")
    n.add_argument("--skip", type=int, default=1)
    n.add_argument("--tol", type=float, default=0.02)
    n.add_argument("--floor", type=float, default=0, help="absolute tolerance for tiny counts")
    add_pid_sampler(sub, "sample-guest")
    f = sub.add_parser("from-ktvmm")
    f.add_argument("--trace", required=True)
    f.add_argument("--field", required=True)
    f.add_argument("--vcpu", type=int, help="this vCPU only (default: summed over all)")
    f.add_argument("--out", required=True)
    m = sub.add_parser("check-column")
    m.add_argument("--csv", required=True)
    m.add_argument("--column", required=True)
    m.add_argument("--samples", required=True)
    m.add_argument("--key", required=True)
    m.add_argument("--where", action="append", default=[], help="COLUMN=VALUE")
    m.add_argument("--skip", type=int, default=1)
    m.add_argument("--tol", type=float, default=0.02)
    m.add_argument("--resolution", type=float, default=0)
    m.add_argument("--less-exits", help="an exits CSV: its counts of --reasons are taken off")
    m.add_argument("--reasons", default="", help="exit reasons, comma-separated")
    args = p.parse_args()
    if args.cmd == "sample-guest":
        sample_guest(args)
        return 0
    if args.cmd == "from-ktvmm":
        from_ktvmm(args)
        return 0
    if args.cmd == "check-column":
        return check_column(args)
    if args.cmd == "perf-stat":
        perf_stat(args)
        return 0
    if args.cmd == "check-counters":
        return check_counters(args)
    if args.cmd == "check-plug":
        return check_plug(args)
    if args.cmd == "check-split":
        return check_split(args)
    if args.cmd == "sample":
        sample(args)
    elif args.cmd == "sample-domstats":
        sample_domstats(args)
    else:
        return check_cpu(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
