#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/plot_components.py on a recorded run (tests/e2e/fixtures/plot-run: web01 under KVM with
# vhost-net traffic, "db idle" under TCG with no guest time, plus files the plot must ignore):
# a valid PNG whose metadata names the VMs and the series drawn, load steps, the fallback without
# hyp_* components, and the usage errors. Needs neither root nor the build (argument ignored).
. "$(dirname "$0")/prelude.sh" "$@"
fixture=tests/e2e/fixtures/plot-run
work=$(mktemp -d /tmp/kt-e2e-plot.XXXXXX)
trap 'rm -rf "$work"' EXIT

plot() {
	"$T_PYTHON" scripts/plot_components.py "$@"
}

# png_ok FILE: the PNG signature, IHDR first with width and height > 0, every chunk's CRC, IEND
# last, and matplotlib reads back an image of that size. Prints what it found.
png_ok() {
	"$T_PYTHON" - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG signature")
pos, chunks = 8, []
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
    if zlib.crc32(kind + body) != crc:
        sys.exit(f"bad CRC in {kind}")
    chunks.append((kind, body))
    pos += 12 + length
if chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13 or chunks[-1][0] != b"IEND":
    sys.exit("IHDR not first or IEND not last")
width, height = struct.unpack(">II", chunks[0][1][:8])
if width <= 0 or height <= 0:
    sys.exit(f"IHDR {width}x{height}")
import matplotlib
matplotlib.use("Agg")
import matplotlib.image
image = matplotlib.image.imread(sys.argv[1])
if image.shape[:2] != (height, width):
    sys.exit(f"IHDR {width}x{height}, matplotlib reads {image.shape}")
print(f"{width}x{height}")
PY
}

# check_png DESCRIPTION FILE: passes when png_ok does, saying the size or what is wrong.
check_png() {
	local found status
	found=$(png_ok "$2" 2>&1)
	status=$?
	t_check "$1: $found" test "$status" -eq 0
}

# meta FILE KEY: the PNG's Description metadata (JSON), KEY's value as a comma-separated list.
meta() {
	"$T_PYTHON" - "$1" "$2" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
pos = 8
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"tEXt" and body.startswith(b"Description\0"):
        value = json.loads(body.split(b"\0", 1)[1].decode("latin-1"))[sys.argv[2]]
        print(",".join(value) if isinstance(value, list) else value)
    pos += 12 + length
PY
}

# expect_usage STATUS PATTERN DESCRIPTION -- ARGS...: the script exits with STATUS and its stderr
# is one line starting "plot_components: " and matching PATTERN.
expect_usage() {
	t_one_message "$1" plot_components "$2" "$3" "$work" -- plot "${@:5}"
}

all_series=cpu_guest_ns,hyp_qemu_user_ns,hyp_kvm_ns,hyp_tap_ns,hyp_bridge_ns,hyp_net_ns
all_series=$all_series,hyp_sched_ns,hyp_other_kernel_ns
all_series=$all_series,ext_vhost_ns,ext_tap_ns,ext_bridge_ns,ext_net_ns

# The run as it is.
plot "$fixture" -o "$work/time.png" >"$work/out" 2>"$work/err"
status=$?
t_check "plots the fixture run: status $status, prints '$(cat "$work/out")', stderr '$(cat "$work/err")'" \
	test "$status" -eq 0 -a "$(cat "$work/out")" = "$work/time.png" -a ! -s "$work/err"
check_png "a valid PNG that matplotlib reads back" "$work/time.png"
vms=$(meta "$work/time.png" vms)
t_check "the VMs of the run, not @host.csv, web01.vcpu.csv or steps.csv: $vms" \
	test "$vms" = "db idle,web01"
series=$(meta "$work/time.png" series)
t_check "the series drawn, bottom up, with the network's: $series" test "$series" = "$all_series"
t_check "all-zero components (hyp_vhost_ns, hyp_block_ns) and unsplit cpu_hyp_ns left out" \
	test -z "$(echo "$series" | tr , '\n' | grep -x -e hyp_vhost_ns -e hyp_block_ns -e cpu_hyp_ns)"
t_check "time mode: $(meta "$work/time.png" mode)" test "$(meta "$work/time.png" mode)" = time

# The default output, DIR/components.png.
cp -r "$fixture" "$work/run"
out=$(plot "$work/run" --title "web01 under iperf3")
t_check "without -o: writes and prints $out" \
	test "$out" = "$work/run/components.png" -a -s "$work/run/components.png"
