#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Plots the hypervisor's work on behalf of each VM, split by component, from a run's logs.

Reads DIR/<vm>.csv of every VM (not @host.csv, <vm>.vcpu.csv or <vm>.exits.csv, nor any CSV
without the VM columns) and draws one subplot per VM, in CPU cores (ns / interval_s / 1e9),
stacked bottom up:

    guest time (cpu_guest_ns, when measured)
    the hypervisor's time in the VM's own threads, by component (hyp_*_ns)
    kernel work done for the VM outside its threads (ext_*_ns, estimated; hatched)

x is time, in seconds since the start of the first interval of the run; or, with --steps FILE
(columns start_epoch_s, end_epoch_s, label), one stacked bar per load step, the mean over the
rows whose interval lies inside the step (or, when none does, whose midpoint does).

Empty fields are "not measured" and add nothing. A component that is empty or zero throughout,
for every VM plotted, is left out. Without any hyp_* data (the sampler off) the hypervisor time
is drawn unsplit, from cpu_hyp_ns.

The PNG carries what was drawn in its Description text chunk, as JSON:
{"vms": [...], "series": [column names, bottom up], "mode": "time"|"steps", "steps": [...]}.
Exit status: 0 done (the output path is printed), 1 output not written, 2 usage error.
"""
import argparse
import csv
import glob
import json
import math
import os
import sys

PROG = "plot_components"

# Stacking order, bottom up: (column, legend label, colour). The ext_* columns take the colour
# of the hyp_* component they continue, lighter and hatched.
GUEST = [("cpu_guest_ns", "guest", "#4e79a7")]
HYP = [
    ("hyp_qemu_user_ns", "QEMU (user space)", "#f28e2b"),
    ("hyp_kvm_ns", "KVM", "#e15759"),
    ("hyp_vhost_ns", "vhost", "#59a14f"),
    ("hyp_tap_ns", "tap", "#76b7b2"),
    ("hyp_bridge_ns", "bridge", "#b07aa1"),
    ("hyp_net_ns", "network stack", "#9c755f"),
    ("hyp_block_ns", "block I/O", "#edc948"),
    ("hyp_sched_ns", "scheduler", "#bab0ac"),
    ("hyp_other_kernel_ns", "other kernel", "#79706e"),
]
UNSPLIT = [("cpu_hyp_ns", "hypervisor (unsplit)", "#ff9da7")]
EXT = [
    ("ext_vhost_ns", "vhost (outside the VM)", "#59a14f"),
    ("ext_tap_ns", "tap (outside the VM)", "#76b7b2"),
    ("ext_bridge_ns", "bridge (outside the VM)", "#b07aa1"),
    ("ext_net_ns", "network stack (outside the VM)", "#9c755f"),
]
SERIES = GUEST + HYP + UNSPLIT + EXT
HYP_COLUMNS = [c for c, _, _ in HYP]
NEEDED = ("vm", "epoch_s", "interval_s", "cpu_total_ns")


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def value(row, column):
    """The field as a float, or None when empty, absent or not a number."""
    text = row.get(column)
    if text is None or text.strip() == "":
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def vm_files(folder):
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        name = os.path.basename(path)
        if name.startswith("@") or name.endswith((".vcpu.csv", ".exits.csv")):
            continue
        yield path


def load_vm(path):
    """A VM's rows as dicts: t0/t1 (interval), dt, and ns per series column (None = empty)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not all(c in reader.fieldnames for c in NEEDED):
            return None, []
        name = None
        rows = []
        for row in reader:
            end, dt = value(row, "epoch_s"), value(row, "interval_s")
            if end is None or dt is None or dt <= 0:
                continue
            name = row.get("vm") or name
            r = {"t0": end - dt, "t1": end, "dt": dt}
            for column, _, _ in SERIES:
                r[column] = value(row, column)
            # Unsplit hypervisor time only where no component was measured in the row.
            if any(r[c] is not None for c in HYP_COLUMNS):
                r["cpu_hyp_ns"] = None
            rows.append(r)
    rows.sort(key=lambda r: r["t1"])
    stem = os.path.basename(path)[:-len(".csv")]
    return (name or stem), rows


