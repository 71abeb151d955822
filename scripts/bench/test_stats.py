# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the benchmark's statistics (stats.py) and of its report's pure parts
(report.py, and the sched part's rows, notes and required figures in both modes of
kvmtrace-bpf's scheduler figures; the net part's with and without its per-packet programs):
python3 -m unittest discover -s scripts/bench (tests/e2e/test_bench_stats.sh)."""

import os
import shutil
import sys
import tempfile
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import lib  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402
from net import Net  # noqa: E402
from peers import Peers  # noqa: E402
from sched import Sched  # noqa: E402  (this folder's, not the standard library's)

GBIT = ("gbit_per_s", lambda c, u: c * 8 / u / 1000)


class TestMedian(unittest.TestCase):
    def test_odd(self):
        self.assertEqual(stats.median([5, 1, 3]), 3)

    def test_even_is_the_mean_of_the_middle_two(self):
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)

    def test_one(self):
        self.assertEqual(stats.median([-7.25]), -7.25)

    def test_none(self):
        with self.assertRaises(ValueError):
            stats.median([])

    def test_summary_is_median_min_max_n_to_six_decimals(self):
        self.assertEqual(stats.summary([2.0000004, 1 / 3, 9]), (2.0, 0.333333, 9.0, 3))

    def test_figures_sorted_by_key(self):
        fig = stats.Figures()
        fig.add("b", 2)
        fig.add("a.x", 1)
        fig.add("a", 4)
        fig.add("a", 6)
        self.assertEqual(list(fig.summaries()), ["a", "a.x", "b"])
        self.assertEqual(fig.summaries()["a"], (5.0, 4.0, 6.0, 2))


class TestSessions(unittest.TestCase):
    """The windows of one session: pre and post detached, off and on attached."""

    def ops(self, part="sched", rnd=1, cfg="tracer", pre=1000, off=900, on=800, post=1000):
        # (count, µs): the rate is count per second; sched's unit is µs per count.
        return [(part, rnd, cfg, "pre", pre, 10**6), (part, rnd, cfg, "off", off, 10**6),
                (part, rnd, cfg, "on", on, 10**6), (part, rnd, cfg, "post", post, 10**6)]

    def test_slowdown_against_the_mean_of_pre_and_post(self):
        fig = stats.session_figures(self.ops(pre=1100, post=900, off=900, on=800), [], {}).summaries()
        self.assertEqual(fig["slowdown_pct.tracer"][0], 10.0)
        self.assertEqual(fig["slowdown_stats_pct.tracer"][0], 20.0)

    def test_drift_signed_and_noise_absolute(self):
        fig = stats.session_figures(self.ops(pre=1000, post=900), [], {}).summaries()
        self.assertEqual(fig["drift_pct"][0], -10.0)
        self.assertEqual(fig["noise_pct"][0], 10.0)

    def test_unit_of_the_part(self):
        fig = stats.session_figures(self.ops(pre=1000, post=3000, off=2000), [], {}).summaries()
        # sched: µs per loop; detached takes both the pre and the post window.
        self.assertEqual(fig["usecs_per_op.detached"], (666.666667, 333.333333, 1000.0, 2))
        self.assertEqual(fig["usecs_per_op.tracer"][0], 500.0)
        net = stats.session_figures(self.ops("net", off=125000), [], {"net": GBIT}).summaries()
        self.assertEqual(net["net.gbit_per_s.tracer"][0], 0.001)
        self.assertNotIn("net.usecs_per_op.tracer", net)

    def test_a_session_without_its_post_window_is_left_out(self):
        fig = stats.session_figures(self.ops()[:3], [], {}).summaries()
        self.assertNotIn("slowdown_pct.tracer", fig)

    def test_an_empty_window_is_left_out(self):
        fig = stats.session_figures(self.ops(off=0), [], {}).summaries()
        self.assertNotIn("slowdown_pct.tracer", fig)

    def test_medians_over_the_rounds(self):
        ops = self.ops(rnd=1, off=990) + self.ops(rnd=2, off=900) + self.ops(rnd=3, off=500)
        fig = stats.session_figures(ops, [], {}).summaries()
        self.assertEqual(fig["slowdown_pct.tracer"], (10.0, 1.0, 50.0, 3))

    def test_programs_ratio_excess_share(self):
        progs = [
            # part round cfg name hook run_time_ns run_cnt units µs
            ("sched", 1, "empty", "empty_switch", "sched_switch", 50000, 1000, 500, 10**6),
            ("sched", 1, "tracer", "kt_sched_switch", "sched_switch", 150000, 1000, 500, 10**6),
            ("sched", 1, "tracer", "kt_other", "sched_process_exit", 10000, 0, 500, 10**6),
        ]
        fig = stats.session_figures(self.ops(), progs, {}).summaries()
        self.assertEqual(fig["ns_per_run.tracer.kt_sched_switch"][0], 150.0)
        self.assertEqual(fig["runs_per_op.tracer.kt_sched_switch"][0], 2.0)
        self.assertEqual(fig["ratio.tracer.sched_switch"][0], 3.0)
        self.assertEqual(fig["excess_ns.tracer.sched_switch"][0], 100.0)
        # Programs that never ran count for nothing; the share is of the "on" window.
        self.assertNotIn("ns_per_run.tracer.kt_other", fig)
        self.assertEqual(fig["bpf_share_pct.tracer"][0], 0.015)

    def test_every_program_in_the_share_and_a_ratio_in_every_tracer_configuration(self):
        progs = [
            ("sched", 1, "empty", "empty_switch", "sched_switch", 50000, 1000, 500, 10**6),
            # The default mode: no sched_switch; the iterator, the sampler, a program run by
            # user space: all in the share, none with a ratio.
            ("sched", 1, "tracer", "kt_task_iter", "iter/task", 20000, 400, 500, 2 * 10**6),
            ("sched", 1, "tracer", "kt_sample", "perf_event", 8000, 20, 500, 2 * 10**6),
            ("sched", 1, "tracer", "kt_cpu_flush", "", 2000, 2, 500, 2 * 10**6),
            ("sched", 1, "tracer_switch", "kt_sched_switch", "sched_switch", 120000, 1000, 500, 10**6),
        ]
        fig = stats.session_figures(self.ops() + self.ops(cfg="tracer_switch"), progs, {}).summaries()
        self.assertEqual(fig["bpf_share_pct.tracer"][0], 0.0015)
        self.assertEqual(fig["ns_per_run.tracer.kt_task_iter"][0], 50.0)
        self.assertEqual(fig["runs_per_s.tracer.kt_task_iter"][0], 200.0)
        self.assertEqual(fig["ratio.tracer_switch.sched_switch"][0], 2.4)
        self.assertEqual(fig["excess_ns.tracer_switch.sched_switch"][0], 70.0)
        self.assertFalse([k for k in fig if k.startswith(("ratio.tracer.", "ratio.empty", "excess_ns.tracer."))])

    def test_no_ratio_without_the_empty_program_of_that_round(self):
        progs = [("disk", 1, "empty", "empty_bio_queue", "block_bio_queue", 50, 1, 1, 10**6),
                 ("disk", 2, "tracked", "kt_bio_queue", "block_bio_queue", 500, 1, 1, 10**6)]
        fig = stats.session_figures([], progs, {}).summaries()
        self.assertIn("disk.ns_per_run.tracked.kt_bio_queue", fig)
        self.assertNotIn("disk.ratio.tracked.block_bio_queue", fig)


class TestSampler(unittest.TestCase):
    def test_program_time(self):
        # 2 CPUs, 1000 runs in 1 s: 500 Hz per CPU; 400 ns each: 0.02% of one CPU.
        fig = stats.Figures()
        self.assertIsNone(stats.sampler_figures([("untracked", 400000, 1000, 10**6)], [], 2, 0.5, fig))
        fig = fig.summaries()
        self.assertEqual(fig["sampler.hits_per_s_per_cpu.untracked"][0], 500.0)
        self.assertEqual(fig["sampler.ns_per_hit.untracked"][0], 400.0)
        self.assertEqual(fig["sampler.cpu_pct.untracked"][0], 0.02)

    def test_end_to_end_lost_share_on_minus_off_times_the_cpus(self):
        # (trial, cfg, lost %, interrupts/s, away %, Hz, own % of one CPU, own ns per sample)
        trials = [(1, "on", 0.5, 1400.0, 20, 400, 0.4, 5000.0), (1, "off", 0.3, 1000.0, 10, 0, None, None),
                  (1, "empty", 0.4, 1390.0, 30, 400, None, None),
                  (2, "on", 0.6, 1410.0, 40, 400, 0.5, 6000.0), (2, "off", 0.3, 1000.0, 0, 0, None, None)]
        fig = stats.Figures()
        self.assertIsNone(stats.sampler_figures([], trials, 2, 0.5, fig))
        fig = fig.summaries()
        # Round 1: (0.5 - 0.3) x 2 CPUs = 0.4% of one CPU; round 2: 0.6.
        self.assertEqual(fig["sampler.e2e_cpu_pct.on"], (0.5, 0.4, 0.6, 2))
        self.assertEqual(fig["sampler.e2e_cpu_pct.empty"], (0.2, 0.2, 0.2, 1))
        self.assertEqual(fig["sampler.e2e_excess_pct"][0], 0.2)
        # 0.2% of the CPU at 400 Hz: 5 µs per sample.
        self.assertEqual(fig["sampler.e2e_us_per_sample.on"][1], 5.0)
        self.assertEqual(fig["sampler.e2e_irq_per_s.on"], (405.0, 400.0, 410.0, 2))
        self.assertEqual(fig["sampler.own_us_per_sample"], (5.5, 5.0, 6.0, 2))
        self.assertEqual(fig["sampler.own_cpu_pct"][0], 0.45)
        self.assertEqual(fig["sampler.hz.on"][0], 400)
        self.assertEqual(fig["sampler.e2e_away_pct"][3], 5)
        # Two rounds give no 95% interval, hence no margin for a verdict.
        self.assertNotIn("sampler.e2e_margin_pct", fig)

    def test_margin_is_the_interval_on_the_targets_side(self):
        trials = [(t, cfg, lost, 0.0, 0, 400 if cfg == "on" else 0, None, None)
                  for t, d in enumerate([0.10, 0.12, 0.13, 0.15, 0.30, 0.11], 1)
                  for cfg, lost in (("on", 1 + d), ("off", 1.0))]
        fig = stats.Figures()
        # Six rounds: the interval is the min and the max; doubled by the 2 CPUs.
        self.assertEqual(stats.sampler_figures([], trials, 2, 0.5, fig), (0.2, 0.6))
        med = fig.summaries()["sampler.e2e_cpu_pct.on"][0]
        self.assertAlmostEqual(med, 0.25)
        self.assertAlmostEqual(fig.summaries()["sampler.e2e_margin_pct"][0], 0.35)
        self.assertEqual(stats.met(med, 0.5, 0.35, "margin"), "inconclusive")

    def test_no_cost_per_sample_without_a_rate(self):
        fig = stats.Figures()
        stats.sampler_figures([], [(1, "on", 1.0, 0.0, 0, 0, None, None), (1, "off", 0.5, 0.0, 0, 0, None, None)],
                              2, 0.5, fig)
        self.assertIn("sampler.e2e_cpu_pct.on", fig.summaries())
        self.assertNotIn("sampler.e2e_us_per_sample.on", fig.summaries())


class TestMedianInterval(unittest.TestCase):
    def test_order_statistics_at_95(self):
        self.assertIsNone(stats.median_interval([3, 1, 2, 5, 4]))
        self.assertEqual(stats.median_interval([6, 1, 2, 5, 4, 3]), (1, 6))
        # 20 values: the 6th and the 15th (P(B <= 5) = 0.021 for B binomial (20, 1/2)).
        self.assertEqual(stats.median_interval(list(range(20, 0, -1))), (6, 15))

    def test_verdict_from_the_side_toward_the_target(self):
        self.assertEqual(stats.toward_target(0.25, (0.125, 0.375), 0.5), 0.125)
        self.assertEqual(stats.met(0.25, 0.5, 0.125, "margin"), "yes")
        self.assertEqual(stats.toward_target(0.75, (0.625, 0.875), 0.5), 0.125)
        self.assertEqual(stats.met(0.75, 0.5, 0.125, "margin"), "no")
        self.assertEqual(stats.met(0.4, 0.5, stats.toward_target(0.4, (0.3, 0.55), 0.5), "margin"),
                         "inconclusive")


class TestIntervals(unittest.TestCase):
    """A slowdown's verdict by its median's 95% interval, where the rounds give one."""

    ROW = ("a", "A", "%", 2, "1", "n")

    def test_rows_read_against_noise_get_an_interval(self):
        fig = stats.Figures()
        for v in (0.1, 0.6, 0.2, 0.5, 0.3, 0.4):
            fig.add("a", v)
            fig.add("b", v)
        for v in (1, 2, 3):
            fig.add("few", v)
        stats.add_intervals(fig, [self.ROW, ("b", "B", "%", 2, "1"), ("few", "F", "%", 2, "1", "n"),
                                  ("gone", "G", "%", 2, "1", "n")])
        got = fig.summaries()
        self.assertEqual(got["a.interval_lo"][0], 0.1)
        self.assertEqual(got["a.interval_hi"][0], 0.6)
        self.assertNotIn("b.interval_lo", got)      # no noise key: not a wall-clock figure
        self.assertNotIn("few.interval_lo", got)    # 3 rounds give no 95% interval

    def report(self, lo, hi):
        rep = report.Report.__new__(report.Report)
        rep.fig = {"a": (0.5, 0.1, 2.0, 6), "a.interval_lo": (lo, lo, lo, 1),
                   "a.interval_hi": (hi, hi, hi, 1), "n": (2.0, 2.0, 2.0, 6)}
        rep.wakeup, rep.notes = False, {}
        return rep

    def test_the_interval_decides_and_is_shown(self):
        # The noise (2%) is above the target: without an interval that is "inconclusive".
        self.assertEqual(self.report(0.2, 0.8).table([self.ROW])[2],
                         "| A | 0.50 | 0.10 – 2.00 | % | ≤ 1 | yes (95% interval of the median 0.20 – 0.80) |")
        self.assertEqual(self.report(0.2, 1.3).verdict(self.ROW), "inconclusive")
        self.assertEqual(self.report(0.2, 1.3).table([self.ROW])[2],
                         "| A | 0.50 | 0.10 – 2.00 | % | ≤ 1 | inconclusive (95% interval of the median 0.20 – 1.30) |")


class TestVerdicts(unittest.TestCase):
    def test_plain_target(self):
        self.assertEqual(stats.met(1.5, 1.5), "yes")
        self.assertEqual(stats.met(1.51, 1.5), "no")

    def test_noise_at_least_the_target_is_inconclusive(self):
        self.assertEqual(stats.met(0.5, 2, 2), "inconclusive")
        self.assertEqual(stats.met(9, 2, 3), "inconclusive")
        self.assertEqual(stats.met(1.9, 2, 1.99), "yes")
        self.assertEqual(stats.met(2.1, 2, 1), "no")

    def test_noise_not_measured_counts_as_none(self):
        self.assertEqual(stats.met(1, 2, 0), "yes")

    def test_margin_rule(self):
        # A verdict only when the median is farther from the target than the noise.
        self.assertEqual(stats.met(2.06, 0.5, 2.36, "margin"), "inconclusive")
        self.assertEqual(stats.met(3.0, 0.5, 1.0, "margin"), "no")
        self.assertEqual(stats.met(0.1, 0.5, 0.3, "margin"), "yes")
        self.assertEqual(stats.met(0.3, 0.5, 0.3, "margin"), "inconclusive")

    def test_below_a_peer_known_by_its_floor(self):
        self.assertEqual(stats.below_floor(0.05, 0.9), "yes")
        self.assertEqual(stats.below_floor(0.9, 0.9), "yes")
        # Above the floor, the peer's own cost would tell: not measured.
        self.assertEqual(stats.below_floor(5.0, 0.9), "inconclusive")
        self.assertEqual(stats.below_floor(None, 0.9), "n/a")
        self.assertEqual(stats.below_floor(0.1, None), "n/a")

    def test_below_a_peer_measured_alike(self):
        bpftrace = (30.0, 28.0, 33.0, 6)
        self.assertEqual(stats.below_peer((18.2, 18.1, 18.5, 6), bpftrace), "yes")
        self.assertEqual(stats.below_peer((40.0, 34.0, 41.0, 6), bpftrace), "no")
        # One round of each on the other's side: the rounds cannot tell.
        self.assertEqual(stats.below_peer((27.0, 20.0, 29.0, 6), bpftrace), "inconclusive")
        self.assertEqual(stats.below_peer(None, bpftrace), "n/a")
        self.assertEqual(stats.below_peer((1.0, 1.0, 1.0, 6), None), "n/a")

    def test_peer_ratio(self):
        self.assertEqual(stats.peer_ratio(16.47, 10.55), "1.6×")
        self.assertEqual(stats.peer_ratio(5, 0), "n/a (kvmtrace-bpf ≤ 0)")
        self.assertEqual(stats.peer_ratio(None, 10), "n/a")

    def test_lowest(self):
        self.assertEqual(stats.lowest(20, 10, 1), "yes")
        self.assertEqual(stats.lowest(9.9, 10.55, 0.56), "no")
        self.assertEqual(stats.lowest(10.2, 10.55, 0.56), "inconclusive")
        # A speedup larger than the noise: that run's noise was larger than it showed.
        self.assertEqual(stats.lowest(-2, 10, 1), "inconclusive")

    def test_peers_verdict(self):
        committed = dict(kvmtrace=10.55, peers=[16.47, 22.03, 9.92], noise=0.56, target=2.0)
        self.assertEqual(stats.peers_verdict(**committed), "not met")
        self.assertEqual(stats.peers_verdict(1.0, [5, 6, None], 0.5, 2.0), "met")
        self.assertEqual(stats.peers_verdict(1.0, [1.2, 6], 0.5, 2.0), "inconclusive")
        self.assertEqual(stats.peers_verdict(1.0, [5], 3, 2.0), "inconclusive")
        self.assertEqual(stats.peers_verdict(None, [5], 1, 2.0), "n/a")


class TestReport(unittest.TestCase):
    def report(self, fig, wakeup=False, notes=None):
        rep = report.Report.__new__(report.Report)
        rep.fig, rep.wakeup, rep.notes = fig, wakeup, notes or {}
        return rep

    def test_table_rows(self):
        rep = self.report({"a": (3.14159, 1.0, 5.0, 3), "n": (0.5, 0.1, 0.9, 3)})
        lines = rep.table([("a", "A", "%", 2, "2", "n"), ("n", "noise", "%", 1),
                           ("gone", "G", "×", 2, "1.5"), ("x.sched_wakeup", "W", "runs", 2)])
        self.assertEqual(lines[2], "| A | 3.14 | 1.00 – 5.00 | % | ≤ 2 | no |")
        self.assertEqual(lines[3], "| noise | 0.5 | 0.1 – 0.9 | % |  |  |")
        self.assertEqual(lines[4], "| G | n/a | | × | ≤ 1.5 | |")
        self.assertEqual(lines[5], "| W | not attached (CONFIG_SCHED_INFO) | | runs |  | |")

    def test_a_note_instead_of_a_figure_and_its_verdict(self):
        rep = self.report({}, notes={"r": ("not attached (task iterator)", "yes"), "x": ("not attached", "")})
        rows = [("r", "R", "×", 2, "1.2"), ("x", "X", "ns/run", 1), ("x.sched_wakeup", "W", "×", 2, "1.2")]
        lines = rep.table(rows)
        self.assertEqual(lines[2], "| R | not attached (task iterator) | | × | ≤ 1.2 | yes |")
        self.assertEqual(lines[3], "| X | not attached | | ns/run |  | |")
        self.assertEqual(lines[4], "| W | not attached (CONFIG_SCHED_INFO) | | × | ≤ 1.2 | |")
        self.assertEqual([rep.verdict(r) for r in rows], ["yes", "", ""])

    def test_floor_rule(self):
        rep = self.report({"s": (0.05, 0.04, 0.06, 2), "e": (0.9, 0.8, 1.0, 2), "t": (5.0, 4.0, 6.0, 2)})
        rows = [("s", "S", "%", 3, "< bpftrace's minimal script", "", "floor:e"),
                ("t", "T", "%", 3, "< bpftrace's minimal script", "", "floor:e")]
        lines = rep.table(rows)
        self.assertEqual(lines[2], "| S | 0.050 | 0.040 – 0.060 | % | < bpftrace's minimal script | yes |")
        self.assertEqual(lines[3], "| T | 5.000 | 4.000 – 6.000 | % | < bpftrace's minimal script | inconclusive |")

    def test_peer_rule(self):
        rep = self.report({"s": (18.2, 18.1, 18.5, 6), "b": (30.0, 28.0, 33.0, 6)})
        rows = [("s", "S", "%", 3, "< bpftrace's minimal script", "", "peer:b"),
                ("s", "S", "%", 3, "< bpftrace's minimal script", "", "peer:gone")]
        lines = rep.table(rows)
        self.assertEqual(lines[2], "| S | 18.200 | 18.100 – 18.500 | % | < bpftrace's minimal script | yes |")
        self.assertEqual(lines[3], "| S | 18.200 | 18.100 – 18.500 | % | < bpftrace's minimal script | n/a |")

    def test_what_the_tracer_attaches_in_both_modes(self):
        rep = self.report({})
        rep.ctx = types.SimpleNamespace(
            tracer_hooks=["sched_process_free", "sched_process_exit", "net_dev_start_xmit"], tracer_iters=["task"],
            switch_configs=True, switch_hooks=["sched_switch", "sched_process_exit", "net_dev_start_xmit"])
        self.assertEqual(rep.tracer_attaches(), "sched_process_free, sched_process_exit, net_dev_start_xmit, a task "
                         "iterator; with `--counters task-clock` sched_switch instead of sched_process_free, the task "
                         "iterator")
        rep.ctx.switch_configs = False
        self.assertEqual(rep.tracer_attaches(), "sched_process_free, sched_process_exit, net_dev_start_xmit, a task "
                         "iterator")

    def test_kept_section_says_its_date(self):
        old = "# t\n\n## Disk: fio\n\nfio 3.33, text\n\n| table |\n\n## Sampler: x\n\nRun of D1.\nmore\n\n" \
              "ns/run are bpf_stats figures\nfooter\n"
        self.assertEqual(report.kept_section(old, "## Disk", "D0"),
                         ["", "## Disk: fio", "", "Run of D0 (kept from that run).", "fio 3.33, text", "", "| table |"])
        self.assertEqual(report.kept_section(old, "## Sampler", "D0"), ["", "## Sampler: x", "", "Run of D1.", "more"])
        self.assertEqual(report.kept_section(old, "## Peers", "D0"), [])

    def test_merge_keeps_the_parts_not_run(self):
        old = {"date": "D0", "method": {"parts": ["sched", "peers"], "sched": {"rounds": 5}, "peers": {"rounds": 6}},
               "figures": {"x": 1, "peers.y": 2}, "met": {"x": True}, "perf_self_usecs_per_op": 13.4,
               "peers": {"note": ""}}
        new = {"date": "D1", "method": {"parts": ["net", "sched"], "sched": {"rounds": 1}, "net": {"rounds": 3}},
               "figures": {"x": 3, "net.z": 4}, "met": {}, "part_dates": {"net": "D1", "sched": "D1"},
               "perf_self_usecs_per_op": 14.0, "fio_self_iops": None}
        out = report.merge(old, new, ["net", "sched"])
        self.assertEqual(out["method"]["parts"], ["sched", "net", "peers"])
        self.assertEqual(out["method"]["peers"], {"rounds": 6})
        self.assertEqual(out["method"]["sched"], {"rounds": 1})
        self.assertEqual(out["figures"], {"x": 3, "peers.y": 2, "net.z": 4})
        self.assertEqual(out["met"], {"x": True})
        self.assertEqual(out["part_dates"], {"sched": "D1", "peers": "D0", "net": "D1"})
        self.assertEqual(out["perf_self_usecs_per_op"], 14.0)
        self.assertEqual(out["peers"], {"note": ""})
        # A part not run keeps its self-check.
        out = report.merge(old, dict(new, perf_self_usecs_per_op=None), ["net"])
        self.assertEqual(out["perf_self_usecs_per_op"], 13.4)


def sched_part(switch_configs=False, linked=None, tracer_hooks=()):
    """The sched part as the report sees it after a run: its configurations (with the second
    mode when measured) and the hooks each configuration's attacher was linked to."""
    knobs = types.SimpleNamespace(text={"SCHED_SWITCH": "auto", "ROUNDS": "1"}, rounds=1)
    ctx = types.SimpleNamespace(k=knobs, switch_configs=switch_configs, tracer_hooks=list(tracer_hooks),
                                switch_hooks=["sched_switch"] if switch_configs else [])
    part = Sched(ctx)
    if switch_configs:
        part.configs = part.configs + ("tracer_switch", "tracked_switch")
    part.linked = {c: [frozenset(h)] for c, h in (linked or {}).items()}
    return part


