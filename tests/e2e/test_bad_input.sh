#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad input and faults (issue 2, acceptance 4): every case gets its one-line message and exit
# status; a VM that ends mid-interval gets its last row; SIGINT finishes the interval.
. "$(dirname "$0")/prelude.sh" "$@"
work=$(mktemp -d /tmp/kt-e2e-bad.XXXXXX)
chmod 0755 "$work"
cleanup() {
	pkill -f "$work/qemu-system-x86_64" 2>/dev/null
	umount "$work/ro" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# expect STATUS PATTERN DESCRIPTION -- COMMAND...: the command exits with STATUS and its stderr
# is exactly one line, starting "kvmtrace-bpf: " and matching PATTERN.
expect() {
	t_one_message "$1" kvmtrace-bpf "$2" "$3" "$work" "${@:4}"
}

expect 2 "unknown option '--bogus'" "unknown option" -- "$bin" --bogus
expect 2 "invalid interval '0'" "-i 0" -- "$bin" -i 0
expect 2 "invalid interval '-1'" "-i -1" -- "$bin" -i -1
expect 2 "invalid interval 'abc'" "-i abc" -- "$bin" -i abc
expect 2 "invalid overhead budget '0' (--overhead-budget): give a percentage above 0" \
	"--overhead-budget 0" -- "$bin" --overhead-budget 0
ln -s "$work" "$work/self"
expect 2 "cannot create output folder.*symbolic link" "missing -o folder behind a link" -- \
	"$bin" -o "$work/self/none"
t_check "and nothing was made through the link" test ! -e "$work/none"
ln -s /etc "$work/etc-link"
expect 2 "-> /etc is a system folder" "-o symlink into /etc" -- "$bin" -o "$work/etc-link"
mkdir "$work/ro"
mount -t tmpfs -o ro,size=64k kt-ro "$work/ro"
expect 2 "cannot write in output folder.*Read-only" "unwritable -o folder" -- "$bin" -o "$work/ro"
expect 2 "no process with PID" "-p of no process" -- "$bin" -p 4194000 -o "$work"
"$bin" -q -c 1 -i 0.2 --libvirt-uri none --counters none --sample-hz 0 -o "$work/new/nested" \
	2>/dev/null
t_check "a missing -o folder is made, its parents too, mode 0750 ($(stat -c %a "$work/new/nested" 2>&1))" \
	test "$(stat -c %a "$work/new/nested" "$work/new" 2>/dev/null | sort -u)" = 750

# Faults of the host, each simulated for real in a private mount namespace.
expect 1 "no BTF.*CONFIG_DEBUG_INFO_BTF" "kernel without BTF" -- \
	unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && exec $bin -c 1 -o $work"
expect 1 "needs root, or CAP_BPF and CAP_PERFMON" "not root, no capabilities" -- \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$bin" -c 1 -o /tmp

# A stand-in VMM: a copy of sleep named like QEMU is found by its name, as QEMU would be.
cp "$(command -v sleep)" "$work/qemu-system-x86_64"
fake_vmm() {
	"$work/qemu-system-x86_64" "$1" >/dev/null &
	echo $!
}

# No kvm tracepoints: a warning, and the run goes on with empty guest columns.
mkdir -p "$work/nokvm"
fake_vmm 30 >/dev/null
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
expect 0 "cannot attach kvm:kvm_exit: no kvm tracepoints.*guest time comes from the kernel" \
	"kernel without kvm tracepoints" -- unshare -m sh -c \
	"mount -t tmpfs none /sys/kernel/tracing/events/kvm && exec $bin -q -c 2 -i 0.5 \
	--libvirt-uri none --counters none -o $work/nokvm"
t_check "without kvm tracepoints the VM still gets rows, guest columns empty" \
	test "$(tail -n +2 "$work/nokvm/qemu-system-x86-"*.csv | cut -d, -f9,13,14,16 | sort -u)" = ",,,"
pkill -f "$work/qemu-system-x86_64"

# An unreachable libvirt: one warning, and the run goes on with names from the command line.
fake_vmm 30 >/dev/null
mkdir "$work/nolibvirt"
"$bin" -q -c 3 -i 0.5 --libvirt-uri "qemu:///system?socket=$work/none.sock" \
	-o "$work/nolibvirt" 2>"$work/err"
status=$?
t_check "unreachable libvirt URI: status $status, one warning: $(grep libvirt "$work/err")" \
	test "$status" -eq 0 -a "$(grep -c 'warning: cannot connect to libvirt at' "$work/err")" -eq 1
t_check "without libvirt the VM still gets every row" \
	test "$(t_rows "$work/nolibvirt/qemu-system-x86-"*.csv)" -eq 3
pkill -f "$work/qemu-system-x86_64"

# started DIR BIN ARGS...: starts the tracer in the background ($tracer, stderr in $work/err)
# and returns once its first row is out (DIR/@host.csv): start-up takes a while (BPF programs
# verified, kernel symbols read), and what follows must happen in its rows.
started() {
	local dir=$1
	shift
	"$@" 2>"$work/err" &
	tracer=$!
	t_wait_for 100 0.1 test -s "$dir/@host.csv"
}

# A VM ending mid-interval gets its last row, and no row after it.
mkdir "$work/end"
started "$work/end" "$bin" -q -c 4 -i 1 -o "$work/end"
pid=$(fake_vmm 1.5)
wait "$tracer"
t_check "tracer runs on when a VM ends (status $?)" true
rows=$(tail -n +2 "$work/end/qemu-system-x86-$pid.csv" 2>/dev/null | wc -l)
t_check "the VM that ended after ~1.5 s has 2 rows, its last one included ($rows)" \
	test "$rows" -eq 2

# SIGINT finishes the current interval: a last, shorter row, whole files, status 0.
mkdir "$work/int"
pid=$(fake_vmm 30)
started "$work/int" "$bin" -q -i 1 -o "$work/int"
sleep 1.5
kill -INT "$tracer"
wait "$tracer"
status=$?
t_check "SIGINT: exit status 0 ($status)" test "$status" -eq 0
csv="$work/int/qemu-system-x86-$pid.csv"
t_check "SIGINT: 3 rows, the last one shorter than the interval" "$T_PYTHON" - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
print("rows:", [(r["interval_s"], r["cpu_total_ns"]) for r in rows])
# Whole rows: as many fields as the header, no more (key None) and no fewer (value None).
sys.exit(not (len(rows) == 3 and float(rows[-1]["interval_s"]) < 0.9
              and all(None not in r and None not in r.values() for r in rows)))
PY

t_summary