def load(folder, wanted):
    if not os.path.isdir(folder):
        raise UsageError(f"{folder}: not a folder")
    vms = []
    for path in vm_files(folder):
        try:
            name, rows = load_vm(path)
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")
        if name is None:
            continue
        stem = os.path.basename(path)[:-len(".csv")]
        vms.append({"name": name, "stem": stem, "rows": rows})
    if not vms:
        raise UsageError(f"no VM CSVs in {folder} (<vm>.csv files as kvmtrace-bpf writes them)")
    if wanted:
        chosen = []
        for w in wanted:
            match = [v for v in vms if w in (v["name"], v["stem"])]
            if not match:
                known = ", ".join(v["name"] for v in vms)
                raise UsageError(f"unknown --vm '{w}': the VMs in {folder} are {known}")
            chosen += [v for v in match if v not in chosen]
        vms = chosen
    else:
        vms.sort(key=lambda v: (v["name"].casefold(), v["name"]))
    if not any(v["rows"] for v in vms):
        raise UsageError(f"no data rows in the VM CSVs of {folder}")
    return vms


def load_steps(path):
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("start_epoch_s", "end_epoch_s", "label")
                       if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"--steps {path}: no column {', '.join(missing)} "
                                 "(want start_epoch_s,end_epoch_s,label)")
            steps = []
            for n, row in enumerate(reader, start=2):
                start, end = value(row, "start_epoch_s"), value(row, "end_epoch_s")
                if start is None or end is None or end <= start:
                    raise UsageError(f"--steps {path}:{n}: want start_epoch_s < end_epoch_s")
                steps.append({"start": start, "end": end, "label": row.get("label") or f"#{n - 1}"})
    except OSError as e:
        raise UsageError(f"--steps {path}: {e.strerror}")
    if not steps:
        raise UsageError(f"--steps {path}: no steps")
    return steps


def present(vms):
    """The series drawn: those with a non-zero value somewhere, in stacking order."""
    return [s for s in SERIES
            if any(r[s[0]] for v in vms for r in v["rows"])]


def cores(r, column):
    return (r[column] or 0.0) / r["dt"] / 1e9


def time_axes(ax, vm, series, t_origin):
    """Stacked step areas; a gap in the rows (a VM stopped, another run) stays a gap."""
    xs, ys = [], [[] for _ in series]
    prev_end = None
    for r in vm["rows"]:
        if prev_end is not None and r["t0"] - prev_end > max(0.5 * r["dt"], 0.5):
            # The last interval before the gap drawn to its end, then a break.
            xs += [prev_end - t_origin] * 2
            for y in ys:
                y += [y[-1], math.nan]
        xs.append(r["t0"] - t_origin)
        for y, s in zip(ys, series):
            y.append(cores(r, s[0]))
        prev_end = r["t1"]
    if prev_end is None:
        ax.text(0.5, 0.5, "no rows", transform=ax.transAxes, ha="center", va="center",
                color="#777777")
        return
    # A last point at the end of the last interval, so it is drawn its whole length.
    xs.append(prev_end - t_origin)
    for y in ys:
        y.append(y[-1])
    base = [0.0] * len(xs)
    for y, s in zip(ys, series):
        top = [b + v for b, v in zip(base, y)]
        ax.fill_between(xs, base, top, step="post", linewidth=0.6, **style(s))
        base = top


def style(s):
    column, label, colour = s
    if column.startswith("ext_"):
        return {"facecolor": colour + "55", "edgecolor": colour, "hatch": "///", "label": label}
    return {"facecolor": colour, "edgecolor": colour, "label": label}


def step_rows(rows, step):
    inside = [r for r in rows if r["t0"] >= step["start"] - 1e-3 and r["t1"] <= step["end"] + 1e-3]
    if not inside:
        inside = [r for r in rows if step["start"] <= (r["t0"] + r["t1"]) / 2 < step["end"]]
    return inside


