#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Least privilege (issue 7, part 3): once tracing, the tracer holds only the capabilities it
# still needs (every thread of it), with no_new_privs; and it goes on tracing: rows keep coming
# for a burning guest, and a libvirt domain started afterwards, whose QEMU runs as another user,
# gets its rows, its name from libvirt and its tap's traffic (found in that QEMU's /proc/PID/fd).
# The CSV files are 0640. The metrics endpoint can have a port below 1024.
. "$(dirname "$0")/prelude.sh" "$@"

# Capability numbers (linux/capability.h).
CAP_DAC_READ_SEARCH=2
CAP_SYS_PTRACE=19
CAP_SYSLOG=34
CAP_BPF=39

# The set the tracer should keep on this host, in /proc/PID/status's hex.
expected_mask() {
	local mask=$(((1 << CAP_DAC_READ_SEARCH) | (1 << CAP_SYS_PTRACE)))
	local kptr paranoid major minor unpriv
	# The sampler runs (default --sample-hz) and reads /proc/kallsyms again after module
	# loads: CAP_SYSLOG stays where addresses are hidden without it (kallsyms_show_value()).
	kptr=$(cat /proc/sys/kernel/kptr_restrict)
	paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
	if [ "$kptr" -eq 1 ] || { [ "$kptr" -eq 0 ] && [ "$paranoid" -gt 1 ]; }; then
		mask=$((mask | (1 << CAP_SYSLOG)))
	fi
	# Before Linux 5.19, kernel.unprivileged_bpf_disabled also gated bpf() on fds.
	IFS=. read -r major minor _ <<<"$(uname -r)"
	minor=${minor%%[!0-9]*}
	unpriv=$(cat /proc/sys/kernel/unprivileged_bpf_disabled)
	if [ "$unpriv" -ne 0 ] && [ $((major * 1000 + minor)) -lt 5019 ]; then
		mask=$((mask | (1 << CAP_BPF)))
	fi
	printf '%016x' "$mask"
}

# field STATUS_FILE NAME: a field of /proc/PID/status.
field() {
	awk -v f="$2:" '$1 == f { print $2 }' "$1"
}

t_testbed priv
burn=$(tb_start_qemu kt-priv burn:0) || exit 1
tb_wait_start kt-priv burn:0 || exit 1

