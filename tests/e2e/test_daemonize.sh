#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A VM started after the tracer by a VMM that forks and never execs (QEMU's -daemonize, as
# Proxmox starts its VMs) is found and gets rows for its whole life, under its own PID, in the
# file its parent's rows began, from the interval it started in.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed daemonize
"$bin" -q -i 0.5 -o "$out" 2>"$out/err" &
tracer=$!
tb_add_cleanup "kill $tracer 2>/dev/null || true"
t_wait_for 100 0.1 test -s "$out/@host.csv"
# The test bed starts QEMU with -daemonize: the process that execs exits at once.
started=$(date +%s.%N)
pid=$(tb_start_qemu kt-late burn:0) || exit 1
returned=$(date +%s.%N)
tb_wait_start kt-late burn:0 || exit 1
sleep 3
kill -INT "$tracer"
wait "$tracer"
status=$?
t_check "the tracer ended cleanly (status $status)" test "$status" -eq 0
rows_of_vm() {
	t_column "$out/kt-late.csv" pid 2>/dev/null | grep -c "^$pid\$"
}
t_check "the daemonized QEMU ($pid) has rows to the end: $(rows_of_vm) of them (want >= 6)" \
	test "$(rows_of_vm)" -ge 6
# The parent that exec'd only waits for its fork: the VM's rows continue in one file, one row
# per interval.
t_check "one file for the VM (no kt-late-PID.csv)" \
	test -z "$(find "$out" -name 'kt-late-*.csv' ! -name '*.vcpu.csv' -print -quit)"
# The parent often exits before the first drain, its /proc entry with it: it is named by the
# arguments it exec'd with, not by its comm and PID.
t_check "no file named after the parent's comm (qemu-system-*.csv)" \
	test -z "$(find "$out" -name 'qemu-system-*.csv' -print -quit)"
first_row() {
	"$T_PYTHON" - "$out/kt-late.csv" "$started" "$returned" <<'PY'
import csv, sys
r = next(csv.DictReader(open(sys.argv[1], newline="")))
end, start = float(r["epoch_s"]), float(r["epoch_s"]) - float(r["interval_s"])
sys.exit(not (end >= float(sys.argv[2]) - 0.002 and start <= float(sys.argv[3]) + 0.002))
PY
}
t_check "its first row's window holds its start (within $started..$returned)" first_row
t_check "no two rows of the VM at one time" \
	test -z "$(t_column "$out/kt-late.csv" epoch_s | sort | uniq -d)"
# Each row starts where the one before ended (the hand-over leaves no interval out).
gaps() {
	paste -d' ' <(t_column "$out/kt-late.csv" epoch_s) <(t_column "$out/kt-late.csv" interval_s) |
		awk 'NR > 1 && ($1 - $2 - last > 0.002 || last - ($1 - $2) > 0.002) { n++ }
		     { last = $1 } END { print n + 0 }'
}
t_check "its rows follow each other without a gap ($(gaps) gaps)" test "$(gaps)" -eq 0
busy() {
	"$T_PYTHON" - "$out/kt-late.csv" "$pid" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["pid"] == sys.argv[2]]
# Burning: its last rows are busy (the vCPU thread alone uses most of a CPU).
sys.exit(not rows or int(rows[-2]["cpu_total_ns"]) < 0.2 * float(rows[-2]["interval_s"]) * 1e9)
PY
}
t_check "and its rows show it burning CPU" busy
t_summary