def steps_axes(ax, vm, series, steps):
    xs = list(range(len(steps)))
    base = [0.0] * len(steps)
    heights = [[0.0] * len(steps) for _ in series]
    for i, step in enumerate(steps):
        rows = step_rows(vm["rows"], step)
        if not rows:
            ax.text(i, 0, "no data", ha="center", va="bottom", fontsize=8, color="#777777")
            continue
        span = sum(r["dt"] for r in rows)
        for h, s in zip(heights, series):
            h[i] = sum(r[s[0]] or 0.0 for r in rows) / span / 1e9
    for h, s in zip(heights, series):
        ax.bar(xs, h, width=0.65, bottom=base, linewidth=0.6, **style(s))
        base = [b + v for b, v in zip(base, h)]
    ax.set_xticks(xs)
    ax.set_xticklabels([s["label"] for s in steps])
    ax.set_xlim(-0.6, len(steps) - 0.4)


def plot(args):
    vms = load(args.dir, args.vm)
    steps = load_steps(args.steps) if args.steps else None
    series = present(vms)
    if not any(s[0] in HYP_COLUMNS for s in series):
        if any(s[0] == "cpu_hyp_ns" for s in series):
            print(f"{PROG}: note: no hyp_* component data (sampler off?): the hypervisor time is "
                  "drawn unsplit, from cpu_hyp_ns", file=sys.stderr)
    elif any(s[0] == "cpu_hyp_ns" for s in series):
        print(f"{PROG}: note: some rows have no hyp_* component data: their hypervisor time is "
              "drawn unsplit, from cpu_hyp_ns", file=sys.stderr)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    from datetime import datetime, timezone

    n = len(vms)
    fig, axes = plt.subplots(n, 1, sharex=True, squeeze=False,
                             figsize=(10, 1.0 + 2.4 * n), constrained_layout=True)
    axes = [a[0] for a in axes]
    starts = [r["t0"] for v in vms for r in v["rows"]]
    t_origin = min(starts)
    for ax, vm in zip(axes, vms):
        if steps:
            steps_axes(ax, vm, series, steps)
        else:
            time_axes(ax, vm, series, t_origin)
        ax.set_title(vm["name"], loc="left", fontsize=11, fontweight="bold")
        ax.set_ylabel("CPU (cores)")
        ax.set_ylim(bottom=0)
        ax.margins(x=0 if not steps else 0.02, y=0.08)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if steps:
        if max(len(s["label"]) for s in steps) * len(steps) > 70:
            plt.setp(axes[-1].get_xticklabels(), rotation=30, ha="right")
        axes[-1].set_xlabel("load step (mean over the step)")
    else:
        ms = round(t_origin * 1000)
        start = datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        start += f".{ms % 1000:03d} UTC"
        axes[-1].set_xlabel(f"time (s since {start})")
    # One legend for all subplots, top of the stack first, beside the plots.
    handles, labels = [], []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5),
                   frameon=False, fontsize=9)
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no CPU time", transform=ax.transAxes, ha="center", va="center",
                    color="#777777")
    fig.suptitle(args.title or "CPU of each VM: guest, hypervisor and work outside the VM",
                 fontsize=12)

    out = args.output or os.path.join(args.dir, "components.png")
    meta = {"vms": [v["name"] for v in vms], "series": [s[0] for s in series],
            "mode": "steps" if steps else "time"}
    if steps:
        meta["steps"] = [s["label"] for s in steps]
    try:
        fig.savefig(out, dpi=120, bbox_inches="tight",
                    metadata={"Description": json.dumps(meta)})
    except OSError as e:
        print(f"{PROG}: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    finally:
        plt.close(fig)
    print(out)
    return 0


def main(argv):
    ap = Parser(prog="plot_components.py", description=__doc__.split("\n")[0])
    ap.add_argument("dir", metavar="DIR", help="kvmtrace-bpf's output folder (-o)")
    ap.add_argument("-o", "--output", metavar="OUT.png", help="default DIR/components.png")
    ap.add_argument("--vm", metavar="NAME", nargs="+", action="extend",
                    help="only these VMs (name or file stem), in this order")
    ap.add_argument("--steps", metavar="FILE",
                    help="CSV of load steps: start_epoch_s,end_epoch_s,label; one bar per step")
    ap.add_argument("--title", metavar="TEXT", help="the figure's title")
    try:
        args = ap.parse_args(argv)
        return plot(args)
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
