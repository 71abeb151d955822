#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks the power model against a run's logs.

Reads DIR/@host.csv (the host's power per interval) and DIR/<vm>.csv of every VM, and fits, by
least squares, the host's power against the VMs' summed figures per interval:

    host_power_w ~ c0 + c1 * cpu_s/s + c2 * guest_s/s + c3 * disk_MiB/s + c4 * net_MiB/s

(terms that never vary in the run are left out). Prints the coefficients, R^2 and the residual,
and with --plot FILE.png draws measured and predicted power over time.
"""
import argparse
import csv
import glob
import math
import os
import sys

TERMS = [
    ("cpu_s_per_s", lambda r: num(r, "cpu_total_ns") / 1e9),
    ("guest_s_per_s", lambda r: num(r, "cpu_guest_ns") / 1e9),
    ("disk_MiB_per_s", lambda r: (num(r, "disk_read_bytes") + num(r, "disk_write_bytes")) / 2**20),
    ("net_MiB_per_s", lambda r: (num(r, "net_rx_bytes") + num(r, "net_tx_bytes")) / 2**20),
]


def num(row, column):
    value = row.get(column, "")
    return float(value) if value not in ("", None) else 0.0


def load(folder):
    host_path = os.path.join(folder, "@host.csv")
    if not os.path.exists(host_path):
        sys.exit(f"power-model: no {host_path}: run kvmtrace-bpf with a power source "
                 "(--power edimax:HOST or rapl) and -o this folder")
    host = {}
    with open(host_path, newline="") as f:
        for row in csv.DictReader(f):
            if row["host_power_w"]:
                host[row["timestamp"]] = {"t": float(row["epoch_s"]),
                                          "dt": float(row["interval_s"]),
                                          "w": float(row["host_power_w"]),
                                          "x": [0.0] * len(TERMS)}
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        name = os.path.basename(path)
        if name.startswith("@") or name.endswith((".vcpu.csv", ".exits.csv")):
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                interval = host.get(row["timestamp"])
                if interval is None:
                    continue
                for i, (_, term) in enumerate(TERMS):
                    interval["x"][i] += term(row) / interval["dt"]
    return sorted(host.values(), key=lambda s: s["t"])


def solve(a, b):
    """Gaussian elimination with partial pivoting; None when singular."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                factor = m[r][col] / m[col][col]
                m[r] = [x - factor * y for x, y in zip(m[r], m[col])]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(samples):
    used = [i for i in range(len(TERMS))
            if len({round(s["x"][i], 9) for s in samples}) > 1]
    rows = [[1.0] + [s["x"][i] for i in used] for s in samples]
    y = [s["w"] for s in samples]
    k = len(rows[0])
    ata = [[sum(r[i] * r[j] for r in rows) for j in range(k)] for i in range(k)]
    aty = [sum(r[i] * yy for r, yy in zip(rows, y)) for i in range(k)]
    coef = solve(ata, aty)
    if coef is None:
        sys.exit("power-model: the figures do not vary independently enough to fit")
    predicted = [sum(c * x for c, x in zip(coef, r)) for r in rows]
    mean = sum(y) / len(y)
    ss_res = sum((a - p) ** 2 for a, p in zip(y, predicted))
    ss_tot = sum((a - mean) ** 2 for a in y)
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    rmse = math.sqrt(ss_res / len(y))
    return used, coef, predicted, r2, rmse


def plot(samples, predicted, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t0 = samples[0]["t"]
    times = [s["t"] - t0 for s in samples]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(times, [s["w"] for s in samples], label="measured host power")
    ax.plot(times, predicted, label="model", linestyle="--")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("power (W)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="the run's output folder (kvmtrace-bpf -o)")
    p.add_argument("--plot", metavar="FILE.png", help="draw measured and predicted power")
    args = p.parse_args()
    samples = load(args.folder)
    if len(samples) < 3:
        sys.exit(f"power-model: {len(samples)} intervals with a known power in {args.folder}; "
                 "need at least 3")
    used, coef, predicted, r2, rmse = fit(samples)
    print(f"power-model: {len(samples)} intervals")
    print(f"  intercept (W): {coef[0]:.3f}")
    for name, c in zip((TERMS[i][0] for i in used), coef[1:]):
        print(f"  {name} (W per unit): {c:.3f}")
    print(f"  R^2: {r2:.4f}")
    print(f"  residual RMS (W): {rmse:.3f}")
    if args.plot:
        plot(samples, predicted, args.plot)
        print(f"  plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
