#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end (issue 2, acceptance 3): a real QEMU guest burning CPU and an idle one, traced for
# 7 one-second intervals. Oracle: the processes' schedstat over exactly the rows' window.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed core
burn=$(tb_start_qemu kt-burn burn:0) || exit 1
idle=$(tb_start_qemu kt-idle idle) || exit 1
tb_wait_start kt-burn burn:0 || exit 1
tb_wait_start kt-idle idle || exit 1

# Not through the t_oracle function: $! must be the sampler itself, to stop it.
chrt -f 10 "$T_PYTHON" tests/e2e/oracle.py sample --pid "$burn" --pid "$idle" --out "$out/samples" &
sampler=$!
tb_add_cleanup "kill $sampler 2>/dev/null || true"
sleep 0.3

"$build/kvmtrace-bpf" -i 1 -c 7 -q -o "$out" 2>"$out/stderr"
status=$?
sleep 0.2
kill "$sampler"
wait "$sampler" 2>/dev/null

t_check "tracer exits 0 after -c 7 (status $status)" test "$status" -eq 0
t_check "stderr says once where guest figures come from, and that TCG guests have none" \
	test "$(grep -c 'guest and exit columns will be empty\|have empty guest columns' "$out/stderr")" -eq 1
header=timestamp,epoch_s,interval_s,vm,uuid,pid,vcpus,cpu_total_ns,cpu_guest_ns,cpu_hyp_ns
header=$header,cpu_hyp_user_ns,cpu_hyp_kernel_ns,exits,exit_handling_ns,run_delay_ns,top_exit_reason
for vm in kt-burn kt-idle; do
	t_check "$vm.csv exists" test -f "$out/$vm.csv"
	# Later columns are appended; these first 16 never change.
	t_check "$vm.csv starts with the header" \
		test "$(head -n 1 "$out/$vm.csv" | cut -d, -f1-16)" = "$header"
	t_check "$vm.csv has one row per interval (7)" \
		test "$(tail -n +2 "$out/$vm.csv" | wc -l)" -eq 7
done
t_check "kt-burn rows carry its PID" \
	test "$(tail -n +2 "$out/kt-burn.csv" | cut -d, -f6 | sort -u)" = "$burn"

# Rows 2..7: the first row's window may begin in the middle of a time slice. Run delay is the
# kernel's own counter too, but small (ms), so a few stale readings weigh more: 10%.
t_check "kt-burn: summed cpu_total_ns within 2% of schedstat over the same window" \
	t_oracle check-cpu --csv "$out/kt-burn.csv" --samples "$out/samples" --key "$burn" \
	--skip 1 --tol 0.02 --delay-tol 0.10

hyp_split_exact() {
	"$T_PYTHON" - "$1" <<'PY'
import csv, sys
bad = 0
for r in csv.DictReader(open(sys.argv[1], newline="")):
    hyp = int(r["cpu_hyp_ns"])
    parts = int(r["cpu_hyp_user_ns"]) + int(r["cpu_hyp_kernel_ns"])
    total = int(r["cpu_total_ns"])
    # TCG: no guest mode, so the guest column is empty and all of the time is the VMM's.
    if r["cpu_guest_ns"] != "" or hyp != total or abs(parts - hyp) > 0.01 * hyp:
        print(f"row {r['timestamp']}: total {total} guest '{r['cpu_guest_ns']}' hyp {hyp} "
              f"user+kernel {parts}")
        bad += 1
sys.exit(bad != 0)
PY
}
t_check "kt-burn: cpu_hyp_user_ns + cpu_hyp_kernel_ns = cpu_hyp_ns (±1%) in every row" \
	hyp_split_exact "$out/kt-burn.csv"
t_check "kt-burn: guest, exits and top reason are empty, not 0 (TCG)" \
	test -z "$(tail -n +2 "$out/kt-burn.csv" | cut -d, -f9,13,14,16 | tr -d ,)"

sum_cpu() {
	awk -F, 'NR > 1 { s += $8 } END { printf "%.0f", s }' "$1"
}
burn_ns=$(sum_cpu "$out/kt-burn.csv")
idle_ns=$(sum_cpu "$out/kt-idle.csv")
echo "kt-burn used $burn_ns ns, kt-idle $idle_ns ns"
t_check "the idle guest used far less CPU (< 25% of the burning one)" \
	test "$((idle_ns * 4))" -lt "$burn_ns"
t_check "the burning guest's vCPU thread has its own rows" \
	grep -q ',CPU 0/TCG,' "$out/kt-burn.vcpu.csv"

t_summary