want=$(expected_mask)
names="CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE"
[ $((16#$want >> CAP_SYSLOG & 1)) -eq 1 ] && names="$names, CAP_SYSLOG"
[ $((16#$want >> CAP_BPF & 1)) -eq 1 ] && names="$names, CAP_BPF"
echo "expected CapEff: $want ($names)"

# A privileged port for the metrics: bound before the drop, served by a thread made after it.
for port in $(seq 981 1000); do
	ss -Hltn "sport = :$port" | grep -q . || break
done
mkdir "$out/run"
"$bin" -q -i 1 -o "$out/run" --listen "127.0.0.1:$port" 2>"$out/err" &
tracer=$!
tb_add_cleanup "kill $tracer 2>/dev/null || true"
# The drop comes after start-up, which a loaded machine makes slow: wait for the first row.
t_wait_for 300 0.1 t_has_row "$out/run/kt-priv.csv"
checked=$(date +%s.%N)
cp "/proc/$tracer/status" "$out/status"
for task in /proc/"$tracer"/task/*; do
	echo "$(basename "$task") $(field "$task/status" CapEff) $(field "$task/status" CapPrm)"
done >"$out/tasks"
grep -E '^(Cap|NoNewPrivs)' "$out/status"

t_check "tracer is running after its first row" kill -0 "$tracer"
t_check "CapEff is the reduced set ($(field "$out/status" CapEff), want $want)" \
	test "$(field "$out/status" CapEff)" = "$want"
t_check "CapPrm is the same set ($(field "$out/status" CapPrm))" \
	test "$(field "$out/status" CapPrm)" = "$want"
t_check "CapInh and CapAmb are empty" \
	test "$(field "$out/status" CapInh)" = 0000000000000000 -a \
	"$(field "$out/status" CapAmb)" = 0000000000000000
t_check "CapBnd is empty ($(field "$out/status" CapBnd))" \
	test "$(field "$out/status" CapBnd)" = 0000000000000000
t_check "NoNewPrivs is 1" test "$(field "$out/status" NoNewPrivs)" = 1
# Capabilities are per thread: a thread started before the drop would have kept them all.
t_check "every thread ($(wc -l <"$out/tasks")) has the same sets" \
	test -z "$(awk -v w="$want" '$2 != w || $3 != w' "$out/tasks")"

t_check "the metrics on port $port (below 1024) are served" \
	eval 'curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" | grep -q "^kvmtrace_vm_cpu_seconds_total{vm=\"kt-priv\""'

# A domain started now: its QEMU runs as libvirt's user, its tap is found in that QEMU's
# /proc/PID/fd and fdinfo, which the tracer reads with the capabilities it kept.
tb_start_domain kt-priv-lv sleep:2,net-send:4 >/dev/null || exit 1
lv_pid=$(tb_guest_pid kt-priv-lv)
lv_user=$(ps -o user= -p "$lv_pid")
echo "kt-priv-lv: QEMU PID $lv_pid runs as $lv_user"
tb_wait_done kt-priv-lv net-send:4
done_status=$?
sleep 2.5
t_check "tracer still running after the domain's transfer ($done_status)" kill -0 "$tracer"
kill -INT "$tracer"
wait "$tracer"
status=$?
t_check "tracer ends cleanly on SIGINT (status $status)" test "$status" -eq 0

csv=$out/run/kt-priv.csv
# rows_after CSV EPOCH: rows that ended after EPOCH with cpu_total_ns > 0.
rows_after() {
	"$T_PYTHON" - "$1" "$2" <<'PY'
import csv, sys
n = 0
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if float(r["epoch_s"]) > float(sys.argv[2]) and int(r["cpu_total_ns"] or 0) > 0:
        n += 1
print(n)
PY
}
after=$(rows_after "$csv" "$checked")
t_check "kt-priv: rows keep coming after the drop, cpu_total_ns > 0 ($after rows, >= 5)" \
	test "$after" -ge 5
t_check "kt-priv rows carry its PID ($burn)" \
	test "$(t_column "$csv" pid | sort -u)" = "$burn"

lv_csv=$out/run/$(t_safe_name kt-priv-lv).csv
t_check "the domain started after the drop has its file" test -f "$lv_csv"
if [ -f "$lv_csv" ]; then
	t_check "its vm column is the libvirt domain name" \
		test "$(t_column "$lv_csv" vm | sort -u)" = kt-priv-lv
	t_check "its rows have cpu_total_ns > 0 ($(rows_after "$lv_csv" 0) rows)" \
		test "$(rows_after "$lv_csv" 0)" -ge 3
	tx=$(t_column "$lv_csv" net_tx_bytes | awk '{ s += $1 } END { printf "%.0f", s }')
	# The guest sends 4 MiB; its tap counts from the interval after it is found.
	t_check "its tap was found in /proc/$lv_pid/fd: net_tx_bytes sum $tx > 2 MiB" \
		test "${tx:-0}" -gt $((2 * 1024 * 1024))
fi
if [ "$lv_user" = root ]; then
	echo "note: libvirt runs QEMU as root here, so /proc of another user was not exercised"
else
	t_check "that QEMU ran as another user ($lv_user), not root" test -n "$lv_user"
fi

bad=$(find "$out/run" -type f ! -perm 0640 -printf '%m %f\n')
t_check "every CSV file is 0640 (others: ${bad:-none})" test -z "$bad"
t_check "no warning about reading /proc or the BPF maps" \
	test -z "$(grep -i 'cannot read\|permission denied\|operation not permitted' "$out/err")"

t_summary