ITER_MODE = ("sched_process_exit", "sched_process_exec", "sched_process_free")
SWITCH_MODE = ("sched_switch", "sched_process_exit", "sched_process_exec")


class TestSchedModes(unittest.TestCase):
    """The sched part's rows where kvmtrace-bpf leaves sched_switch alone (the task iterator)
    and where it hooks it (--counters task-clock)."""

    def both(self):
        return sched_part(True, {"tracer": ITER_MODE, "tracked": ITER_MODE,
                                 "tracer_switch": SWITCH_MODE, "tracked_switch": SWITCH_MODE})

    def rows(self, part):
        return {report.row_fields(r)[0]: report.row_fields(r) for r in part.rows()}

    def test_not_hooked_is_met_and_not_required(self):
        part = self.both()
        notes = part.notes()
        self.assertEqual(notes["ratio.tracer.sched_switch"], ("not attached (task iterator)", "yes"))
        self.assertEqual(notes["ratio.tracked.sched_switch"], ("not attached (task iterator)", "yes"))
        self.assertEqual(notes["ns_per_run.tracked.kt_sched_switch"], ("not attached (task iterator)", ""))
        self.assertEqual(notes["excess_ns.tracer.sched_switch"], ("not attached (task iterator)", ""))
        self.assertNotIn("ratio.tracer_switch.sched_switch", notes)
        self.assertEqual(sorted(part.required), [
            "ratio.tracer_switch.sched_switch", "ratio.tracked_switch.sched_switch", "slowdown_pct.tracer",
            "slowdown_pct.tracer_switch", "slowdown_pct.tracked", "slowdown_pct.tracked_switch",
            "usecs_per_op.detached"])
        rep = report.Report.__new__(report.Report)
        rep.fig, rep.wakeup, rep.notes = {"ratio.tracer_switch.sched_switch": (2.5, 2.0, 3.0, 2)}, False, notes
        rows = self.rows(part)
        lines = rep.table([rows["ratio.tracer.sched_switch"], rows["ratio.tracer_switch.sched_switch"]])
        self.assertEqual(lines[2], "| kt_sched_switch vs empty program, ns/run ratio, kvmtrace-bpf, bench not tracked "
                         "| not attached (task iterator) | | × | ≤ 1.2 | yes |")
        self.assertEqual(lines[3], "| kt_sched_switch vs empty program, ns/run ratio, kvmtrace-bpf --counters task-clock "
                         "(sched_switch hooked), bench not tracked | 2.50 | 2.00 – 3.00 | × | ≤ 1.2 | no |")
        # The JSON's verdict of a note: met.
        self.assertEqual(rep.verdict(rows["ratio.tracked.sched_switch"]), "yes")

    def test_targets_of_the_time_in_the_programs(self):
        rows = self.rows(self.both())
        self.assertEqual(rows["bpf_share_pct.tracer"][4:], ("0.1", "", ""))
        self.assertEqual(rows["bpf_share_pct.tracer_switch"][4:], ("0.1", "", ""))
        floor = ("< bpftrace's minimal script", "", "floor:bpf_share_pct.empty")
        self.assertEqual(rows["bpf_share_pct.tracked"][4:], floor)
        self.assertEqual(rows["bpf_share_pct.tracked_switch"][4:], floor)
        self.assertEqual(rows["slowdown_pct.tracked_switch"][4:6], ("1", "noise_pct"))
        # The iterator's own rows, of the default mode.
        for key in ("ns_per_run.tracer.kt_task_iter", "runs_per_s.tracked.kt_task_iter"):
            self.assertIn(key, rows)
        self.assertNotIn("ns_per_run.tracer_switch.kt_task_iter", rows)

    def test_one_mode_only(self):
        # BENCH_SCHED_SWITCH=0, or defaults that hook sched_switch (a PMU, kvm hooks).
        part = sched_part(False, {"tracer": SWITCH_MODE, "tracked": SWITCH_MODE}, tracer_hooks=SWITCH_MODE)
        rows = self.rows(part)
        self.assertFalse([k for k in rows if {"tracer_switch", "tracked_switch"} & set(k.split("."))])
        self.assertIn("ratio.tracer.sched_switch", part.required)
        self.assertEqual(part.notes()["ns_per_run.tracer.kt_task_iter"], ("not attached (sched_switch hooked)", ""))
        self.assertNotIn("ratio.tracer.sched_switch", part.notes())

    def test_a_mode_not_measured_or_mixed_stays_required(self):
        part = sched_part(False, {"tracer": ITER_MODE})
        part.linked["tracked"] = [frozenset(ITER_MODE), frozenset(SWITCH_MODE)]
        self.assertIsNone(part.hooked("tracked", "sched_switch"))
        self.assertNotIn("ratio.tracer.sched_switch", part.required)
        self.assertIn("ratio.tracked.sched_switch", part.required)
        self.assertNotIn("ratio.tracked.sched_switch", part.notes())

    def test_empty_programs_on_sched_switch_in_every_mode(self):
        self.assertEqual(sched_part(tracer_hooks=ITER_MODE).empty_hooks(), ["sched_switch"])
        self.assertEqual(sched_part(tracer_hooks=SWITCH_MODE + ("sched_wakeup",)).empty_hooks(),
                         ["sched_switch", "sched_wakeup"])


    def test_peers_say_the_mode_of_each_kvmtrace_configuration(self):
        ctx = sched_part(True).ctx
        ctx.k.text["PEERS_TRACER_ARGS"], ctx.k.peers_rounds = "", 1
        peers = Peers(ctx)
        peers.prepare()
        self.assertEqual(peers.configs[:4], ("none", "kvmtrace", "kvmtrace0", "kvmtrace_switch"))
        peers.linked = {"kvmtrace": [False, False], "kvmtrace0": [False], "kvmtrace_switch": [True]}
        rep = report.Report.__new__(report.Report)
        rep.fig = {f"peers.slowdown_pct.{c}": (v, v, v, 1) for c, v in
                   (("none", 0.1), ("kvmtrace", 1.0), ("kvmtrace0", 0.5), ("kvmtrace_switch", 12.0))}
        lines = peers.table(rep)
        self.assertTrue(lines[3].startswith("| kvmtrace-bpf -q -i 1 --libvirt-uri none -p (both bench processes) "
                                            "(sched_switch not attached: task iterator) | 1.00% |"), lines[3])
        self.assertEqual(lines[5], "| kvmtrace-bpf as above (sampler at its default rate), with --counters task-clock "
                         "(sched_switch hooked) | 12.00% | 12.00% – 12.00% | 12.0× |")
        self.assertEqual(peers.method()["sched_switch_hooked"],
                         {"kvmtrace": False, "kvmtrace0": False, "kvmtrace_switch": True})


