#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real guest mode (issue 12, acceptance 2-4): the test bed's own VMM (tests/vm/ktvmm.c) runs
# its guests natively on this host's KVM, hardware or software (PVM). The tracer must find it by
# what it does (it holds a KVM VM; its name is no VMM's) and report its guest time and exits.
# Oracles, sampled independently over exactly the rows' window: the kernel's guest time per
# thread (/proc/PID/task/TID/stat field 43) and the VMM's own counts and KVM's counters, which
# the VMM reads from its own stats fds every 20 ms.
. "$(dirname "$0")/prelude.sh" "$@"

vmm=$build/tests/ktvmm
[[ -w /dev/kvm ]] || t_skip "no writable /dev/kvm: there is no guest mode on this host"
t_testbed ktvmm --no-guest
mkdir "$out/hc" "$out/busy" "$out/io" "$out/nostats"
# The guest source this host has: the tracepoints where they fire, the kernel's elsewhere.
source=tracepoint
[[ -d /sys/module/kvm_pvm ]] && source=kernel

# start_vmm NAME ARGS...: the VMM in the background, its PID in $pid once its vCPUs run.
start_vmm() {
	local name=$1
	shift
	"$vmm" "$@" --trace "$out/$name.trace" --trace-ms 20 --report "$out/$name.report" \
		2>"$out/$name.err" &
	pid=$!
	tb_add_cleanup "kill $pid 2>/dev/null || true"
	t_wait_ktvmm "$out/$name.err" && return 0
	echo "ktvmm did not start: $(cat "$out/$name.err")"
	return 1
}

# rows_breaking CSV EXPR: fails, listing them, when rows break the Python condition EXPR (i(COL):
# a column as a number).
rows_breaking() {
	"$T_PYTHON" - "$1" "$2" <<'PY'
import csv, sys
bad = 0
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if not eval(sys.argv[2], {}, {"r": r, "i": lambda c: int(r[c] or -1)}):
        print(f"  {sys.argv[1]}: row {r['timestamp']}: {dict(r)}"[:300])
        bad += 1
sys.exit(bad != 0)
PY
}

# --- 1. two vCPUs in a hypercall loop, traced for 9 intervals
# Until stopped: however slow the tracer starts on a loaded machine, it runs past every row.
start_vmm hc --vcpus 2 --exit hypercall --loop 2000 || exit 1
hc=$pid
chrt -f 10 "$T_PYTHON" tests/e2e/oracle.py sample-guest --pid "$hc" --out "$out/guest" &
sampler=$!
tb_add_cleanup "kill $sampler 2>/dev/null || true"
sleep 0.3
"$build/kvmtrace-bpf" -i 1 -c 9 -q -o "$out/hc" --libvirt-uri none 2>"$out/hc.stderr"
status=$?
sleep 0.2
kill -TERM "$hc"
kill "$sampler"
wait "$sampler" 2>/dev/null
csv=$out/hc/ktvmm-$hc.csv
t_check "tracer exits 0 (status $status)" test "$status" -eq 0
t_check "the VMM is found by what it does: ktvmm-$hc.csv with 9 rows" \
	test "$(t_rows "$csv" 2>/dev/null)" -eq 9
t_check "guest_source is '$source' in every row" \
	test "$(t_column "$csv" guest_source | sort -u)" = "$source"
t_check "the VM row: cpu_guest_ns over rows 2..9 within 2% (or 3 ticks) of the kernel's" \
	t_oracle check-column --csv "$csv" --column cpu_guest_ns --samples "$out/guest" \
	--key "$hc" --tol 0.02 --resolution 30000000
vcpu_csv=$out/hc/ktvmm-$hc.vcpu.csv
tids=$(t_column "$vcpu_csv" tid | sort -u)
t_check "two vCPU threads have rows ($(echo $tids))" test "$(wc -w <<<"$tids")" -eq 2
for tid in $tids; do
	t_check "vCPU thread $tid: cpu_guest_ns within 2% (or 3 ticks) of the kernel's" \
		t_oracle check-column --csv "$vcpu_csv" --column cpu_guest_ns --where "tid=$tid" \
		--samples "$out/guest" --key "tid:$tid" --tol 0.02 --resolution 30000000
