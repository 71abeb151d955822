#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Counters and hypervisor components (issue 6, acceptance 1-3). A guest burning CPU, counted
# with software counters (there is no PMU here) against `perf stat -p` over each row's window;
# a guest that sends over the test bridge and writes to its disk, whose hypervisor time must
# split into components that sum to cpu_hyp_ns, with network components only while it moves
# packets; then the plot script turns the run into a figure.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed components
burn=$(tb_start_qemu kt-cnt-burn burn:0) || exit 1
# 256 MiB through the host's page cache: 60-380 ms of QEMU time in ext4 and the block layer,
# several hits of the sampler at the rate its budget leaves; 64 MiB gave 10-30 ms, one or two
# hits, and none in a CI run (the check below failed).
tb_start_domain kt-cmp-io sleep:4,net-send:24,disk-write:256,sleep:3 --net --disk-mib 272 \
	--cache writeback \
	>/dev/null || exit 1
tb_wait_start kt-cnt-burn burn:0 || exit 1
tb_wait_ready kt-cmp-io || exit 1

events=cpu-clock,task-clock,page-faults
# Not through t_oracle: $! must be the oracle itself, to stop it. Real-time, as the schedstat
# oracle: perf must read its counters when its clock says, even with both CPUs busy.
chrt -f 10 "$T_PYTHON" tests/e2e/oracle.py perf-stat --pid "$burn" --events "$events" --out "$out/perf" &
perf=$!
tb_add_cleanup "kill $perf 2>/dev/null || true"
sleep 0.5
"$bin" -q -i 1 --counters "$events" -o "$out" 2>"$out/err" &
tracer=$!
tb_wait_done kt-cmp-io sleep:3
done_status=$?
sleep 1.5
kill -INT "$tracer"
wait "$tracer"
status=$?
sleep 0.3
kill "$perf"
wait "$perf"
cat "$out/err"
t_check "the guest's work completed ($done_status) and the tracer ended cleanly ($status)" \
	test "$done_status" -eq 0 -a "$status" -eq 0
t_check "no warning about the software counters" \
	test "$(grep -c 'cannot count' "$out/err")" -eq 0

burn_csv=$out/kt-cnt-burn.csv
io_csv=$out/kt-cmp-io.csv
t_check "each extra counter has its column at the end of the header" \
	test "$(head -n 1 "$burn_csv" | rev | cut -d, -f1-3 | rev)" = \
	"cpu_clock_ns,task_clock_ns,page_faults"
t_check "cycles and instructions were not asked for: their columns are empty" \
	test -z "$(t_column "$burn_csv" host_cycles; t_column "$burn_csv" guest_instructions)"

# Acceptance 1: per row (the first may start mid-slice), within 2% of perf stat.
t_check "kt-cnt-burn: counters within 2% of perf stat -p over each row's window" \
	t_oracle check-counters --csv "$burn_csv" --samples "$out/perf" \
	--column cpu_clock_ns=cpu-clock --column task_clock_ns=task-clock \
	--column page_faults=page-faults --tol 0.02 --floor 2

# Acceptance 2: components sum to cpu_hyp_ns; network ones only with packets.
components_ok() {
	"$T_PYTHON" - "$@" <<'PY'
import csv, sys
NET = ["hyp_tap_ns", "hyp_bridge_ns", "hyp_net_ns", "ext_tap_ns", "ext_bridge_ns", "ext_net_ns"]
bad, rows, split_rows = 0, 0, 0
for path in sys.argv[1:]:
    # Until the sampler's first hit of a VM there are no shares to split by: its leading rows
    # may leave the components empty (unknown), never a later one.
    split_seen = False
    for r in csv.DictReader(open(path, newline="")):
        rows += 1
        hyp = int(r["cpu_hyp_ns"])
        parts = [k for k in r if k.startswith("hyp_")]
        if all(r[k] == "" for k in parts) and not split_seen:
            print(f"{path} {r['timestamp']}: no sampler hit yet, {hyp} ns not split")
            continue
        split_seen = True
        split_rows += 1
        if any(r[k] == "" for k in parts):
            print(f"{path} {r['timestamp']}: a component is empty")
            bad += 1
            continue
        total = sum(int(r[k]) for k in parts)
        if abs(total - hyp) > 0.01 * hyp:
            print(f"{path} {r['timestamp']}: components sum to {total}, cpu_hyp_ns {hyp}")
            bad += 1
        moved = int(r["net_rx_bytes"] or 0) + int(r["net_tx_bytes"] or 0)
        net = sum(int(r[k] or 0) for k in NET)
        if net and not moved:
            print(f"{path} {r['timestamp']}: {net} ns of network work without a packet")
            bad += 1
    if not split_seen:
        print(f"{path}: no row was split")
        bad += 1
print(f"{rows} rows checked, {split_rows} split, {bad} wrong")
sys.exit(bad != 0)
PY
}
t_check "from a VM's first sampler hit: hyp_* sum to cpu_hyp_ns (±1%), network ones with packets" \
	components_ok "$burn_csv" "$io_csv"
sum_cols() {
	local csv=$1 c total=0
	shift
	for c in "$@"; do
		total=$((total + $(t_column "$csv" "$c" | awk '{ s += $1 } END { printf "%.0f", s }')))
	done
	echo "$total"
}
net_ns=$(sum_cols "$io_csv" hyp_tap_ns hyp_bridge_ns hyp_net_ns ext_tap_ns ext_bridge_ns ext_net_ns)
block_ns=$(sum_cols "$io_csv" hyp_block_ns)
user_ns=$(sum_cols "$burn_csv" hyp_qemu_user_ns)
hyp_ns=$(sum_cols "$burn_csv" cpu_hyp_ns)
echo "kt-cmp-io: network components $net_ns ns, block $block_ns ns"
t_check "the sending guest's network work shows in its network components ($net_ns ns)" \
	test "$net_ns" -gt 0
t_check "the writing guest's disk work shows in hyp_block_ns ($block_ns ns)" \
	test "$block_ns" -gt 0
t_check "the burning TCG guest's time is mostly QEMU user space ($user_ns of $hyp_ns ns)" \
	test "$((user_ns * 2))" -gt "$hyp_ns"

# Acceptance 3: the figure.
"$T_PYTHON" scripts/plot_components.py "$out" -o "$out/fig.png" >/dev/null 2>"$out/plot.err"
t_check "the plot script turns the run into a PNG" test -s "$out/fig.png"
png_ok() {
	"$T_PYTHON" - "$1" <<'PY'
import json, sys
from PIL import Image
img = Image.open(sys.argv[1])
img.verify()
meta = json.loads(Image.open(sys.argv[1]).info["Description"])
want_vms = {"kt-cnt-burn", "kt-cmp-io"}
want_series = {"hyp_qemu_user_ns", "hyp_block_ns"}
print(f"{img.format} {img.size}, vms {meta['vms']}, series {meta['series']}")
sys.exit(not (img.format == "PNG" and want_vms <= set(meta["vms"])
              and want_series <= set(meta["series"])
              and any(s.endswith(("_tap_ns", "_bridge_ns", "_net_ns")) for s in meta["series"])))
PY
}
t_check "the PNG is valid and shows both VMs with their components" png_ok "$out/fig.png"

t_summary
