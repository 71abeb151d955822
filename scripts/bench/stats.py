# SPDX-License-Identifier: GPL-2.0
"""The benchmark's statistics: figures from the raw records of the parts, and verdicts.

A figure is a named list of samples (one per session, round or window), reported as its
median, min and max. The records, as the drivers collect them:
  ops        (part, round, cfg, phase, count, usecs): one window's throughput
  progs      (part, round, cfg, name, hook, run_time_ns, run_cnt, units, usecs): one
             program's bpf_stats over the "on" window
  sampler_stats  (phase, run_time_ns, run_cnt, usecs): one bpf_stats window of the sampler
  sampler_e2e    (trial, cfg, lost_pct, irq_per_s, away_pct, hz, own_cpu_pct, own_ns): one
                 end-to-end trial
The sched part's keys have no prefix, the others' start with "net.", "disk.", "peers." or
"sampler.". Slowdowns compare windows of one session, ratios the sessions of one round.
Pure functions only: no I/O, so that test_stats.py can check them.
"""

from math import comb

DECIMALS = 6  # figures are kept to this many decimals, as the results print them

# The hooks whose handler is compared with the empty program on the same hook.
RATIO_HOOKS = ("sched_switch", "sched_wakeup", "net_dev_start_xmit", "netif_receive_skb",
               "block_bio_queue", "block_rq_complete")


def median(values):
    """The median; of an even count, the mean of the two middle values."""
    v = sorted(values)
    n = len(v)
    if not n:
        raise ValueError("median of no values")
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def fixed(x):
    """x kept to DECIMALS decimals, as printed with %.6f and read back."""
    return float(f"{x:.{DECIMALS}f}")


def summary(values):
    """(median, min, max, n) of the samples: the figure and its interval over the rounds."""
    return fixed(median(values)), fixed(min(values)), fixed(max(values)), len(values)


class Figures:
    """Samples by figure key; summaries() gives each key's (median, min, max, n)."""

    def __init__(self):
        self.samples = {}

    def add(self, key, value):
        self.samples.setdefault(key, []).append(value)

    def summaries(self):
        return {k: summary(v) for k, v in sorted(self.samples.items())}


def prefix(part):
    return "" if part == "sched" else part + "."


def slowdown_pct(attached, detached):
    """Throughput drop (%) of attached against detached (rates: higher is faster)."""
    return 100 * (1 - attached / detached)


def change_pct(after, before):
    """Signed change (%) from before to after."""
    return 100 * (after / before - 1)


def session_figures(ops, progs, units, figures=None):
    """Figures of the workload parts (sched, net, disk, peers) from their records.

    units: part -> (unit key, rate function of (count, usecs)), e.g. ("iops", c * 1e6 / u);
    a part not in it is in µs per operation. Per session (a part, round and configuration
    with pre, off and post windows): the slowdown of off (and of on) against the mean of pre
    and post, the drift pre -> post and its absolute value, the noise; the throughput in the
    part's unit, detached (pre and post) and attached; the programs' time as a share of the
    "on" window (all the programs recorded for it). Per program: ns per run, runs per unit of
    work and per second. Per round: each kvmtrace-bpf handler's ns per run (any configuration
    but empty: tracer, tracked, tracer_switch, ...) over the empty program's on the same hook
    (ratio) and minus it (excess)."""
    fig = figures if figures is not None else Figures()
    per_s, count, usecs, sessions = {}, {}, {}, {}
    for part, rnd, cfg, phase, c, u in ops:
        if c > 0 and u > 0:
            k = (part, rnd, cfg, phase)
            per_s[k] = c * 1e6 / u
            count[k] = c
            usecs[k] = u
            sessions[(part, rnd, cfg)] = 1
    ns, bpf_ns, bpf_usecs = {}, {}, {}
    for part, rnd, cfg, name, hook, dtime, dcnt, work, u in progs:
        if dcnt <= 0:
            continue
        p = prefix(part)
        ns[(part, rnd, cfg, hook)] = dtime / dcnt
        fig.add(f"{p}ns_per_run.{cfg}.{name}", dtime / dcnt)
        if work > 0:
            fig.add(f"{p}runs_per_op.{cfg}.{name}", dcnt / work)
        if u > 0:
            fig.add(f"{p}runs_per_s.{cfg}.{name}", dcnt * 1e6 / u)
        bpf_ns[(part, rnd, cfg)] = bpf_ns.get((part, rnd, cfg), 0) + dtime
        bpf_usecs[(part, rnd, cfg)] = u
    for part, rnd, cfg in sessions:
        k = (part, rnd, cfg)
        if not all(k + (ph,) in per_s for ph in ("pre", "post", "off")):
            continue
        p = prefix(part)
        pre, post = per_s[k + ("pre",)], per_s[k + ("post",)]
        base = (pre + post) / 2
        fig.add(f"{p}slowdown_pct.{cfg}", slowdown_pct(per_s[k + ("off",)], base))
        if k + ("on",) in per_s:
            fig.add(f"{p}slowdown_stats_pct.{cfg}", slowdown_pct(per_s[k + ("on",)], base))
        drift = change_pct(post, pre)
        fig.add(f"{p}drift_pct", drift)
        fig.add(f"{p}noise_pct", abs(drift))
        unit, rate = units.get(part, ("usecs_per_op", lambda c, u: u / c))
        for ph in ("pre", "post"):
            fig.add(f"{p}{unit}.detached", rate(count[k + (ph,)], usecs[k + (ph,)]))
        fig.add(f"{p}{unit}.{cfg}", rate(count[k + ("off",)], usecs[k + ("off",)]))
        if k in bpf_ns:
            fig.add(f"{p}bpf_share_pct.{cfg}", 100 * bpf_ns[k] / (bpf_usecs[k] * 1000))
    for (part, rnd, cfg, h), mine in ns.items():
        empty = ns.get((part, rnd, "empty", h))
        if cfg == "empty" or h not in RATIO_HOOKS or not empty:
            continue
        p = prefix(part)
        fig.add(f"{p}ratio.{cfg}.{h}", mine / empty)
        fig.add(f"{p}excess_ns.{cfg}.{h}", mine - empty)
    return fig


