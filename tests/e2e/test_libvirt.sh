#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end with libvirt (issue 3): domain names and UUIDs, CPU against libvirt's cpu.time,
# domains destroyed, started and restarted mid-run, and libvirtd killed and restarted.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed libvirt
mkdir "$out/p1" "$out/p2" "$out/p3"

# Samples libvirt's cpu.time of every domain until stopped.
start_domstats() {
	# Real-time priority: three TCG guests on two CPUs must not delay its readings.
	chrt -f 10 "$T_PYTHON" tests/e2e/oracle.py sample-domstats --out "$1" &
	sampler=$!
	tb_add_cleanup "kill $sampler 2>/dev/null || true"
}

# Without a cgroup of its own (no systemd, as on the test machines) libvirt's cpu.time comes
# from /proc/PID/stat in clock ticks: a delta is exact only to two ticks. With a cgroup: ns.
cputime_resolution() {
	if grep -q '^[0-9]*:[^:]*cpuacct[^:]*:/$' "/proc/$1/cgroup"; then
		echo $((2 * 1000000000 / $(getconf CLK_TCK)))
	else
		echo 0
	fi
}

csv_of() {
	echo "$1/$(t_safe_name "$2").csv"
}

# --- 1. three domains: names, UUIDs, CPU within 2% of libvirt's cpu.time
doms=("kt-lv-burn" "kt-lv-idle" "kt-lv has space")
tb_start_domain "${doms[0]}" burn:0 >/dev/null || exit 1
tb_start_domain "${doms[1]}" idle >/dev/null || exit 1
tb_start_domain "${doms[2]}" burn:0 >/dev/null || exit 1
tb_wait_start "${doms[0]}" burn:0 && tb_wait_start "${doms[1]}" idle &&
	tb_wait_start "${doms[2]}" burn:0 || exit 1
