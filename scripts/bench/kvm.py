# SPDX-License-Identifier: GPL-2.0
"""The kvm part: what each way of counting VM exits costs (tests/bench/kvm_cost: kvmtrace-bpf's
kvm_exit + kvm_entry helpers per exit, by BPF_PROG_TEST_RUN, and the per-interval reading of
KVM's own statistics). kvm_cost writes its own section, bench/kvm-modes.md (in
BENCH_RESULTS_DIR), and prints it; results.{md,json} do not hold it."""

import os
import subprocess

from lib import DEVNULL, die
from session import Part


class Kvm(Part):
    name = "kvm"

    def check(self):
        if not os.access(self.ctx.helper("kvm_cost"), os.X_OK):
            die(f"no {self.ctx.helper('kvm_cost')}: run make bench-tools")

    def run(self):
        out = self.ctx.results_file("kvm-modes.md")
        if subprocess.run([self.ctx.helper("kvm_cost"), out], stdin=DEVNULL).returncode:
            die(f"kvm_cost could not write {out}")

    def figures(self, fig):
        pass