NET_SOURCE = "network figures: the taps' own counters, read once per interval; no program runs per packet"
NET_WARNING = ("warning: cannot read the devices' counters (rtnetlink): Operation not permitted; a program "
               "counts each packet instead")
COUNTERS_MODE = ITER_MODE                     # no network hook: the devices' counters
PACKET_MODE = ITER_MODE + lib.NET_HOOKS      # rtnetlink unreadable: a program per packet


def net_part(linked=None, tracer_hooks=ITER_MODE, net_source=NET_SOURCE):
    """The net part as the report sees it after a run: the hooks each configuration's
    attacher was linked to, and kvmtrace-bpf's start-up line on its network figures."""
    knobs = types.SimpleNamespace(text={"NET_ROUNDS": "1"}, net_rounds=1, net_time=2)
    ctx = types.SimpleNamespace(k=knobs, tracer_hooks=list(tracer_hooks), net_source=net_source,
                                pin_desc="pinned to CPU 1")
    part = Net(ctx)
    part.linked = {c: [frozenset(h)] for c, h in (linked or {}).items()}
    return part


def net_report(part, fig=None):
    rep = report.Report.__new__(report.Report)
    rep.fig, rep.wakeup, rep.notes = fig or {}, False, part.notes()
    rep.versions = {"iperf3": "3.12"}
    return rep


