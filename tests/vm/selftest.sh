#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the VM test bed (tests/vm/testbed.sh): builds the guest, runs direct
# QEMU and libvirt guests with CPU, disk and network workloads, checks each against a
# kernel or libvirt oracle, cleans up and checks that nothing is left.
# Last line: "N passed, N failed"; exit status 1 when anything failed.
#
# Usage: tests/vm/selftest.sh          (as root)

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=testbed.sh
. "$HERE/testbed.sh"

PASSED=0
FAILED=0
MIB=1048576

pass() {
	PASSED=$((PASSED + 1))
	echo "PASS  $*"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL  $*"
}

finish() {
	tb_cleanup
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0))
	exit
}

# Sum of on-CPU nanoseconds of every thread of PID.
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

domstat() {
	virsh -q -c "$KT_LIBVIRT_URI" domstats "$2" "$1" 2>/dev/null |
		awk -F= -v k="$3" '$1 ~ "^ *"k"$" {print $2}'
}

if ! tb_init; then
	echo "0 passed, 1 failed"
	exit 1
fi
SESS=$(tb_session_dir)

# ---- 1. guest image
t0=$SECONDS
if tb_build_guest; then
	pass "guest image for kernel $TB_KVER built in $((SECONDS - t0))s ($TB_INITRD)"
else
	fail "guest image build"
	finish
fi
stamp_before=$(stat -c %Y "$TB_INITRD")
t0=$SECONDS
tb_build_guest
if [[ $(stat -c %Y "$TB_INITRD") == "$stamp_before" ]] && ((SECONDS - t0 < 3)); then
	pass "guest image cached (second tb_build_guest reused it)"
else
	fail "guest image rebuilt on second call"
fi
order=$(zcat "$TB_INITRD" | cpio -i --to-stdout --quiet lib/modules/load.list 2>/dev/null | tr '\n' ' ')
if [[ $order == *virtio_ring*virtio_pci*virtio_blk* && $order == *failover*net_failover*virtio_net* ]]; then
	pass "initramfs loads modules in dependency order: $order"
else
	fail "initramfs module order: '$order'"
fi

# ---- 2. workload checks on the host
if ! tb_start_qemu kt-st-bad frobnicate:3 1 >/dev/null 2>&1 &&
	! tb_start_qemu kt-st-bad burn:x 1 >/dev/null 2>&1; then
	pass "bad workloads rejected before boot"
else
	fail "bad workload accepted"
fi

# ---- 3. direct QEMU, burn
if pid=$(tb_start_qemu kt-st-burn burn:0 1) && tb_wait_start kt-st-burn burn:0; then
	pass "direct QEMU guest booted (PID $pid)"
	if grep -qx 'CPU 0/TCG\|CPU 0/KVM' /proc/"$pid"/task/*/comm; then
		pass "vCPU thread named 'CPU 0/TCG' (debug-threads=on)"
	else
		fail "no 'CPU 0/...' thread in QEMU $pid: $(cat /proc/"$pid"/task/*/comm | tr '\n' ',')"
	fi
	tb_sleep 1
	a=$(cpu_ns "$pid")
	ta=$(date +%s%N)
	tb_sleep 5
	b=$(cpu_ns "$pid")
	tb=$(date +%s%N)
	rate=$(awk -v d=$((b - a)) -v t=$((tb - ta)) 'BEGIN {printf "%.2f", d / t}')
	if awk -v r="$rate" 'BEGIN {exit !(r >= 0.6 && r <= 1.4)}'; then
		pass "burn:0 on 1 vCPU: QEMU on CPU $rate s/s (schedstat)"
	else
		fail "burn:0 on 1 vCPU: QEMU on CPU $rate s/s, expected ~1"
	fi
	tb_stop_guest kt-st-burn
	if kill -0 "$pid" 2>/dev/null; then
		fail "tb_stop_guest left QEMU $pid running"
	else
		pass "tb_stop_guest stopped QEMU $pid"
	fi
else
	fail "direct QEMU burn guest did not start"
fi

# ---- 4. direct QEMU, disk + network chain
if tb_start_qemu kt-st-qio disk-rw:4:2,net-recv:1,net-send:1 1 --net >/dev/null &&
	tb_wait_done kt-st-qio; then
	ip=$(tb_guest_ip kt-st-qio)
	got=$(tb_peer_bytes sink "$ip")
	sent=$(tb_peer_bytes source "$ip")
	wb=$(tb_guest_result kt-st-qio disk-rw:4:2 wbytes)
	rb=$(tb_guest_result kt-st-qio disk-rw:4:2 rbytes)
	if [[ $got == "$MIB" && $sent == "$MIB" && $wb == $((4 * MIB)) && $rb == $((2 * MIB)) ]]; then
		pass "direct QEMU chain disk-rw:4:2,net-recv:1,net-send:1 (peer got $got, sent $sent; dd wrote $wb, read $rb)"
	else
		fail "direct QEMU chain: peer got '$got' sent '$sent', dd wrote '$wb' read '$rb'"
	fi
	tap=$(tb_guest_tap kt-st-qio)
	rx=$(cat "/sys/class/net/$tap/statistics/rx_bytes")
	if ((rx >= MIB)); then
		pass "direct QEMU tap $tap rx_bytes $rx >= 1 MiB"
	else
		fail "direct QEMU tap $tap rx_bytes $rx < 1 MiB"
	fi
	tb_stop_guest kt-st-qio
