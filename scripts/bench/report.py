# SPDX-License-Identifier: GPL-2.0
"""The results: bench/results.md (markdown tables) and bench/results.json, with the date and
machine. A run of some parts (BENCH_PARTS) keeps the other parts' sections and figures from
the earlier results, each section with the date of its run."""

import json
import os
import re
import sys
import time

import stats
from lib import RESULT_PARTS, ROOT, TARGET_BPF_SHARE, TARGET_RATIO, TARGET_SAMPLER, TARGET_SLOWDOWN
from lib import NET_HOOKS, SWITCH_ARGS, die, json_number, output, say

WAKEUP_NOTE = "not attached (CONFIG_SCHED_INFO)"


def f2(value, decimals=2):
    return f"{value:.{decimals}f}"


def field(text, n, line=0):
    """Field n (from 0; -1: the last) of a line of text, or ""."""
    lines = text.splitlines()
    words = lines[line].split() if len(lines) > line else []
    return words[n] if words and -len(words) <= n < len(words) else ""


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def kept_section(old_md, head, old_date):
    """The section of old_md whose heading starts with head, as a kept section: its first
    paragraph line says the date of its run. [] when there is none."""
    lines, on = [], False
    for line in old_md.splitlines():
        if on and (line.startswith("## ") or line.startswith("ns/run are bpf_stats")):
            on = False
        if line.startswith(head):
            on = True
        if on:
            lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 3:
        return []
    out = ["", lines[0], ""]
    if not lines[2].startswith("Run of "):
        out.append(f"Run of {old_date} (kept from that run).")
    return out + lines[2:]


