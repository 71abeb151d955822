#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Power (issue 5): host power from a smart plug emulator speaking the Edimax protocol (Digest and
# Basic auth), matched interval by interval with what the plug answered; every fault leaves that
# interval's power empty and the row on time; RAPL from a fake powercap tree across wraparound;
# the VMs' shares, the rest and idle add up to the host's power; the model check runs.
. "$(dirname "$0")/prelude.sh" "$@"
work=$(mktemp -d /tmp/kt-e2e-power.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Two stand-in VMMs burning CPU in different amounts (named like QEMU, found by their name).
cc -O2 -o "$work/qemu-system-x86_64" tests/power/burner.c || exit 1
"$work/qemu-system-x86_64" 60 >/dev/null &
pids+=($!)
"$work/qemu-system-x86_64" 30 >/dev/null &
pids+=($!)

# emulator AUTH LOG STEPS...: starts the plug emulator on a free port, stopped at the end, and
# sets $port. (Not in a command substitution: the emulator must be a child of this shell.)
emulator() {
	t_plug_start "$@"
	pids+=("$plug")
	t_plug_port "$2"
}

# --- Digest auth, scripted wattages and every fault
steps=(100 401 110 failed 120 empty 130 malformed 140 truncated 150 big 160 nonnum 170 negative
	180 nometer 190 hang 200 close 210 220)
emulator digest "$work/plug.log" "${steps[@]}"
t_check "plug emulator listening (port ${port:-none})" test -n "$port"
mkdir "$work/plug"
"$bin" -q -i 1 -c ${#steps[@]} --libvirt-uri none --power "edimax:127.0.0.1:$port" \
	-o "$work/plug" 2>"$work/plug.err"
status=$?
t_check "tracer with the plug: status $status" test "$status" -eq 0
t_check "plug faults: warnings rate-limited ($(wc -l <"$work/plug.err") lines)" \
	test "$(wc -l <"$work/plug.err")" -le 16
t_check "every interval has its row on time, faults included" "$T_PYTHON" - \
	"$work/plug/@host.csv" ${#steps[@]} <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
late = [r["interval_s"] for r in rows if abs(float(r["interval_s"]) - 1) > 0.1]
print(f"{len(rows)} rows, off-time intervals: {late}")
sys.exit(not (len(rows) == int(sys.argv[2]) and not late))
PY
t_check "host_power_w is what the plug answered in each interval, empty after a fault" \
	t_oracle check-plug --csv "$work/plug/@host.csv" --log "$work/plug.log"
t_check "the VMs' shares, the rest of the host and idle add up to the host's power (±0.1 W)" \
	t_oracle check-split --folder "$work/plug"

# --- Basic auth
emulator basic "$work/basic.log" 75.5 76.5 77.5 78.5
mkdir "$work/basic"
"$bin" -q -i 1 -c 4 --libvirt-uri none --power "edimax:127.0.0.1:$port" -o "$work/basic" \
	2>"$work/basic.err"
t_check "Basic auth: every interval's power as the plug answered" \
	t_oracle check-plug --csv "$work/basic/@host.csv" --log "$work/basic.log" --all-valid

# --- RAPL from a fake powercap tree: 2 packages at 30 W and 20 W, dram at 5 W, a core
# sub-zone that must not be counted again; counters wrap every few seconds.
# Real-time priority: a writer stalled by a busy host would move energy between intervals.
chrt -f 10 "$T_PYTHON" tests/power/fake_rapl.py "$work/sys" 30 20 5 &
pids+=($!)
sleep 0.5
mkdir "$work/rapl"
"$bin" -q -i 1 -c 6 --libvirt-uri none --power rapl --sysfs-root "$work/sys" \
	-o "$work/rapl" 2>"$work/rapl.err"
# The exact arithmetic (wraparound, sub-zones) is unit-tested; here the writer's own timing
# moves a little energy between neighbouring intervals: 2% on the mean, 10% on each.
t_check "RAPL: host_power_w is 55 W in every interval, across wraparounds" "$T_PYTHON" - \
	"$work/rapl/@host.csv" <<'PY'
import csv, sys
watts = [float(r["host_power_w"]) for r in csv.DictReader(open(sys.argv[1], newline=""))
         if r["host_power_w"]]
print("RAPL watts:", watts)
sys.exit(not (len(watts) >= 5 and abs(sum(watts) / len(watts) - 55) <= 0.02 * 55
              and all(abs(w - 55) <= 0.1 * 55 for w in watts)))
PY

# --- the model check on the plug run's logs
t_check "the model check prints coefficients and R^2, and draws a PNG" sh -c \
	"$T_PYTHON scripts/power-model.py '$work/plug' --plot '$work/model.png' | tee '$work/model.out' &&
	grep -q 'R^2' '$work/model.out' && head -c 8 '$work/model.png' | od -An -tx1 |
	grep -q '89 50 4e 47 0d 0a 1a 0a'"
t_summary