class TestNetModes(unittest.TestCase):
    """The net part's rows where kvmtrace-bpf reads the taps' own counters (no per-packet
    program) and where it hooks net_dev_start_xmit and netif_receive_skb."""

    def rows(self, part):
        return {report.row_fields(r)[0]: r for r in part.rows()}

    def counters(self):
        return net_part({"tracer": COUNTERS_MODE, "tracked": COUNTERS_MODE})

    def test_not_hooked_is_met_and_not_required(self):
        part = self.counters()
        self.assertIs(part.per_packet(), False)
        notes = part.notes()
        for c in ("tracer", "tracked"):
            for hook, prog in (("net_dev_start_xmit", "kt_net_xmit"), ("netif_receive_skb", "kt_net_receive")):
                self.assertEqual(notes[f"net.ratio.{c}.{hook}"], ("not attached (device counters)", "yes"))
                self.assertEqual(notes[f"net.excess_ns.{c}.{hook}"], ("not attached (device counters)", ""))
                self.assertEqual(notes[f"net.ns_per_run.{c}.{prog}"], ("not attached (device counters)", ""))
            self.assertEqual(notes[f"net.bpf_share_pct.{c}"], ("not attached (device counters)", ""))
        self.assertEqual(notes["net.runs_per_op.tracer.kt_net_xmit"], ("not attached (device counters)", ""))
        # The slowdowns and the detached throughput stay required; no ratio is.
        self.assertEqual(part.required, ["net.slowdown_pct.tracer", "net.slowdown_pct.tracked",
                                         "net.gbit_per_s.detached"])
        self.assertNotIn("net.slowdown_pct.tracer", notes)
        self.assertNotIn("net.ns_per_run.empty.empty_net_xmit", notes)

    def test_the_table_and_its_verdicts(self):
        part = self.counters()
        rep = net_report(part, {"net.slowdown_pct.tracer": (0.5, 0.1, 0.9, 3), "net.noise_pct": (1.0, 0.5, 1.5, 3),
                                "net.ns_per_run.empty.empty_net_xmit": (26.0, 25.0, 27.0, 3)})
        rows = self.rows(part)
        keys = ["net.ratio.tracer.net_dev_start_xmit", "net.ratio.tracked.netif_receive_skb",
                "net.bpf_share_pct.tracer", "net.ns_per_run.tracked.kt_net_xmit",
                "net.runs_per_op.tracer.kt_net_receive", "net.excess_ns.tracer.netif_receive_skb",
                "net.slowdown_pct.tracer", "net.slowdown_pct.tracked", "net.ns_per_run.empty.empty_net_xmit"]
        lines = rep.table([rows[k] for k in keys])
        self.assertEqual(lines[2], "| kt_net_xmit vs empty program, ns/run ratio, no tracked tap "
                         "| not attached (device counters) | | × | ≤ 1.2 | yes |")
        self.assertEqual(lines[3], "| kt_net_receive vs empty program, ns/run ratio, through a tracked VM's tap "
                         "| not attached (device counters) | | × | ≤ 1.2 | yes |")
        self.assertEqual(lines[4], "| time in kt_net_xmit and kt_net_receive, % of the CPU, no tracked tap "
                         "| not attached (device counters) | | % |  | |")
        self.assertEqual(lines[5], "| kt_net_xmit, tracked tap (all frames on the path) "
                         "| not attached (device counters) | | ns/run |  | |")
        self.assertEqual(lines[6], "| netif_receive_skb runs per frame sent to the pretend guest (all devices) "
                         "| not attached (device counters) | | runs |  | |")
        self.assertEqual(lines[7], "| kt_net_receive minus empty program, no tracked tap "
                         "| not attached (device counters) | | ns/run |  | |")
        # The slowdowns stay, measured or not: no note stands for them.
        self.assertEqual(lines[8], "| iperf3 throughput slowdown, kvmtrace-bpf attached, no tracked tap "
                         "| 0.50 | 0.10 – 0.90 | % | ≤ 1 | inconclusive |")
        self.assertEqual(lines[9], "| iperf3 throughput slowdown, kvmtrace-bpf tracking the pretend VM and its tap "
                         "| n/a | | % | ≤ 1 | |")
        self.assertEqual(lines[10], "| empty program on net_dev_start_xmit | 26.0 | 25.0 – 27.0 | ns/run |  |  |")
        # The JSON's verdicts: a ratio not hooked is met; a slowdown not measured has none.
        self.assertEqual(rep.verdict(rows["net.ratio.tracked.net_dev_start_xmit"]), "yes")
        self.assertEqual(rep.verdict(rows["net.slowdown_pct.tracked"]), "")

    def test_hooked_per_packet_stays_required(self):
        part = net_part({"tracer": PACKET_MODE, "tracked": PACKET_MODE}, tracer_hooks=PACKET_MODE,
                        net_source=NET_WARNING)
        self.assertIs(part.per_packet(), True)
        self.assertEqual(part.notes(), {})
        self.assertEqual(part.required, ["net.slowdown_pct.tracer", "net.slowdown_pct.tracked",
                                         "net.ratio.tracer.net_dev_start_xmit",
                                         "net.ratio.tracked.net_dev_start_xmit", "net.gbit_per_s.detached"])
        rep = net_report(part, {"net.ratio.tracer.net_dev_start_xmit": (1.5, 1.4, 1.6, 3)})
        self.assertEqual(rep.verdict(self.rows(part)["net.ratio.tracer.net_dev_start_xmit"]), "no")
        self.assertEqual(rep.verdict(self.rows(part)["net.ratio.tracked.net_dev_start_xmit"]), "")

    def test_not_measured_or_mixed_stays_required(self):
        part = net_part({"tracer": COUNTERS_MODE})
        part.linked["tracked"] = [frozenset(COUNTERS_MODE), frozenset(PACKET_MODE)]
        self.assertIsNone(part.per_packet())
        self.assertIsNone(part.hooked("tracked", "net_dev_start_xmit"))
        self.assertNotIn("net.ratio.tracer.net_dev_start_xmit", part.required)
        self.assertIn("net.ratio.tracked.net_dev_start_xmit", part.required)
        self.assertIn("net.ratio.tracer.net_dev_start_xmit", part.notes())
        self.assertNotIn("net.ratio.tracked.net_dev_start_xmit", part.notes())
        self.assertIn("net.ratio.tracked.net_dev_start_xmit", net_part().required)

    def test_waits_for_the_hook_the_tracer_always_attaches(self):
        part = self.counters()
        self.assertEqual(part.ready("tracer"), lib.TRACER_READY)
        self.assertEqual(part.ready("tracked"), lib.TRACER_READY)
        self.assertEqual(part.ready("empty"), "net_dev_start_xmit")

    def test_empty_programs_on_both_hooks_in_every_mode(self):
        self.assertEqual(net_part(tracer_hooks=ITER_MODE).empty_hooks(), ["net_dev_start_xmit", "netif_receive_skb"])
        self.assertEqual(net_part(tracer_hooks=SWITCH_MODE + ("sched_wakeup",)).empty_hooks(),
                         ["net_dev_start_xmit", "netif_receive_skb", "sched_switch", "sched_wakeup"])

    def test_tracked_means_its_tap_is_counted(self):
        part = self.counters()
        part.fwd = types.SimpleNamespace(pid=4242)
        extra, cols, pids = part.tracked()
        self.assertEqual((extra, cols, pids), ([], ("net_rx_bytes", "net_tx_bytes"), [4242]))
        folder = tempfile.mkdtemp(prefix="kt-test-csv.")
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, "qemu-system-x86_64.4242.csv"), "w") as f:
            f.write("ts,pid,net_rx_bytes,net_tx_bytes\n1,4242,,\n2,4242,0,\n3,4241,5,5\n")
        self.assertEqual(lib.csv_rows(folder, 4242), 2)
        self.assertEqual(lib.csv_rows(folder, 4242, "net_rx_bytes"), 1)
        self.assertEqual(lib.csv_rows(folder, 4242, cols), 0)
        with open(os.path.join(folder, "qemu-system-x86_64.4242.csv"), "a") as f:
            f.write("4,4242,0,0\n")
        self.assertEqual(lib.csv_rows(folder, 4242, cols), 1)
        # A CSV without the columns has no such row.
        self.assertEqual(lib.csv_rows(folder, 4242, ("net_rx_bytes", "disk_read_bytes")), 0)
        self.assertEqual(lib.columns(""), ())
        self.assertEqual(lib.columns("net_rx_bytes"), ("net_rx_bytes",))

    def test_start_up_lines(self):
        err = ("kvmtrace-bpf: scheduler figures: the kernel's per-task counters, read once per interval\n"
               f"kvmtrace-bpf: {NET_SOURCE}\n")
        self.assertEqual(lib.startup_line(err, lib.SCHED_SOURCE_LINE),
                         "scheduler figures: the kernel's per-task counters, read once per interval")
        self.assertEqual(lib.startup_line(err, lib.NET_SOURCE_LINE, lib.NET_FALLBACK_LINE), NET_SOURCE)
        warned = f"kvmtrace-bpf: {NET_WARNING}\nkvmtrace-bpf: scheduler figures: x\n"
        self.assertEqual(lib.startup_line(warned, lib.NET_SOURCE_LINE, lib.NET_FALLBACK_LINE), NET_WARNING)
        self.assertEqual(lib.startup_line("kvmtrace-bpf: other\n", lib.NET_SOURCE_LINE), "")

    def test_section_says_where_the_figures_come_from(self):
        part = self.counters()
        text = "\n".join(part.section(net_report(part)))
        self.assertIn(f"kvmtrace-bpf's network figures here, with its defaults: \"{NET_SOURCE}\".", text)
        self.assertIn("It attached no per-packet program: the rows of kt_net_xmit (net_dev_start_xmit) and "
                      "kt_net_receive (netif_receive_skb)\nsay \"not attached (device counters)\": no program runs "
                      "per frame, which meets the target per frame\n(≤ 1.2× the empty program)", text)
        self.assertIn("net_rx_bytes and net_tx_bytes for it", text)
        part = net_part({"tracer": PACKET_MODE, "tracked": PACKET_MODE}, net_source=NET_WARNING)
        text = "\n".join(part.section(net_report(part)))
        self.assertIn(f"with its defaults: \"{NET_WARNING}\".", text)
        self.assertIn("run on every frame of the host", text)
        self.assertNotIn("not attached (device counters)\"", text.split("| figure |")[0])
        part = net_part({"tracer": PACKET_MODE, "tracked": COUNTERS_MODE})
        self.assertIn("hooked in all of a configuration's sessions: tracer: net_dev_start_xmit, netif_receive_skb; "
                      "tracked: none", "\n".join(part.mode_text()))
        method = self.counters().method()
        self.assertEqual(method["network_figures"], NET_SOURCE)
        self.assertEqual(method["net_hooks_attached"]["tracked"],
                         {"net_dev_start_xmit": False, "netif_receive_skb": False})

    def test_header_says_the_tracer_start_up_lines(self):
        rep = report.Report.__new__(report.Report)
        rep.ctx = types.SimpleNamespace(sched_source="scheduler figures: x", net_source=NET_SOURCE)
        self.assertEqual(rep.sources(), f"\"scheduler figures: x\"; \"{NET_SOURCE}\" (its start-up lines, defaults)")
        rep.ctx.net_source = ""
        self.assertEqual(rep.sources(), "\"scheduler figures: x\"; nothing on its network figures "
                         "(its start-up lines, defaults)")


if __name__ == "__main__":
    unittest.main()