def median_interval(values, level=0.95):
    """The distribution-free interval of the median of values, at least level: the order
    statistics k and n + 1 - k (from 1) of the n sorted values, with k the largest for which the
    chance that as few as k - 1 values fall on one side of the true median, 2 P(B <= k - 1) for B
    binomial (n, 1/2), is at most 1 - level. No assumption about the rounds' distribution (a
    shared machine's noise has long tails). None when n is too small for level (5 or fewer
    values at 95%)."""
    v, n = sorted(values), len(values)
    k, tail = 0, 0.0
    while k < n and 2 * (tail + comb(n, k) / 2 ** n) <= 1 - level:
        tail += comb(n, k) / 2 ** n
        k += 1
    return (v[k - 1], v[n - k]) if k else None


def toward_target(value, interval, target):
    """The half of interval (lo, hi) about value on the side of target: hi - value when value is
    at most target, else value - lo. As met()'s margin, it gives "yes" when the whole interval
    is at most target, "no" when it is all above, "inconclusive" when it holds target."""
    lo, hi = interval
    return hi - value if value <= target else value - lo


INTERVAL_LO, INTERVAL_HI = ".interval_lo", ".interval_hi"


def add_intervals(fig, rows):
    """For each row of a wall-clock figure read against its noise (one with a target and a noise
    key), the 95% interval of its median over the rounds, as figures KEY.interval_lo and
    KEY.interval_hi, where the rounds are enough for one (6 or more)."""
    for row in rows:
        if len(row) < 6 or not row[4] or not row[5] or row[0] not in fig.samples:
            continue
        interval = median_interval(fig.samples[row[0]])
        if interval:
            fig.add(row[0] + INTERVAL_LO, interval[0])
            fig.add(row[0] + INTERVAL_HI, interval[1])


def sampler_figures(windows, trials, ncpu, target, figures=None):
    """Figures of the sampler part, and the 95% interval of its median cost end to end (None
    without trials).

    Per bpf_stats window of each phase (untracked, tracked): runs per second and CPU, ns per
    run and their product as % of one CPU. Per round of trials (trial, cfg, lost %, interrupts
    per second, away %, rate, kvmtrace-bpf's own % of one CPU and ns per sample): the share of
    the measured CPU's time lost to interrupts with the sampler of on (and of empty) minus off,
    as % of one CPU for the host (times ncpu: every CPU is sampled), and per sample; on against
    empty (excess); the interrupts per second it adds; kvmtrace-bpf's own estimate beside."""
    fig = figures if figures is not None else Figures()
    for phase, dtime, dcnt, u in windows:
        if dcnt > 0 and u > 0:
            rate = dcnt / (u / 1e6) / ncpu
            fig.add(f"sampler.hits_per_s_per_cpu.{phase}", rate)
            fig.add(f"sampler.ns_per_hit.{phase}", dtime / dcnt)
            fig.add(f"sampler.cpu_pct.{phase}", rate * (dtime / dcnt) / 1e7)
    by = {}
    for trial, cfg, lost, irqs, away, hz, own_pct, own_ns in trials:
        by[(trial, cfg)] = (lost, irqs, hz)
        fig.add(f"sampler.e2e_lost_pct.{cfg}", lost)
        fig.add("sampler.e2e_away_pct", away)
        if hz > 0:
            fig.add(f"sampler.hz.{cfg}", hz)
        if own_pct is not None:
            fig.add("sampler.own_cpu_pct", own_pct)
            fig.add("sampler.own_us_per_sample", own_ns / 1000)
    cost = {}
    for (t, cfg), (lost, irqs, hz) in sorted(by.items()):
        if cfg == "off" or (t, "off") not in by:
            continue
        off_lost, off_irqs, _ = by[(t, "off")]
        cost[(t, cfg)] = (lost - off_lost) * ncpu
        fig.add(f"sampler.e2e_cpu_pct.{cfg}", cost[(t, cfg)])
        fig.add(f"sampler.e2e_irq_per_s.{cfg}", irqs - off_irqs)
        if hz > 0:
            fig.add(f"sampler.e2e_us_per_sample.{cfg}", (lost - off_lost) / 100 / hz * 1e6)
    for t, cfg in cost:
        if cfg == "on" and (t, "empty") in cost:
            fig.add("sampler.e2e_excess_pct", cost[(t, "on")] - cost[(t, "empty")])
    on = fig.samples.get("sampler.e2e_cpu_pct.on", [])
    interval = median_interval(on)
    if not interval:
        return None
    fig.add("sampler.e2e_margin_pct", toward_target(median(on), interval, target))
    return fixed(interval[0]), fixed(interval[1])