done
t_oracle from-ktvmm --trace "$out/hc.trace" --field kvm_exits --out "$out/hc.kvm"
t_oracle from-ktvmm --trace "$out/hc.trace" --field hypercalls --out "$out/hc.own"
t_check "exits within 1% of KVM's own counters over the same window" \
	t_oracle check-column --csv "$csv" --column exits --samples "$out/hc.kvm" --key vm \
	--tol 0.01
t_check "exits within 1% of the VMM's own hypercall count" \
	t_oracle check-column --csv "$csv" --column exits --samples "$out/hc.own" --key vm \
	--tol 0.01
if [[ $source == kernel ]]; then
	for vcpu in 0 1; do
		t_oracle from-ktvmm --trace "$out/hc.trace" --field kvm_exits --vcpu "$vcpu" \
			--out "$out/hc.kvm$vcpu"
		t_check "vCPU $vcpu (known by the KVM_RUN it runs): exits within 1% of KVM's" \
			t_oracle check-column --csv "$vcpu_csv" --column exits --where "vcpu=$vcpu" \
			--samples "$out/hc.kvm$vcpu" --key vm --tol 0.01
	done
fi
vcpu_sums_match() {
	"$T_PYTHON" - "$csv" "$vcpu_csv" <<'PY'
import csv, sys
vm = {r["timestamp"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
sums = {}
for r in csv.DictReader(open(sys.argv[2], newline="")):
    s = sums.setdefault(r["timestamp"], [0, 0])
    s[0] += int(r["exits"] or 0)
    s[1] += int(r["cpu_guest_ns"] or 0)
bad = 0
for t, r in vm.items():
    exits, guest = sums.get(t, [0, 0])
    # Guest time is capped per row by each vCPU's and by the VM's on-CPU time: a tick apart.
    if exits != int(r["exits"]) or abs(guest - int(r["cpu_guest_ns"])) > 10_000_000:
        print(f"  {t}: vCPU rows {exits} exits, {guest} ns guest; VM row {r['exits']}, "
              f"{r['cpu_guest_ns']}")
        bad += 1
sys.exit(bad != 0)
PY
}
t_check "the vCPU rows' exits sum to the VM row's in every row, guest time to a tick" \
	vcpu_sums_match
t_check "cpu_guest_ns <= cpu_total_ns in every VM row" \
	rows_breaking "$csv" "i('cpu_guest_ns') <= i('cpu_total_ns')"
t_check "and in every vCPU row" \
	rows_breaking "$vcpu_csv" "i('cpu_guest_ns') <= i('cpu_total_ns')"
if [[ $source == kernel ]]; then
	t_check "the exits file has KVM's categories" \
		grep -q ",kvm_stats,[0-9]*,other_exits," "$out/hc/ktvmm-$hc.exits.csv"
	t_check "stderr says once where guest figures come from" \
		test "$(grep -c "kernel's accounting" "$out/hc.stderr")" -eq 1
fi
wait "$hc"

# --- 2. a pure busy loop: guest mode nearly all of its CPU; it ends while traced
"$build/kvmtrace-bpf" -i 1 -c 7 -q -o "$out/busy" --libvirt-uri none 2>"$out/busy.stderr" &
tracer=$!
tb_add_cleanup "kill $tracer 2>/dev/null || true"
# Started once tracing runs, so that it is found as a new VMM, counted from its birth.
t_wait_for 300 0.05 t_has_row "$out/busy/@host.csv"
start_vmm busy --vcpus 1 --exit none --seconds 3.5 || exit 1
busy=$pid
# Its on-CPU time over its whole life: schedstat is counted from each thread's birth.
"$T_PYTHON" tests/e2e/oracle.py sample --pid "$busy" --out "$out/busy.sched" --period 0.005 &
wait "$busy"
ended=$(date +%s.%N)
sleep 2.5
csv=$out/busy/ktvmm-$busy.csv
t_check "the tracer holds the ended VM's file no more" \
	bash -c "! ls -l /proc/$tracer/fd | grep -q 'ktvmm-$busy\.csv'"
wait "$tracer"
t_check "the busy VMM has rows" test "$(t_rows "$csv" 2>/dev/null)" -ge 3
t_check "its last row is at or after its end" \
	"$T_PYTHON" -c "import sys; sys.exit(float('$(tail -n 1 "$csv" | cut -d, -f2)') < $ended - 0.05)"
# csv_sum CSV COLUMN SKIP: the column summed over the rows after the first SKIP.
csv_sum() {
	t_column "$1" "$2" | tail -n +"$(($3 + 1))" | awk '{ s += $1 } END { printf "%.0f", s }'
}
# share CSV: guest over total CPU, rows 2..
share() {
	awk -v g="$(csv_sum "$1" cpu_guest_ns 1)" -v t="$(csv_sum "$1" cpu_total_ns 1)" \
		'BEGIN { printf "%.3f", t ? g / t : 0 }'
}
busy_share=$(share "$csv")
t_check "busy loop: guest mode is >= 90% of its CPU ($busy_share)" \
	"$T_PYTHON" -c "import sys; sys.exit($busy_share < 0.90)"
life_ns=$(tail -n 1 "$out/busy.sched" | cut -d' ' -f3)
cpu_ns=$(csv_sum "$csv" cpu_total_ns 0)
t_check "its rows hold its whole life: $cpu_ns ns, schedstat $life_ns ns (within 1% or 10 ms)" \
	"$T_PYTHON" -c "import sys; d = abs($cpu_ns - $life_ns); sys.exit(d > max(0.01 * $life_ns, 1e7))"

# --- 3. a port-I/O loop: every exit goes to user space; most of its CPU is the hypervisor's.
# Its main thread meanwhile reads the registers of a vCPU it never runs: vCPU ioctls outside
# KVM_RUN, which load that vCPU on the main thread as KVM_RUN does on a vCPU thread.
start_vmm io --vcpus 1 --exit io --loop 100 --poke || exit 1
io=$pid
sleep 0.3
"$build/kvmtrace-bpf" -i 1 -c 6 -q -o "$out/io" --libvirt-uri none 2>"$out/io.stderr"
sleep 0.2
kill -TERM "$io"
wait "$io"
csv=$out/io/ktvmm-$io.csv
io_share=$(share "$csv")
t_check "I/O loop: guest mode is under half of its CPU ($io_share)" \
	"$T_PYTHON" -c "import sys; sys.exit($io_share >= 0.5)"
t_oracle from-ktvmm --trace "$out/io.trace" --field exit_io --out "$out/io.own"
# The host's interrupts make exits of their own, which the VMM never sees: ~1% of these, at
# 250 Hz (KVM's irq_exits; on VMX and SVM, their interrupt exit reason).
t_check "its exits, less the host's interrupts', within 1% of its KVM_EXIT_IO count" \
	t_oracle check-column --csv "$csv" --column exits --samples "$out/io.own" --key vm \
	--tol 0.01 --less-exits "$out/io/ktvmm-$io.exits.csv" \
	--reasons irq_exits,EXTERNAL_INTERRUPT,INTR
vcpu_tid=$(sed -n 's/.*(tids \([0-9]*\)).*/\1/p' "$out/io.err")
t_check "vCPU rows are its vCPU thread's ($vcpu_tid) only, not the main thread's that pokes" \
	test "$(t_column "$out/io/ktvmm-$io.vcpu.csv" tid | sort -u)" = "$vcpu_tid"

# --- 4. a VMM that holds no KVM stats fd: guest time still, exits empty, and one line says why
start_vmm nostats --vcpus 1 --exit hypercall --no-stats-fd || exit 1
nostats=$pid
"$build/kvmtrace-bpf" -i 1 -c 3 -q -o "$out/nostats" --libvirt-uri none 2>"$out/nostats.stderr"
kill -TERM "$nostats"
wait "$nostats"
csv=$out/nostats/ktvmm-$nostats.csv
if [[ $source == kernel ]]; then
	t_check "no stats fd: guest time in every row, exits and top reason empty" \
		rows_breaking "$csv" "r['cpu_guest_ns'] != '' and r['exits'] == '' and r['top_exit_reason'] == ''"
	t_check "and one line says why" \
		test "$(grep -c "VM pid $nostats: holds no KVM stats fd" "$out/nostats.stderr")" -eq 1
fi
t_summary