else
	fail "direct QEMU disk+net guest"
fi

# ---- 5. libvirt domains
if ! tb_libvirt_up; then
	fail "libvirt unavailable"
	finish
fi
pass "libvirt answers on $KT_LIBVIRT_URI"
started_daemons=$(cat "$SESS/libvirtd" "$SESS/virtlogd" 2>/dev/null)

dd=$(tb_start_domain st-disk disk-write:8 --disk-mib 16 --cache none) || fail "start domain st-disk"
dw=$(tb_start_domain st-diskwb disk-write:4 --disk-mib 16 --cache writeback) || fail "start domain st-diskwb"
dn=$(tb_start_domain st-net net-send:4 --net) || fail "start domain st-net"

if [[ -n $dd ]] && tb_wait_done "$dd" disk-write:8; then
	wr=$(domstat "$dd" --block block.0.wr.bytes)
	if ((${wr:-0} >= 8 * MIB && ${wr:-0} <= 9 * MIB)); then
		pass "disk-write:8 cache=none: domstats block.0.wr.bytes = $wr (~8 MiB)"
	else
		fail "disk-write:8 cache=none: domstats block.0.wr.bytes = ${wr:-none}, expected ~$((8 * MIB))"
	fi
	dpid=$(tb_domain_pid "$dd")
	if [[ -n $dpid && $dpid == "$(tb_guest_pid "$dd")" ]] && grep -q "guest=$dd," /proc/"$dpid"/cmdline; then
		pass "tb_domain_pid $dd = $dpid"
	else
		fail "tb_domain_pid $dd = '$dpid'"
	fi
	if grep -qx 'CPU 0/TCG\|CPU 0/KVM' /proc/"$dpid"/task/*/comm; then
		pass "libvirt QEMU has a 'CPU 0/TCG' thread"
	else
		fail "libvirt QEMU lacks a 'CPU 0/...' thread"
	fi
fi

if [[ -n $dw ]] && tb_wait_done "$dw" disk-write:4; then
	wr=$(domstat "$dw" --block block.0.wr.bytes)
	if ((${wr:-0} >= 4 * MIB && ${wr:-0} <= 5 * MIB)); then
		pass "disk-write:4 cache=writeback: domstats block.0.wr.bytes = $wr"
	else
		fail "disk-write:4 cache=writeback: domstats block.0.wr.bytes = ${wr:-none}"
	fi
fi

if [[ -n $dn ]] && tb_wait_done "$dn" net-send:4; then
	tap=$(tb_guest_tap "$dn")
	rx=$(cat "/sys/class/net/$tap/statistics/rx_bytes" 2>/dev/null)
	if ((${rx:-0} >= 4 * MIB)); then
		pass "net-send:4: tap $tap rx_bytes = $rx (>= 4 MiB)"
	else
		fail "net-send:4: tap $tap rx_bytes = ${rx:-none}, expected >= $((4 * MIB))"
	fi
	got=$(tb_peer_bytes sink "$(tb_guest_ip "$dn")")
	if [[ $got == $((4 * MIB)) ]]; then
		pass "net-send:4: peer received $got bytes"
	else
		fail "net-send:4: peer received '$got' bytes"
	fi
fi

if [[ -n $dd ]]; then
	dpid=$(tb_guest_pid "$dd")
	tb_destroy_domain "$dd"
	if ! virsh -q -c "$KT_LIBVIRT_URI" dominfo "$dd" >/dev/null 2>&1 && ! kill -0 "$dpid" 2>/dev/null; then
		pass "tb_destroy_domain $dd"
	else
		fail "tb_destroy_domain $dd left the domain or its QEMU"
	fi
fi

# ---- 6. cleanup leaves nothing behind
tb_cleanup
left=$(pgrep -af 'guest=kt-st-' | cut -c1-80)
if [[ -z $left ]]; then
	pass "no test bed QEMU left"
else
	fail "QEMU left behind: $left"
fi
links=$(ip -o link show | awk -F': ' '{print $2}' | grep -E "^($KT_BRIDGE|kt-tap)" | tr '\n' ' ')
if [[ -z $links ]] && ! ip netns list | grep -qw -- "$KT_NETNS"; then
	pass "no $KT_BRIDGE bridge, veth, kt-tap or $KT_NETNS namespace left"
else
	fail "network left behind: ${links}$(ip netns list | grep -w -- "$KT_NETNS")"
fi
alive=
while read -r owner; do
	[[ -n $owner ]] && _tb_owner_alive "$owner" && alive+=" ${owner%% *}"
done <<<"$started_daemons"
if [[ -z $started_daemons ]]; then
	pass "libvirt daemons were already running; left running"
elif [[ -z $alive ]]; then
	pass "daemons started by the test bed are stopped"
else
	fail "daemons started by the test bed still run:$alive"
fi

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
