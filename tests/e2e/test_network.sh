#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Network per VM (issue 4, acceptance 3): one guest sends and one receives 8 MiB over the test
# bridge; each VM's net_tx/rx_bytes must match its tap's statistics (direction mapped) and
# libvirt's net.0.tx/rx.bytes within 2%, and neither VM gets the other's traffic.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed net

tb_start_domain kt-net-tx sleep:12,net-send:8 --net >/dev/null || exit 1
tb_start_domain kt-net-rx sleep:12,net-recv:8 --net >/dev/null || exit 1
tb_wait_ready kt-net-tx && tb_wait_ready kt-net-rx || exit 1
tx_tap=$(tb_guest_tap kt-net-tx) && rx_tap=$(tb_guest_tap kt-net-rx) || exit 1

# counters NAME: "tap_rx tap_tx libvirt_rx libvirt_tx" of a domain, now.
counters() {
	local tap=$1 dom=$2 stats
	stats=$(virsh -q -c qemu:///system domstats --interface "$dom")
	echo "$(cat "/sys/class/net/$tap/statistics/rx_bytes") \
$(cat "/sys/class/net/$tap/statistics/tx_bytes") \
$(sed -n 's/.*net\.0\.rx\.bytes=//p' <<<"$stats") $(sed -n 's/.*net\.0\.tx\.bytes=//p' <<<"$stats")"
}
read -r tx_tap_rx0 tx_tap_tx0 tx_lv_rx0 tx_lv_tx0 <<<"$(counters "$tx_tap" kt-net-tx)"
read -r rx_tap_rx0 rx_tap_tx0 rx_lv_rx0 rx_lv_tx0 <<<"$(counters "$rx_tap" kt-net-rx)"
"$bin" -q -i 1 -o "$out" 2>"$out/err" &
tracer=$!
tb_wait_done kt-net-tx net-send:8 && tb_wait_done kt-net-rx net-recv:8
done_status=$?
sleep 1.5
kill -INT "$tracer"
wait "$tracer"
status=$?
read -r tx_tap_rx1 tx_tap_tx1 tx_lv_rx1 tx_lv_tx1 <<<"$(counters "$tx_tap" kt-net-tx)"
read -r rx_tap_rx1 rx_tap_tx1 rx_lv_rx1 rx_lv_tx1 <<<"$(counters "$rx_tap" kt-net-rx)"
t_check "both transfers completed ($done_status) and the tracer ended cleanly ($status)" \
	test "$done_status" -eq 0 -a "$status" -eq 0

# within TRACED ORACLE WHAT: |traced - oracle| <= 2% of the oracle, or one frame (1514 bytes):
# the oracle is read just before the tracer starts, which counts a tap from its first interval,
# so an ARP or ACK in between is the oracle's alone.
within() {
	local traced=$1 oracle=$2 what=$3
	t_check "$what: traced $traced, oracle $oracle" "$T_PYTHON" -c "import sys
t, o = $traced, $oracle
sys.exit(not (o > 0 and abs(t - o) <= max(0.02 * o, 1514)))"
}
sum_col() {
	t_column "$1" "$2" | awk '{ s += $1 } END { printf "%.0f", s }'
}
tx_csv=$out/kt-net-tx.csv
rx_csv=$out/kt-net-rx.csv
# The guest's tx is what its tap receives, and the other way round.
within "$(sum_col "$tx_csv" net_tx_bytes)" $((tx_tap_rx1 - tx_tap_rx0)) "sender: net_tx_bytes vs tap rx_bytes"
within "$(sum_col "$tx_csv" net_tx_bytes)" $((tx_lv_tx1 - tx_lv_tx0)) "sender: net_tx_bytes vs libvirt net.0.tx.bytes"
within "$(sum_col "$tx_csv" net_rx_bytes)" $((tx_tap_tx1 - tx_tap_tx0)) "sender: net_rx_bytes vs tap tx_bytes"
within "$(sum_col "$rx_csv" net_rx_bytes)" $((rx_tap_tx1 - rx_tap_tx0)) "receiver: net_rx_bytes vs tap tx_bytes"
within "$(sum_col "$rx_csv" net_rx_bytes)" $((rx_lv_rx1 - rx_lv_rx0)) "receiver: net_rx_bytes vs libvirt net.0.rx.bytes"
within "$(sum_col "$rx_csv" net_tx_bytes)" $((rx_tap_rx1 - rx_tap_rx0)) "receiver: net_tx_bytes vs tap rx_bytes"
t_check "the sender sent at least 8 MiB and the receiver received at least 8 MiB" \
	test "$(sum_col "$tx_csv" net_tx_bytes)" -ge 8388608 -a "$(sum_col "$rx_csv" net_rx_bytes)" -ge 8388608
pid=$(tb_domain_pid kt-net-tx)
rss=$(t_column "$tx_csv" mem_rss_bytes | tail -n 1)
vmrss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$pid/status")
within "$rss" "$vmrss" "mem_rss_bytes vs VmRSS (last row vs now; an idle guest's RSS is stable)"
t_check "mem_guest_bytes is libvirt's memory (256 MiB)" \
	test "$(t_column "$tx_csv" mem_guest_bytes | sort -u)" = 268435456
# A tap deleted mid-run (here a hand-started QEMU's): followed at the next interval, no crash,
# and the VM keeps its rows.
tb_start_qemu kt-net-q idle --net >/dev/null || exit 1
tb_wait_ready kt-net-q || exit 1
q_tap=$(tb_guest_tap kt-net-q)
mkdir "$out/del"
"$bin" -q -i 1 -c 5 --libvirt-uri none -o "$out/del" 2>"$out/del.err" &
tracer=$!
sleep 2.5
ip link del "$q_tap"
wait "$tracer"
status=$?
t_check "tap $q_tap deleted mid-run: status $status, 5 rows for the VM" \
	test "$status" -eq 0 -a "$(t_rows "$out/del/kt-net-q.csv")" -eq 5
t_summary
