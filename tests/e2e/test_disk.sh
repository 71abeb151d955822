#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Disk per VM (issue 4, acceptance 1 and 2): two guests writing and reading different amounts
# with cache=none, checked against libvirt's block stats; one with cache=writeback, checked
# against what the guest wrote and the kernel's /proc/PID/io write_bytes.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed disk

# blockstat DOM: "rd.bytes wr.bytes" of its first disk, from libvirt (QEMU's own counts).
blockstat() {
	local stats
	stats=$(virsh -q -c qemu:///system domstats --block "$1")
	echo "$(sed -n 's/.*block\.0\.rd\.bytes=//p' <<<"$stats") $(sed -n 's/.*block\.0\.wr\.bytes=//p' <<<"$stats")"
}
# within TRACED ORACLE TOLERANCE WHAT
within() {
	t_check "$4: traced $1, oracle $2" "$T_PYTHON" -c "import sys
t, o = $1, $2
sys.exit(not (o > 0 and abs(t - o) <= $3 * o))"
}
sum_col() {
	t_column "$1" "$2" | awk '{ s += $1 } END { printf "%.0f", s }'
}
# trace_until_done OUTDIR DOMAIN ITEM...: traces until each domain finished its item.
trace_until_done() {
	local dir=$1 tracer status=0
	shift
	mkdir -p "$dir"
	"$bin" -q -i 1 --libvirt-uri qemu:///system -o "$dir" 2>"$dir.err" &
	tracer=$!
	while (($# >= 2)); do
		tb_wait_done "$1" "$2" || status=1
		shift 2
	done
	sleep 1.5
	kill -INT "$tracer"
	wait "$tracer" || status=1
	return "$status"
}

# --- 1. cache=none: libvirt's block stats
tb_start_domain kt-dk-a sleep:10,disk-rw:24:16 --disk-mib 32 --cache none >/dev/null || exit 1
tb_start_domain kt-dk-b sleep:10,disk-write:12 --disk-mib 32 --cache none >/dev/null || exit 1
tb_wait_ready kt-dk-a && tb_wait_ready kt-dk-b || exit 1
read -r a_rd0 a_wr0 <<<"$(blockstat kt-dk-a)"
read -r b_rd0 b_wr0 <<<"$(blockstat kt-dk-b)"
trace_until_done "$out/none" kt-dk-a disk-rw:24:16 kt-dk-b disk-write:12
t_check "cache=none: both guests did their I/O, the tracer ended cleanly ($?)" test $? -eq 0
read -r a_rd1 a_wr1 <<<"$(blockstat kt-dk-a)"
read -r b_rd1 b_wr1 <<<"$(blockstat kt-dk-b)"
a=$out/none/kt-dk-a.csv
b=$out/none/kt-dk-b.csv
within "$(sum_col "$a" disk_write_bytes)" $((a_wr1 - a_wr0)) 0.03 "A: disk_write_bytes vs libvirt wr.bytes"
within "$(sum_col "$a" disk_read_bytes)" $((a_rd1 - a_rd0)) 0.03 "A: disk_read_bytes vs libvirt rd.bytes"
within "$(sum_col "$b" disk_write_bytes)" $((b_wr1 - b_wr0)) 0.03 "B: disk_write_bytes vs libvirt wr.bytes"
t_check "B read nothing and got none of A's reads ($(sum_col "$b" disk_read_bytes) bytes)" \
	test "$(sum_col "$b" disk_read_bytes)" -le $(((b_rd1 - b_rd0) + 65536))
t_check "A's and B's writes differ as their guests' do (24 vs 12 MiB)" \
	test "$(sum_col "$a" disk_write_bytes)" -gt $(($(sum_col "$b" disk_write_bytes) * 3 / 2))
t_check "write ops and a latency were measured for A" \
	test "$(sum_col "$a" disk_write_ops)" -gt 0 -a -n "$(t_column "$a" disk_lat_avg_us | grep -v '^$' | head -n 1)"
tb_destroy_domain kt-dk-a
tb_destroy_domain kt-dk-b

# --- 2. cache=writeback: charged when QEMU dirties the pages, as /proc/PID/io does
tb_start_domain kt-dk-wb sleep:10,disk-write:16 --disk-mib 32 --cache writeback >/dev/null || exit 1
tb_wait_ready kt-dk-wb || exit 1
pid=$(tb_domain_pid kt-dk-wb)
io0=$(awk '/^write_bytes:/ { print $2 }' "/proc/$pid/io")
trace_until_done "$out/wb" kt-dk-wb disk-write:16
t_check "cache=writeback: the guest wrote and the tracer ended cleanly ($?)" test $? -eq 0
io1=$(awk '/^write_bytes:/ { print $2 }' "/proc/$pid/io")
wb=$out/wb/kt-dk-wb.csv
within "$(sum_col "$wb" disk_write_bytes)" 16777216 0.05 "disk_write_bytes vs the 16 MiB the guest wrote"
within "$(sum_col "$wb" disk_write_bytes)" $((io1 - io0)) 0.05 "disk_write_bytes vs /proc/PID/io write_bytes"
t_summary