check_png "without -o: a valid PNG" "$work/run/components.png"
plot "$work/run" >/dev/null
t_check "a rerun next to its own PNG: $(meta "$work/run/components.png" vms)" \
	test "$(meta "$work/run/components.png" vms)" = "db idle,web01"

# Chosen VMs: by name or file stem, in the order given; the series are those of these VMs.
plot "$fixture" --vm "db idle" -o "$work/idle.png" >/dev/null
t_check "--vm 'db idle': $(meta "$work/idle.png" vms); no guest (TCG) nor network: $(meta "$work/idle.png" series)" \
	test "$(meta "$work/idle.png" vms)" = "db idle" -a \
	"$(meta "$work/idle.png" series)" = "hyp_qemu_user_ns,hyp_sched_ns,hyp_other_kernel_ns"
plot "$fixture" --vm web01 --vm db_idle-3f01636f web01 -o "$work/two.png" >/dev/null
t_check "--vm by name and by file stem, in the order given: $(meta "$work/two.png" vms)" \
	test "$(meta "$work/two.png" vms)" = "web01,db idle"

# Load steps: one bar per step.
plot "$fixture" --steps "$fixture/steps.csv" -o "$work/steps.png" >"$work/out" 2>"$work/err"
status=$?
t_check "--steps: status $status, prints '$(cat "$work/out")', stderr '$(cat "$work/err")'" \
	test "$status" -eq 0 -a "$(cat "$work/out")" = "$work/steps.png" -a ! -s "$work/err"
check_png "--steps: a valid PNG" "$work/steps.png"
t_check "--steps: mode $(meta "$work/steps.png" mode), steps $(meta "$work/steps.png" steps)" \
	test "$(meta "$work/steps.png" mode)" = steps -a \
	"$(meta "$work/steps.png" steps)" = "idle,iperf3 -P 4,cool-down"
t_check "--steps: the same series ($(meta "$work/steps.png" series))" \
	test "$(meta "$work/steps.png" series)" = "$all_series"

# The sampler off: no hyp_* data, so the hypervisor time is drawn unsplit, with a note.
mkdir "$work/unsplit"
"$T_PYTHON" - "$fixture" "$work/unsplit" <<'PY'
import csv, os, sys
for name in ("web01.csv", "db_idle-3f01636f.csv"):
    with open(os.path.join(sys.argv[1], name), newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    with open(os.path.join(sys.argv[2], name), "w", newline="") as f:
        w = csv.DictWriter(f, reader.fieldnames, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: "" if k.startswith("hyp_") else v for k, v in row.items()})
PY
plot "$work/unsplit" >"$work/out" 2>"$work/err"
status=$?
t_check "no hyp_* data: status $status, one note: $(cat "$work/err")" \
	test "$status" -eq 0 -a "$(wc -l <"$work/err")" -eq 1 -a \
	"$(grep -c '^plot_components: note: .*unsplit' "$work/err")" -eq 1
t_check "no hyp_* data: guest, unsplit and outside: $(meta "$work/unsplit/components.png" series)" \
	test "$(meta "$work/unsplit/components.png" series)" = \
	"cpu_guest_ns,cpu_hyp_ns,ext_vhost_ns,ext_tap_ns,ext_bridge_ns,ext_net_ns"

# Usage errors: one line and status 2; an unwritable output: status 1.
mkdir "$work/empty" "$work/others"
cp "$fixture/@host.csv" "$fixture/web01.vcpu.csv" "$fixture/steps.csv" "$work/others"
expect_usage 2 "no VM CSVs in" "empty folder" -- "$work/empty"
expect_usage 2 "no VM CSVs in" "a folder of files that are no VM's" -- "$work/others"
expect_usage 2 "not a folder" "no such folder" -- "$work/none"
expect_usage 2 "unknown --vm 'web02'" "unknown --vm" -- "$fixture" --vm web01 --vm web02
expect_usage 2 "unrecognized arguments: --bogus" "unknown option" -- "$fixture" --bogus
expect_usage 2 "required: DIR" "no DIR" --
expect_usage 2 "--steps .*no column start_epoch_s" "steps file without its columns" -- \
	"$fixture" --steps "$fixture/web01.csv"
expect_usage 1 "cannot write $work/none/x.png" "unwritable output" -- "$fixture" -o "$work/none/x.png"
t_check "no output left by the failures" test ! -e "$work/empty/components.png" -a \
	! -e "$work/others/components.png"

t_summary