def met(value, target, noise=None, rule=None):
    """The verdict of a median against its target: "yes" when at most the target, else "no".

    noise: for a wall-clock figure, the median noise it is read against (0 when the noise
    was not measured); None for a figure that has none (bpf_stats, ratios). Then the verdict
    is "inconclusive" when the noise is at least the target: the measurement cannot tell such
    a slowdown from noise. With rule "margin" (the sampler's end-to-end slowdown), a verdict
    only when the median is farther from the target than the noise, on either side: a slowdown
    well above a small target is a "no" even when the noise is as large as the target."""
    if noise is not None and rule == "margin":
        if value - noise > target:
            return "no"
        return "yes" if value + noise <= target else "inconclusive"
    if noise is not None and noise >= target:
        return "inconclusive"
    return "yes" if value <= target else "no"


def below_floor(value, floor):
    """The verdict of "below a peer whose cost was not measured but is at least floor" (the
    empty program on the peer's hook: bpftrace's minimal script on sched_switch costs that and
    more): "yes" when value is at most floor, "inconclusive" above it (between the floor and
    the peer's unknown cost), "n/a" without both figures."""
    if value is None or floor is None:
        return "n/a"
    return "yes" if value <= floor else "inconclusive"


def below_peer(mine, peer):
    """The verdict of "below a peer measured alike", each figure as (median, min, max, n) over
    the rounds: "yes" when every round of mine is below every round of the peer, "no" when
    every round is above, "inconclusive" when they overlap, "n/a" without both figures."""
    if mine is None or peer is None:
        return "n/a"
    if mine[2] < peer[1]:
        return "yes"
    return "no" if mine[1] > peer[2] else "inconclusive"


def peer_ratio(peer, kvmtrace):
    """A peer's median slowdown over kvmtrace-bpf's, as the report prints it: "1.6×"; "n/a"
    when either is missing or kvmtrace-bpf's is not above zero (no ratio to a slowdown the
    method cannot tell from none)."""
    if peer is None or kvmtrace is None:
        return "n/a"
    if kvmtrace <= 0:
        return "n/a (kvmtrace-bpf ≤ 0)"
    return f"{peer / kvmtrace:.1f}×"


def lowest(peer, kvmtrace, noise):
    """Is kvmtrace-bpf's median slowdown below this peer's? "no" when the peer's is lower by
    more than the noise, "inconclusive" when within it or when the peer's is a speedup larger
    than the noise (no tool speeds the bench up: that run's noise was larger than its windows
    showed), "yes" otherwise."""
    if peer < -noise:
        return "inconclusive"
    if peer + noise < kvmtrace:
        return "no"
    return "inconclusive" if peer - noise <= kvmtrace else "yes"


def peers_verdict(kvmtrace, peers, noise, target):
    """The target "kvmtrace-bpf the lowest, at <= target %": "met", "not met", "inconclusive"
    or "n/a" (kvmtrace-bpf not measured). kvmtrace: its median slowdown; peers: the other
    tools' medians (None: not run); noise: the median noise (None: not measured, taken as 0)."""
    if kvmtrace is None:
        return "n/a"
    n = noise or 0
    m = met(kvmtrace, target, n)
    low = "yes"
    for p in peers:
        if p is None:
            continue
        v = lowest(p, kvmtrace, n)
        if v == "no":
            low = "no"
        elif v == "inconclusive" and low == "yes":
            low = "inconclusive"
    if "no" in (m, low):
        return "not met"
    if "inconclusive" in (m, low):
        return "inconclusive"
    return "met"