start_domstats "$out/domstats1"
sleep 0.5
"$bin" -q -i 1 -c 9 -o "$out/p1" 2>"$out/p1.err"
status=$?
t_check "traced 9 intervals (status $status)" test "$status" -eq 0
sleep 0.3
kill "$sampler"
for dom in "${doms[@]}"; do
	csv=$(csv_of "$out/p1" "$dom")
	t_check "'$dom' has its file $(basename "$csv")" test -f "$csv"
	[ -f "$csv" ] || continue
	t_check "'$dom': 9 rows, vm column is the domain name" \
		test "$(t_column "$csv" vm | sort -u)" = "$dom" -a "$(t_rows "$csv")" -eq 9
	uuid=$(virsh -q -c qemu:///system domuuid "$dom")
	t_check "'$dom': uuid column is virsh domuuid ($uuid)" \
		test "$(t_column "$csv" uuid | sort -u)" = "$uuid"
	t_check "'$dom': vcpus column is libvirt's (1)" test "$(t_column "$csv" vcpus | sort -u)" = 1
	t_check "'$dom': summed cpu_total_ns within 2% of libvirt's cpu.time" \
		t_oracle check-cpu --csv "$csv" --samples "$out/domstats1" --key "$dom" --tol 0.02 \
		--resolution-ns "$(cputime_resolution "$(tb_domain_pid "$dom")")"
done
# What this host lacks is said (no KVM, no PMU, switches its kernel does not report); nothing
# else may be.
t_check "no warning or error on stderr but this host's own" test ! -s "$out/p1.err" -o \
	"$(grep -vc 'no /dev/kvm\|software KVM (PVM)\|no hardware PMU\|kernel did not report' "$out/p1.err")" -eq 0

# --- 2. lifecycle: destroy one, start another, restart one (new PID, same UUID)
virsh -q -c qemu:///system dumpxml "${doms[1]}" >"$out/idle.xml"
old_pid=$(tb_domain_pid "${doms[1]}")
"$bin" -q -i 1 -d 12 -o "$out/p2" 2>"$out/p2.err" &
tracer=$!
sleep 2.5
tb_destroy_domain "${doms[2]}"
t_destroyed=$(date +%s.%N)
tb_start_domain kt-lv-late idle >/dev/null
virsh -q -c qemu:///system destroy "${doms[1]}" >/dev/null
virsh -q -c qemu:///system create "$out/idle.xml" >/dev/null
tb_add_cleanup "virsh -q -c qemu:///system destroy '${doms[1]}' >/dev/null 2>&1"
new_pid=$(tb_domain_pid "${doms[1]}")
t_restarted=$(date +%s.%N)
wait "$tracer"
status=$?
t_check "tracer ran through the lifecycle (status $status)" test "$status" -eq 0
check_lifecycle() {
	"$T_PYTHON" - "$@" <<'PY'
import csv, sys
destroyed_csv, t_destroyed, late_csv, idle_csv, old_pid, new_pid, t_restarted = sys.argv[1:]
rows = lambda p: list(csv.DictReader(open(p, newline="")))
bad = []
d = rows(destroyed_csv)
if not d or any(float(r["epoch_s"]) > float(t_destroyed) + 1.5 for r in d):
    bad.append(f"destroyed domain: {len(d)} rows, last at {d[-1]['epoch_s'] if d else '-'}, "
               f"destroyed at {t_destroyed}")
late = rows(late_csv)
if len(late) < 3:
    bad.append(f"domain started mid-run: only {len(late)} rows")
idle = rows(idle_csv)
pids = [r["pid"] for r in idle]
if set(pids) != {old_pid, new_pid} or pids != sorted(pids, key=[old_pid, new_pid].index):
    bad.append(f"restarted domain: pids {pids}, expected {old_pid} then {new_pid}")
if len({r["uuid"] for r in idle}) != 1:
    bad.append("restarted domain: its UUID changed")
print("; ".join(bad) or f"destroyed {len(d)} rows, late {len(late)} rows, restarted "
      f"{pids.count(old_pid)}+{pids.count(new_pid)} rows")
sys.exit(bool(bad))
PY
}
t_check "lifecycle: rows stop, start and continue in one file with the new PID" \
	check_lifecycle "$(csv_of "$out/p2" "${doms[2]}")" "$t_destroyed" \
	"$(csv_of "$out/p2" kt-lv-late)" "$(csv_of "$out/p2" "${doms[1]}")" "$old_pid" \
	"$new_pid" "$t_restarted"
own_pids_only() {
	local f pids
	for f in "$out"/p2/*.csv; do
		case $f in *.vcpu.csv | *.exits.csv | */@host.csv) continue ;; esac
		pids=$(t_column "$f" pid | sort -u | wc -l)
		# Only the restarted domain may have two PIDs, one after the other.
		if [ "$pids" -gt 1 ] && [ "$f" != "$(csv_of "$out/p2" "${doms[1]}")" ]; then
			echo "$f has $pids PIDs"
			return 1
		fi
	done
}
t_check "no row of one domain carries another's PID" own_pids_only

# --- 3. libvirtd killed and restarted mid-run
"$bin" -q -i 1 -c 8 -o "$out/p3" 2>"$out/p3.err" &
tracer=$!
sleep 2.2
ours=0
[ -f "$(tb_session_dir)/libvirtd" ] && ours=1
pkill -x libvirtd
sleep 2
# Started again as it was: by the test bed (which then stops it at cleanup) or as the host's.
if [ "$ours" -eq 1 ]; then
	tb_libvirt_up
else
	libvirtd -d
fi
wait "$tracer"
status=$?
t_check "tracer survived libvirtd's restart (status $status)" test "$status" -eq 0
for dom in "${doms[0]}" "${doms[1]}" kt-lv-late; do
	csv=$(csv_of "$out/p3" "$dom")
	t_check "'$dom' kept all 8 rows and its name through the restart" \
		test "$(t_rows "$csv")" -eq 8 -a "$(t_column "$csv" vm | sort -u)" = "$dom"
done
t_check "the lost connection was reported once" \
	test "$(grep -c 'libvirt at qemu:///system' "$out/p3.err")" -ge 1

t_summary
