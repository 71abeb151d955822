# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the benchmark's statistics (stats.py) and of its report's pure parts
(report.py): python3 -m unittest discover -s scripts/bench (tests/e2e/test_bench_stats.sh)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import report  # noqa: E402
import stats  # noqa: E402

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

    def test_no_ratio_without_the_empty_program_of_that_round(self):
        progs = [("disk", 1, "empty", "empty_bio_queue", "block_bio_queue", 50, 1, 1, 10**6),
                 ("disk", 2, "tracked", "kt_bio_queue", "block_bio_queue", 500, 1, 1, 10**6)]
        fig = stats.session_figures([], progs, {}).summaries()
        self.assertIn("disk.ns_per_run.tracked.kt_bio_queue", fig)
        self.assertNotIn("disk.ratio.tracked.block_bio_queue", fig)


class TestSampler(unittest.TestCase):
    def test_program_time(self):
        # 2 CPUs, 1000 runs in 1 s: 500 Hz per CPU; 400 ns each: 0.02% of one CPU.
        fig = stats.sampler_figures([("untracked", 400000, 1000, 10**6)], [], 2, 499).summaries()
        self.assertEqual(fig["sampler.hits_per_s_per_cpu.untracked"][0], 500.0)
        self.assertEqual(fig["sampler.ns_per_hit.untracked"][0], 400.0)
        self.assertEqual(fig["sampler.cpu_pct.untracked"][0], 0.02)

    def test_end_to_end_per_round_and_noise_between_trials(self):
        trials = [(1, "on", 980.0, 900.0, 5), (1, "off", 1000.0, 1000.0, 1), (1, "empty", 990.0, 950.0, 2),
                  (2, "on", 970.0, 900.0, 3), (2, "off", 1000.0, 1000.0, 1)]
        fig = stats.sampler_figures([], trials, 2, 500).summaries()
        self.assertEqual(fig["sampler.e2e_slowdown_pct.on"], (2.5, 2.0, 3.0, 2))
        self.assertEqual(fig["sampler.e2e_slowdown_pct.empty"], (1.0, 1.0, 1.0, 1))
        self.assertEqual(fig["sampler.e2e_wall_slowdown_pct.on"][0], 10.0)
        # 2% at 500 Hz: 40 µs per sample.
        self.assertEqual(fig["sampler.e2e_us_per_sample.on"][1], 40.0)
        self.assertEqual(fig["sampler.e2e_excess_pct"][0], 1.010101)
        # Trial 2 against trial 1: on -1.020408%, off 0%; empty has no trial 2.
        self.assertEqual(fig["sampler.e2e_noise_pct"], (0.510204, 0.0, 1.020408, 2))
        self.assertEqual(fig["sampler.e2e_off_cpu_pct"][3], 5)

    def test_no_cost_per_sample_without_a_rate(self):
        fig = stats.sampler_figures([], [(1, "on", 99.0, 99.0, 0), (1, "off", 100.0, 100.0, 0)], 2, 0)
        self.assertNotIn("sampler.e2e_us_per_sample.on", fig.summaries())


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
    def report(self, fig, wakeup=False):
        rep = report.Report.__new__(report.Report)
        rep.fig, rep.wakeup = fig, wakeup
        return rep

    def test_table_rows(self):
        rep = self.report({"a": (3.14159, 1.0, 5.0, 3), "n": (0.5, 0.1, 0.9, 3)})
        lines = rep.table([("a", "A", "%", 2, "2", "n"), ("n", "noise", "%", 1),
                           ("gone", "G", "×", 2, "1.5"), ("x.sched_wakeup", "W", "runs", 2)])
        self.assertEqual(lines[2], "| A | 3.14 | 1.00 – 5.00 | % | ≤ 2 | no |")
        self.assertEqual(lines[3], "| noise | 0.5 | 0.1 – 0.9 | % |  |  |")
        self.assertEqual(lines[4], "| G | n/a | | × | ≤ 1.5 | |")
        self.assertEqual(lines[5], "| W | not attached (CONFIG_SCHED_INFO) | | runs |  | |")

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


if __name__ == "__main__":
    unittest.main()
