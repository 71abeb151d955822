#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The unit tests of the benchmark's statistics and report (scripts/bench/test_stats.py: medians,
# intervals, slowdowns, the verdicts, kept sections and the JSON merge of a partial run, the
# sched and peers parts' rows in both modes of kvmtrace-bpf's scheduler figures, the net part's
# with and without its per-packet programs), one check per test case. Needs neither root nor
# the build (argument ignored); takes well under a second.
. "$(dirname "$0")/prelude.sh" "$@"
log=$(mktemp /tmp/kt-e2e-bench-stats.XXXXXX)
trap 'rm -f "$log"' EXIT

# -B: no __pycache__ in the source tree.
"$T_PYTHON" -B -m unittest discover -s scripts/bench -p 'test_*.py' -v >"$log" 2>&1
status=$?
ran=0
while IFS= read -r line; do
	case $line in
	*" ... ok") t_ok "${line% ... ok}"; ran=$((ran + 1)) ;;
	*" ... FAIL" | *" ... ERROR") t_fail "$line"; ran=$((ran + 1)) ;;
	esac
done <"$log"
ran_ok() { [ "$status" -eq 0 ] && [ "$ran" -gt 0 ]; }
t_check "unittest ran the cases ($ran) and exited 0" ran_ok
if [ "$status" -ne 0 ]; then
	sed -n '/^=====/,$p' "$log"
fi
t_summary