def merge(old, new, run_parts):
    """The JSON of a partial run: the earlier results' (old) with this run's (new) over them;
    figures, verdicts and dates of the parts not run kept; method.parts all parts measured."""
    def deep(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for k, v in b.items():
                out[k] = deep(a[k], v) if k in a else v
            return out
        return b

    out = deep(old, new)
    out["figures"] = {**(old.get("figures") or {}), **new["figures"]}
    out["met"] = {**(old.get("met") or {}), **new["met"]}
    parts = set((old.get("method") or {}).get("parts") or []) | set(new["method"]["parts"])
    out["method"]["parts"] = [p for p in RESULT_PARTS if p in parts]
    dates = old.get("part_dates") or {p: old.get("date") for p in (old.get("method") or {}).get("parts") or []}
    out["part_dates"] = {**dates, **new["part_dates"]}
    # The self-checks of parts not run are theirs, not this run's "not measured".
    for key, part in (("perf_self_usecs_per_op", "sched"), ("fio_self_iops", "disk")):
        if part not in run_parts and old.get(key) is not None:
            out[key] = old[key]
    return out


def row_fields(row):
    """A table row's (key, label, unit, decimals, target, noise key, rule), "" when not given.
    A target is a number (the figure's median must be at most it), or, with rule
    "floor:KEY", the text of a peer's cost that was not measured but is at least figure KEY's
    (stats.below_floor), or, with rule "peer:KEY", that of a peer measured as figure KEY
    (stats.below_peer)."""
    return (tuple(row) + ("", "", ""))[:7]


def target_text(target, rule):
    return target if rule.startswith(("floor:", "peer:")) else f"≤ {target}"


def json_figure(v):
    """A figure's number as jq would print it: integral values without ".0"."""
    return int(v) if v == int(v) and abs(v) < 1e15 else v


class Report:
    """This run's results: its figures (key -> (median, min, max, n)) and its parts (the
    drivers, each giving its section, rows and method)."""

    def __init__(self, ctx, parts, fig, run_info, heads):
        self.ctx, self.parts, self.fig, self.info, self.heads = ctx, parts, fig, run_info, heads
        self.date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.wakeup = "sched_wakeup" in ctx.tracer_hooks
        # What the parts print for a figure they did not measure, and its verdict: the rows
        # of a hook the tracer left alone.
        self.notes = {}
        for part in parts.values():
            self.notes.update(part.notes())
        try:
            max_rate = int(read("/proc/sys/kernel/perf_event_max_sample_rate").split()[0])
        except (IndexError, ValueError):
            max_rate = 4000
        self.versions = {
            "perf": field(output(["perf", "version"]), -1),
            # perf record's default rate: 4000 Hz, or the kernel's limit when lower.
            "perf_freq": min(max_rate, 4000),
            "iperf3": field(output(["iperf3", "--version"]), 1),
            "fio": output(["fio", "--version"]).strip(),
            "bpftool": field(output(["bpftool", "version"]), 1),
            "kvmtrace": field(output([ctx.tracer, "--version"]), -1),
        }

    # --- helpers for the drivers' sections ----------------------------------------------

    def med(self, key):
        return self.fig[key][0] if key in self.fig else None

    @staticmethod
    def f2(value, decimals=2):
        return f2(value, decimals)

    def verdict(self, row):
        """met() of a table row with a target: "yes", "no" or "inconclusive" (a row of a
        figure not measured: its note's verdict, "" when it has none)."""
        key, _, _, _, target, noise, rule = row_fields(row)
        if key not in self.fig:
            return self.notes.get(key, ("", ""))[1]
        if rule.startswith("floor:"):
            return stats.below_floor(self.med(key), self.med(rule[len("floor:"):]))
        if rule.startswith("peer:"):
            return stats.below_peer(self.fig.get(key), self.fig.get(rule[len("peer:"):]))
        interval = self.interval(key)
        if noise and interval and not rule:
            margin = stats.toward_target(self.med(key), interval, float(target))
            return stats.met(self.med(key), float(target), margin, "margin")
        n = (self.med(noise) or 0) if noise else None
        return stats.met(self.med(key), float(target), n, rule or None)

    def interval(self, key):
        """The 95% interval of key's median (stats.add_intervals), or None."""
        lo, hi = self.med(key + stats.INTERVAL_LO), self.med(key + stats.INTERVAL_HI)
        return None if lo is None or hi is None else (lo, hi)

    def table(self, rows):
        lines = ["| figure | median | rounds min–max | unit | target | met |",
                 "| --- | ---: | ---: | --- | ---: | --- |"]
        for row in rows:
            key, label, unit, dec, target, _, rule = row_fields(row)
            t = target_text(target, rule) if target else ""
            if key not in self.fig:
                if key in self.notes:
                    what, m = self.notes[key]
                else:
                    what, m = (WAKEUP_NOTE if "wakeup" in key and not self.wakeup else "n/a"), ""
                verdict = f" {m} |" if m and target else " |"
                lines.append(f"| {label} | {what} | | {unit} | {t} |{verdict}")
                continue
            med, lo, hi, _ = self.fig[key]
            m = self.verdict(row) if target else ""
            interval = self.interval(key)
            if m and interval:
                m += f" (95% interval of the median {f2(interval[0], dec)} – {f2(interval[1], dec)})"
            lines.append(f"| {label} | {f2(med, dec)} | {f2(lo, dec)} – {f2(hi, dec)} | {unit} | {t} | {m} |")
        return lines

    # --- the machine ------------------------------------------------------------------

    def machine(self):
        cpuinfo = read("/proc/cpuinfo")
        m = re.search(r"^model name\s*: *(.*)$", cpuinfo, re.M)
        mem = re.search(r"^MemTotal:\s*(\d+)", read("/proc/meminfo"), re.M)
        commit = output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip() or "unknown"
        if commit != "unknown" and output(["git", "-C", ROOT, "status", "--porcelain"]).strip():
            commit += "+uncommitted"
        return {
            "cpu": m.group(1) if m else "",
            "cpus": self.ctx.ncpu,
            "memory_gib": int(f"{int(mem.group(1)) / 1048576:.0f}") if mem else 0,
            "virtualized": re.search(r"\bhypervisor\b", cpuinfo) is not None,
            "clocksource": read("/sys/devices/system/clocksource/clocksource0/current_clocksource").strip(),
            "kernel": os.uname().release,
            "commit": commit,
        }

    # --- markdown ---------------------------------------------------------------------

    def markdown(self, old_md, kept):
        ctx, k, info, mach = self.ctx, self.ctx.k, self.info, self.mach
        old_date = ""
        for line in old_md.splitlines():
            f = re.split(r" *[|] *", line)
            if len(f) > 2 and f[1] == "date (UTC)":
                old_date = f[2]
                break
        names = info["discovered_names"]
        elapsed = ", ".join(f"{p} {info['part_elapsed'][p]} s" for p in info["parts"])
        lines = [
            "# kvmtrace-bpf overhead benchmark",
            "",
            "Written by `make bench` (scripts/bench/bench.py); do not edit by hand.",
            "",
            "| | |",
            "| --- | --- |",
            f"| date (UTC) | {self.date} |",
            f"| machine | {mach['cpu']}, {mach['cpus']} CPUs, {mach['memory_gib']} GiB, virtualized: "
            f"{'yes' if mach['virtualized'] else 'no'}, clocksource {mach['clocksource']} |",
            f"| kernel | {mach['kernel']} |",
            f"| bpftool | {self.versions['bpftool']} |",
            f"| kvmtrace-bpf | {self.versions['kvmtrace']}, commit {mach['commit']}, `-q -i 1` |",
            f"| method | per part, rounds of its configurations, order rotated each round; per session, on one "
            f"workload: a {k.text['WINDOW']} s window detached, attach (the tracer: until it wrote its first "
            f"row, its start-up over; tracked: and one for the workload) and settle until {k.text['SETTLE']} s after attaching began, a window with bpf_stats "
            "off, one with bpf_stats on, detach, a window detached; slowdown = attached vs the mean of the "
            f"detached windows; medians over rounds; workloads {ctx.pin_desc} (the sampler part: see its section) |",
            f"| kvmtrace-bpf's sources | {self.sources()} |",
            "| empty programs | tests/bench/empty.bpf.c, on the hooks of each part that kvmtrace-bpf attaches on "
            f"this kernel (it attaches {self.tracer_attaches()}), and on its scheduler hooks where it attaches "
            "them; the sched part's on sched_switch in every mode (the floor of any scheduler tracer), the net "
            f"part's on {' and '.join(NET_HOOKS)} in every mode (the floor of a tracer that counts each packet) |",
            f"| load average | start {info['load_start']}, end {info['load_end']} |",
            f"| VMs found by discovery in \"not tracked\" | {info['discovered']}{f' ({names})' if names else ''}: "
            "their events take the tracked path |",
            f"| elapsed | {info['elapsed']} s ({elapsed}) |",
        ]
        if kept:
            lines.append(f"| kept from earlier runs | {' '.join(kept)} (each section says the date of its run; "
                         "the header is this run's) |")
        for name in RESULT_PARTS:
            part = self.parts.get(name)
            if part:
                lines += ["", part.title(), "", f"Run of {self.date}."] + part.section(self)
            elif name in kept:
                lines += kept_section(old_md, self.heads[name], old_date)
        lines += [
            "",
            "ns/run are bpf_stats figures (run_time_ns / run_cnt over the window); they include",
            "bpf_stats' own cost (~20 ns per run) for every program, so the \"minus empty program\"",
            "rows are the handlers' own work. With a tracked workload, a handler's ns/run is the mean",
            "over all of its hook's events, tracked or not (for net: every device on the path, one of",
            "which is the VM's tap). A slowdown is the drop of the workload's throughput while",
            "attached (bpf_stats off unless said); the noise rows show the noise it is to be read",
            "against: its verdict is \"inconclusive\" when the noise is at least the target. The sched",
            "estimate from bpf_stats (time in the programs per bench loop over the loop's time) is",
            "steadier; it counts bpf_stats' own cost and not the tracepoint's call into BPF. The net",
            "and disk \"% of the CPU\" rows are the programs' time over the window's wall time.",
        ]
        if not self.wakeup:
            lines += [
                f"\"{WAKEUP_NOTE}\": kvmtrace-bpf attaches no sched_wakeup program on",
                "kernels that keep each task's run delay (CONFIG_SCHED_INFO, as this one); it reads that",
                "at sched_switch, or by its task iterator where nothing needs a program at context",
                "switches, and the empty programs leave that hook alone too.",
            ]
        lines.append("Targets are reported, not enforced.")
        return "\n".join(lines) + "\n"

    def sources(self):
        """kvmtrace-bpf's start-up lines with its defaults on where its scheduler and network
        figures come from, for the header."""
        said = [(self.ctx.sched_source, "scheduler"), (self.ctx.net_source, "network")]
        return "; ".join(f"\"{line}\"" if line else f"nothing on its {what} figures" for line, what in said) + \
            " (its start-up lines, defaults)"

    def tracer_attaches(self):
        """What kvmtrace-bpf attaches here with its defaults (and with --counters task-clock,
        when that mode was measured), for the header."""
        ctx = self.ctx
        text = ", ".join(ctx.tracer_hooks + [f"a {t} iterator" for t in ctx.tracer_iters])
        if ctx.switch_configs:
            more = [h for h in ctx.switch_hooks if h not in ctx.tracer_hooks]
            less = [h for h in ctx.tracer_hooks if h not in ctx.switch_hooks] + \
                [f"the {t} iterator" for t in ctx.tracer_iters]
            text += f"; with `{' '.join(SWITCH_ARGS)}` {', '.join(more) or 'nothing more'}"
            text += f" instead of {', '.join(less)}" if less else ""
        return text

    # --- JSON -------------------------------------------------------------------------

    def json(self):
        ctx, k, info, mach = self.ctx, self.ctx.k, self.info, self.mach
        method = {"parts": list(info["parts"]), "cpus": k.cpus or "all",
                  "window_s": json_number(k.text["WINDOW"]), "settle_s": json_number(k.text["SETTLE"]),
                  "elapsed_s": info["elapsed"]}
        for name in RESULT_PARTS:
            if name in self.parts:
                method[name] = self.parts[name].method()
        out = {
            "date": self.date,
            "machine": {x: mach[x] for x in ("cpu", "cpus", "memory_gib", "virtualized", "clocksource", "kernel")},
            "perf_version": self.versions["perf"],
            "iperf3_version": self.versions["iperf3"],
            "fio_version": self.versions["fio"],
            "bpftool_version": self.versions["bpftool"],
            "kvmtrace_version": self.versions["kvmtrace"],
            "commit": mach["commit"],
            "tracer_hooks": list(ctx.tracer_hooks),
            "tracer_iterators": list(ctx.tracer_iters),
            "sched_switch_attached": "sched_switch" in ctx.tracer_hooks,
            "scheduler_figures": ctx.sched_source,
            "network_figures": ctx.net_source,
            "net_hooks_attached": [h for h in NET_HOOKS if h in ctx.tracer_hooks],
            "sched_wakeup_attached": self.wakeup,
            "method": method,
        }
        if "peers" in self.parts:
            out["peers"] = self.parts["peers"].summary_json(self)
        sched, disk = self.parts.get("sched"), self.parts.get("disk")
        out.update({
            "part_dates": {p: self.date for p in info["parts"]},
            "load_average": {"start": info["load_start"], "end": info["load_end"]},
            "vms_discovered": info["discovered"],
            "vms_discovered_names": info["discovered_names"],
            "perf_self_usecs_per_op": sched.perf_self if sched else None,
            "fio_self_iops": disk.fio_self if disk else None,
            "targets": {"handler_ratio_max": json_number(TARGET_RATIO),
                        "slowdown_pct_max": json_number(TARGET_SLOWDOWN),
                        "bpf_share_pct_max": json_number(TARGET_BPF_SHARE),
                        "sampler_cpu_pct_max": json_number(TARGET_SAMPLER)},
            "figures": {key: {"median": json_figure(med), "min": json_figure(lo), "max": json_figure(hi)}
                        for key, (med, lo, hi, _) in sorted(self.fig.items())},
            "met": {},
        })
        for part in (self.parts[n] for n in RESULT_PARTS if n in self.parts):
            for row in part.rows():
                key, target = row_fields(row)[0], row_fields(row)[4]
                if target and (key in self.fig or self.notes.get(key, ("", ""))[1]):
                    out["met"][key] = {"yes": True, "no": False}.get(self.verdict(row))
        return out

    def write(self):
        """Writes results.md and results.json, keeping the sections and figures of the parts
        not run from the earlier ones; prints results.md."""
        folder = self.ctx.k.results_dir
        md_path, json_path = os.path.join(folder, "results.md"), os.path.join(folder, "results.json")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            die(f"cannot create {folder}")
        old_md, old_json = read(md_path), read(json_path)
        kept = [p for p in RESULT_PARTS if p not in self.parts
                and re.search("^" + re.escape(self.heads[p]), old_md, re.M)]
        self.mach = self.machine()
        text = self.markdown(old_md, kept)
        result = self.json()
        if kept and old_json.strip():
            try:
                result = merge(json.loads(old_json), result, self.parts)
            except (ValueError, TypeError, AttributeError, KeyError) as e:
                say(f"cannot merge the earlier {json_path} ({e}): it holds this run's parts only")
        for path, content in ((md_path, text), (json_path, json.dumps(result, indent=2, ensure_ascii=False) + "\n")):
            try:
                with open(path + ".tmp", "w") as f:
                    f.write(content)
                os.replace(path + ".tmp", path)
            except OSError as e:
                die(f"cannot write {path}: {e}")
        sys.stdout.write(text)
        sys.stdout.flush()
        say(f"results in {md_path} and {json_path} ({self.info['elapsed']} s)")
